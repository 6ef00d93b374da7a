"""`python -m irlkit.bench suite=<smoke|classic|mujoco> [seeds=N] [hydra/launcher=...]`.

One Hydra multirun (conf/bench.yaml sets `hydra.mode: MULTIRUN`): the sweeper expands the suite's
cells times the seeds into jobs, the chosen launcher runs them (basic: one after another; joblib:
local processes; submitit_slurm: SLURM jobs; ray: a Ray cluster), and each job composes the normal
training config for its (algo, env, seed) and trains into `<out>/<cell>-seed<N>/` exactly as
`python -m irlkit` would. When every job has returned, `ReportCallback` (below) writes the report.

Resuming: a job whose folder already holds an `eval.json` from the same resolved training config is
skipped; a killed run of the same config (no `eval.json`) that left a checkpoint continues from it
to its full budget, as `python -m irlkit resume=DIR` would; any other folder (killed before its
first checkpoint, or from another config) is emptied and trained again, so nothing is ever
half-counted or reported under a config it did not run with.
"""

from __future__ import annotations

import json
import shutil
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from irlkit.bench.report import check_report_extras, write_report
from irlkit.bench.suites import cell_names, split_cell, training_overrides
from irlkit.cli.app import HydraCommand
from irlkit.errors import IrlkitError

if not OmegaConf.has_resolver("irlkit_bench_cells"):
    OmegaConf.register_new_resolver("irlkit_bench_cells", cell_names)

EVAL_FILE = "eval.json"
ERROR_FILE = "error.txt"
_KEEP = {".hydra"}
"""What Hydra writes into the run folder before the job starts: kept when a killed run is redone."""


def finished_result(
    run_dir: Path, *, budget: Optional[int], config_yaml: Optional[str] = None
) -> Optional[dict[str, Any]]:
    """The run's eval.json if it finished with the wanted budget (None = any budget) and, when
    `config_yaml` is given, from exactly that resolved training config; else None (redo it)."""
    path = run_dir / EVAL_FILE
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # unreadable: treat as unfinished and redo
    if budget is not None and int(result.get("budget", -1)) != budget:
        return None
    if config_yaml is not None:
        saved = run_dir / "config.yaml"
        if not saved.is_file() or not same_settings(saved.read_text(), config_yaml):
            return None
    return result


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): node}


def same_settings(saved_yaml: str, wanted_yaml: str) -> bool:
    """Whether a finished run's config.yaml says what the wanted config says.

    Every setting the run recorded must have the wanted value. Settings the run did not record
    were added to irlkit's schemas after it ran (with defaults that keep the old behaviour) and do
    not invalidate it; otherwise every schema addition would force a whole benchmark to rerun."""
    import yaml

    saved = _flatten(yaml.safe_load(saved_yaml) or {})
    wanted = _flatten(yaml.safe_load(wanted_yaml) or {})
    return all(key in wanted and wanted[key] == value for key, value in saved.items())


def clear_run_dir(run_dir: Path) -> None:
    """Remove a killed or outdated run's files, so a redo starts from nothing (Hydra's .hydra kept)."""
    for child in run_dir.iterdir():
        if child.name in _KEEP:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _resumable(run_dir: Path, config_yaml: str) -> bool:
    """A killed run (no eval.json) of exactly this config that left a complete checkpoint."""
    from irlkit.algos.checkpoint import read_checkpoint

    saved = run_dir / "config.yaml"
    if (run_dir / EVAL_FILE).is_file() or not saved.is_file() or not same_settings(saved.read_text(), config_yaml):
        return False
    try:
        return read_checkpoint(run_dir) is not None
    except IrlkitError:  # a damaged checkpoint: train again rather than fail the job
        return False


def run_cell(cfg: DictConfig) -> Optional[float]:
    """One job: train (or skip) one (cell, seed); returns the normalized score, None on failure."""
    from hydra import compose
    from hydra.core.hydra_config import HydraConfig

    algo, env = split_cell(cfg.cell)
    if cfg.cell not in cfg.suite.cells:
        known = ", ".join(cfg.suite.cells.keys())
        raise IrlkitError(f"cell {cfg.cell!r} is not in suite {cfg.suite.name!r}; its cells: {known}")
    cell = cfg.suite.cells[cfg.cell]
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    overrides = training_overrides(cfg.suite, cell, algo=algo, env=env, seed=int(cfg.seed), extra=list(cfg.overrides))
    try:
        train_cfg = compose(config_name="config", overrides=overrides)
    except Exception:  # e.g. a tuned conf/algo_env file naming a key this irlkit lacks: record, go on
        _failed(cfg, run_dir, "composing its training config")
        return None
    from irlkit.cli.runconfig import run_config
    from irlkit.train import run_training, summarize

    try:
        config = run_config(train_cfg, overrides)
    except IrlkitError:
        _failed(cfg, run_dir, "reading its training config")
        return None
    budget = int(config.algo.budget)

    # the same text run_training writes into the run's config.yaml: a run is reused only if
    # it was trained from exactly this config (suite, overrides, tuned algo_env values, defaults)
    config_yaml = yaml.safe_dump(config.to_dict(), sort_keys=False)
    done = finished_result(run_dir, budget=budget, config_yaml=config_yaml)
    if done is not None:
        print(f"irlkit.bench: {cfg.cell} seed {cfg.seed}: finished earlier, skipped ({run_dir})")
        return done.get("normalized_score")
    resume = _resumable(run_dir, config_yaml)
    if resume:
        print(f"irlkit.bench: {cfg.cell} seed {cfg.seed}: killed earlier, resuming from its checkpoint ({run_dir})")
    else:
        if (run_dir / EVAL_FILE).is_file():
            print(f"irlkit.bench: {cfg.cell} seed {cfg.seed}: its config changed since it ran; training it again")
        clear_run_dir(run_dir)
        (run_dir / "overrides.txt").write_text("\n".join(overrides) + "\n")
    try:
        result = run_training(config, run_dir, resume=resume)
        summarize(result)
    except Exception:  # one failed run must not stop a long benchmark: record it, go on
        _failed(cfg, run_dir, "training")
        return None
    return result.get("normalized_score")


