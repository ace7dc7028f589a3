"""Deterministic samples: the same seed picks the same questions on every machine and Python version.

Each question gets a rank from ``sha256(seed, id)``, so the choice depends only on the seed and the
question ids, never on the order of the file or on :mod:`random`'s implementation. ``--offset``
walks further down the same ranking, so ``--samples 100 --offset 0`` and ``--samples 100
--offset 100`` are disjoint halves of ``--samples 200``: a large evaluation can be split across
jobs. The chosen questions come back in dataset order, the order the official script sums in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bedrockgate.evals.dataset import Question
from bedrockgate.evals.exceptions import ConfigError

__all__ = ["rank_key", "select"]


def rank_key(seed: int, key: str) -> bytes:
    """The sort key of one item under a seed."""
    return hashlib.sha256(f"{seed}\x00{key}".encode()).digest()


def select(questions: Sequence[Question], *, samples: int | None, offset: int = 0, seed: int = 0) -> list[Question]:
    """``samples`` questions (all when ``None``) starting ``offset`` places down the seeded ranking.

    >>> from bedrockgate.evals.dataset import Question
    >>> pool = [Question(str(i), "t", "c", "q?", ("a",), (0,), i) for i in range(10)]
    >>> [q.id for q in select(pool, samples=3, seed=1)] == [q.id for q in select(pool, samples=3, seed=1)]
    True
    >>> first, second = select(pool, samples=5, seed=1), select(pool, samples=5, offset=5, seed=1)
    >>> sorted(q.id for q in first + second) == sorted(q.id for q in pool)
    True
    """
    if samples is not None and samples < 1:
        raise ConfigError(f"--samples must be at least 1 (or 'all'), not {samples}")
    if offset < 0:
        raise ConfigError(f"--offset must be 0 or more, not {offset}")
    if offset >= len(questions):
        raise ConfigError(f"--offset {offset} skips every question: the dataset has {len(questions)}")
    ranked = sorted(questions, key=lambda question: (rank_key(seed, question.id), question.position))
    chosen = ranked[offset:] if samples is None else ranked[offset : offset + samples]
    return sorted(chosen, key=lambda question: question.position)
