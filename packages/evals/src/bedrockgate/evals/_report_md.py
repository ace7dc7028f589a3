"""``summary.md``: the run in a few lines of Markdown, for CI logs and ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

from bedrockgate.evals._report_html import cost_text, worst_examples
from bedrockgate.evals.results import Results

__all__ = ["render_markdown"]


def render_markdown(results: Results, *, worst: int = 5) -> str:
    """The summary: headline table, gates, errors, and the worst answers."""
    config, dataset, metrics, gates = results.config, results.dataset.info, results.metrics, results.gates
    verdict = "no gates" if not gates.results else ("PASSED" if gates.passed else "FAILED")
    lines = [
        f"## SQuAD evaluation of `{_cell(config.model)}`: {verdict}",
        "",
        f"{metrics.total} questions from {_cell(dataset.name)} (seed {config.seed}) "
        f"against `{_cell(config.endpoint)}`.",
    ]
    if dataset.note:
        lines += ["", f"> **Note:** {_cell(dataset.note)}"]
    lines += _headline(results)
    if gates.results:
        lines += ["", "### Gates", ""]
        lines += [f"- {'✅' if g.passed else '❌'} {_cell(g.message)}" for g in gates.results]
    if metrics.errors_by_kind:
        lines += ["", "### Errors", "", "| kind | questions |", "|---|---|"]
        lines += [f"| {_cell(kind)} | {count} |" for kind, count in metrics.errors_by_kind.items()]
    lines += _worst(results, worst)
    lines += ["", f"<sub>{_cell(dataset.attribution)}</sub>", ""]
    return "\n".join(lines)


def _headline(results: Results) -> list[str]:
    metrics = results.metrics
    latency = metrics.latency
    similarity = "skipped (no --embedding-model)" if metrics.similarity is None else f"{metrics.similarity:.3f}"
    return [
        "",
        "| metric | value |",
        "|---|---|",
        f"| Exact match | {metrics.exact_match:.2f} (raw {metrics.raw_exact_match:.2f}) |",
        f"| F1 | {metrics.f1:.2f} (raw {metrics.raw_f1:.2f}) |",
        f"| Semantic similarity | {similarity} |",
        f"| Answered | {metrics.answered} of {metrics.total} (error rate {metrics.error_rate:.2%}) |",
        f"| Latency p50 / p95 / p99 | {_ms(latency.p50)} / {_ms(latency.p95)} / {_ms(latency.p99)} |",
        f"| Tokens | {metrics.total_tokens:,} |",
        f"| Cost | {cost_text(metrics, unreported='not reported')} |",
    ]


def _worst(results: Results, count: int) -> list[str]:
    rows = worst_examples(results.examples, count)
    if not rows:
        return []
    lines = ["", f"### Worst {len(rows)} answers", "", "| question | answer | references | F1 |", "|---|---|---|---|"]
    for example in rows:
        error = example.error.kind if example.error is not None else ""
        answer = example.prediction if example.prediction is not None else f"(error: {error})"
        references = " / ".join(dict.fromkeys(example.answers))
        lines.append(f"| {_cell(example.question)} | {_cell(answer)} | {_cell(references)} | {example.f1:.2f} |")
    return lines


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell or list item: one line, pipes escaped."""
    flat = " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return flat if len(flat) <= 200 else flat[:197] + "..."
