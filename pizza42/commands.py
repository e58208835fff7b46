"""Operator commands: `flask --app pizza42 create-table` (orders and sessions), `rebuild-profiles`,
`backfill-shop` (orders placed before the kitchen existed) and `rebuild-figures` (the shop's analytics)."""

from __future__ import annotations

import time

import click
from flask import Flask

from pizza42.dependencies import get_session_store, get_store
from pizza42.orders import maintenance


@click.command("create-table")
def create_table_command() -> None:
    """Create the orders and the sessions tables (on-demand, TTL, indexes); an existing one gets missing indexes."""
    for store in (get_store(), get_session_store()):
        created = store.create_table()
        click.echo(f"created table {store.table_name}" if created else
                   f"table {store.table_name} already exists (its indexes are in place)")


@click.command("rebuild-profiles")
@click.option("--user", "user_ids", multiple=True, help="Only this customer (repeatable); default: everyone.")
def rebuild_profiles_command(user_ids: tuple[str, ...]) -> None:
    """Recompute customer summaries from their orders (safe while the shop is open)."""
    store = get_store()
    count = 0
    for user_id in user_ids or store.customer_ids():
        summary = store.rebuild_summary(user_id)
        count += 1
        click.echo(f"{user_id}: {summary.total_orders} orders")
    click.echo(f"rebuilt {count} customer profile(s)")


@click.command("backfill-shop")
@click.option("--keep-open-hours", default=12, show_default=True, type=click.IntRange(min=0),
              help="Orders placed this recently that are still confirmed join the kitchen's queue; "
                   "older ones are marked completed.")
def backfill_shop_command(keep_open_hours: int) -> None:
    """File orders placed before the kitchen existed (or before SHOP_TIMEZONE changed) in the shop's indexes,
    then rebuild the shop's figures."""
    store = get_store()
    result = maintenance.backfill_shop_keys(store, time.time(), keep_open_hours * 3600)
    click.echo(f"filed {result.filed} order(s) by day: {result.queued} on the kitchen's queue, "
               f"{result.completed} marked completed; {result.refiled} moved to their day in SHOP_TIMEZONE")
    click.echo(f"rebuilt the figures of {maintenance.rebuild_figures(store)} day(s)")


@click.command("rebuild-figures")
def rebuild_figures_command() -> None:
    """Recount the shop's daily figures from the orders (run at a quiet moment)."""
    click.echo(f"rebuilt the figures of {maintenance.rebuild_figures(get_store())} day(s)")


def register_commands(app: Flask) -> None:
    """Attach the operator commands to the app's CLI."""
    app.cli.add_command(create_table_command)
    app.cli.add_command(rebuild_profiles_command)
    app.cli.add_command(backfill_shop_command)
    app.cli.add_command(rebuild_figures_command)
