"""Semantic similarity: the cosine of the embeddings of an answer and of its best reference.

EM and F1 count shared tokens, so "Denver Broncos" and "the Broncos of Denver" differ in EM. The
similarity says whether the meaning matches. Embeddings come from the same gateway
(``/v1/embeddings``, an embedding model alias), so the suite installs no model. The scale depends on
the embedding model: calibrate ``--min-similarity`` per model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bedrockgate.evals.squad import exact_match_score, f1_score

__all__ = ["best_reference", "cosine"]


def best_reference(prediction: str, references: Sequence[str]) -> str:
    """The reference the prediction matches best: highest F1, then exact match, then the first.

    >>> best_reference("Denver Broncos", ["Broncos", "Denver Broncos", "the Broncos"])
    'Denver Broncos'
    """
    best = references[0]
    best_key = (f1_score(prediction, best), exact_match_score(prediction, best))
    for reference in references[1:]:
        key = (f1_score(prediction, reference), exact_match_score(prediction, reference))
        if key > best_key:
            best, best_key = reference, key
    return best


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0.0 when either vector is all zeros.

    >>> cosine([1.0, 0.0], [1.0, 0.0]), cosine([1.0, 0.0], [0.0, 2.0]), cosine([0.0, 0.0], [1.0, 1.0])
    (1.0, 0.0, 0.0)
    """
    if len(a) != len(b):
        raise ValueError(f"vectors of different lengths: {len(a)} and {len(b)}")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    if norm == 0.0:
        return 0.0
    return max(-1.0, min(1.0, dot / norm))
