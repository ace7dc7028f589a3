"""A run's aggregates: EM, F1, similarity, latency, tokens, cost and errors over every question.

The per-answer definitions are the official ones (:mod:`bedrockgate.evals.squad`); each question's
scores come from :mod:`bedrockgate.evals._examples`; this module sums them up. Every aggregate
counts every question of the sample. A question that got no answer (an error
after its retries) scores 0 in EM, F1 and similarity, as the official script scores an
unanswered question; the error rate says how many those were. So EM and F1 here equal the
official script's numbers on the run's ``dataset.json`` and ``predictions.json``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bedrockgate.evals._examples import ExampleResult
from bedrockgate.evals.squad import score_articles

__all__ = [
    "QUESTION_TYPES",
    "Aggregate",
    "LatencySummary",
    "TypeScore",
    "aggregate",
    "percentile",
    "question_type",
]

QUESTION_TYPES = ("what", "which", "who", "when", "where", "why", "how many", "how much", "how", "other")
_WORDS = re.compile(r"[a-z]+")
_WH = {
    "what": "what",
    "which": "which",
    "who": "who",
    "whom": "who",
    "whose": "who",
    "when": "when",
    "where": "where",
    "why": "why",
}


def question_type(text: str) -> str:
    """The first question word of a question ("In what year..." is a *what* question).

    >>> question_type("In what year did it open?"), question_type("How many were there?"), question_type("Name it.")
    ('what', 'how many', 'other')
    """
    words = _WORDS.findall(text.lower())
    for index, word in enumerate(words):
        if word in _WH:
            return _WH[word]
        if word == "how":
            following = words[index + 1] if index + 1 < len(words) else ""
            return f"how {following}" if following in {"many", "much"} else "how"
    return "other"


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation between ranks (numpy's default); ``None`` for no values.

    >>> percentile([10.0, 20.0, 30.0, 40.0], 50), percentile([10.0, 20.0, 30.0, 40.0], 90), percentile([], 50)
    (25.0, 37.0, None)
    """
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency of the answered questions' successful attempts, in milliseconds."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    min: float | None
    max: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> LatencySummary:
        """Summarise latencies."""
        ordered = sorted(values)
        mean = math.fsum(ordered) / len(ordered) if ordered else None
        return cls(
            count=len(ordered),
            mean=mean,
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p95=percentile(ordered, 95),
            p99=percentile(ordered, 99),
            min=ordered[0] if ordered else None,
            max=ordered[-1] if ordered else None,
        )


@dataclass(frozen=True, slots=True)
class TypeScore:
    """EM and F1 (0-100) of the questions of one type."""

    type: str
    count: int
    exact_match: float
    f1: float


@dataclass(frozen=True, slots=True)
class Aggregate:
    """The run's numbers; EM, F1 and similarity on 0-100, 0-100 and the embedding's cosine scale."""

    total: int
    answered: int
    exact_match: float
    f1: float
    raw_exact_match: float
    raw_f1: float
    similarity: float | None
    similarity_measured: int
    similarity_errors: int
    latency: LatencySummary
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    chat_cost_usd: float
    embedding_cost_usd: float
    cost_reported: int
    """How many of the paid calls (answers, similarity measurements) reported a cost."""
    cost_expected: int
    errors_by_kind: dict[str, int]
    attempts: int
    retried: int
    """Questions that needed more than one attempt."""
    postprocess_changed: dict[str, int]
    served_by: dict[str, int]
    by_type: tuple[TypeScore, ...] = ()

    @property
    def errors(self) -> int:
        """Questions without an answer."""
        return self.total - self.answered

    @property
    def error_rate(self) -> float:
        """Errors over questions, 0-1."""
        return self.errors / self.total if self.total else 0.0

    @property
    def cost_usd(self) -> float | None:
        """Total cost, or ``None`` when nothing reported one."""
        return self.chat_cost_usd + self.embedding_cost_usd if self.cost_reported else None

    @property
    def cost_complete(self) -> bool:
        """Every paid call reported its cost."""
        return self.cost_reported == self.cost_expected


