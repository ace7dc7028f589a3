"""Small inline SVG charts for the HTML report: no JavaScript, no CDN, no plotting library.

The report must be one file that opens anywhere (a CI artefact, an e-mail attachment, an
air-gapped laptop), so each chart is a plain ``<svg>`` element built here. All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from bedrockgate.evals.metrics import percentile

__all__ = ["grouped_bars", "histogram", "nice_ticks", "percentile_curve"]

_WIDTH, _HEIGHT = 640, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 28, 40
_ACCENT, _SECOND, _MUTED, _WARN = "#2563eb", "#f59e0b", "#6b7280", "#dc2626"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``, about ``count`` of them.

    >>> nice_ticks(0, 97)
    [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    """
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(float(value), 10))
        value += step
    return ticks


def histogram(values: Sequence[float], *, title: str, unit: str, bins: int = 24) -> str:
    """Counts of ``values`` in equal-width bins."""
    if not values:
        return _empty(title)
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    x_ticks = nice_ticks(low, high)
    x_low, x_high = min(x_ticks[0], low), max(x_ticks[-1], high)
    y_ticks = nice_ticks(0, max(counts))
    parts = _frame(title, x_ticks=x_ticks, x_range=(x_low, x_high), y_ticks=y_ticks, x_label=unit, y_label="questions")
    plot_w, plot_h = _plot_size()
    for index, count in enumerate(counts):
        if not count:
            continue
        x0 = _scale(low + index * width, x_low, x_high, plot_w)
        x1 = _scale(low + (index + 1) * width, x_low, x_high, plot_w)
        h = plot_h * count / y_ticks[-1]
        tip = escape(f"{count} between {low + index * width:.0f} and {low + (index + 1) * width:.0f} {unit}")
        parts.append(
            f'<rect x="{_LEFT + x0 + 0.5:.1f}" y="{_TOP + plot_h - h:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="{_ACCENT}"><title>{tip}</title></rect>'
        )
    return _close(parts)


def percentile_curve(
    values: Sequence[float],
    *,
    title: str,
    unit: str,
    marks: Sequence[int] = (50, 90, 95, 99),
    limit: float | None = None,
) -> str:
    """Latency by percentile (0-100), with the marked percentiles labelled and an optional limit line."""
    if not values:
        return _empty(title)
    ordered = sorted(values)
    points = [(q, percentile(ordered, q) or 0.0) for q in range(101)]
    top = max(ordered[-1], limit or 0.0)
    y_ticks = nice_ticks(0, top)
    x_ticks = [0.0, 25.0, 50.0, 75.0, 100.0]
    parts = _frame(title, x_ticks=x_ticks, x_range=(0.0, 100.0), y_ticks=y_ticks, x_label="percentile", y_label=unit)
    plot_w, plot_h = _plot_size()

    def xy(q: float, value: float) -> tuple[float, float]:
        return _LEFT + _scale(q, 0, 100, plot_w), _TOP + plot_h - _scale(value, 0, y_ticks[-1], plot_h)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(q, v) for q, v in points))
    parts.append(f'<polyline points="{line}" fill="none" stroke="{_ACCENT}" stroke-width="2"/>')
    if limit is not None:
        _, y = xy(0, limit)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_WARN}" '
            f'stroke-dasharray="6 4"/><text x="{_LEFT + 4}" y="{y - 4:.1f}" font-size="11" fill="{_WARN}">'
            f"limit {limit:.0f} {escape(unit)}</text>"
        )
    for mark in marks:
        value = percentile(ordered, mark) or 0.0
        x, y = xy(mark, value)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_SECOND}"/>'
            f'<text x="{x - 6:.1f}" y="{y - 8:.1f}" font-size="11" text-anchor="end">p{mark} {value:.0f}</text>'
        )
    return _close(parts)


def grouped_bars(
    categories: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str, maximum: float = 100.0
) -> str:
    """Horizontal bars, one group per category, one bar per series (such as EM and F1 by question type)."""
    if not categories:
        return _empty(title)
    colours = (_ACCENT, _SECOND, _MUTED)
    row = 14 * len(series) + 10
    height = _TOP + row * len(categories) + 30
    label_w = round(max(90, 12 + 7.5 * max(len(category) for category in categories)))  # ~7.5 px a character
    plot_w = _WIDTH - label_w - _RIGHT - 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif">',
        f'<text x="{_WIDTH / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    for index, category in enumerate(categories):
        y0 = _TOP + index * row
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + row / 2 + 2:.1f}" text-anchor="end" font-size="12">'
            f"{escape(category)}</text>"
        )
        for s, (name, values) in enumerate(series):
            value = values[index]
            w = plot_w * max(0.0, min(value, maximum)) / maximum
            y = y0 + 4 + s * 14
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="12" fill="{colours[s % len(colours)]}">'
                f"<title>{escape(f'{category} {name} {value:.1f}')}</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + 10}" font-size="10">{value:.1f}</text>'
            )
    legend_y = height - 10
    for s, (name, _) in enumerate(series):
        x = label_w + s * 80
        parts.append(
            f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{colours[s % len(colours)]}"/>'
            f'<text x="{x + 14}" y="{legend_y}" font-size="11">{escape(name)}</text>'
        )
    return _close(parts)


def _plot_size() -> tuple[float, float]:
    return _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM


def _scale(value: float, low: float, high: float, length: float) -> float:
    return length * (value - low) / (high - low) if high > low else 0.0


def _format_tick(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:g}"


def _frame(
    title: str,
    *,
    x_ticks: Sequence[float],
    x_range: tuple[float, float],
    y_ticks: Sequence[float],
    x_label: str,
    y_label: str,
) -> list[str]:
    plot_w, plot_h = _plot_size()
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" width="{_WIDTH}" height="{_HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif">',
        f'<text x="{_WIDTH / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    for tick in y_ticks:
        y = _TOP + plot_h - _scale(tick, y_ticks[0], y_ticks[-1], plot_h)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{_MUTED}">'
            f"{_format_tick(tick)}</text>"
        )
    for tick in x_ticks:
        x = _LEFT + _scale(tick, *x_range, plot_w)
        parts.append(
            f'<text x="{x:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle" font-size="11" fill="{_MUTED}">'
            f"{_format_tick(tick)}</text>"
        )
    parts.append(
        f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}" stroke="{_MUTED}"/>'
        f'<text x="{_LEFT + plot_w / 2}" y="{_HEIGHT - 6}" text-anchor="middle" font-size="11">{escape(x_label)}</text>'
        f'<text x="14" y="{_TOP + plot_h / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 14 {_TOP + plot_h / 2})">{escape(y_label)}</text>'
    )
    return parts


def _empty(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} 60" width="{_WIDTH}" height="60" role="img" '
        f'aria-label="{escape(title)}" font-family="system-ui, sans-serif"><text x="{_WIDTH / 2}" y="34" '
        f'text-anchor="middle" font-size="13" fill="{_MUTED}">{escape(title)}: no data</text></svg>'
    )


def _close(parts: list[str]) -> str:
    return "".join(parts) + "</svg>"
