"""The local sandbox behind `make run`: a DynamoDB emulator and an OpenID Connect provider, on loopback.

Nothing here is imported by the app or by wsgi.py; it needs the dev requirements (moto,
oidc-provider-mock), which production never installs.

    python -m pizza42.sandbox            # start everything and serve the app on 127.0.0.1:8000
    python -m pizza42.sandbox token      # log in as a demo user (real authorization code flow), print a token
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from pizza42 import claims
from pizza42.orders.model import now_iso
from pizza42.shop.access import READ_ANALYTICS, READ_SHOP_ORDERS, ROLES_CLAIM, UPDATE_ORDER_STATUS

HOST = "127.0.0.1"  # one host name everywhere: the provider's issuer is the URL it is reached by


def port_setting(name: str, default: int) -> int:
    """A port from the environment variable `name` (README, "What `make run` gives you"); one line if malformed."""
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        sys.exit(f"{name} must be a port number (1-65535), got {raw!r}")
    return int(raw)


APP_PORT = port_setting("SANDBOX_APP_PORT", 8000)
DYNAMODB_PORT = port_setting("SANDBOX_DYNAMODB_PORT", 8042)
IDP_PORT = port_setting("SANDBOX_IDP_PORT", 9400)
# What each port of `make run` is, and the setting that moves it (`make run-edge` adds its own).
RUN_PORTS = (("the app", APP_PORT, "SANDBOX_APP_PORT"),
             ("the DynamoDB emulator", DYNAMODB_PORT, "SANDBOX_DYNAMODB_PORT"),
             ("the identity provider", IDP_PORT, "SANDBOX_IDP_PORT"))
WEB_CLIENT_ID = "pizza42-web"
SPA_CLIENT_ID = "pizza42-spa"
API_AUDIENCE = "https://pizza42-api"  # every access token the local provider issues is for the app's API
TOKEN_MAX_AGE = timedelta(hours=8)
TOKEN_REDIRECT_URI = f"http://{HOST}:{APP_PORT}/sandbox/token-callback"  # never served: we read the code off it


# The local provider's claims are fixed for its lifetime, so the demo logins happened when it started.
DEMO_LOGIN_TIME = now_iso()


def _action_claims(email: str, verified: bool, connection: str, created_at: str, roles: Sequence[str] = ()) -> dict:
    """What the Post-Login Action writes to the ID token for a password login at DEMO_LOGIN_TIME (checked
    against the real deploy/auth0/post-login-action.js by tests/test_auth0_action.py)."""
    ns = claims.NAMESPACE
    extra: dict = {
        ns + "email": email,
        ns + "email_verified": verified,
        ns + "can_place_orders": verified,
        ns + "token_verified_at": DEMO_LOGIN_TIME,
        ns + "auth_metadata": {"login_method": "database", "connection": connection, "strategy": "auth0",
                               "login_time": DEMO_LOGIN_TIME},
        ns + "session_security": {"authentication_methods": ["pwd"], "mfa": False},
        ns + "auth_warnings": [] if verified else ["Email address not verified: ordering is disabled until it is."],
        ROLES_CLAIM: list(roles),  # the ID token only (the pages); the access token carries permissions instead
    }
    if verified:
        extra[ns + "customer_info"] = {"customer_since": created_at, "data_source": "dynamodb"}
    else:
        extra[ns + "verification_required"] = {"message": "Please verify your email address before placing orders.",
                                               "action": "verify_email"}
    return extra


DEMO_USERS: dict[str, dict] = {
    "auth0|demo-verified": {
        "email": "verified@pizza42.test", "email_verified": True, "name": "Vera Verified",
        "nickname": "vera", **_action_claims("verified@pizza42.test", True, "Username-Password-Authentication",
                                            "2026-01-15T10:00:00.000Z"),
    },
    "auth0|demo-unverified": {
        "email": "unverified@pizza42.test", "email_verified": False, "name": "Umberto Unverified",
        "nickname": "umberto", **_action_claims("unverified@pizza42.test", False, "Username-Password-Authentication",
                                               "2026-11-01T10:00:00.000Z"),
    },
    "auth0|demo-staff": {
        "email": "staff@pizza42.test", "email_verified": True, "name": "Sam Staff", "nickname": "sam",
        **_action_claims("staff@pizza42.test", True, "Username-Password-Authentication", "2025-06-01T09:00:00.000Z",
                         roles=["staff"]),
    },
    "auth0|demo-manager": {
        "email": "manager@pizza42.test", "email_verified": True, "name": "Mia Manager", "nickname": "mia",
        **_action_claims("manager@pizza42.test", True, "Username-Password-Authentication",
                         "2025-03-01T09:00:00.000Z", roles=["manager"]),
    },
}
# What Auth0 RBAC puts in each demo user's access token (`permissions`): the customers' order permission, and
# the permissions of the roles `staff` and `manager` (README, "Auth0", sets these roles up).
DEMO_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "auth0|demo-verified": ("place:orders",),
    "auth0|demo-unverified": ("place:orders",),
    "auth0|demo-staff": (READ_SHOP_ORDERS, UPDATE_ORDER_STATUS),
    "auth0|demo-manager": (READ_SHOP_ORDERS, UPDATE_ORDER_STATUS, READ_ANALYTICS),
}


def sandbox_environment(*, app_port: int = APP_PORT, dynamodb_port: int = DYNAMODB_PORT,
                        idp_port: int = IDP_PORT) -> dict[str, str]:
    """The settings of spec §1 pointing at the local emulator and provider (fake AWS credentials)."""
    return {
        "SECRET_KEY": secrets.token_hex(32),
        "AUTH0_ISSUER": f"http://{HOST}:{idp_port}",
        "AUTH0_CLIENT_ID": WEB_CLIENT_ID,
        "AUTH0_CLIENT_SECRET": "sandbox-not-a-secret",
        "AUTH0_SPA_CLIENT_IDS": SPA_CLIENT_ID,
        "AUTH0_AUDIENCE": API_AUDIENCE,
        "APP_BASE_URL": f"http://{HOST}:{app_port}",
        "CORS_ORIGINS": "http://localhost:3000",
        "DYNAMODB_ENDPOINT_URL": f"http://{HOST}:{dynamodb_port}",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        # The local provider speaks plain http on loopback; Authlib refuses that unless told.
        "AUTHLIB_INSECURE_TRANSPORT": "1",
    }


def check_ports_free(command: str, ports: Sequence[tuple[str, int, str]]) -> None:
    """Before anything starts: exit with one line naming the first busy port and the setting that moves it."""
    seen: dict[int, str] = {}
    for what, port, setting in ports:
        if port in seen:
            sys.exit(f"{command}: {seen[port]} and {setting} are both {port}: give each its own port")
        seen[port] = setting
        with socket.socket() as probe:
            # As the servers bind (SO_REUSEADDR): only a listener holds the port, not old closed connections.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
                probe.listen(1)
            except OSError:
                sys.exit(f"{command}: port {port} ({what}) is in use: stop what listens there (another "
                         f"`make run` or `make run-edge`?) or set {setting} to a free port")


@contextmanager
def _serve(app: object, port: int, **options: object) -> Iterator[BaseWSGIServer]:
    # Bound here, in the caller's thread: a busy port raises at once instead of failing in the server's thread.
    server = make_server(HOST, port, app, threaded=True, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(2)


@contextmanager
def identity_provider(port: int = IDP_PORT) -> Iterator[str]:
    """oidc-provider-mock with the demo customers; yields its issuer URL."""
    import oidc_provider_mock
    from oidc_provider_mock import _app as provider_module

    users = [oidc_provider_mock.User(sub=sub, claims=dict(user_claims)) for sub, user_claims in DEMO_USERS.items()]
    # oidc_provider_mock.app(), but with Auth0's kind of access token: a JWT for the API (read when set up).
    provider = Flask(provider_module.__name__)
    provider.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = _access_token
    oidc_provider_mock.init_app(provider, user_claims=users, access_token_max_age=TOKEN_MAX_AGE)
    provider.secret_key = secrets.token_bytes(16)
    with _serve(provider, port) as server:
        yield f"http://{HOST}:{server.server_port}"


def _access_token(*, client: object, grant_type: str, user: object, scope: str) -> str:
    """An access token as Auth0 issues one for the API with RBAC on: a JWT signed by the provider's key, with
    the user's `permissions` and the Action's claims for both tokens (no roles, no profile)."""
    import flask
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    key = flask.g.oidc_provider_mock_storage.jwk.as_dict(is_private=True)  # the key its JWKS publishes
    issuer, now = flask.request.host_url.rstrip("/"), int(time.time())
    action = {name: value for name, value in DEMO_USERS.get(user.sub, {}).items()
              if name.startswith(claims.NAMESPACE) and name != ROLES_CLAIM}
    body = {**action, "iss": issuer, "sub": user.sub, "aud": [API_AUDIENCE, issuer + "/userinfo"], "iat": now,
            "exp": now + int(TOKEN_MAX_AGE.total_seconds()), "azp": client.get_client_id(), "scope": scope or "",
            "permissions": list(DEMO_PERMISSIONS.get(user.sub, ()))}
    header = {"alg": "RS256", "typ": "JWT", **({"kid": key["kid"]} if "kid" in key else {})}
    return jwt.encode(header, body, RSAKey.import_key(key))


@contextmanager
def dynamodb_emulator(port: int = DYNAMODB_PORT) -> Iterator[str]:
    """moto's DynamoDB over real HTTP; yields its endpoint URL."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    # Not moto's ThreadedMotoServer: it binds in its own thread and, when the port is taken, waits forever.
    app = DomainDispatcherApplication(create_backend_app)
    with _serve(app, port, request_handler=MotoRequestHandler) as server:
        yield f"http://{HOST}:{server.server_port}"


