"""The `dms` command: thin subcommands that parse, resolve config, and call one library function.

Each subcommand module (``dms.cli.<name>``) defines ``HELP``, ``add_arguments(parser)`` and
``main(args, overrides) -> int`` and imports only the stdlib at module level, so `dms X --help` is instant.
Heavy imports (torch, bpy, onnxruntime, cv2) happen inside ``main``.
"""
