"""Where views find the app's long-lived collaborators (built once in create_app, per process)."""

from __future__ import annotations

from flask import current_app

from pizza42.auth.tokens import TokenVerifier
from pizza42.config import Settings
from pizza42.orders.store import OrderStore
from pizza42.sessions.store import SessionStore
from pizza42.shop.store import ShopStore


def get_settings() -> Settings:
    """The validated settings of the running app."""
    return current_app.extensions["pizza42.settings"]


def get_store() -> OrderStore:
    """The process's order store (one boto3 client per process)."""
    return current_app.extensions["pizza42.store"]


def get_verifier() -> TokenVerifier:
    """The process's bearer-token verifier (its JWKS cache is shared by all threads)."""
    return current_app.extensions["pizza42.verifier"]


def get_session_store() -> SessionStore:
    """The process's session store (the pages' sessions; the same boto3 client as the order store)."""
    return current_app.extensions["pizza42.sessions"]


def get_shop() -> ShopStore:
    """The process's reader of the shop's indexes and kept figures (the kitchen and analytics)."""
    return current_app.extensions["pizza42.shop"]
