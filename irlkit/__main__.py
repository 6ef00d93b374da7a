"""`python -m irlkit algo=<name> env=<name> demos=<dataset> seed=N`: train, save, evaluate.

The command composes conf/config.yaml, turns it into a typed `RunConfig` at the one config boundary
(`irlkit.cli.runconfig`) and calls `irlkit.train.run_training`, exactly what Python users call.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

from irlkit.cli.app import HydraCommand, run_entry
from irlkit.errors import IrlkitError

DESCRIPTION = """\
irlkit: learn rewards and policies from demonstrations, preferences and corrections, and score them
against the environment. One run trains one algorithm on one dataset of demonstrations and writes a
run folder: config.yaml, policy.zip, reward_net.pt (if learned), logs/, curve.csv, eval.json."""

FOOTER = """\
Examples:
  python -m irlkit algo=airl                        # AIRL on seals CartPole, shipped demos
  python -m irlkit algo=gail env=mountain_car seed=1
  python -m irlkit algo=bc demos=/data/my_demos select.operator=alice
  python -m irlkit algo=preference feedback=human   # label clip pairs in the browser
  python -m irlkit -m algo=bc,gail seed=0,1,2       # a multirun sweep
  python -m irlkit resume=outputs/gail-cartpole/seed0-20261201-101500   # continue a killed run
Outputs go to outputs/<algo>-<env>/seed<N>-<time>/. `python -m irlkit algo=gail --help` shows GAIL's
options. Docs: README.md."""


def train_job(cfg: Any, overrides: list[str]) -> dict[str, Any]:
    from hydra.core.hydra_config import HydraConfig

    from irlkit.cli.runconfig import run_config
    from irlkit.train import run_training, summarize

    config = run_config(cfg, overrides)
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    result = run_training(config, run_dir)
    summarize(result)
    print(f"run folder: {run_dir}")
    return result


def _hidden(cfg: Any) -> set[str]:
    from irlkit.cli.runconfig import unused

    return unused(cfg) | {"algo_env"}


COMMAND = HydraCommand(
    prog="python -m irlkit",
    config_name="config",
    usage="python -m irlkit algo=<algo> env=<env> [demos=<dataset|path>] [seed=N] [key=value ...]",
    description=DESCRIPTION,
    footer=FOOTER,
    run=train_job,
    hide=_hidden,
)


def resume_job(run_dir: Path) -> dict[str, Any]:
    from irlkit.train import resume_training, summarize

    result = resume_training(run_dir)
    summarize(result)
    print(f"run folder: {run_dir}")
    return result


def main() -> Optional[float]:
    args = sys.argv[1:]
    if any(a.startswith("resume=") for a in args):

        def job() -> dict[str, Any]:
            if len(args) != 1:
                raise IrlkitError(
                    "resume=<run folder> takes no other options: the run continues with the config.yaml "
                    "it was started with, to its full budget"
                )
            return resume_job(Path(args[0].split("=", 1)[1]).expanduser().resolve())

        result = run_entry(job, prog=COMMAND.prog)
    else:
        result = COMMAND.main()
    return result.get("normalized_score") if isinstance(result, dict) else None


if __name__ == "__main__":
    main()
