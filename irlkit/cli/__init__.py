"""The command-line edge: the only code besides the `__main__.py` entries that touches Hydra.

Every command is `python -m irlkit[.<command>]`, and its code is that package's `__main__.py`
(`irlkit/__main__.py`, `irlkit/evaluate/__main__.py`, `irlkit/demos/__main__.py`, ...). The
Hydra-configured ones share what lives here:

- `app`: the config folder, `HydraCommand` (our own `--help`, config mistakes checked before Hydra
  runs, one-paragraph errors with exit code 2), `run_entry`;
- `schemas`: every typed schema registered in Hydra's ConfigStore, once;
- `runconfig`: the one config boundary of training, Hydra's config -> `irlkit.runconfig.RunConfig`;
- `overrides`: reading the command line's overrides and explaining Hydra's errors.

Below this line the library takes typed dataclasses only, and works from Python without Hydra.
"""
