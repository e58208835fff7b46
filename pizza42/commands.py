"""Operator commands: `flask --app pizza42 create-table` (orders and sessions) and `rebuild-profiles`."""

from __future__ import annotations

import click
from flask import Flask

from pizza42.dependencies import get_session_store, get_store


@click.command("create-table")
def create_table_command() -> None:
    """Create the orders and the sessions tables (on-demand billing, TTL); each is left alone if it exists."""
    for store in (get_store(), get_session_store()):
        created = store.create_table()
        click.echo(f"created table {store.table_name}" if created else f"table {store.table_name} already exists")


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


def register_commands(app: Flask) -> None:
    """Attach the operator commands to the app's CLI."""
    app.cli.add_command(create_table_command)
    app.cli.add_command(rebuild_profiles_command)
