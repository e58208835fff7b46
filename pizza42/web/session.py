"""The logged-in customer as the session cookie holds them: a few verified ID-token claims, nothing more.

The raw ID token is never stored: the cookie is signed, not encrypted, and must stay small.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import wraps
from typing import Any

from flask import flash, g, redirect, request, session, url_for

from pizza42 import claims as claim_names

SESSION_KEY = "customer"
_MAX_TEXT = 200  # bound every string we copy from the token, so the cookie stays well under 4 KB


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

    @property
    def expired(self) -> bool:
        """Whether the ID token this session came from has expired."""
        return self.exp <= time.time()

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
    )


def start_session(user: SessionUser) -> None:
    """Replace the whole session (no fixation: nothing from before login survives) with this customer."""
    session.clear()
    session[SESSION_KEY] = {key: value for key, value in asdict(user).items() if value not in (None, False)}
    g.pizza42_user = user


def current_user() -> SessionUser | None:
    """The logged-in customer, or None for a visitor or an expired session."""
    if "pizza42_user" in g:
        return g.pizza42_user
    user = None
    data = session.get(SESSION_KEY)
    if isinstance(data, dict):
        try:
            user = SessionUser(**data)
        except TypeError:
            user = None  # a cookie from an older version of this app: log in again
        if user is None or user.expired:
            session.pop(SESSION_KEY, None)
            if user is not None:
                flash("Your session has expired. Please log in again.", "info")
            user = None
    g.pizza42_user = user
    return user


def end_session() -> None:
    """Forget the customer (and everything else in the cookie)."""
    session.clear()
    g.pizza42_user = None


def login_required(view: Callable) -> Callable:
    """Decorate a view: visitors (and expired sessions) go to /login, then come back here."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            here = request.full_path.rstrip("?") if request.query_string else request.path
            return redirect(url_for("auth.login", next=here))
        return view(*args, **kwargs)

    return wrapper
