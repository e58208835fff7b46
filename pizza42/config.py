"""Settings: the only module that reads the environment (spec §1)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(Exception):
    """A required setting is missing or malformed; the message is one line naming it."""


@dataclass(frozen=True)
class Settings:
    """Everything the app is configured with, validated once at start-up."""

    secret_key: str
    auth0_issuer: str
    auth0_client_id: str
    auth0_client_secret: str
    auth0_audience: str = "https://pizza42-api"
    auth0_domain: str | None = None
    spa_client_ids: frozenset[str] = frozenset()
    order_scope: str = "place:orders"
    aws_region: str = "us-east-1"
    table_name: str = "Pizza42-Orders"
    sessions_table_name: str = "Pizza42-Sessions"
    dynamodb_endpoint_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    app_base_url: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    secret_key_fallbacks: tuple[str, ...] = ()
    # The pages' sessions end after this long without a request, and this long after login whatever happens.
    session_idle_seconds: int = 30 * 60
    session_lifetime_seconds: int = 8 * 3600
    # Peers (IPs, CIDRs, or "*") whose X-Forwarded-For/-Proto the app believes: the proxy in front.
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)
    # Timeouts (seconds) for calls the app makes; all well below gunicorn's worker timeout.
    dynamodb_connect_timeout: float = 1.0
    dynamodb_read_timeout: float = 2.0
    dynamodb_max_attempts: int = 3
    # Off: every DynamoDB call through the stock boto3 client (the escape hatch from dynamodb/direct.py).
    dynamodb_direct_path: bool = True
    http_timeout: float = 3.0
    # The shop's side: where its day starts, how long a customer may cancel, and the Auth0 roles of staff.
    shop_timezone: str = "UTC"
    cancel_window_seconds: int = 5 * 60
    staff_role: str = "staff"
    manager_role: str = "manager"

    @property
    def discovery_url(self) -> str:
        """Where the issuer publishes its OpenID configuration (and so its JWKS location)."""
        return self.auth0_issuer.rstrip("/") + "/.well-known/openid-configuration"


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _require_url(name: str, value: str, *, allow_path: bool = True) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    if not allow_path and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ConfigError(f"{name} must be a bare origin like https://shop.example.com, got {value!r}")
    return value


def _proxies(value: str | None) -> tuple[str, ...]:
    # The same variable, and the same default, as gunicorn.conf.py's forwarded_allow_ips.
    entries = _csv(value) or ("127.0.0.1",)
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry)  # strict, as gunicorn: 10.0.0.1/8 is a mistake for 10.0.0.0/8
        except ValueError:
            raise ConfigError(f"FORWARDED_ALLOW_IPS must list IP addresses or networks (or '*'), "
                              f"got {entry!r}") from None
    return entries


def _number(env: Mapping[str, str], name: str, default: float, kind: type = float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _on_off(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw.lower() not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off, got {raw!r}")
    return raw.lower() == "on"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise ConfigError naming the first bad one."""
    env = os.environ if env is None else env

    def required(name: str) -> str:
        value = (env.get(name) or "").strip()
        if not value:
            raise ConfigError(f"{name} is required (see deploy/pizza42.env.example)")
        return value

    secret_key = required("SECRET_KEY")
    if len(secret_key) < 16:
        raise ConfigError("SECRET_KEY must be at least 16 characters; generate one with "
                          "python -c 'import secrets; print(secrets.token_hex(32))'")
    domain = (env.get("AUTH0_DOMAIN") or "").strip() or None
    issuer = (env.get("AUTH0_ISSUER") or "").strip()
    if not issuer:
        if not domain:
            raise ConfigError("AUTH0_DOMAIN (or AUTH0_ISSUER) is required")
        if "/" in domain or ":" in domain:
            raise ConfigError(f"AUTH0_DOMAIN must be a host name like pizza42.us.auth0.com, got {domain!r}")
        issuer = f"https://{domain}/"
    _require_url("AUTH0_ISSUER", issuer)
    base_url = (env.get("APP_BASE_URL") or "").strip() or None
    if base_url:
        _require_url("APP_BASE_URL", base_url)
    endpoint = (env.get("DYNAMODB_ENDPOINT_URL") or "").strip() or None
    if endpoint:
        _require_url("DYNAMODB_ENDPOINT_URL", endpoint)
    table_name = (env.get("DYNAMODB_TABLE_NAME") or "").strip() or "Pizza42-Orders"
    sessions_table_name = (env.get("DYNAMODB_SESSIONS_TABLE_NAME") or "").strip() or "Pizza42-Sessions"
    if sessions_table_name == table_name:
        raise ConfigError("DYNAMODB_SESSIONS_TABLE_NAME must name a table of its own, not the orders table")
    shop_timezone = (env.get("SHOP_TIMEZONE") or "").strip() or "UTC"
    try:
        ZoneInfo(shop_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"SHOP_TIMEZONE must be an IANA time zone like Europe/London, "
                          f"got {shop_timezone!r}") from None
    staff_role = (env.get("STAFF_ROLE") or "").strip() or "staff"
    manager_role = (env.get("MANAGER_ROLE") or "").strip() or "manager"
    if staff_role == manager_role:
        raise ConfigError("STAFF_ROLE and MANAGER_ROLE must name two different Auth0 roles")
    origins = _csv(env.get("CORS_ORIGINS"))
    for origin in origins:
        if origin == "*":
            raise ConfigError("CORS_ORIGINS must list origins; '*' is not allowed")
        _require_url("CORS_ORIGINS", origin, allow_path=False)
    return Settings(
        secret_key=secret_key,
        secret_key_fallbacks=_csv(env.get("SECRET_KEY_FALLBACKS")),
        auth0_domain=domain,
        auth0_issuer=issuer,
        auth0_client_id=required("AUTH0_CLIENT_ID"),
        auth0_client_secret=required("AUTH0_CLIENT_SECRET"),
        auth0_audience=(env.get("AUTH0_AUDIENCE") or "").strip() or "https://pizza42-api",
        spa_client_ids=frozenset(_csv(env.get("AUTH0_SPA_CLIENT_IDS"))),
        order_scope=(env.get("API_ORDER_SCOPE") or "").strip() or "place:orders",
        aws_region=(env.get("AWS_REGION") or "").strip() or "us-east-1",
        table_name=table_name,
        sessions_table_name=sessions_table_name,
        dynamodb_endpoint_url=endpoint,
        cors_origins=tuple(o.rstrip("/") for o in origins),
        app_base_url=base_url.rstrip("/") if base_url else None,
        trusted_hosts=_csv(env.get("TRUSTED_HOSTS")),
        session_idle_seconds=int(_number(env, "SESSION_IDLE_MINUTES", 30, int)) * 60,
        session_lifetime_seconds=int(_number(env, "SESSION_LIFETIME_HOURS", 8, int)) * 3600,
        forwarded_allow_ips=_proxies(env.get("FORWARDED_ALLOW_IPS")),
        dynamodb_connect_timeout=_number(env, "DYNAMODB_CONNECT_TIMEOUT", 1.0),
        dynamodb_read_timeout=_number(env, "DYNAMODB_READ_TIMEOUT", 2.0),
        dynamodb_max_attempts=int(_number(env, "DYNAMODB_MAX_ATTEMPTS", 3, int)),
        dynamodb_direct_path=_on_off(env, "DYNAMODB_DIRECT_PATH", default=True),
        http_timeout=_number(env, "AUTH0_HTTP_TIMEOUT", 3.0),
        shop_timezone=shop_timezone,
        cancel_window_seconds=int(_number(env, "CANCEL_WINDOW_MINUTES", 5, int)) * 60,
        staff_role=staff_role,
        manager_role=manager_role,
    )
