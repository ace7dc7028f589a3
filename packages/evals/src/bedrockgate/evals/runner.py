"""Asks the questions: a fixed pool of workers, a preflight, a checkpoint line per answer.

Order of events:

1. Questions already answered in the checkpoint are kept; the rest are queued (failed ones too).
2. A preflight request (a one-word chat, and an embedding when an embedding model is set) proves
   the endpoint, key and model aliases before any question is spent; its failure is an
   :class:`EndpointError` (exit 2) with the endpoint's own words.
3. ``concurrency`` workers take questions in turn: chat, checkpoint, then the similarity of the
   post-processed answer to its best reference (both texts embedded in one request; texts seen
   before in the run are not sent again), checkpoint.
4. A fatal reply mid-run (401, 403, 404) stops every worker; what was answered stays checkpointed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bedrockgate.evals._examples import running_scores, score_example
from bedrockgate.evals._similarity import best_reference, cosine
from bedrockgate.evals.checkpoint import AnswerRecord, Checkpoint, SimilarityRecord
from bedrockgate.evals.client import Failure, GatewayClient
from bedrockgate.evals.dataset import Question
from bedrockgate.evals.exceptions import ConfigError, EndpointError
from bedrockgate.evals.postprocess import Pipeline
from bedrockgate.evals.prompting import PromptTemplate
from bedrockgate.evals.retry import RetryPolicy

__all__ = ["ProgressSink", "RunOutcome", "RunSettings", "run_questions"]

PREFLIGHT_MESSAGES = ({"role": "user", "content": "Reply with the single word OK."},)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Everything that decides how questions are asked."""

    endpoint: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    embedding_model: str | None = None
    concurrency: int = 8
    timeout_s: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_tokens: int = 64
    temperature: float = 0.0
    prompt: PromptTemplate = field(default_factory=PromptTemplate)
    postprocess: Pipeline = field(default_factory=Pipeline)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1, not {self.concurrency}")
        if not self.timeout_s > 0:
            raise ConfigError(f"--timeout must be more than 0 seconds, not {self.timeout_s}")
        if self.max_tokens < 1:
            raise ConfigError(f"--max-tokens must be at least 1, not {self.max_tokens}")

    def fingerprint(self) -> dict[str, Any]:
        """What makes two runs' answers interchangeable (post-processing and embeddings are redone, so not here)."""
        return {
            "endpoint": self.endpoint.rstrip("/"),
            "model": self.model,
            "prompt": self.prompt.digest,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }


class ProgressSink(Protocol):
    """Receives the run's progress; the CLI draws it (rich bar or plain lines)."""

    def start(self, total: int, done: int) -> None:
        """``done`` of ``total`` questions were answered before this run started."""

    def advance(self, *, exact_match: float, f1: float, errors: int) -> None:
        """One more question finished; running EM and F1 (0-100) over the finished ones."""

    def stop(self) -> None:
        """The run ended (finished, failed or interrupted)."""


@dataclass(slots=True)
class RunOutcome:
    """What the run did; the answers themselves are in the checkpoint."""

    asked: int
    reused: int
    wall_s: float
    preflight_ms: float | None


@dataclass(slots=True)
class _Tally:
    """Running sums for the progress display."""

    done: int = 0
    exact_match: int = 0
    f1: float = 0.0
    errors: int = 0

    def add(self, exact_match: int, f1: float, *, error: bool) -> None:
        self.done += 1
        self.exact_match += exact_match
        self.f1 += f1
        self.errors += int(error)


async def run_questions(
    questions: Sequence[Question],
    settings: RunSettings,
    checkpoint: Checkpoint,
    progress: ProgressSink,
) -> RunOutcome:
    """Ask every question the checkpoint lacks an answer for, and measure similarities it lacks."""
    started = time.perf_counter()
    to_ask = [q for q in questions if not _usable(checkpoint.answers.get(q.id), q)]
    asking = {q.id for q in to_ask}
    to_measure = [q for q in questions if q.id not in asking and _needs_similarity(q, checkpoint, settings)]
    tally = _Tally()
    for question in questions:
        if question.id not in asking:
            exact_match, f1 = running_scores(question, checkpoint.answers[question.id], settings.postprocess)
            tally.add(exact_match, f1, error=False)
    if not to_ask and not to_measure:
        return RunOutcome(asked=0, reused=len(questions), wall_s=0.0, preflight_ms=None)

    async with GatewayClient(
        settings.endpoint,
        api_key=settings.api_key,
        concurrency=settings.concurrency,
        timeout_s=settings.timeout_s,
        retry=settings.retry,
    ) as client:
        preflight_ms = await _preflight(client, settings, chat=bool(to_ask))
        worker = _Worker(client, settings, checkpoint, progress, tally)
        jobs = iter([*to_ask, *to_measure])
        progress.start(len(questions), tally.done)
        try:
            await _run_pool(worker, jobs, settings.concurrency)
        finally:
            progress.stop()
    return RunOutcome(
        asked=len(to_ask),
        reused=len(questions) - len(to_ask),
        wall_s=time.perf_counter() - started,
        preflight_ms=preflight_ms,
    )


def _usable(record: AnswerRecord | None, question: Question) -> bool:
    return record is not None and record.error is None and record.digest == question.digest


def _needs_similarity(question: Question, checkpoint: Checkpoint, settings: RunSettings) -> bool:
    if settings.embedding_model is None:
        return False
    result = score_example(
        question,
        checkpoint.answers[question.id],
        settings.postprocess,
        checkpoint.similarities.get(question.id),
        settings.embedding_model,
    )
    return result.similarity_record is None or result.similarity_record.error is not None