def _failed(cfg: DictConfig, run_dir: Path, stage: str) -> None:
    """Record a failed job in its folder (the report lists it; the next run of the command retries
    it) instead of letting one bad job end the whole sweep."""
    (run_dir / ERROR_FILE).write_text(f"failed while {stage}\n\n{traceback.format_exc()}")
    print(
        f"irlkit.bench: {cfg.cell} seed {cfg.seed} FAILED while {stage}; traceback in {run_dir / ERROR_FILE}",
        file=sys.stderr,
    )


class ReportCallback(Callback):
    """Hydra callback (conf/bench.yaml `hydra.callbacks.report`): the report once every job returned.

    Hydra calls it in the launching process, after the launcher (joblib, submitit, ray) has
    collected every job, so it sees all run folders of the sweep."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Before any job: a missing extra is an error now, not a warning after the last run.
        (Hydra turns a callback's exceptions into warnings; SystemExit it lets through.)"""
        if not config.get("report", True):
            return
        try:
            check_report_extras()
        except IrlkitError as err:
            print(f"irlkit.bench: error: {err}", file=sys.stderr)
            sys.exit(2)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        if not config.get("report", True):
            return
        try:
            self._write(config)
        except Exception as err:  # noqa: BLE001  (Hydra would turn it into a warning and exit 0)
            if not isinstance(err, IrlkitError):
                traceback.print_exc()
            print(
                f"irlkit.bench: error: the runs are done, but the report could not be written ({err}). Rebuild it "
                f"with python -m irlkit.bench.report {config.out}",
                file=sys.stderr,
            )
            sys.exit(2 if isinstance(err, IrlkitError) else 1)

    def _write(self, config: Any) -> None:
        cells = list(config.suite.cells.keys())
        # a command-line `cell=a,b` narrows the sweep: report what was swept, not the whole suite
        swept = _swept_values(config, "cell")
        if swept:
            cells = [c for c in cells if c in swept]
        seeds = list(range(int(config.seeds)))
        swept_seeds = _swept_values(config, "seed")
        if swept_seeds:
            seeds = sorted(int(s) for s in swept_seeds)
        launcher = [o for o in config.hydra.overrides.hydra if o.startswith(("hydra/launcher", "hydra.launcher"))]
        command = "python -m irlkit.bench " + " ".join([*config.hydra.overrides.task, *launcher])
        path = write_report(
            Path(config.out),
            cells=cells,
            seeds=seeds,
            title=f"Benchmark report: suite `{config.suite.name}`",
            description=config.suite.description,
            command=command.strip(),
        )
        print(f"irlkit.bench: report in {path}/report.md")


def _swept_values(config: Any, key: str) -> Optional[list[str]]:
    """Values given on the command line for a sweep key (`cell=a,b`, `seed=0,3`), else None."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for ov in parser.parse_overrides(list(config.hydra.overrides.task)):
        if ov.key_or_group == key:
            return [str(v) for v in ov.sweep_iterator()] if ov.is_sweep_override() else [str(ov.value())]
    return None


COMMAND = HydraCommand(
    prog="python -m irlkit.bench",
    config_name="bench",
    usage="python -m irlkit.bench suite=<smoke|classic|mujoco> [seeds=N] [hydra/launcher=joblib|submitit_slurm|ray]",
    description="""\
irlkit.bench: train every (algorithm, env) cell of a suite over several seeds, then write a report
(results.csv, report.md, plots) into <out>/report/.""",
    footer="""\
Examples:
  python -m irlkit.bench suite=smoke
  python -m irlkit.bench suite=classic hydra/launcher=joblib hydra.launcher.n_jobs=2
  python -m irlkit.bench suite=classic cell=bc-cartpole,gail-pendulum seeds=5
  python -m irlkit.bench suite=classic 'overrides=["eval.episodes=20"]'
  python -m irlkit.bench.report bench_out/classic            # rebuild the report only
Finished runs (eval.json present) are skipped; killed runs are redone. Docs: docs/bench.md.""",
    run=lambda cfg, overrides: run_cell(cfg),
    multirun=True,
)


def main() -> None:
    COMMAND.main()


if __name__ == "__main__":
    main()
