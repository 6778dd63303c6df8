"""A plugin's declared config: its JSON Schema, and checking a config with it.

A classifier declares its ``plugin.config`` in its ``config`` class
attribute, either as a dataclass::

    @dataclasses.dataclass
    class Config:
        spec: str = dataclasses.field(metadata={"doc": "Path of the spec file."})
        labels: bool = True

or as a dict of key declarations::

    config = {
        "spec": {"type": str, "doc": "Path of the spec file."},   # no default: required
        "labels": {"type": bool, "default": True},
    }

Types are str, int, float, bool, list and dict (for a dataclass field also
``list[str]``, ``dict[str, int]`` and ``Optional[...]``); a declaration
without a default is required. The sdk sends the schema in Describe, so
``sluice validate`` checks a stage's config before the run and ``sluice
plugin describe`` prints it; and before init it checks the config the same
way, fills in the defaults, and passes init a dataclass instance (or the
dict with its defaults).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import typing
from typing import Any, Mapping

from ._api import PluginError, did_you_mean

_JSON_TYPES: dict[Any, str] = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}
_MISSING = object()


def _type_schema(t: Any) -> dict[str, Any]:
    """The JSON Schema of values of the Python type t ({} for any value)."""
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Union:
        rest = [a for a in args if a is not type(None)]
        return _type_schema(rest[0]) if len(rest) == 1 else {}
    if origin in (list, tuple) or t in (list, tuple):
        s: dict[str, Any] = {"type": "array"}
        if args and args[0] is not Ellipsis:
            s["items"] = _type_schema(args[0])
        return s
    if origin is dict or t is dict:
        s = {"type": "object"}
        if len(args) == 2:
            s["additionalProperties"] = _type_schema(args[1])
        return s
    if t in _JSON_TYPES:
        return {"type": _JSON_TYPES[t]}
    return {}


def _declarations(spec: Any) -> dict[str, tuple[Any, Any, str]]:
    """Return key -> (type, default or _MISSING, doc) for a declared config."""
    out: dict[str, tuple[Any, Any, str]] = {}
    if dataclasses.is_dataclass(spec) and isinstance(spec, type):
        hints = typing.get_type_hints(spec)
        for f in dataclasses.fields(spec):
            default = f.default
            if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            if default is dataclasses.MISSING:
                default = _MISSING
            out[f.name] = (hints.get(f.name, Any), default, str(f.metadata.get("doc", "")))
        return out
    if isinstance(spec, Mapping):
        for k, d in spec.items():
            if not isinstance(d, Mapping) or "type" not in d:
                raise TypeError(f"Classifier.config[{k!r}]: expected a dict with a type, e.g. {{'type': str, 'default': '', 'doc': '...'}}")
            out[str(k)] = (d["type"], d.get("default", _MISSING), str(d.get("doc", "")))
        return out
    raise TypeError(f"Classifier.config must be a dataclass or a dict of key declarations, got {spec!r}")


def config_schema(spec: Any) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a declared config.

    spec is a dataclass or a dict of key declarations (see the module's
    doc). Keys not declared are not allowed.
    """
    props: dict[str, Any] = {}
    required = []
    for k, (t, default, doc) in _declarations(spec).items():
        p = _type_schema(t)
        if doc:
            p["description"] = doc
        if default is _MISSING:
            required.append(k)
        else:
            try:
                json.dumps(default)
                p["default"] = default
            except (TypeError, ValueError):
                pass
        props[k] = p
    s: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                         "properties": props, "additionalProperties": False}
    if required:
        s["required"] = required
    return s


def _type_ok(value: Any, schema: dict[str, Any]) -> bool:
    t = schema.get("type")
    if t is None:
        return True
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "boolean": bool, "array": list, "object": dict}[t])


def apply_config(spec: Any, config: Mapping[str, Any]) -> Any:
    """Check config against the declaration spec and return what init gets.

    Raises PluginError (with .key set) for an unknown key, a missing
    required key, or a value of the wrong type (top-level values; items of
    lists and dicts are not checked). Returns a dataclass instance for a
    dataclass, or a dict with the defaults filled in.
    """
    decl = _declarations(spec)
    for k in config:
        if k not in decl:
            raise PluginError(f"config: unknown key {k!r}{did_you_mean(k, list(decl))}", key=k)
    values: dict[str, Any] = {}
    for k, (t, default, _) in decl.items():
        if k not in config:
            if default is _MISSING:
                raise PluginError(f"config: missing required key {k!r}", key=k)
            values[k] = copy.deepcopy(default)  # a mutable default is not shared
            continue
        v = config[k]
        s = _type_schema(t)
        if v is not None and not _type_ok(v, s):
            raise PluginError(f"config: {k}: expected {s['type']}, got {type(v).__name__} {v!r}", key=k)
        values[k] = v
    if dataclasses.is_dataclass(spec) and isinstance(spec, type):
        return spec(**values)
    return values
