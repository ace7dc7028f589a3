"""Every error this package raises, each one a reason the CLI can print on one line.

The CLI maps them to its exit codes: an :class:`EvalsError` means the run (or the scoring, or the
comparison) could not be made at all, which is exit code 2. A run that was made but scored below a
gate is not an error; it is a result (exit code 1).
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DatasetError",
    "EndpointError",
    "EvalsError",
    "GateRefusedError",
    "GatesFileError",
    "HubUnavailableError",
    "PhoenixError",
    "ResultsError",
    "RunInterruptedError",
]


class EvalsError(Exception):
    """Base class of every error raised by ``bedrockgate.evals``; its message is one line for users."""


class ConfigError(EvalsError, ValueError):
    """The options contradict each other or name something that does not exist (a prompt file, a variable)."""


class DatasetError(EvalsError):
    """The dataset cannot be read, or is not SQuAD v1.1: the message names the file and the place in it."""


class HubUnavailableError(DatasetError):
    """The Hugging Face Hub cannot be reached and the dataset is not in the local cache."""


class EndpointError(EvalsError):
    """The endpoint cannot answer at all: unreachable, the key refused, the model unknown.

    Raised before the first question (the preflight) or as soon as a response proves that every
    further request would fail the same way (HTTP 401/403/404), so a run never spends its budget
    on a misconfiguration. Answers already checkpointed are kept.
    """


class RunInterruptedError(EvalsError):
    """The run was stopped (Ctrl-C) before every question was answered; rerunning resumes it."""


class CheckpointError(EvalsError):
    """The output directory holds a checkpoint of a different run, or one that cannot be read."""


class ResultsError(EvalsError):
    """A ``results.json`` given to ``compare`` is unreadable or not one this package wrote."""


class GatesFileError(EvalsError, ValueError):
    """A gates file is unreadable or invalid: the message names the file, the key and the fix."""


class GateRefusedError(EvalsError):
    """The gate cannot judge these results: made with other settings or questions than the gates file pins.

    A comparison across different samples, models or datasets would be meaningless, so ``gate``
    refuses it (exit 2) instead of passing or failing it.
    """


class PhoenixError(EvalsError):
    """The Phoenix upload failed or is not possible (the optional client is not installed)."""
