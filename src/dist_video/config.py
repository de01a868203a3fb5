"""Typed YAML configs: dataclasses filled from YAML, with inheritance and overrides.

A config file is a YAML mapping whose sections match a dataclass. A file may name a base
file with ``base: other.yaml`` (relative to itself, or a packaged config name); its keys
are merged over the base's, recursively. ``--set a.b=value`` overrides parse ``value`` as
YAML. Unknown keys and wrong types raise :class:`ConfigError` naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import ConfigError

__all__ = [
    "ConfigError",
    "check_field",
    "from_dict",
    "to_dict",
    "parse_yaml",
    "load_yaml",
    "apply_overrides",
    "merge_dicts",
    "packaged_config_path",
    "PACKAGED_CONFIG_DIR",
]

PACKAGED_CONFIG_DIR = Path(__file__).parent / "configs"
T = TypeVar("T")


def check_field(config: Any, name: str, ok: bool, message: str) -> None:
    """Raise ``ValueError("name: message, got value")`` unless ``ok``: validation in a config
    dataclass's ``__post_init__`` that names the key (:func:`from_dict` adds the file)."""
    if not ok:
        raise ValueError(f"{name}: {message}, got {getattr(config, name)!r}")


def packaged_config_path(name: str) -> Path:
    """Resolve ``name`` to a YAML file: an existing path, or a config shipped in the package
    (``ssv2/vit-b16-8+16f`` or ``ssv2/vit-b16-8+16f.yaml``, searched under ``configs/``)."""
    path = Path(name)
    if path.is_file():
        return path
    if path.is_absolute():
        raise ConfigError(f"config file {path} does not exist")
    stem = name[:-5] if name.endswith(".yaml") else name
    for candidate in (PACKAGED_CONFIG_DIR / f"{stem}.yaml", *PACKAGED_CONFIG_DIR.rglob(f"{stem}.yaml")):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"config {name!r} is neither a file nor a packaged config under {PACKAGED_CONFIG_DIR}")


def merge_dicts(base: Mapping, override: Mapping) -> dict:
    """``override`` merged into ``base``, recursively (neither is modified)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_dicts(out[key], value)
        else:
            out[key] = value
    return out


def parse_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load`` (plain data only: a python tag is refused) whose errors are one
    line naming ``where`` and the line and column."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML{at}: {problem}") from None


def load_yaml(name: str | Path) -> dict:
    """Read a YAML config, following ``base:`` links, into one merged dict."""
    path = packaged_config_path(str(name))
    data = parse_yaml(path.read_text(), str(path)) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is not None:
        base_path = path.parent / base
        data = merge_dicts(load_yaml(base_path if base_path.is_file() else base), data)
    return data


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``key.sub=value`` overrides (value parsed as YAML) to a config dict."""
    out = merge_dicts({}, data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value")
        dotted, raw = item.split("=", 1)
        value = parse_yaml(raw, f"override {item!r}") if raw != "" else None
        node = out
        keys = dotted.strip().split(".")
        for key in keys[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {key!r} is not a section")
            node = child
        node[keys[-1]] = value
    return out


def _check_type(value: Any, annotation: Any, where: str) -> Any:
    """Return ``value`` converted to ``annotation`` where that is lossless, else raise."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(annotation):
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return _check_type(value, option, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[-1] if errors else f"{where}: must not be null")
    if origin is typing.Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise ConfigError(f"{where}: {value!r} is not one of {list(choices)}")
        return value
    if dataclasses.is_dataclass(annotation):
        return from_dict(annotation, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(annotation)
        item_type = args[0] if args else Any
        items = [_check_type(v, item_type, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if annotation is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if annotation is float and isinstance(value, str):
        try:  # YAML 1.1 reads "8e-8" as a string
            return float(value)
        except ValueError:
            pass
    if annotation in (int, str, bool, float):
        if isinstance(value, annotation) and not (annotation is int and isinstance(value, bool)):
            return value
        raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: Any, where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``, checking every key and type.

    ``where`` prefixes error messages (for instance the file name), so that an error reads
    ``configs/x.yaml: train.lr: expected float, got 'fast'``.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        key_where = f"{where}.{name}"
        if name in data:
            kwargs[name] = _check_type(data[name], hints[name], key_where)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key_where}: required key is missing")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"{where}: {err}") from err


def to_dict(obj: Any) -> Any:
    """Turn a (nested) dataclass into plain YAML-friendly data."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj
