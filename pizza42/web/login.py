"""The pages' login with Authlib's OIDC client: /login, /callback, /logout, /logout/everywhere.

Authlib does the protocol work: discovery, state (kept in the session), nonce, PKCE, the code exchange
and the ID token's signature, issuer, audience, expiry and nonce checks. Each callback moves the
LoginsSucceeded or LoginsFailed metric; logout hands the provider the ID token of the login as
`id_token_hint` (kept in the server-side session item until then, never in the cookie).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_client import OAuth, OAuthError
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError
from requests import RequestException

from pizza42.config import Settings
from pizza42.dependencies import get_session_store, get_settings
from pizza42.observability import metrics
from pizza42.web.forms import LogoutForm
from pizza42.web.server_session import ServerSessionInterface, load_page_session
from pizza42.web.session import current_user, end_session, id_token_hint, start_session, user_from_claims

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

CLIENT_NAME = "auth0"
SCOPE = "openid profile email"
NEXT_KEY = "login_next"
# Auth0 connection names: letters, digits, '-' and '_' (e.g. google-oauth2); anything else is dropped.
_CONNECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# A return path may only hold visible ASCII: no whitespace or control characters (browsers strip them,
# turning "/\t/evil.com" into "//evil.com") and no backslash (browsers read "/\evil.com" as "//evil.com").
_UNSAFE_PATH_CHARS = re.compile(r"[^\x21-\x7e]|\\")


def safe_next(value: str | None) -> str:
    """A same-site path to return to after login; anything that could leave the site becomes '/'."""
    if not value or len(value) > 512:
        return "/"
    for candidate in (value, unquote(value)):  # also as a browser might decode it once
        if _UNSAFE_PATH_CHARS.search(candidate) or not candidate.startswith("/") or candidate.startswith("//"):
            return "/"
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return "/"
    return value


def init_login(app: Flask, settings: Settings) -> None:
    """Register the server-side sessions, the OAuth client and the login routes."""
    # The cookie's flags (HttpOnly; SameSite=Lax, so it comes back on the provider's top-level redirect to
    # /callback; Secure and `__Host-` outside plain-http loopback) are decided in web/server_session.py.
    app.session_interface = ServerSessionInterface(app.extensions["pizza42.sessions"], settings)
    app.before_request(load_page_session)
    oauth = OAuth(app)
    oauth.register(
        CLIENT_NAME,
        client_id=settings.auth0_client_id,
        client_secret=settings.auth0_client_secret,
        server_metadata_url=settings.discovery_url,
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "default_timeout": settings.http_timeout},
    )
    app.register_blueprint(bp)


def _client() -> FlaskOAuth2App:
    return current_app.extensions["authlib.integrations.flask_client"].create_client(CLIENT_NAME)


def external_url(endpoint: str) -> str:
    """An absolute URL of ours: from APP_BASE_URL when set (behind a proxy), else from the request."""
    base = get_settings().app_base_url
    return base + url_for(endpoint) if base else url_for(endpoint, _external=True)


def _id_token_rules() -> dict:
    """Exact issuer (ours, not just the discovery document's) and our client id among the audiences."""
    settings = get_settings()
    return {"iss": {"essential": True, "values": [settings.auth0_issuer]},
            "aud": {"essential": True, "values": [settings.auth0_client_id]},
            "sub": {"essential": True}, "exp": {"essential": True}}


def _failure(status: int, title: str, description: str) -> tuple[str, int, dict]:
    headers = {"Retry-After": "5"} if status == 503 else {}
    page = render_template("error.html", status=status, title=title, description=description,
                           retry_url=url_for("auth.login"))
    return page, status, headers


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # redirects carrying fresh session cookies
    return response


@bp.get("/login")
def login() -> Response | tuple[str, int, dict]:
    """Start an authorization-code login at the provider (optionally with an Auth0 connection)."""
    params = {}
    connection = request.args.get("connection", "")
    if _CONNECTION.fullmatch(connection):
        params["connection"] = connection
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    # One login in flight per browser: abandoned attempts' state (about 600 bytes each) would otherwise
    # pile up in the session item.
    for key in [key for key in session if key.startswith(f"_state_{CLIENT_NAME}_")]:
        session.pop(key)
    try:
        return _client().authorize_redirect(external_url("auth.callback"), **params)
    except RequestException as exc:
        log.warning("login: identity provider unreachable: %s", type(exc).__name__)
        return _failure(503, "We couldn't reach the login service",
                        "Our login service did not answer. Please try again in a few seconds.")


@bp.get("/callback")
def callback() -> Response | tuple[str, int, dict]:
    """The provider's redirect back: exchange the code, verify the ID token, start the session."""
    try:
        token = _client().authorize_access_token(claims_options=_id_token_rules())
        id_claims = token.get("userinfo")
        if not id_claims:
            raise OAuthError(error="missing_id_token")
        user = user_from_claims(id_claims)
    except OAuthError as exc:
        metrics.count("LoginsFailed")
        return _refused(exc)
    except RequestException as exc:
        metrics.count("LoginsFailed")
        log.warning("callback: identity provider unreachable: %s", type(exc).__name__)
        return _failure(503, "We couldn't reach the login service",
                        "Our login service did not answer while we finished logging you in. Please try again.")
    except (JoseError, AuthlibBaseError, KeyError, TypeError, ValueError) as exc:
        # An ID token that fails verification (signature, issuer, audience, nonce, expiry, claims).
        metrics.count("LoginsFailed")
        log.warning("callback: ID token rejected: %s", type(exc).__name__)
        return _failure(502, "We couldn't verify your login",
                        "The login service sent an answer we could not verify, so you are not logged in.")
    next_path = safe_next(session.get(NEXT_KEY))
    start_session(user, token.get("id_token"))
    metrics.count("LoginsSucceeded")
    flash(f"Welcome, {user.display_name}! You are logged in.", "success")
    return redirect(next_path)


def _refused(exc: OAuthError) -> tuple[str, int, dict]:
    session.pop(NEXT_KEY, None)
    log.info("callback: login not completed: %s", exc.error)
    # The provider's error_description is not shown: it is attacker-controllable text in a URL.
    if exc.error == "mismatching_state":
        return _failure(400, "This login link has expired",
                        "We couldn't match this login to one started in this browser (it may be old, or "
                        "was opened in another browser). Nothing happened; please log in again.")
    if exc.error == "access_denied":
        return _failure(400, "Login cancelled",
                        "The login was cancelled or refused, so you are not logged in.")
    if exc.error in ("invalid_grant", "invalid_request"):
        return _failure(400, "This login could not be completed",
                        "The login code was missing, already used or expired. Please log in again.")
    return _failure(502, "The login service refused this login",
                    "The login service answered with an error. Please try again.")


@bp.get("/logout")
def logout_page() -> Response | str:
    """Ask before logging out (logging out changes state, so it is a CSRF-protected POST)."""
    if current_user() is None:
        return redirect(url_for("web.home"))
    return render_template("logout.html", form=LogoutForm())


@bp.post("/logout")
def logout() -> Response:
    """Delete the session on the server, then end the provider's session too and come back to the home page."""
    hint = id_token_hint()  # read before the session (which holds it) is deleted
    end_session()
    return _provider_logout(hint)


@bp.post("/logout/everywhere")
def logout_everywhere() -> Response:
    """End every session of this customer, in every browser (a shared computer left logged in), then this one."""
    user = current_user()
    if user is None:
        return redirect(url_for("web.home"), 303)
    hint = id_token_hint()
    ended = get_session_store().delete_all(user.sub)  # this browser's session is among them
    log.info("logout everywhere: %d session(s) ended", ended)
    session.forget()
    return _provider_logout(hint)


def _provider_logout(hint: str | None) -> Response:
    """To the provider's end-session endpoint (it comes back to our home page), or home if it has none.

    With the login's ID token as `id_token_hint` (OpenID Connect RP-Initiated Logout): the provider then knows
    whose session to end and need not ask the customer to confirm (a strict provider such as panva's
    oidc-provider asks without it; Auth0 recommends sending it).
    """
    home = external_url("web.home")
    try:
        endpoint = _client().load_server_metadata().get("end_session_endpoint")
    except RequestException:
        endpoint = None  # provider down: we are logged out here; nothing more we can do
    if not endpoint:
        return redirect(home, 303)
    params = {"post_logout_redirect_uri": home, "client_id": get_settings().auth0_client_id}
    if hint:
        params["id_token_hint"] = hint
    return redirect(add_params_to_uri(endpoint, params), 303)
