"""Dataclass configs from plain dicts and back, checked field by field, without Hydra.

Used for a run's `config.yaml` (written by `irlkit.train`, read back by `irlkit.evaluate` and
resume) and by the command line's one config boundary after Hydra has composed its config, so a
config from Python, from YAML and from the command line are checked by the same code: an unknown
key names the nearest valid one ("did you mean `budget`?"), a wrong type names what was expected.
Field docstrings (the string literal under a field, as in the config modules) are read here too,
for `--help` and for the test that every field has one.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from difflib import get_close_matches
from typing import Any, Mapping, TypeVar, Union

from irlkit.errors import IrlkitError

T = TypeVar("T")
MISSING_VALUE = "???"
"""Hydra's and OmegaConf's marker of a required value that was not given."""


def nearest(name: str, choices: list[str]) -> str:
    """` (did you mean `x`?)` for the closest choice, or ''."""
    close = get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def from_dict(
    cls: type[T], data: Mapping[str, Any], *, where: str, prebuilt: frozenset[str] | set[str] = frozenset()
) -> T:
    """`cls(**data)` with every value checked against its field's type, nested dataclasses built
    from nested dicts, and unknown keys refused with the nearest valid name. Keys in `prebuilt`
    already hold their final objects and are passed through."""
    if dataclasses.is_dataclass(data) and isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise IrlkitError(f"`{where or 'the config'}` must be a mapping of options, got {_show(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    path = (lambda key: f"{where}.{key}") if where else (lambda key: str(key))
    for key, value in data.items():
        if key not in fields:
            owner = f"`{where}`" if where else "the config"
            raise IrlkitError(
                f"unknown option `{path(key)}`{nearest(str(key), list(fields))}. "
                f"The options of {owner} are: {', '.join(fields)}."
            )
        if key in prebuilt:
            kwargs[key] = value
        else:
            kwargs[key] = convert(hints[key], value, where=path(key))
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise IrlkitError(f"`{path(name)}` is required (for example {path(name)}=...)")
    return cls(**kwargs)


def convert(tp: Any, value: Any, *, where: str) -> Any:
    """`value` as type `tp`: int, float, bool, str, Optional, list, tuple, dict, Literal, Any, or a dataclass."""
    if isinstance(value, str) and value == MISSING_VALUE:
        raise IrlkitError(f"`{where}` is required: give it a value ({where}=...)")
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return convert(option, value, where=where)
            except IrlkitError as err:
                errors.append(str(err))
        raise IrlkitError(
            errors[0]
            if len(errors) == 1
            else f"`{where}`: {_show(value)} fits none of {', '.join(_name(o) for o in options)}"
        )
    if origin is typing.Literal:
        if value not in args:
            raise IrlkitError(
                f"`{where}={value}`: choose one of {', '.join(map(str, args))}{nearest(str(value), [str(a) for a in args])}"
            )
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where=where)  # type: ignore[arg-type]
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise IrlkitError(f"`{where}` must be a list, got {_show(value)} (write it as [a,b] on the command line)")
        item = args[0] if args else Any
        return [convert(item, v, where=f"{where}[{k}]") for k, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise IrlkitError(f"`{where}` must be a mapping, got {_show(value)}")
        return dict(value)
    if value is None:
        raise IrlkitError(f"`{where}` cannot be null: give {_article(tp)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise IrlkitError(f"`{where}={value}` is {_show(value)}; expected {_article(tp)}")


def to_dict(obj: Any) -> Any:
    """A dataclass config as plain dicts, lists and scalars (what YAML and JSON hold)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


@functools.lru_cache(maxsize=None)
def field_docs(cls: type) -> dict[str, str]:
    """{field: its docstring} for a dataclass whose fields are documented by a string literal
    right below them (the CleanRL/SB3-zoo habit the config modules follow)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0]
        assert isinstance(body, ast.ClassDef)
        statements = body.body
        for stmt, nxt in zip(statements, statements[1:] + [None]):
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                if (
                    isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)
                ):
                    docs[stmt.target.id] = " ".join(nxt.value.value.split())
    return docs


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _article(tp: Any) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, _name(tp))


def _show(value: Any) -> str:
    kind = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
        type(None): "null",
    }.get(type(value), type(value).__name__)
    return kind
