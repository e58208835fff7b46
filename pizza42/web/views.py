"""Web pages (the ordering page, history, account) — thin views over the orders service."""

from __future__ import annotations

from flask import render_template

from pizza42 import menu
from pizza42.web import bp


@bp.get("/")
def home() -> str:
    """The menu."""
    return render_template("home.html", prices=menu.PRICES, sizes=menu.SIZES)