async def _run_pool(worker: _Worker, jobs: Iterator[Question], concurrency: int) -> None:
    """``concurrency`` tasks drain one shared iterator; the first exception stops them all and propagates."""
    tasks = [asyncio.create_task(worker.drain(jobs)) for _ in range(concurrency)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _preflight(client: GatewayClient, settings: RunSettings, *, chat: bool) -> float | None:
    latency: float | None = None
    if chat:
        reply = await client.chat(model=settings.model, messages=PREFLIGHT_MESSAGES, max_tokens=5, temperature=0.0)
        if reply.failure is not None:
            raise EndpointError(
                _describe(client.url("chat/completions"), settings.model, reply.failure, reply.attempts)
            )
        latency = reply.latency_ms
    if settings.embedding_model is not None:
        vectors = await client.embed(model=settings.embedding_model, texts=["OK"])
        if vectors.failure is not None:
            raise EndpointError(
                _describe(client.url("embeddings"), settings.embedding_model, vectors.failure, vectors.attempts)
            )
    return latency


def _describe(url: str, model: str, failure: Failure, attempts: int) -> str:
    hint = ""
    if failure.status in {401, 403}:
        hint = ": the endpoint refused the API key (check --api-key-env and the key's access to this model)"
    elif failure.status == 404:
        hint = ": no such route or model (an OpenAI base URL usually ends in /v1; check the model alias)"
    elif failure.status is not None and 400 <= failure.status < 500:
        hint = f": the endpoint rejected the request (is {model!r} a model alias it serves?)"
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    return f"{url} (model {model!r}) failed{tries}: {failure.message}{hint}"


class _Worker:
    """The per-question steps, shared by the worker tasks (one event loop: no locks needed)."""

    def __init__(
        self,
        client: GatewayClient,
        settings: RunSettings,
        checkpoint: Checkpoint,
        progress: ProgressSink,
        tally: _Tally,
    ) -> None:
        self._client = client
        self._settings = settings
        self._checkpoint = checkpoint
        self._progress = progress
        self._tally = tally
        self._vectors: dict[str, tuple[float, ...]] = {}

    async def drain(self, jobs: Iterator[Question]) -> None:
        for question in jobs:
            await self._one(question)

    async def _one(self, question: Question) -> None:
        record = self._checkpoint.answers.get(question.id)
        asked = not _usable(record, question)
        if asked:
            record = await self._ask(question)
            self._checkpoint.add_answer(record)
        assert record is not None  # noqa: S101  (for the type checker: _usable or _ask gave one)
        if record.raw_answer is not None and self._settings.embedding_model is not None:
            prediction = self._settings.postprocess.apply(record.raw_answer).text
            self._checkpoint.add_similarity(await self._measure(question, prediction))
        if asked:
            exact_match, f1 = running_scores(question, record, self._settings.postprocess)
            self._tally.add(exact_match, f1, error=record.raw_answer is None)
            total = max(self._tally.done, 1)
            self._progress.advance(
                exact_match=100.0 * self._tally.exact_match / total,
                f1=100.0 * self._tally.f1 / total,
                errors=self._tally.errors,
            )

    async def _ask(self, question: Question) -> AnswerRecord:
        settings = self._settings
        started_at = _now()
        reply = await self._client.chat(
            model=settings.model,
            messages=settings.prompt.messages(question),
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
        )
        if reply.failure is not None and reply.failure.fatal:
            raise EndpointError(
                _describe(self._client.url("chat/completions"), settings.model, reply.failure, reply.attempts)
            )
        value = reply.value
        return AnswerRecord(
            id=question.id,
            digest=question.digest,
            raw_answer=value.text if value is not None else None,
            error=reply.failure,
            attempts=reply.attempts,
            latency_ms=reply.latency_ms,
            elapsed_ms=reply.elapsed_ms,
            started_at=started_at,
            finished_at=_now(),
            finish_reason=value.finish_reason if value is not None else None,
            response_model=value.model if value is not None else None,
            prompt_tokens=value.usage.prompt_tokens if value is not None else None,
            completion_tokens=value.usage.completion_tokens if value is not None else None,
            total_tokens=value.usage.total_tokens if value is not None else None,
            cost_usd=value.cost_usd if value is not None else None,
        )

    async def _measure(self, question: Question, prediction: str) -> SimilarityRecord:
        model = self._settings.embedding_model
        assert model is not None  # noqa: S101  (only called when an embedding model is set)
        reference = best_reference(prediction, question.answers)
        if not prediction.strip():  # nothing to embed: an empty answer means nothing
            return SimilarityRecord(question.id, model, prediction, reference, 0.0, None, attempts=0)
        missing = [text for text in dict.fromkeys((prediction, reference)) if text not in self._vectors]
        attempts = 0
        cost: float | None = None
        tokens: int | None = None
        if missing:
            reply = await self._client.embed(model=model, texts=missing)
            attempts = reply.attempts
            if reply.failure is not None or reply.value is None:
                failure = reply.failure or Failure("malformed_response", "no embeddings")
                if failure.fatal:
                    raise EndpointError(_describe(self._client.url("embeddings"), model, failure, reply.attempts))
                return SimilarityRecord(question.id, model, prediction, reference, None, failure, attempts)
            self._vectors.update(zip(missing, reply.value.vectors, strict=True))
            cost, tokens = reply.value.cost_usd, reply.value.usage.prompt_tokens
        try:
            value = cosine(self._vectors[prediction], self._vectors[reference])
        except ValueError as error:  # two vectors of different lengths from one model
            failure = Failure("malformed_response", f"embeddings: {error}")
            return SimilarityRecord(question.id, model, prediction, reference, None, failure, attempts)
        return SimilarityRecord(question.id, model, prediction, reference, value, None, attempts, cost, tokens)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
