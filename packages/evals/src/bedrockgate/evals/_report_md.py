"""``summary.md``: the run in a few lines of Markdown, for CI logs and ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bedrockgate.evals._report_html import worst_examples

__all__ = ["render_markdown"]


def render_markdown(document: Mapping[str, Any], *, worst: int = 5) -> str:
    """The summary: headline table, gates, errors, and the worst answers."""
    config, dataset, metrics, gates = document["config"], document["dataset"], document["metrics"], document["gates"]
    verdict = "no gates" if not gates["results"] else ("PASSED" if gates["passed"] else "FAILED")
    latency, cost = metrics["latency_ms"], metrics["cost_usd"]
    similarity = "skipped (no --embedding-model)" if metrics["similarity"] is None else f"{metrics['similarity']:.3f}"
    cost_text = "not reported" if cost["total"] is None else f"${cost['total']:.4f}"
    if cost["total"] is not None and cost["reported"] < cost["expected"]:
        cost_text += f" (reported for {cost['reported']} of {cost['expected']} calls)"
    lines = [
        f"## SQuAD evaluation of `{_cell(config['model'])}`: {verdict}",
        "",
        f"{metrics['total']} questions from {_cell(dataset['name'])} (seed {config['seed']}) "
        f"against `{_cell(config['endpoint'])}`.",
    ]
    if dataset.get("note"):
        lines += ["", f"> **Note:** {_cell(dataset['note'])}"]
    lines += [
        "",
        "| metric | value |",
        "|---|---|",
        f"| Exact match | {metrics['exact_match']:.2f} (raw {metrics['raw_exact_match']:.2f}) |",
        f"| F1 | {metrics['f1']:.2f} (raw {metrics['raw_f1']:.2f}) |",
        f"| Semantic similarity | {similarity} |",
        f"| Answered | {metrics['answered']} of {metrics['total']} (error rate {metrics['errors']['rate']:.2%}) |",
        f"| Latency p50 / p95 / p99 | {_ms(latency['p50'])} / {_ms(latency['p95'])} / {_ms(latency['p99'])} |",
        f"| Tokens | {metrics['tokens']['total']:,} |",
        f"| Cost | {cost_text} |",
    ]
    if gates["results"]:
        lines += ["", "### Gates", ""]
        lines += [f"- {'✅' if g['passed'] else '❌'} {_cell(g['message'])}" for g in gates["results"]]
    if metrics["errors"]["by_kind"]:
        lines += ["", "### Errors", "", "| kind | questions |", "|---|---|"]
        lines += [f"| {_cell(kind)} | {count} |" for kind, count in metrics["errors"]["by_kind"].items()]
    rows = worst_examples(document["examples"], worst)
    if rows:
        lines += [
            "",
            f"### Worst {len(rows)} answers",
            "",
            "| question | answer | references | F1 |",
            "|---|---|---|---|",
        ]
        for example in rows:
            answer = (
                example["prediction"] if example["prediction"] is not None else f"(error: {example['error']['kind']})"
            )
            references = " / ".join(dict.fromkeys(example["answers"]))
            lines.append(
                f"| {_cell(example['question'])} | {_cell(answer)} | {_cell(references)} | {example['f1']:.2f} |"
            )
    lines += ["", f"<sub>{_cell(dataset['attribution'])}</sub>", ""]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell or list item: one line, pipes escaped."""
    flat = " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return flat if len(flat) <= 200 else flat[:197] + "..."
