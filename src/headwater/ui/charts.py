"""A server-rendered SVG chart of a dataflow's runs: records read and written, and duration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

WIDTH = 960
TOP_H = 200
BOTTOM_H = 110
LEFT = 64
RIGHT = 16
GAP = 36
READ = "#0b5cad"
WRITTEN = "#2f9e5a"
DURATION = "#c2410c"
FAILED = "#b3261e"


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    at_ms: int
    read: int
    written: int
    seconds: float
    failed: bool


def _nice(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def runs_chart(points: list[Point], *, title: str) -> str:
    """Grouped bars (read, written) over a duration line, one slot per run, oldest first."""
    height = TOP_H + GAP + BOTTOM_H + 40
    plot_w = WIDTH - LEFT - RIGHT
    n = max(len(points), 1)
    slot = plot_w / n
    bar = max(1.0, min(18.0, slot * 0.38))
    top_max = _nice(max([max(p.read, p.written) for p in points] + [1]))
    dur_max = _nice(max([p.seconds for p in points] + [1.0]))
    y0 = 20 + TOP_H
    d0 = y0 + GAP + BOTTOM_H
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">Records read and written per run (bars, up to {_fmt(top_max)}) and '
        f"run duration in seconds (line, up to {_fmt(dur_max)} s), for the last {len(points)} "
        "runs, oldest on the left. The table below lists the same runs.</desc>",
    ]
    for frac in (0, 0.5, 1):
        y = y0 - TOP_H * frac
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5dce3"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(top_max * frac)}</text>'
        )
        yd = d0 - BOTTOM_H * frac
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yd:.1f}" y2="{yd:.1f}" stroke="#d5dce3"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{yd + 4:.1f}" text-anchor="end">{_fmt(dur_max * frac)} s</text>'
        )
    out.append(f'<text x="{LEFT}" y="14">Records per run</text>')
    out.append(f'<text x="{LEFT}" y="{y0 + GAP - 6}">Duration</text>')
    line: list[str] = []
    for i, p in enumerate(points):
        cx = LEFT + slot * (i + 0.5)
        for value, colour, dx in ((p.read, READ, -bar), (p.written, WRITTEN, 0.0)):
            h = TOP_H * value / top_max
            out.append(
                f'<rect x="{cx + dx:.1f}" y="{y0 - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(p.label)}: {value:,} '
                f"{'read' if colour == READ else 'written'}</title></rect>"
            )
        yd = d0 - BOTTOM_H * p.seconds / dur_max
        line.append(f"{cx:.1f},{yd:.1f}")
        out.append(
            f'<circle cx="{cx:.1f}" cy="{yd:.1f}" r="3.5" fill="{FAILED if p.failed else DURATION}">'
            f"<title>{escape(p.label)}: {p.seconds:.1f} s{' (failed)' if p.failed else ''}</title></circle>"
        )
    if len(line) > 1:
        out.append(
            f'<polyline points="{" ".join(line)}" fill="none" stroke="{DURATION}" stroke-width="2"/>'
        )
    if points:
        for p, x, anchor in ((points[0], LEFT, "start"), (points[-1], WIDTH - RIGHT, "end")):
            out.append(
                f'<text x="{x}" y="{height - 8}" text-anchor="{anchor}" data-iso="{_iso(p.at_ms)}">'
                f"{escape(p.label)}</text>"
            )
    out.append("</svg>")
    return "".join(out)
