"""Charts as SVG drawn on the server: the attention bars above the search results and the
per-source sparklines. No JavaScript and no charting library: a page with a chart is still one
HTML document that reads the same with scripts off, prints, and passes the CSP.

Every text in a chart (a source name, a language code) is escaped; each bar carries its period,
key and count as ``data-`` attributes and a ``<title>``, so it can be read by a person hovering,
a screen reader and a test alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from markupsafe import Markup, escape

from crawler.store.roles import AttentionBucket

#: Colour-blind-safe palette (Okabe–Ito), then greys; one colour per split key.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#666666")
STEP = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
#: Periods drawn at most; a longer range is cut to its latest periods (said under the chart).
MAX_PERIODS = 400


@dataclass(frozen=True)
class Period:
    """One bar: its start, and the stories of each split key in it."""

    start: datetime
    counts: dict[str | None, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def periods(buckets: Iterable[AttentionBucket], interval: str) -> list[Period]:
    """Buckets → one period per day or hour from the first to the last, empty ones included
    (a gap in attention is information too); at most ``MAX_PERIODS``, the latest."""
    by_start: dict[datetime, dict[str | None, int]] = {}
    for b in buckets:
        counts = by_start.setdefault(b.start, {})
        counts[b.key] = counts.get(b.key, 0) + b.stories
    if not by_start:
        return []
    step = STEP[interval]
    first, last = min(by_start), max(by_start)
    if (last - first) // step >= MAX_PERIODS:
        first = last - step * (MAX_PERIODS - 1)
    out = []
    at = first
    while at <= last:
        out.append(Period(at, by_start.get(at, {})))
        at += step
    return out


def label(start: datetime, interval: str) -> str:
    return start.strftime("%Y-%m-%d %H:00" if interval == "hour" else "%Y-%m-%d")


def colours(keys: Sequence[str | None]) -> dict[str | None, str]:
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}


def attention_svg(rows: list[Period], interval: str, keys: Sequence[str | None], *,
                  width: int = 900, height: int = 220) -> Markup:
    """Stacked bars of stories per period (one colour per key), with a y scale and dates."""
    if not rows:
        return Markup("")
    left, bottom, top = 40, 36, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(p.total for p in rows) or 1
    slot = plot_w / len(rows)
    bar = max(1.0, slot * 0.8)
    colour = colours(keys)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart attention" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" '
             f'aria-label="{escape(_summary(rows, interval))}">',
             f'<title>{escape(_summary(rows, interval))}</title>']
    for frac in (0, 0.5, 1):                       # the y scale: 0, half, peak
        y = top + plot_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 10}" y1="{y:.1f}" '
                     f'y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{round(peak * frac)}</text>')
    every = max(1, len(rows) // 8)                 # at most ~8 date labels
    for i, period in enumerate(rows):
        x = left + i * slot + (slot - bar) / 2
        when = label(period.start, interval)
        parts.append(f'<g class="period" data-start="{escape(when)}" '
                     f'data-total="{period.total}">')
        y = top + plot_h
        for key in keys:
            n = period.counts.get(key, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            name = "all" if key is None else key
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                         f'height="{h:.1f}" fill="{colour[key]}" data-key="{escape(name)}" '
                         f'data-count="{n}"><title>{escape(when)} · {escape(name)}: {n} '
                         f'stor{"y" if n == 1 else "ies"}</title></rect>')
        parts.append("</g>")
        if i % every == 0:
            parts.append(f'<text class="axis" x="{x + bar / 2:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle" font-size="11">{escape(when)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _summary(rows: list[Period], interval: str) -> str:
    total = sum(p.total for p in rows)
    return (f"{total} stories per {interval} from {label(rows[0].start, interval)} to "
            f"{label(rows[-1].start, interval)}")


def sparkline_svg(counts: Sequence[int], *, width: int = 140, height: int = 28,
                  title: str = "") -> Markup:
    """A small line of articles per day (oldest first), its last value as a dot."""
    if not counts:
        return Markup("")
    peak = max(counts) or 1
    step = (width - 4) / max(1, len(counts) - 1)
    points = [(2 + i * step, height - 3 - (height - 6) * n / peak) for i, n in enumerate(counts)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    last_x, last_y = points[-1]
    text = title or f"{sum(counts)} articles in {len(counts)} days"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'data-counts="{",".join(str(int(n)) for n in counts)}" aria-label="{escape(text)}">'
        f'<title>{escape(text)}</title>'
        f'<polyline points="{line}" fill="none" stroke="#0072B2" stroke-width="1.5"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" fill="#D55E00"/></svg>')
