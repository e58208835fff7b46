"""Bar-chart geometry for the profile's inline SVG pictures (drawn on the server: no chart library)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pizza42 import menu

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Bar:
    """One bar: its label, the value as text, and its rectangle in the chart's coordinates."""

    label: str
    value_text: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    """A chart's size (its SVG viewBox), bars, and a sentence saying what it shows (for screen readers)."""

    width: int
    height: int
    bars: list[Bar]
    summary: str
    title: str = ""  # the chart's name (its SVG <title>)
    axis_y: float | None = None  # where a column chart's baseline is drawn (None: no axis)
    dense: bool = False  # many narrow bars: drawn smaller, so their labels get a larger font


def _months(first: str, last: str) -> list[str]:
    """Every `YYYY-MM` from first to last, inclusive."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _month_label(month: str, first: bool) -> str:
    name = _MONTH_NAMES[int(month[5:7]) - 1]
    return f"{name} {month[2:4]}" if first or month.endswith("-01") else name


def dollars(amount: float) -> str:
    """`$1,234` for whole dollars, else `$1,234.50` (chart labels)."""
    return _dollars(amount)


def _dollars(amount: float) -> str:
    return f"${amount:,.0f}" if amount == int(amount) else f"${amount:,.2f}"


def _months_back(month: str, count: int) -> str:
    """The `YYYY-MM` month `count` months before this one."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def monthly_spend_chart(monthly_spend: dict[str, float], min_months: int = 6,
                        max_months: int = 12) -> BarChart | None:
    """Vertical bars: spend in each of the last months (at least six, at most twelve; gaps shown as zero)."""
    if not monthly_spend:
        return None
    last = max(monthly_spend)
    first = min(min(monthly_spend), _months_back(last, min_months - 1))
    months = _months(first, last)[-max_months:]
    values = [float(monthly_spend.get(month, 0)) for month in months]
    top = max(values) or 1.0
    slot, bar_width, plot_top, plot_height = 56, 36, 24, 150
    bars = []
    for index, (month, value) in enumerate(zip(months, values, strict=True)):
        height = round(plot_height * value / top, 1)
        bars.append(Bar(label=_month_label(month, index == 0), value_text=_dollars(value),
                        x=index * slot + (slot - bar_width) / 2, y=plot_top + plot_height - height,
                        width=bar_width, height=height))
    summary = "Spend per month: " + ", ".join(f"{bar.label} {bar.value_text}" for bar in bars) + "."
    return BarChart(width=len(months) * slot, height=plot_top + plot_height + 28, bars=bars, summary=summary,
                    title="Spend per month", axis_y=plot_top + plot_height)


def pizza_mix_chart(pizza_counts: dict[str, int]) -> BarChart | None:
    """Horizontal bars: how many of each pizza on the menu the customer has ordered."""
    if not any(pizza_counts.values()):
        return None
    names = list(menu.PIZZAS) + sorted(name for name in pizza_counts if name not in menu.PIZZAS)
    top = max(pizza_counts.values())
    row, bar_height, label_width, plot_width = 34, 22, 100, 200
    bars = []
    for index, name in enumerate(names):
        count = int(pizza_counts.get(name, 0))
        bars.append(Bar(label=name, value_text=str(count), x=label_width, y=index * row + (row - bar_height) / 2,
                        width=round(plot_width * count / top, 1), height=bar_height))
    summary = "Pizzas ordered: " + ", ".join(f"{bar.label} {bar.value_text}" for bar in bars) + "."
    return BarChart(width=label_width + plot_width + 40, height=len(names) * row, bars=bars, summary=summary,
                    title="Pizza mix")


def columns(title: str, points: list[tuple[str, float]], value_text: Callable[[float], str], *,
            label_every: int = 1, from_end: bool = False) -> BarChart:
    """Vertical bars for a series (days, hours): every value drawn, every `label_every`-th label shown
    (counted back from the last one with `from_end`, so the latest day is always labelled).

    Values are written over the bars only when there are few of them; the page's table has every number.
    """
    many = len(points) > 12
    slot, bar_width, plot_top, plot_height = (22, 14, 12, 150) if many else (56, 36, 24, 150)
    margin = 26 if many else 0  # room for the first and last labels, wider than a narrow bar
    top = max((value for _, value in points), default=0) or 1.0
    bars = []
    for index, (label, value) in enumerate(points):
        height = round(plot_height * value / top, 1)
        step = len(points) - 1 - index if from_end else index
        shown = label if step % label_every == 0 else ""
        bars.append(Bar(label=shown, value_text="" if many else value_text(value),
                        x=margin + index * slot + (slot - bar_width) / 2, y=plot_top + plot_height - height,
                        width=bar_width, height=height))
    summary = f"{title}: " + ", ".join(f"{label} {value_text(value)}" for label, value in points) + "."
    return BarChart(width=max(len(points), 1) * slot + 2 * margin, height=plot_top + plot_height + 28, bars=bars,
                    summary=summary, title=title, axis_y=plot_top + plot_height, dense=many)


def rows(title: str, points: list[tuple[str, float]], value_text: Callable[[float], str]) -> BarChart:
    """Horizontal bars, one per named value (pizzas, sizes, new and returning customers)."""
    top = max((value for _, value in points), default=0) or 1.0
    row, bar_height, label_width, plot_width = 34, 22, 100, 200
    bars = [Bar(label=label, value_text=value_text(value), x=label_width, y=index * row + (row - bar_height) / 2,
                width=round(plot_width * value / top, 1), height=bar_height)
            for index, (label, value) in enumerate(points)]
    summary = f"{title}: " + ", ".join(f"{bar.label} {bar.value_text}" for bar in bars) + "."
    return BarChart(width=label_width + plot_width + 40, height=max(len(points), 1) * row, bars=bars,
                    summary=summary, title=title)