def aggregate(results: Sequence[ExampleResult], *, similarity_enabled: bool) -> Aggregate:
    """The aggregates of a run's results, which must be in dataset order (the official summation order)."""
    predictions = {r.question.id: r.prediction for r in results if r.prediction is not None}
    raw = {
        r.question.id: r.answer.raw_answer for r in results if r.answer is not None and r.answer.raw_answer is not None
    }
    pairs = [(r.question.id, r.question.answers) for r in results]
    official, _ = score_articles(pairs, predictions) if pairs else ({"exact_match": 0.0, "f1": 0.0}, [])
    official_raw, _ = score_articles(pairs, raw) if pairs else ({"exact_match": 0.0, "f1": 0.0}, [])
    answered = [r for r in results if r.prediction is not None]
    answers = [r.answer for r in answered if r.answer is not None]
    measured = [r.similarity for r in results if r.similarity is not None]
    # Only calls that were made and answered can report a cost (an empty answer needs no call).
    embedding_calls = [
        record
        for r in results
        if (record := r.similarity_record) is not None and record.error is None and record.attempts > 0
    ]
    embedding_cost = math.fsum(record.cost_usd for record in embedding_calls if record.cost_usd is not None)
    embedding_cost_reported = sum(1 for record in embedding_calls if record.cost_usd is not None)
    chat_cost = math.fsum(a.cost_usd for a in answers if a.cost_usd is not None)
    chat_cost_reported = sum(1 for a in answers if a.cost_usd is not None)
    errors = Counter(kind for r in results if (kind := r.error_kind) is not None)
    similarity_errors = sum(1 for r in results if r.similarity_error is not None)
    changed: Counter[str] = Counter(step for r in answered for step in r.changed_by)
    return Aggregate(
        total=len(results),
        answered=len(answered),
        exact_match=official["exact_match"],
        f1=official["f1"],
        raw_exact_match=official_raw["exact_match"],
        raw_f1=official_raw["f1"],
        similarity=(math.fsum(measured) / len(results) if results else 0.0) if similarity_enabled else None,
        similarity_measured=len(measured),
        similarity_errors=similarity_errors,
        latency=LatencySummary.of([a.latency_ms for a in answers if a.latency_ms is not None]),
        prompt_tokens=sum(a.prompt_tokens or 0 for a in answers),
        completion_tokens=sum(a.completion_tokens or 0 for a in answers),
        total_tokens=sum(a.total_tokens or 0 for a in answers),
        chat_cost_usd=chat_cost,
        embedding_cost_usd=embedding_cost,
        cost_reported=chat_cost_reported + embedding_cost_reported,
        cost_expected=len(answers) + len(embedding_calls),
        errors_by_kind=dict(sorted(errors.items())),
        attempts=sum(r.answer.attempts for r in results if r.answer is not None),
        retried=sum(1 for r in results if r.answer is not None and r.answer.attempts > 1),
        postprocess_changed={step: changed[step] for step in sorted(changed)},
        served_by=dict(Counter(a.response_model or "unknown" for a in answers).most_common()),
        by_type=_by_type(results),
    )


def _by_type(results: Sequence[ExampleResult]) -> tuple[TypeScore, ...]:
    groups: dict[str, list[ExampleResult]] = {}
    for result in results:
        groups.setdefault(question_type(result.question.question), []).append(result)
    return tuple(
        TypeScore(
            type=name,
            count=len(groups[name]),
            exact_match=100.0 * sum(r.exact_match for r in groups[name]) / len(groups[name]),
            f1=100.0 * math.fsum(r.f1 for r in groups[name]) / len(groups[name]),
        )
        for name in QUESTION_TYPES
        if name in groups
    )
