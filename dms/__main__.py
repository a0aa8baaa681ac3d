from dms.cli.main import entrypoint

entrypoint()
