"""What the ``bedrockgate-evals`` subcommands share: the exit codes, and library errors told in flags.

The library names what is wrong by file and field (``results.json: examples[3].f1: expected a
number``); a user typed a flag, so the command line tells it as that flag (``--results DIR:
...``). Each subcommand wraps the calls that read what a flag named in :func:`told_as`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bedrockgate.evals.exceptions import EvalsError

__all__ = ["EXIT_ERROR", "EXIT_FAILED", "EXIT_OK", "Input", "told_as"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2


@dataclass(frozen=True, slots=True)
class Input:
    """An input as the command line named it, and the path the library's errors name it by."""

    flag: str
    """The option (``--results``) or argument (``A (baseline)``) that gave it."""
    value: str
    """What the user typed."""
    path: str = ""
    """The path the library names; the value as a path when empty."""

    @property
    def named(self) -> str:
        """The path the library's messages start with."""
        return self.path or str(Path(self.value))


@contextmanager
def told_as(*inputs: Input) -> Iterator[None]:
    """Retell a library error in the command line's terms: which flag gave the input at fault.

    The library names the file (``x.json: examples[3].f1: expected a number, got 'x'``); the user
    typed a flag, so the message starts with it (``--results x.json: examples[3].f1: ...``). An error
    naming another file, such as the baseline a gates file points to, keeps that name after the
    flag. An error naming none of the inputs is told as the first one's.
    """
    try:
        yield
    except EvalsError as error:
        message = str(error)
        told = next((item for item in inputs if message.startswith((f"{item.named}:", f"{item.named} "))), inputs[0])
        if told.path or not message.startswith(f"{told.named}:"):
            raise type(error)(f"{told.flag} {told.value}: {message}") from error
        raise type(error)(f"{told.flag} {told.value}{message.removeprefix(told.named)}") from error
