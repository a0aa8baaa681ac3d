"""Exception hierarchy mapped to exit codes by the CLI: ConfigError/UsageError -> 2, DmsError -> 1."""


class DmsError(RuntimeError):
    """A runtime failure with a message fit for the user (exit code 1)."""
    exit_code = 1


class ConfigError(DmsError, ValueError):
    """Bad configuration: unknown key, wrong type, impossible range (exit code 2)."""
    exit_code = 2


class UsageError(DmsError):
    """Bad command-line usage (exit code 2)."""
    exit_code = 2


class DataError(DmsError):
    """Unreadable or malformed dataset / input folder (exit code 1)."""


class ModelError(DmsError):
    """Missing, corrupt or tampered model file, or a manifest that does not match the graph (exit code 1)."""
