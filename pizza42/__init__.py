"""Pizza 42: order pizzas after logging in with Auth0; orders live in DynamoDB."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from flask import Flask

from pizza42.config import Settings, load_settings

_ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None, *, dynamodb_client: object | None = None,
               token_verifier: object | None = None, clock: Callable[[], float] | None = None) -> Flask:
    """Build the app: settings from the environment unless given; collaborators (and the clock) injectable."""
    settings = settings or load_settings()
    app = Flask(__name__, template_folder=str(_ROOT / "templates"), static_folder=str(_ROOT / "static"))
    configure(app, settings)
    register_extensions(app, settings, dynamodb_client, token_verifier, clock or time.time)
    register_security(app, settings)
    register_assets(app)
    register_web_login(app, settings)
    register_blueprints(app)
    register_csrf(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def configure(app: Flask, settings: Settings) -> None:
    """Flask settings derived from ours."""
    from pizza42.json_provider import ApiJSONProvider

    app.json = ApiJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SECRET_KEY_FALLBACKS=list(settings.secret_key_fallbacks),
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=16 * 1024,
    )
    app.extensions["pizza42.settings"] = settings


def register_extensions(app: Flask, settings: Settings, dynamodb_client: object | None,
                        token_verifier: object | None, clock: Callable[[], float]) -> None:
    """The per-process collaborators: one boto3 client (shared by both stores), one token verifier."""
    from zoneinfo import ZoneInfo

    from pizza42.auth.tokens import TokenVerifier
    from pizza42.aws import make_dynamodb_client
    from pizza42.observability import metrics
    from pizza42.orders.figures import ShopTime
    from pizza42.orders.store import OrderStore
    from pizza42.sessions.store import SessionStore
    from pizza42.shop.store import ShopStore

    client = dynamodb_client or make_dynamodb_client(settings)
    shop_time = ShopTime(ZoneInfo(settings.shop_timezone))
    app.extensions["pizza42.store"] = OrderStore(client, settings.table_name, clock=clock, shop_time=shop_time)
    app.extensions["pizza42.shop"] = ShopStore(client, settings.table_name, shop_time=shop_time)
    app.extensions["pizza42.sessions"] = SessionStore(
        client, settings.sessions_table_name, idle_seconds=settings.session_idle_seconds,
        lifetime_seconds=settings.session_lifetime_seconds, clock=clock)
    app.extensions["pizza42.verifier"] = token_verifier or TokenVerifier(
        issuer=settings.auth0_issuer, audience=settings.auth0_audience,
        spa_client_ids=settings.spa_client_ids, http_timeout=settings.http_timeout,
        on_jwks_refetch=partial(metrics.count, "JwksRefetches"))


def register_security(app: Flask, settings: Settings) -> None:
    """JSON logs with request ids, security headers, host checking, CORS on /api."""
    from pizza42.observability import init_observability
    from pizza42.security import init_security

    init_observability(app)
    init_security(app, settings)


def register_assets(app: Flask) -> None:
    """Static URLs carry their content hash, so the edge may let browsers cache them for a year."""
    from pizza42.assets import init_assets

    init_assets(app)


def register_web_login(app: Flask, settings: Settings) -> None:
    """Browser login (Authlib's OIDC client) and the pages' server-side sessions."""
    from pizza42.web.login import init_login

    init_login(app, settings)


def register_blueprints(app: Flask) -> None:
    """The JSON API, the customers' pages and the shop's (kitchen, analytics) pages."""
    from pizza42.api import bp as api_bp
    from pizza42.staff import bp as staff_bp
    from pizza42.web import bp as web_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(staff_bp)  # after web: its 403 check runs after visitors are sent to log in


def register_csrf(app: Flask) -> None:
    """CSRF checks on every form POST (Flask-WTF), except the JSON API's."""
    from flask_wtf.csrf import CSRFProtect

    from pizza42.api import bp as api_bp

    app.config["WTF_CSRF_TIME_LIMIT"] = None  # a CSRF token lives as long as the session it is bound to
    # Sign with SECRET_KEY, but still accept forms signed with a key being rotated out (itsdangerous takes
    # a list: it signs with the last key and verifies with any), so a rotation does not void open forms.
    app.config["WTF_CSRF_SECRET_KEY"] = [*app.config["SECRET_KEY_FALLBACKS"], app.config["SECRET_KEY"]]
    # Every other blueprint is protected by default; the API is exempt because it authenticates with
    # bearer tokens only and never reads the session cookie, so a cross-site request carries no credential.
    CSRFProtect(app).exempt(api_bp)


def register_error_handlers(app: Flask) -> None:
    """JSON errors under /api, pages elsewhere."""
    from pizza42.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    """`create-table` (both tables) and `rebuild-profiles`."""
    from pizza42.commands import register_commands as register

    register(app)
