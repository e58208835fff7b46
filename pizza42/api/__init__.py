"""The JSON API under /api for the shop's SPA (spec §4)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from pizza42.api import shop, views  # noqa: E402,F401  (routes register themselves on bp)
