from __future__ import annotations

import difflib
import os
import tempfile
import typing
from pathlib import Path
from typing import Any, Iterable, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from dms.errors import ConfigError

T = TypeVar("T", bound="ConfigModel")


class ConfigModel(BaseModel):
    """Base for all command configs: unknown keys are errors, values are validated on assignment."""
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False,
                              protected_namespaces=())


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def valid_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """All dotted keys of a config model, nested models included."""
    keys = []
    for name, f in model.model_fields.items():
        key = prefix + name
        keys.append(key)
        sub = _submodel(f.annotation)
        if sub is not None:
            keys.extend(valid_keys(sub, key + "."))
    return keys


def suggest(key: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    if not close:  # try the last component alone (e.g. 'lr' given where 'train.lr' exists)
        last = key.split(".")[-1]
        tails = {c.split(".")[-1]: c for c in candidates}
        m = difflib.get_close_matches(last, list(tails), n=1, cutoff=0.6)
        close = [tails[m[0]]] if m else []
    return f"; did you mean '{close[0]}'?" if close else ""


def parse_override(token: str) -> tuple[str, Any]:
    """``a.b=value`` -> ("a.b", parsed value). Values are parsed as YAML scalars/lists (never eval)."""
    if "=" not in token:
        raise ConfigError(f"override {token!r} is not of the form key=value")
    key, _, raw = token.partition("=")
    key = key.strip().lstrip("-").replace("-", "_")
    if not key:
        raise ConfigError(f"override {token!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() != "" else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    cur = data
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur[parts[-1]] = value


def apply_overrides(data: dict, overrides: Iterable[str | tuple[str, Any]]) -> dict:
    for ov in overrides:
        key, value = parse_override(ov) if isinstance(ov, str) else ov
        _set_dotted(data, key, value)
    return data


def _deep_merge(base: dict, new: dict) -> dict:
    out = dict(base)
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _format_validation_error(model: type[BaseModel], err: ValidationError, source: str) -> str:
    keys = valid_keys(model)
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown config key '{loc}'{suggest(loc, keys)}")
        else:
            lines.append(f"config key '{loc}': {e['msg']} (got {e.get('input')!r})")
    return f"invalid config{source}: " + "; ".join(lines)


def load_config(model: type[T], files: Sequence[str | Path] = (), overrides: Iterable[str | tuple[str, Any]] = (),
                base: dict | None = None) -> T:
    """Resolve defaults <- each YAML file in order <- overrides; raise ConfigError naming the bad key."""
    data: dict = dict(base or {})
    for f in files:
        p = Path(f)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {p} is not valid YAML: {e}") from e
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {p} must hold a mapping of keys, got {type(loaded).__name__}")
        data = _deep_merge(data, loaded)
    data = apply_overrides(data, overrides)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        src = f" ({', '.join(map(str, files))})" if files else ""
        raise ConfigError(_format_validation_error(model, e, src)) from None


def _type_name(annotation: Any) -> str:
    s = getattr(annotation, "__name__", None) if not typing.get_args(annotation) else None
    return s or str(annotation).replace("typing.", "")


def dump_yaml(cfg: BaseModel | type[BaseModel], comments: bool = True, indent: int = 0) -> str:
    """YAML of a config (instance or defaults of a class) with ``# type: description`` per key."""
    model = cfg if isinstance(cfg, type) else type(cfg)
    values = cfg.model_dump(mode="json") if not isinstance(cfg, type) else None
    lines = []
    pad = " " * indent
    for name, f in model.model_fields.items():
        sub = _submodel(f.annotation)
        val = values[name] if values is not None else (f.get_default(call_default_factory=True))
        if isinstance(val, BaseModel):
            val = val.model_dump(mode="json")
        comment = f"  # {_type_name(f.annotation)}: {f.description}" if comments and f.description else ""
        if sub is not None and isinstance(val, dict):
            lines.append(f"{pad}{name}:{comment}")
            inst = sub.model_validate(val)
            lines.append(dump_yaml(inst, comments, indent + 2).rstrip("\n"))
        else:
            dumped = yaml.safe_dump(val, default_flow_style=True, sort_keys=False, width=1000).strip()
            if dumped.endswith("\n..."):
                dumped = dumped[:-4].rstrip()
            lines.append(f"{pad}{name}: {dumped}{comment}")
    return "\n".join(lines) + "\n"


def save_resolved(cfg: BaseModel, out_dir: str | Path, name: str = "config.resolved.yaml",
                  extra: dict | None = None) -> Path:
    """Atomically write the resolved config (with comments) beside an artefact."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = dump_yaml(cfg)
    if extra:
        text += "# provenance\n" + "\n".join(f"# {k}: {v}" for k, v in extra.items()) + "\n"
    path = out / name
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".tmp-", suffix=".yaml")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path
