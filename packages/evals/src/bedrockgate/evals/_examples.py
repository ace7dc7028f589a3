"""One question of a run, scored: its answer after post-processing against its references.

A question's answer comes from the checkpoint (:mod:`bedrockgate.evals.checkpoint`); the steps of
:mod:`bedrockgate.evals.postprocess` turn it into the prediction; the official per-answer
definitions (:mod:`bedrockgate.evals.squad`) give its exact match and F1 (on the official 0-1
scale, the best over the references); the best reference is the one semantic similarity compares
with. :mod:`bedrockgate.evals.metrics` sums these up over the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from bedrockgate.evals._similarity import best_reference
from bedrockgate.evals.checkpoint import AnswerRecord, SimilarityRecord
from bedrockgate.evals.dataset import Question
from bedrockgate.evals.postprocess import Pipeline
from bedrockgate.evals.squad import exact_match_score, f1_score, metric_max_over_ground_truths

__all__ = ["ExampleResult", "running_scores", "score_example"]


@dataclass(frozen=True, slots=True)
class ExampleResult:
    """One question's outcome and scores (EM and F1 on the official 0-1 scale per question)."""

    question: Question
    answer: AnswerRecord | None
    prediction: str | None
    """The post-processed answer that is scored; ``None`` when the question got no answer."""
    changed_by: tuple[str, ...]
    exact_match: int
    f1: float
    raw_exact_match: int
    raw_f1: float
    reference: str | None
    """The best-matching reference, the one similarity compares with."""
    similarity_record: SimilarityRecord | None = None
    """The measurement of this prediction against this reference, when there is one."""

    @property
    def similarity(self) -> float | None:
        """Measured cosine similarity; ``None`` when not measured (aggregates then count it as 0)."""
        return self.similarity_record.similarity if self.similarity_record is not None else None

    @property
    def similarity_error(self) -> str | None:
        """The kind of the embedding call's failure, if it failed."""
        record = self.similarity_record
        return record.error.kind if record is not None and record.error is not None else None

    @property
    def error_kind(self) -> str | None:
        """The final failure's kind, if the question got no answer."""
        if self.answer is None:
            return "not_asked"
        return self.answer.error.kind if self.answer.error else None


def score_example(
    question: Question,
    answer: AnswerRecord | None,
    pipeline: Pipeline,
    similarity: SimilarityRecord | None = None,
    embedding_model: str | None = None,
) -> ExampleResult:
    """Score one question; a similarity record counts only if it measured this exact prediction and reference."""
    if answer is None or answer.raw_answer is None:
        return ExampleResult(question, answer, None, (), 0, 0.0, 0, 0.0, None)
    processed = pipeline.apply(answer.raw_answer)
    references = question.answers
    reference = best_reference(processed.text, references)
    matches = (
        similarity is not None
        and similarity.embedding_model == embedding_model
        and similarity.prediction == processed.text
        and similarity.reference == reference
    )
    return ExampleResult(
        question=question,
        answer=answer,
        prediction=processed.text,
        changed_by=processed.changed_by,
        exact_match=int(metric_max_over_ground_truths(exact_match_score, processed.text, references)),
        f1=metric_max_over_ground_truths(f1_score, processed.text, references),
        raw_exact_match=int(metric_max_over_ground_truths(exact_match_score, answer.raw_answer, references)),
        raw_f1=metric_max_over_ground_truths(f1_score, answer.raw_answer, references),
        reference=reference,
        similarity_record=similarity if matches else None,
    )


def running_scores(question: Question, answer: AnswerRecord, pipeline: Pipeline) -> tuple[int, float]:
    """EM (0/1) and F1 (0-1) of one answer after post-processing: the cheap part of :func:`score_example`."""
    if answer.raw_answer is None:
        return 0, 0.0
    text = pipeline.apply(answer.raw_answer).text
    return (
        int(metric_max_over_ground_truths(exact_match_score, text, question.answers)),
        metric_max_over_ground_truths(f1_score, text, question.answers),
    )
