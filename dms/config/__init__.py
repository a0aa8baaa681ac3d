"""Typed, strict configuration.

Owns: the config base class, loading (defaults <- YAML files <- ``key=value`` overrides), validation errors with
nearest-key suggestions, YAML dumps with a typed comment per key, and writing the resolved config beside every
artefact. May import: pydantic, yaml, stdlib.

Each command declares its config as a :class:`ConfigModel` subclass in its own package (e.g.
``dms.sim.config.SimulateConfig``); every field has a type and a ``description`` (the comment in the YAML dump).
"""
from dms.config.core import (ConfigModel, apply_overrides, dump_yaml, load_config, parse_override,
                             save_resolved, valid_keys)

__all__ = ["ConfigModel", "apply_overrides", "dump_yaml", "load_config", "parse_override", "save_resolved",
           "valid_keys"]
