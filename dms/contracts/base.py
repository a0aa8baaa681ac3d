"""Record base class: schema id + version, dict/JSON round trip with numpy support."""
from __future__ import annotations

import dataclasses
import enum
import json
import typing
from typing import Any, ClassVar

import numpy as np


class SchemaError(ValueError):
    """A serialised record has the wrong schema id, an unsupported version, or malformed fields."""


_REGISTRY: dict[str, type["Record"]] = {}


def _encode(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _decode(tp: Any, value: Any) -> Any:
    """Decode ``value`` to the annotated type ``tp`` (handles Optional, enums, nested records, tuples)."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        non_none = [a for a in args if a is not type(None)]
        return _decode(non_none[0], value) if len(non_none) == 1 else value
    import types as _types
    if isinstance(tp, _types.UnionType):
        non_none = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(non_none[0], value) if len(non_none) == 1 else value
    if isinstance(tp, type):
        if issubclass(tp, Record):
            return tp.from_dict(value)
        if issubclass(tp, enum.Enum):
            return tp(value)
        if tp is np.ndarray:
            return np.asarray(value, dtype=np.float32)
    if tp is tuple and isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    if origin in (tuple,) and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value))
    if origin in (list,) and args:
        return [_decode(args[0], v) for v in value]
    if origin in (dict,) and args:
        return {k: _decode(args[1], v) for k, v in value.items()}
    return value


class Record:
    """Mixin for frozen dataclasses that cross a stage boundary."""

    SCHEMA_ID: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.SCHEMA_ID:
            _REGISTRY[cls.SCHEMA_ID] = cls

    @classmethod
    def schema(cls) -> str:
        return f"{cls.SCHEMA_ID}/{cls.SCHEMA_VERSION}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": self.schema()}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.metadata.get("serialize", True):
                out[f.name] = _encode(getattr(self, f.name))
        return out

    @classmethod
    def check_schema(cls, schema: Any) -> None:
        if not isinstance(schema, str) or "/" not in schema:
            raise SchemaError(f"{cls.__name__}: missing or malformed 'schema' field: {schema!r}")
        sid, _, ver = schema.rpartition("/")
        if sid != cls.SCHEMA_ID:
            raise SchemaError(f"expected schema {cls.SCHEMA_ID!r}, got {sid!r}")
        try:
            v = int(ver)
        except ValueError:
            raise SchemaError(f"{cls.SCHEMA_ID}: bad schema version {ver!r}") from None
        if v > cls.SCHEMA_VERSION:
            raise SchemaError(f"{cls.SCHEMA_ID}: version {v} is newer than supported {cls.SCHEMA_VERSION}; "
                              "upgrade dms")

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        if not isinstance(data, dict):
            raise SchemaError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        cls.check_schema(data.get("schema"))
        hints = typing.get_type_hints(cls)
        kwargs = {}
        names = set()
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            names.add(f.name)
            if f.name in data:
                try:
                    kwargs[f.name] = _decode(hints.get(f.name, Any), data[f.name])
                except (ValueError, TypeError, KeyError) as e:
                    raise SchemaError(f"{cls.SCHEMA_ID}: field {f.name!r}: {e}") from e
        unknown = set(data) - names - {"schema"}
        if unknown:
            raise SchemaError(f"{cls.SCHEMA_ID}: unknown fields {sorted(unknown)}")
        try:
            return cls(**kwargs)
        except TypeError as e:
            raise SchemaError(f"{cls.SCHEMA_ID}: {e}") from e

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True, allow_nan=False)


def dumps(record: Record) -> str:
    """One-line JSON (sorted keys, no NaN) — suitable for JSONL."""
    return record.to_json()


def record_from_dict(data: dict[str, Any]) -> Record:
    """Decode any registered record by its ``schema`` field."""
    schema = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(schema, str):
        raise SchemaError("object has no 'schema' field")
    sid = schema.rpartition("/")[0]
    cls = _REGISTRY.get(sid)
    if cls is None:
        raise SchemaError(f"unknown schema {sid!r}; known: {sorted(_REGISTRY)}")
    return cls.from_dict(data)


def loads(text: str) -> Record:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SchemaError(f"not JSON: {e}") from e
    return record_from_dict(data)