def login_for_token(issuer: str, sub: str, client_id: str = SPA_CLIENT_ID) -> dict:
    """A real authorization-code login at the local provider, as the SPA does it; returns the token response."""
    config = requests.get(issuer + "/.well-known/openid-configuration", timeout=5).json()
    params = {"client_id": client_id, "response_type": "code", "scope": "openid profile email",
              "redirect_uri": TOKEN_REDIRECT_URI, "state": secrets.token_urlsafe(8),
              "nonce": secrets.token_urlsafe(8)}
    authorize_url = config["authorization_endpoint"] + "?" + urlencode(params)
    # The provider's login form: choose the demo user, as a person would with one click.
    answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    if query.get("state") != [params["state"]]:
        raise RuntimeError("the provider answered with another state")
    token = requests.post(config["token_endpoint"], timeout=5, auth=(client_id, "sandbox"), data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": TOKEN_REDIRECT_URI})
    token.raise_for_status()
    return token.json()


def _banner(env: dict[str, str]) -> str:
    base = env["APP_BASE_URL"]
    return f"""
  Pizza 42 sandbox is running (Ctrl-C stops it).

  Open   {base}/            log in as a demo customer on the local provider's page:
           auth0|demo-verified     verified email, can order
           auth0|demo-unverified   unverified email, sees why they cannot order
           auth0|demo-staff        role staff: the kitchen ({base}/kitchen)
           auth0|demo-manager      role manager: the kitchen and the analytics
  DynamoDB emulator   {env["DYNAMODB_ENDPOINT_URL"]}   (tables Pizza42-Orders, Pizza42-Sessions)
  Identity provider   {env["AUTH0_ISSUER"]}

  Call the API with a real token (the SPA's ID token, from a real login):
    TOKEN=$(make -s token)        # or: make -s token CUSTOMER='auth0|demo-unverified'
    curl -s {base}/api/health
    curl -s -X POST {base}/api/orders -H "Authorization: Bearer $TOKEN" \\
         -H 'Content-Type: application/json' -d '{{"pizza": "Margherita", "size": "medium", "quantity": 2}}'
    curl -s {base}/api/orders -H "Authorization: Bearer $TOKEN"

  The shop's API with a staff member's access token (its RBAC permissions):
    STAFF=$(make -s token CUSTOMER='auth0|demo-staff')     # or 'auth0|demo-manager' (analytics too)
    curl -s '{base}/api/shop/orders?status=open' -H "Authorization: Bearer $STAFF"
"""


def create_tables(app: Flask) -> None:
    """Every table the app uses (orders, sessions), in the emulator (`make run` and `make run-edge` both call
    this)."""
    with app.app_context():
        app.extensions["pizza42.store"].create_table()
        app.extensions["pizza42.sessions"].create_table()


def quiet_console() -> None:
    """The emulator and the provider log every request through werkzeug; keep the console readable."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    import authlib.deprecate  # noqa: F401  (it installs an "always" filter for its warnings: ours goes first)

    warnings.filterwarnings("ignore", category=DeprecationWarning)


def serve() -> None:
    """Start the emulator, the provider and the app; block until interrupted."""
    from pizza42 import create_app
    from pizza42.config import load_settings

    check_ports_free("make run", RUN_PORTS)
    quiet_console()
    env = sandbox_environment()
    os.environ.update(env)
    with dynamodb_emulator(), identity_provider():
        app = create_app(load_settings(os.environ))
        create_tables(app)
        server = make_server(HOST, APP_PORT, app, threaded=True)  # bound before the banner says it runs
        print(_banner(env), flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("\nstopping the sandbox", flush=True)


def is_staff(sub: str) -> bool:
    """Whether a demo user holds any of the shop's permissions."""
    return bool({READ_SHOP_ORDERS, UPDATE_ORDER_STATUS, READ_ANALYTICS} & set(DEMO_PERMISSIONS.get(sub, ())))


def main(argv: list[str] | None = None) -> None:
    """`serve` (default) or `token`."""
    parser = argparse.ArgumentParser(prog="python -m pizza42.sandbox")
    parser.add_argument("command", nargs="?", choices=["serve", "token"], default="serve")
    parser.add_argument("--user", default="auth0|demo-verified", choices=sorted(DEMO_USERS))
    parser.add_argument("--kind", choices=["id", "access"],
                        help="which token to print (default: staff get their access token, which the shop's API "
                             "takes; customers the ID token, as the legacy SPA sends it)")
    args = parser.parse_args(argv)
    if args.command == "token":
        kind = args.kind or ("access" if is_staff(args.user) else "id")
        try:
            print(login_for_token(f"http://{HOST}:{IDP_PORT}", args.user)[f"{kind}_token"])
        except requests.ConnectionError:
            sys.exit("the sandbox is not running: start it with `make run` in another terminal")
        return
    serve()


if __name__ == "__main__":
    main()
