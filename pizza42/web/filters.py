"""Jinja filters that make the domain's values readable: money, dates, order frequency."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint


def money(amount: Decimal | float | int | None) -> str:
    """`$1,234.50` (USD, two decimals); an em dash for nothing."""
    if amount is None:
        return "—"
    return f"${Decimal(str(amount)):,.2f}"


def _parse(timestamp: str | int | float | None) -> datetime | None:
    if timestamp is None or timestamp == "":
        return None
    try:
        if isinstance(timestamp, int | float):
            return datetime.fromtimestamp(timestamp, UTC)
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None


def when(timestamp: str | int | float | None) -> str:
    """`3 Mar 2026, 14:05 UTC` from an ISO timestamp or epoch seconds (the raw value if unparseable)."""
    moment = _parse(timestamp)
    if moment is None:
        return str(timestamp or "—")
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def day(timestamp: str | int | float | None) -> str:
    """`3 Mar 2026` from an ISO timestamp."""
    moment = _parse(timestamp)
    return f"{moment.day} {moment:%b %Y}" if moment else str(timestamp or "—")


def frequency(per_day: float | None) -> str:
    """Orders per day as a person would say it: per day, per week or per month."""
    if not per_day:
        return "—"
    for unit, days in (("day", 1), ("week", 7), ("month", 30)):
        value = per_day * days
        if value >= 1 or unit == "month":
            return f"{value:.1f} per {unit}".replace(".0 ", " ")
    return "—"  # pragma: no cover  (the loop always returns)


def yes_no(value: object) -> str:
    """`Yes` / `No` for a claim's truth value."""
    return "Yes" if value is True else "No"


def register_filters(bp: Blueprint) -> None:
    """Make the filters available to every template."""
    for function in (money, when, day, frequency, yes_no):
        bp.add_app_template_filter(function, function.__name__)
