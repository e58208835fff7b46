"""The server-rendered pages for customers."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from pizza42.web import views  # noqa: E402,F401  (routes register themselves on bp)
