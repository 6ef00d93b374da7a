"""`python -m irlkit.record`: record demonstrations by teleoperation (the Hydra entry).

Only this module touches Hydra's DictConfig: it turns the composed config into the library's
`RecorderConfig` and hands it to `irlkit.teleop.record`. See docs/record.md.
"""

from __future__ import annotations

import sys
from typing import Any

from omegaconf import DictConfig, OmegaConf

from irlkit.cli.app import HydraCommand
from irlkit.envs import EnvConfig
from irlkit.errors import IrlkitError
from irlkit.typed import from_dict


HELP_TEXT = """\
Record demonstrations by teleoperation into the irlkit demos store.

In the window:
  Space      start the episode / pause / resume
  arrows     drive the env (per-env key map; shown in the window)
  Enter      end the episode now and keep it (stored as truncated)
  Backspace  discard the episode and restart it (same seed)
  Delete     discard the episode and start over with a fresh seed
  Esc        quit; every finished episode is already stored
Each finished episode is committed at once: Ctrl-C, closing the window or a killed process lose at
most the episode in progress."""

HELP_FOOTER = """\
The key map is the env config's `teleop:` section; override it with env.teleop.KEY=..., e.g.
env.teleop.axes.0.ramp_s=0.5. Operators are pseudonyms: letters, digits, _ - . (never a real name).
Play back with: python -m irlkit.replay demos=<dataset> [episode=K] [video=FILE]
Docs: docs/record.md"""


def recorder_config(cfg: DictConfig) -> Any:
    """The library's RecorderConfig from the composed Hydra config, with errors a user can act on."""
    from irlkit.teleop import RecorderConfig

    if not cfg.get("operator"):
        raise IrlkitError(
            "operator= is required: pass your pseudonym, e.g. `python -m irlkit.record env=cartpole "
            "demos=cartpole_teleop operator=op-7`. Use an alias (letters, digits, _ - .), never a real name; "
            "irlkit.store.pseudonym(name, salt) derives a stable one."
        )
    if not cfg.get("demos"):
        raise IrlkitError(
            "demos= is required: the dataset to record into, a name in the store root (created if missing) "
            "or a path, e.g. demos=cartpole_teleop"
        )
    return RecorderConfig(
        env=from_dict(EnvConfig, OmegaConf.to_container(cfg.env, resolve=True), where="env"),  # type: ignore[arg-type]
        dataset=str(cfg.demos),
        operator=str(cfg.operator),
        episodes=int(cfg.episodes),
        fps=None if cfg.fps is None else float(cfg.fps),
        input=str(cfg.input),
        seed=None if cfg.seed is None else int(cfg.seed),
        store_root=None if cfg.root is None else str(cfg.root),
        description=str(cfg.description),
        keep_discarded=bool(cfg.keep_discarded),
    )


def run_record(cfg: DictConfig, **recorder_kwargs: Any) -> Any:
    """Record as the command line asks; keyword arguments go to `Recorder` (tests pass `on_frame`)."""
    from irlkit.teleop import Recorder

    rc = recorder_config(cfg)
    recorder = Recorder(rc, **recorder_kwargs)
    try:
        print(
            f"Recording {rc.episodes} episode(s) of {rc.env.name} ({rc.env.id}) into {recorder.dataset_path} as "
            f"{rc.operator}, {recorder.fps:g} steps/s, input {recorder.device.device}. In the window: Space starts.",
            flush=True,
        )
        summary = recorder.run()
    except KeyboardInterrupt:
        print("irlkit: interrupted; every finished episode is stored.", file=sys.stderr)
        sys.exit(130)
    lost = f"; the episode in progress ({summary.lost_steps} steps) was not stored" if summary.lost_steps else ""
    print(
        f"Stopped ({summary.stopped_by}): {len(summary.kept)} episode(s) stored in {summary.dataset}, "
        f"{summary.discarded} discarded, {summary.frames_dropped} frames dropped{lost}.",
        flush=True,
    )
    if summary.stopped_by in ("SIGINT", "SIGTERM"):
        sys.exit(130 if summary.stopped_by == "SIGINT" else 143)
    return summary


COMMAND = HydraCommand(
    prog="python -m irlkit.record",
    config_name="record",
    usage="python -m irlkit.record env=<name> demos=<dataset> operator=<alias> [episodes=N] [fps=F] [input=keyboard|gamepad]",
    description=HELP_TEXT,
    footer=HELP_FOOTER,
    run=lambda cfg, overrides: run_record(cfg),
)


def main() -> None:
    COMMAND.main()


if __name__ == "__main__":
    main()
