"""What every Hydra-configured command shares: config folder, `--help`, config errors, exit codes.

`HydraCommand(...).main()` is a command's whole `main`: it answers `--help` itself (the options of
the command line as given, each with its current value and its one-line docstring; internal
schemas left out), checks the overrides before Hydra runs (`irlkit.cli.overrides`), then hands
over to `hydra.main` for the job (or the multirun sweep), where `run_entry` turns an `IrlkitError`
into one paragraph on stderr and exit code 2.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from irlkit.errors import IrlkitError

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
HELP_FLAGS = ("--help", "-h")


def config_dir() -> str:
    """`conf/` inside an installed wheel, else the checkout's top-level `conf/`."""
    inside = _PACKAGE_DIR / "conf"
    if inside.is_dir():
        return str(inside)
    return str(_PACKAGE_DIR.parent / "conf")


def run_entry(fn: Callable[[], Any], *, prog: str = "irlkit") -> Any:
    """Run a command's work; a user's mistake becomes one paragraph on stderr and exit code 2; SIGTERM
    and Ctrl-C one line and 128 + the signal's number (irlkit/signals.py)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from irlkit import signals

    signals.stop_on_signals()
    try:
        return fn()
    except KeyboardInterrupt:
        print(f"{prog}: {signals.interrupted_message()}; what was saved before it is kept", file=sys.stderr)
        sys.exit(signals.exit_status())
    except IrlkitError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(signals.exit_status() if signals.received() is not None else 2)  # e.g. stopped while waiting
    except (HydraException, OmegaConfBaseException) as err:
        text = str(err).strip().replace("\n", " ")
        print(f"{prog}: config error: {text}", file=sys.stderr)
        sys.exit(2)


@dataclasses.dataclass
class HydraCommand:
    """One `python -m irlkit...` command configured by `conf/<config_name>.yaml`."""

    prog: str
    """How users type it: `python -m irlkit.evaluate`."""
    config_name: str
    usage: str
    """One line: the command and its main options."""
    description: str
    """What the command does, a few lines."""
    run: Callable[[Any, list[str]], Any]
    """The job: (composed DictConfig, the job's overrides) -> result."""
    footer: str = ""
    hide: Optional[Callable[[Any], Iterable[str]]] = None
    """Top-level keys to leave out of --help for a composed config (e.g. groups the algorithm ignores)."""
    multirun: bool = False
    """The config itself sets `hydra.mode: MULTIRUN` (the benchmark): sweeps need no -m."""

    def main(self, argv: Optional[Sequence[str]] = None) -> Any:
        from irlkit.cli.overrides import check_overrides, split_argv
        from irlkit.cli.schemas import register_schemas

        args = list(sys.argv[1:] if argv is None else argv)
        register_schemas()
        overrides, flags = split_argv(args)
        if any(f in HELP_FLAGS for f in flags):
            print(self.help(overrides))
            return None
        if "--hydra-help" not in flags and "--info" not in flags and "-i" not in flags:
            multirun = self.multirun or bool({"-m", "--multirun"} & set(flags))
            problem, _ = check_overrides(config_dir(), self.config_name, overrides, multirun=multirun, prog=self.prog)
            if problem:
                print(f"{self.prog}: config error: {problem}", file=sys.stderr)
                sys.exit(2)
        return self._hydra_main(args)

    def _hydra_main(self, args: list[str]) -> Any:
        import hydra

        out: list[Any] = []

        @hydra.main(version_base="1.3", config_path=config_dir(), config_name=self.config_name)
        def job(cfg: Any) -> Any:
            from hydra.core.hydra_config import HydraConfig

            overrides = list(HydraConfig.get().overrides.task)
            result = run_entry(lambda: self.run(cfg, overrides), prog=self.prog)
            out.append(result)
            return result

        saved = sys.argv
        sys.argv = [saved[0], *args]
        try:
            job()
        finally:
            sys.argv = saved
        return out[0] if out else None

    # ---- --help ----------------------------------------------------------------------------------
    def help(self, overrides: Sequence[str]) -> str:
        from irlkit.cli.overrides import check_overrides, compose, group_options, groups

        lines = [self.description.rstrip(), "", f"Usage: {self.usage}", ""]
        problem, first_job = check_overrides(config_dir(), self.config_name, overrides, multirun=True, prog=self.prog)
        if problem:
            return "\n".join(lines + [f"(cannot show the options for this command line: {problem})"])
        cfg = compose(config_dir(), self.config_name, first_job)
        hidden = set(self.hide(cfg)) if self.hide else set()
        chosen = [g for g in groups(config_dir()) if g in cfg and g != "algo_env"]
        if chosen:
            lines.append("Choices (group=option):")
            width = max(len(g) for g in chosen)
            for g in chosen:
                note = "   (not read by this command line's choices)" if g in hidden else ""
                lines.append(f"  {g.ljust(width)}  {', '.join(group_options(config_dir(), g))}{note}")
            lines.append("")
        rows = [r for r in option_rows(cfg) if r[0].split(".")[0] not in hidden and not r[0].startswith("hydra")]
        lines.append("Options (key=value), with their values for this command line:")
        kw = min(max((len(r[0]) for r in rows), default=0), 36)
        vw = min(max((len(r[1]) for r in rows), default=0), 24)
        for key, value, doc in rows:
            lines.append(f"  {key.ljust(kw)}  {value.ljust(vw)}  {doc}".rstrip())
        if self.footer:
            lines += ["", self.footer.rstrip()]
        return "\n".join(lines)


def option_rows(cfg: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, value, docstring) of every leaf option of a composed config, docstrings read from the
    typed schema of each node."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    from irlkit.typed import field_docs

    rows: list[tuple[str, str, str]] = []
    schema = OmegaConf.get_type(cfg) if isinstance(cfg, DictConfig) else None
    docs = field_docs(schema) if dataclasses.is_dataclass(schema) else {}
    for key in cfg.keys():
        if key == "hydra":
            continue
        node = cfg._get_node(key)
        path = f"{prefix}{key}"
        if isinstance(node, DictConfig) and (len(node) > 0 or dataclasses.is_dataclass(OmegaConf.get_type(node))):
            rows += option_rows(node, f"{path}.")
            continue
        try:
            value = (
                OmegaConf.to_container(node, resolve=True) if isinstance(node, (DictConfig, ListConfig)) else cfg[key]
            )
        except Exception:  # a required value not given (???), or an interpolation that cannot resolve yet
            value = node._value() if hasattr(node, "_value") else "?"
        rows.append((path, _fmt(value), first_sentence(docs.get(str(key), ""))))
    return rows


def first_sentence(doc: str) -> str:
    """A docstring's first sentence: one line per option in --help."""
    import re

    m = re.match(r"(.+?[.!?])(\s+[A-Z(`]|$)", doc)
    return m.group(1) if m else doc


def _fmt(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_fmt(v)}" for k, v in value.items()) + "}"
    return str(value)
