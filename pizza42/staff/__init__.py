"""The shop's own pages (a third audience beside customers and the API): the kitchen and the manager's figures.

They share the pages' login and session (pizza42.web.session); who may open them comes from the ID token's
roles claim (pizza42.shop.access). Forms are CSRF-protected like every page's.
"""

from flask import Blueprint

bp = Blueprint("staff", __name__)

from pizza42.staff import access, analytics, day, kitchen  # noqa: E402,F401  (routes register themselves on bp)
