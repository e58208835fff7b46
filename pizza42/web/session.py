"""The logged-in customer as their server-side session holds them: a few verified ID-token claims, and the ID token.

The pages read only the claims. The raw ID token is kept beside them for one use: logout sends it to the
provider as `id_token_hint`. It lives only in the session item in DynamoDB (the cookie holds a random id),
dies with the session, and is never rendered or logged. It is not a credential anywhere: the API accepts ID
tokens only from AUTH0_SPA_CLIENT_IDS, and this one's audience is the pages' own client (AUTH0_CLIENT_ID).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import wraps
from typing import Any

from flask import Response, current_app, flash, g, redirect, request, session, url_for

from pizza42 import claims as claim_names
from pizza42.dependencies import get_session_store
from pizza42.shop.access import roles_from_claims
from pizza42.web.server_session import ServerSideSession

SESSION_KEY = "customer"
ID_TOKEN_KEY = "id_token"  # noqa: S105 (a key name): the raw ID token of the login, for logout's id_token_hint
_MAX_TEXT = 200  # bound every string we copy from the token, so a session item stays small


@dataclass(frozen=True)
class SessionUser:
    """The customer of this browser session (from a verified ID token; expires with it)."""

    sub: str
    exp: int
    name: str | None = None
    email: str | None = None
    picture: str | None = None
    email_verified: bool = False
    can_place_orders: bool = False
    verified_at: str | None = None
    login_method: str | None = None
    connection: str | None = None
    login_time: str | None = None
    customer_since: str | None = None
    verification_message: str | None = None
    roles: tuple[str, ...] = ()  # Auth0 roles (the Action's roles claim): who may open the kitchen, analytics

    def expired(self, now: float) -> bool:
        """Whether the ID token this session came from has expired."""
        return self.exp <= now

    @property
    def display_name(self) -> str:
        """What to call the customer on the page."""
        return self.name or self.email or "Customer"

    @property
    def initials(self) -> str:
        """One or two letters for the avatar."""
        words = [word for word in self.display_name.replace("@", " ").split() if word[:1].isalnum()]
        return "".join(word[0] for word in words[:2]).upper() or "?"


def _text(value: object) -> str | None:
    return value[:_MAX_TEXT] if isinstance(value, str) and value else None


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def user_from_claims(id_claims: dict) -> SessionUser:
    """The session's customer from the verified claims of an ID token (standard and pizza42.com ones)."""
    custom = claim_names.custom_claims(id_claims)
    auth = _dict(custom.get("auth_metadata"))
    picture = _text(id_claims.get("picture"))
    verified = id_claims.get("email_verified", custom.get("email_verified"))
    return SessionUser(
        sub=str(id_claims["sub"]),
        exp=int(id_claims["exp"]),
        name=_text(id_claims.get("name")) or _text(id_claims.get("nickname")),
        email=_text(id_claims.get("email")) or _text(custom.get("email")),
        # Only https pictures: anything else (javascript:, data:) must never reach an <a href>.
        picture=picture if picture and picture.startswith("https://") else None,
        email_verified=verified is True,
        can_place_orders=claim_names.can_place_orders(id_claims),
        verified_at=_text(custom.get("token_verified_at")),
        login_method=_text(auth.get("login_method")),
        connection=_text(auth.get("connection")),
        login_time=_text(claim_names.login_time(auth)),
        customer_since=_text(_dict(custom.get("customer_info")).get("customer_since")),
        verification_message=_text(_dict(custom.get("verification_required")).get("message")),
        roles=roles_from_claims(id_claims),
    )


def start_session(user: SessionUser, id_token: str | None = None) -> None:
    """Log this customer in: nothing from before login survives, and the session gets a new id (no fixation)."""
    session.clear()
    session.regenerate(user.sub)
    session[SESSION_KEY] = {key: value for key, value in asdict(user).items() if value not in (None, False, ())}
    if isinstance(id_token, str) and id_token:
        session[ID_TOKEN_KEY] = id_token
    g.pizza42_user = user


def id_token_hint() -> str | None:
    """The ID token this session's login was given (for the provider's end-session endpoint), if any."""
    token = session.get(ID_TOKEN_KEY)
    return token if isinstance(token, str) else None


def current_user() -> SessionUser | None:
    """The logged-in customer, or None for a visitor, an ended session or an expired one."""
    if "pizza42_user" in g:
        return g.pizza42_user
    if not isinstance(session._get_current_object(), ServerSideSession):  # type: ignore[attr-defined]
        return None  # a static file's error page: no session is opened for those
    user = None
    data = session.get(SESSION_KEY)
    if isinstance(data, dict):
        try:
            user = SessionUser(**data)
        except TypeError:
            user = None  # a session from an older version of this app: log in again
        if user is None or user.expired(get_session_store().now()):
            session.end()  # the ID token it came from has expired: this session is over on the server too
            if user is not None:
                flash("Your session has expired. Please log in again.", "info")
            user = None
    elif session.expiry_notice():  # ended by the server's idle or absolute timeout
        flash("Your session has expired. Please log in again.", "info")
    g.pizza42_user = user
    return user


@dataclass(frozen=True)
class SessionLimits:
    """How long the current session may last, as the server enforces it."""

    idle_minutes: int
    lifetime_hours: int
    ends_at: int | None  # epoch seconds: the absolute end of this session


def session_limits() -> SessionLimits:
    """The idle timeout, the absolute lifetime and when this session ends at the latest (for the account page)."""
    store = get_session_store()
    record = getattr(session, "record", None)
    return SessionLimits(store.idle_seconds // 60, store.lifetime_seconds // 3600,
                         record.created_at + store.lifetime_seconds if record else None)


def end_session() -> None:
    """Log out: the stored session is deleted now (before anything is sent to the browser)."""
    session.end()
    g.pizza42_user = None


def _to_login() -> Response:
    here = request.full_path.rstrip("?") if request.query_string else request.path
    return redirect(url_for("auth.login", next=here))


def login_required(view: Callable) -> Callable:
    """Decorate a view: visitors (and ended or expired sessions) go to /login, then come back here."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _to_login()
        return view(*args, **kwargs)

    wrapper.needs_login = True  # type: ignore[attr-defined]  (read by visitors_log_in_first)
    return wrapper


def visitors_log_in_first() -> Response | None:
    """before_request, ahead of the CSRF check: a visitor's POST to a login-only page is sent to log in.

    A form posted with a session that has ended (logged out, expired, or a copied cookie replayed after
    logout) gets the login page, like any other request of a visitor, rather than "this form has expired".
    """
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "needs_login", False) and current_user() is None:
        return _to_login()
    return None
