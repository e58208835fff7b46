"""Jinja filters that make the domain's values readable: money, dates (in the shop's time zone), order frequency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, has_app_context


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


def shop_zone() -> tzinfo:
    """The shop's time zone (SHOP_TIMEZONE) in a running app; UTC outside one."""
    if not has_app_context():
        return UTC
    settings = current_app.extensions.get("pizza42.settings")
    return ZoneInfo(settings.shop_timezone) if settings else UTC  # ZoneInfo caches each zone it builds


def shop_time(timestamp: str | int | float | None) -> datetime | None:
    """An ISO timestamp or epoch seconds as an aware datetime in the shop's time zone; None if unparseable."""
    moment = _parse(timestamp)
    return moment.astimezone(shop_zone()) if moment else None


def when(timestamp: str | int | float | None) -> str:
    """`5 Dec 2026, 19:45 CET` in the shop's time zone, from an ISO timestamp or epoch seconds (raw if unparseable)."""
    moment = shop_time(timestamp)
    if moment is None:
        return str(timestamp or "—")
    return f"{moment.day} {moment:%b %Y, %H:%M} {moment.tzname() or 'UTC'}"


def clock(timestamp: str | int | float | None) -> str:
    """`19:45` in the shop's time zone (for the kitchen's cards and tables, where the day is known)."""
    moment = shop_time(timestamp)
    return f"{moment:%H:%M}" if moment else str(timestamp or "—")


def day(timestamp: str | int | float | None) -> str:
    """`3 Mar 2026` (the shop's day) from an ISO timestamp."""
    moment = shop_time(timestamp)
    return f"{moment.day} {moment:%b %Y}" if moment else str(timestamp or "—")


def frequency(profile: dict | None) -> str | None:
    """How often the customer orders ("2 per week"); None until two orders lie at least a day apart.

    `order_frequency_per_day` is orders per day since the first order (at least one day), so one
    order, or a few on the same day, would read "1 per day": a count, not a habit.
    """
    if not profile or not isinstance(profile.get("total_orders"), int) or profile["total_orders"] < 2:
        return None
    first, last = _parse(profile.get("first_order")), _parse(profile.get("last_order"))
    per_day = profile.get("order_frequency_per_day")
    if first is None or last is None or last - first < timedelta(days=1) or not per_day or per_day <= 0:
        return None
    for unit, days in (("day", 1), ("week", 7)):
        if per_day * days >= 1:
            return f"{per_day * days:.1f}".removesuffix(".0") + f" per {unit}"
    per_month = f"{per_day * 30:.1f}".removesuffix(".0")
    return f"{per_month} per month" if per_month != "0" else "less than 0.1 per month"


def yes_no(value: object) -> str:
    """`Yes` / `No` for a claim's truth value."""
    return "Yes" if value is True else "No"


def register_filters(bp: Blueprint) -> None:
    """Make the filters available to every template."""
    for function in (money, when, clock, day, frequency, yes_no):
        bp.add_app_template_filter(function, function.__name__)
