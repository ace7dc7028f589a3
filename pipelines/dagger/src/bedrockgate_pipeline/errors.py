"""The pipeline's errors: each says what is wrong and what to do."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class UnpinnedImageError(PipelineError):
    """An image reference has no verified digest yet."""


class GateError(PipelineError):
    """Deploy was asked for, but ci or evaluate has not passed for this exact source."""


class ImageBuildError(PipelineError):
    """The gateway image could not be built, run or checked as its recipe says."""


class PublishError(PipelineError):
    """A release could not be built, checked, uploaded or installed back from its index."""
