"""The run's checkpoint: one JSON line appended per answer, so a killed run resumes without asking again.

``OUT/checkpoint.jsonl`` starts with a header that fingerprints what shapes an answer (endpoint,
model, prompt, generation settings). Each answered (or finally failed) question appends an
``answer`` line, and each similarity measurement a ``similarity`` line, flushed at once: a killed
process loses at most the requests that were in flight. On resume:

- a torn last line (the process died mid-write) is cut off before anything is appended;
- answers are reused when the question's digest still matches (same passage, question and
  references), so a grown ``--samples`` asks only the new questions;
- questions whose last record is an error are asked again;
- a checkpoint with another fingerprint is refused rather than mixed in (``--fresh`` starts over).

Later lines win over earlier ones for the same question.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

from bedrockgate.evals.client import Failure
from bedrockgate.evals.exceptions import CheckpointError

__all__ = ["FORMAT", "AnswerRecord", "Checkpoint", "SimilarityRecord"]

FORMAT = 1


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """What the endpoint replied to one question, or how it failed."""

    id: str
    digest: str
    raw_answer: str | None
    error: Failure | None
    attempts: int
    latency_ms: float | None
    elapsed_ms: float
    started_at: str
    finished_at: str
    finish_reason: str | None = None
    response_model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The checkpoint line."""
        line = {"type": "answer", **{name: getattr(self, name) for name in _ANSWER_FIELDS}}
        line["error"] = asdict(self.error) if self.error is not None else None
        return line

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AnswerRecord:
        """From a checkpoint line."""
        fields = {key: value for key, value in data.items() if key != "type"}
        error = fields.pop("error", None)
        return cls(**fields, error=Failure(**error) if error else None)


@dataclass(frozen=True, slots=True)
class SimilarityRecord:
    """The semantic similarity of one post-processed answer to its best reference."""

    id: str
    embedding_model: str
    prediction: str
    reference: str
    similarity: float | None
    error: Failure | None
    attempts: int
    cost_usd: float | None = None
    prompt_tokens: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The checkpoint line."""
        return {"type": "similarity", **asdict(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimilarityRecord:
        """From a checkpoint line."""
        fields = {key: value for key, value in data.items() if key != "type"}
        error = fields.pop("error", None)
        return cls(**fields, error=Failure(**error) if error else None)


_ANSWER_FIELDS = tuple(field.name for field in fields(AnswerRecord))


class Checkpoint:
    """An open checkpoint: the records read back, and an append-only writer."""

    def __init__(
        self,
        path: Path,
        handle: IO[str],
        answers: dict[str, AnswerRecord],
        similarities: dict[str, SimilarityRecord],
        resumed: bool,
    ) -> None:
        self.path = path
        self._handle = handle
        self.answers = answers
        self.similarities = similarities
        self.resumed = resumed
        """True when the file existed and held this run's fingerprint."""

    @classmethod
    def open(cls, path: Path, fingerprint: Mapping[str, Any], *, fresh: bool = False) -> Checkpoint:
        """Read ``path`` back (or start it), checking it belongs to the same run."""
        if fresh:
            path.unlink(missing_ok=True)
        answers: dict[str, AnswerRecord] = {}
        similarities: dict[str, SimilarityRecord] = {}
        resumed = path.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if resumed:
                lines = _read_complete_lines(path)
                _check_header(path, lines, fingerprint)
                for number, line in enumerate(lines[1:], start=2):
                    _read_record(path, number, line, answers, similarities)
            else:
                path.write_text(
                    json.dumps({"type": "header", "format": FORMAT, "fingerprint": dict(fingerprint)}) + "\n",
                    encoding="utf-8",
                )
            handle = path.open("a", encoding="utf-8")
        except OSError as error:
            raise CheckpointError(f"{path}: cannot read or write the checkpoint ({error.strerror or error})") from error
        return cls(path, handle, answers, similarities, resumed)

    def add_answer(self, record: AnswerRecord) -> None:
        """Append and flush one answer."""
        self.answers[record.id] = record
        self._write(record.to_json())

    def add_similarity(self, record: SimilarityRecord) -> None:
        """Append and flush one similarity measurement."""
        self.similarities[record.id] = record
        self._write(record.to_json())

    def close(self) -> None:
        """Close the file (records are already flushed)."""
        self._handle.close()

    def _write(self, line: Mapping[str, Any]) -> None:
        # One write() of a whole line, then flush: the OS holds it even if this process is killed next.
        self._handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._handle.flush()


def _read_complete_lines(path: Path) -> list[str]:
    """The file's newline-terminated lines; a torn last line is cut off the file itself."""
    raw = path.read_bytes()
    end = raw.rfind(b"\n") + 1
    if end < len(raw):
        with path.open("r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
    try:
        return raw[:end].decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise CheckpointError(f"{path}: not UTF-8 text (byte {error.start}); remove it or use --fresh") from error


def _check_header(path: Path, lines: list[str], fingerprint: Mapping[str, Any]) -> None:
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("type") != "header" or header.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a checkpoint this version writes; use another --out, or --fresh to discard it"
        )
    stored = header.get("fingerprint")
    if stored != dict(fingerprint):
        stored_map = stored if isinstance(stored, dict) else {}
        differences = [
            f"{key}: {stored_map.get(key)!r} there, {fingerprint.get(key)!r} now"
            for key in sorted(set(stored_map) | set(fingerprint))
            if stored_map.get(key) != fingerprint.get(key)
        ]
        raise CheckpointError(
            f"{path} holds answers from a different run ({'; '.join(differences)}); "
            "use another --out, or --fresh to discard them"
        )


def _read_record(
    path: Path, number: int, line: str, answers: dict[str, AnswerRecord], similarities: dict[str, SimilarityRecord]
) -> None:
    try:
        data = json.loads(line)
        if data.get("type") == "answer":
            record = AnswerRecord.from_json(data)
            answers[record.id] = record
        elif data.get("type") == "similarity":
            similarity = SimilarityRecord.from_json(data)
            similarities[similarity.id] = similarity
        else:
            raise TypeError(f"unknown record type {data.get('type')!r}")
    except (json.JSONDecodeError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{path}:{number}: unreadable record ({error}); use another --out, or --fresh") from error
