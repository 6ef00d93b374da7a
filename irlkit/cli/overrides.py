"""Config mistakes on the command line, found before Hydra runs and told in irlkit's words.

Hydra reports a misspelt key (`algo.budgt=10`) with its raw message, exit code 1, and a suggestion
that points the wrong way (`+algo.budgt=1` would add the typo). `check_overrides` composes the
config the command line asks for (the first value of each sweep) and turns every failure into one
paragraph naming the key, the nearest valid names and the fix; `HydraCommand` prints it and exits 2.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional, Sequence, cast

from omegaconf import DictConfig, OmegaConf

from irlkit.cli.schemas import SCHEMA_SUFFIX
from irlkit.typed import nearest

HYDRA_FLAGS_WITH_VALUE = {
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--info",
    "-i",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--experimental-rerun",
    "--shell-completion",
    "-sc",
}


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(overrides, Hydra flags) of a command line."""
    overrides, flags = [], []
    it = iter(argv)
    for arg in it:
        if arg.startswith("-"):
            flags.append(arg)
            if arg in HYDRA_FLAGS_WITH_VALUE:
                nxt = next(it, None)
                if nxt is not None:
                    flags.append(nxt)
        else:
            overrides.append(arg)
    return overrides, flags


def override_key(override: str) -> str:
    """`+algo.budget=3` -> `algo.budget`; `algo=gail` -> `algo`."""
    return override.split("=", 1)[0].lstrip("+~").strip()


def group_options(config_dir: str, group: str) -> list[str]:
    """The user-facing options of a config group: its YAML files (schemas excluded)."""
    folder = Path(config_dir) / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def groups(config_dir: str) -> list[str]:
    return sorted(p.name for p in Path(config_dir).iterdir() if p.is_dir())


def check_overrides(
    config_dir: str, config_name: str, overrides: Sequence[str], *, multirun: bool, prog: str = "python -m irlkit"
) -> tuple[Optional[str], list[str]]:
    """(None, overrides of the first job) when the command line composes; else (what is wrong with
    it in one paragraph, [])."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException, OverrideParseException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except OverrideParseException as err:
        first = str(err).splitlines()[0]
        return (
            f"{first}. Each option is key=value (for example algo=gail or algo.budget=5000); quote values "
            "with spaces or commas ('key=\"a, b\"').",
            [],
        )
    known_groups = set(groups(config_dir))
    single: list[str] = []
    for o in parsed:
        key = o.key_or_group
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            continue  # Hydra's own settings (hydra/launcher=joblib, hydra.run.dir=...): Hydra checks them
        values = [str(v) for v in o.sweep_string_iterator()] if o.is_sweep_override() else None
        if values is not None and not multirun:
            return (
                f"`{o.input_line}` sweeps over several values; add -m (multirun) to run one job per value, "
                f"or quote it to pass one string ({key}='{cast(str, o.input_line).split('=', 1)[1]}').",
                [],
            )
        if key in known_groups and not o.is_delete():
            for value in values or [str(o.value())]:
                problem = _check_choice(config_dir, key, value)
                if problem:
                    return problem, []
        if values is not None:
            single.append(f"{key}={values[0]}" if not o.is_add() else f"+{key}={values[0]}")
        else:
            single.append(cast(str, o.input_line))  # set for every parsed override
    try:
        compose(config_dir, config_name, single)
    except HydraException as err:
        return explain(err, config_dir, config_name, single, prog=prog), []
    except Exception as err:  # omegaconf errors surface unwrapped from some paths
        from omegaconf.errors import OmegaConfBaseException

        if isinstance(err, OmegaConfBaseException):
            return explain(err, config_dir, config_name, single, prog=prog), []
        raise
    return None, single


def compose(config_dir: str, config_name: str, overrides: Sequence[str]) -> DictConfig:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir, version_base="1.3", job_name="irlkit_check"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def _check_choice(config_dir: str, group: str, value: str) -> Optional[str]:
    options = group_options(config_dir, group)
    if value.endswith(SCHEMA_SUFFIX):
        return (
            f"{group}={value} is an internal schema, not one of the {group} configs; choose one of "
            f"{', '.join(options)}."
        )
    if value not in options and value != "null":
        return (
            f"{group}={value} is not one of the {group} configs{nearest(value, options)}: choose one of "
            f"{', '.join(options)} (the files in conf/{group}/)."
        )
    return None


_FULL_KEY = re.compile(r"full_key:\s*(\S+)")
_OVERRIDE = re.compile(r"Could not override '([^']+)'")
_CONVERT = re.compile(r"Value '([^']*)' (?:of type '(\w+)' )?could not be converted to (\w+)")


def explain(
    err: BaseException, config_dir: str, config_name: str, overrides: Sequence[str], *, prog: str = "python -m irlkit"
) -> str:
    """Hydra's and OmegaConf's composition errors, rewritten as one paragraph with the fix."""
    cause = err.__cause__ or err
    text = f"{err}\n{cause}"
    key = None
    m = _OVERRIDE.search(text)
    if m:
        key = m.group(1)
    m2 = _FULL_KEY.search(text)
    if key is None and m2:
        key = m2.group(1)
    conv = _CONVERT.search(text)
    if conv and key:
        wanted = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false", "String": "a string"}.get(
            conv.group(3), conv.group(3).lower()
        )
        return f"`{key}={conv.group(1)}`: {key} takes {wanted}."
    if key and ("not in" in text or "Could not override" in text or "Key '" in text):
        return _unknown_key(key, config_dir, config_name, overrides, prog)
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "Could not find" in text:
        return f"{first}. List the choices with --help (config groups live in conf/)."
    return f"{first} ({str(cause).strip().splitlines()[0]})" if cause is not err else first


def _unknown_key(key: str, config_dir: str, config_name: str, overrides: Sequence[str], prog: str) -> str:
    rest = [o for o in overrides if override_key(o) != key]
    try:
        cfg = compose(config_dir, config_name, rest)
    except Exception:
        cfg = None
    parent, _, leaf = key.rpartition(".")
    hint, options = "", []
    if cfg is not None:
        node: Any = OmegaConf.select(cfg, parent) if parent else cfg
        if isinstance(node, DictConfig):
            options = [str(k) for k in node.keys() if k != "hydra"]
            hint = nearest(leaf, options)
            if hint:
                hint = hint.replace(
                    f"`{hint.split('`')[1]}`", f"`{parent + '.' if parent else ''}{hint.split('`')[1]}`"
                )
        if not hint:
            elsewhere = [p for p in _leaf_paths(cfg) if p.rpartition(".")[2] == leaf]
            if elsewhere:
                hint = f" (did you mean `{elsewhere[0]}`?)"
    where = f"`{parent}`" if parent else "the config"
    listing = f" The options of {where} are: {', '.join(options)}." if options else ""
    return (
        f"unknown option `{key}`{hint}.{listing} Fix the spelling; `{prog} --help` lists every "
        "option with its current value."
    )


def _leaf_paths(cfg: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(cfg, DictConfig):
        for k in cfg.keys():
            if k == "hydra":
                continue
            try:
                child = cfg._get_node(k)
            except Exception:
                continue
            # keys of a composed config are never bytes
            out += _leaf_paths(child, f"{prefix}{k}.") if isinstance(child, DictConfig) else [f"{prefix}{k}"]  # type: ignore[str-bytes-safe]
    return out
