"""Errors that reach the user as one clear line."""


class NslabError(Exception):
    """Base of every error nslab reports to the user without a traceback."""


class ConfigError(NslabError):
    """Bad input (a scenario, lab.yaml, a command-line value): nothing was run."""


class MachineError(NslabError):
    """A machine could not be built, brought up, reached or destroyed."""


class RemoteTimeout(NslabError):
    """A command on a machine did not finish within its timeout."""


class DaemonError(NslabError):
    """The Docker daemon on a machine refused a mode or did not come back."""

    def __init__(self, message: str, daemon_log: str = ""):
        super().__init__(message)
        #: What the daemon itself said (its journal), kept as an artifact.
        self.daemon_log = daemon_log


class ArtifactsError(NslabError):
    """A file of the run could not be written (a full or read-only filesystem): the run stops there."""
