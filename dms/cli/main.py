"""`dms` entry point: subcommand dispatch, logging, exit codes (0 ok, 2 usage/config error, 1 runtime failure)."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from dms import __version__

# name -> (module, one-line help). Modules are imported to build their parsers; they must stay light.
COMMANDS = {
    "simulate": ("dms.cli.simulate", "render labelled RGB/NIR driver footage and crops with Blender"),
    "train": ("dms.cli.train", "train an eye-state, yawn, gaze or hands model"),
    "export": ("dms.cli.export", "export a checkpoint to ONNX (+INT8) with a manifest"),
    "eval": ("dms.cli.eval", "evaluate a model on real labelled data, or alerts on sequences"),
    "run": ("dms.cli.run", "run the live monitoring loop on a camera, video or folder"),
    "bench": ("dms.cli.bench", "benchmark the runtime or the simulator"),
    "cfg": ("dms.cli.cfg", "show or check the configuration of a command"),
}

log = logging.getLogger("dms")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dms", description="dms — driver-monitoring SDK: simulate, train, export, run.",
        epilog="Config: every command takes -c FILE.yaml (repeatable) and key=value / --key value overrides; "
               "`dms cfg show CMD` prints the defaults with a typed comment per key.")
    parser.add_argument("--version", action="version", version=f"dms {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError as e:  # a stage not installed/built here: keep the rest of the CLI working
            p = sub.add_parser(name, help=f"{help_} [unavailable: {e}]")
            p.set_defaults(_module=None, _unavailable=f"dms {name} is unavailable: {e}")
            continue
        p = sub.add_parser(name, help=help_, description=getattr(mod, "DESCRIPTION", help_),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def split_overrides(extra: list[str]) -> list[str]:
    """Turn leftover tokens into ``key=value`` overrides: ``key=value``, ``--key=value`` or ``--key value``."""
    from dms.errors import UsageError
    out, i = [], 0
    while i < len(extra):
        tok = extra[i]
        if tok.startswith("--"):
            body = tok[2:]
            if "=" in body:
                out.append(body)
            elif i + 1 < len(extra) and not extra[i + 1].startswith("--"):
                out.append(f"{body}={extra[i + 1]}")
                i += 1
            else:
                raise UsageError(f"option {tok} needs a value")
        elif "=" in tok:
            out.append(tok)
        else:
            raise UsageError(f"unexpected argument {tok!r} (overrides are key=value)")
        i += 1
    return out


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    setup_logging(args.verbose, args.quiet)
    from dms.errors import DmsError
    if getattr(args, "_module", None) is None:
        log.error("%s", getattr(args, "_unavailable", "command unavailable"))
        return 1
    try:
        overrides = split_overrides(extra)
        mod = importlib.import_module(args._module)
        rc = mod.main(args, overrides)
        return int(rc or 0)
    except DmsError as e:
        log.error("%s", e)
        return e.exit_code
    except KeyboardInterrupt:
        log.warning("interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 — last-resort: report, exit 1
        log.exception("dms %s failed: %s", args.command, e)
        return 1


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
