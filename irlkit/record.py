"""`python -m irlkit.record`: record demonstrations by teleoperation (the Hydra entry).

Only this module touches Hydra's DictConfig: it turns the composed config into the library's
`RecorderConfig` and hands it to `irlkit.teleop.record`. See docs/record.md.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Optional

import hydra
from omegaconf import DictConfig

from irlkit.config import add_schema, config_dir, register_schemas, run_entry, to_dataclass
from irlkit.envs import EnvConfig
from irlkit.errors import IrlkitError


@dataclasses.dataclass
class RecordConfig:
    """Typed schema of conf/record.yaml: a typo such as `episode=3` or `episodes=abc` fails early."""

    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    demos: Optional[str] = None
    """Dataset name in the store root, or a path. Required."""
    operator: Optional[str] = None
    """The operator's pseudonym. Required, and deliberately without a default."""
    episodes: int = 5
    fps: Optional[float] = None
    input: str = "keyboard"
    seed: Optional[int] = None
    root: Optional[str] = None
    description: str = ""
    keep_discarded: bool = False


add_schema(None, "record_schema", RecordConfig)


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
        env=to_dataclass(EnvConfig, cfg.env),
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


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="record")
def _hydra_main(cfg: DictConfig) -> None:
    run_entry(lambda: run_record(cfg))


def main() -> None:
    register_schemas()
    _hydra_main()


if __name__ == "__main__":
    main()
