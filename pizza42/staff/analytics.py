"""The manager's page: today at a glance and the last 30 shop-local days, drawn on the server as SVG charts.

Its figures come from the kept aggregates (pizza42.shop.analytics): a bounded number of DynamoDB requests
however many orders there were. Every chart has its numbers beside it as a table.
"""

from __future__ import annotations

from datetime import date

from flask import render_template

from pizza42.dependencies import get_session_store, get_settings, get_shop
from pizza42.shop.analytics import day_json, last_days, report
from pizza42.staff import bp
from pizza42.staff.access import managers_only
from pizza42.web.charts import BarChart, columns, dollars, rows
from pizza42.web.filters import money

DAYS = 30


def _count(value: float) -> str:
    return f"{int(value):,}"


def _short(day: str) -> str:
    """`5 Dec` from `2026-12-05`."""
    moment = date.fromisoformat(day)
    return f"{moment.day} {moment:%b}"


def charts(days: list[dict], totals: dict) -> dict[str, BarChart]:
    """The page's charts from the days' and the totals' figures (as the API shows them)."""
    by_day = [(_short(day["day"]), day["orders"]) for day in days]
    revenue = [(_short(day["day"]), day["revenue"]) for day in days]
    return {
        "orders": columns("Orders per day", by_day, _count, label_every=7, from_end=True),
        "revenue": columns("Revenue per day", revenue, dollars, label_every=7, from_end=True),
        "hours": columns("Orders by hour of day", [(hour, n) for hour, n in totals["hours"].items()], _count,
                         label_every=4),
        "pizzas": rows("Orders per pizza", sorted(totals["pizzas"].items(), key=lambda item: -item[1]), _count),
        "sizes": rows("Orders per size", [(size.capitalize(), n) for size, n in totals["sizes"].items()], _count),
        "customers": rows("Orders from new and returning customers",
                          [("New", totals["new_customers"]), ("Returning", totals["returning_orders"])], _count),
    }


def tables(days: list[dict], totals: dict) -> dict[str, tuple[str, tuple[str, ...], list[tuple]]]:
    """Every chart's numbers as a table (caption, column names, rows): the charts' text alternative."""
    return {
        "days": ("Orders, revenue and cancellations per day", ("Day", "Orders", "Revenue", "Cancelled"),
                 [(_short(day["day"]), day["orders"], money(day["revenue"]), day["cancelled"]) for day in days]),
        "hours": ("Orders by hour of day", ("Hour", "Orders"),
                  [(f"{hour}:00", count) for hour, count in totals["hours"].items()]),
        "pizzas": ("Orders per pizza", ("Pizza", "Orders"), list(totals["pizzas"].items())),
        "sizes": ("Orders per size", ("Size", "Orders"),
                  [(size.capitalize(), count) for size, count in totals["sizes"].items()]),
        "customers": ("Orders from new and returning customers", ("Customers", "Orders"),
                      [("New", totals["new_customers"]), ("Returning", totals["returning_orders"])]),
    }


@bp.get("/shop/analytics")
@managers_only
def analytics() -> str:
    """Today, then the last 30 days: orders, revenue, pizzas, sizes, hours, new vs returning, cancellations."""
    shop = get_shop()
    first, last = last_days(shop.shop_time.today(get_session_store().now()), DAYS)
    figures = report(shop, first, last)
    days = [day_json(day) for day in figures.days]
    totals = day_json(figures.totals)
    return render_template("analytics.html", first=first, last=last, days=days, today=days[-1], totals=totals,
                           charts=charts(days, totals), tables=tables(days, totals), short=_short,
                           zone=get_settings().shop_timezone)
