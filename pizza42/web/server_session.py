"""The pages' session: Flask's SessionInterface over the SessionStore; the cookie holds only a signed random id.

Read once per page view (before the view runs), written only when the data changed or the idle window moves,
never for visitors without a cookie, the API or static files; a new id whenever one is created or a customer
logs in; on a DynamoDB failure a 503 page and the cookie left alone. README "How sessions work" has the why.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, render_template, session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer

from pizza42.config import Settings
from pizza42.sessions.store import SessionRecord, SessionStore, SessionsUnavailable

_ID_BYTES = 32
_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes, and nothing else
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_serializer = TaggedJSONSerializer()  # Flask's own: keeps the flashes' tuples and Markup intact


def cookie_is_secure(settings: Settings, testing: bool) -> bool:
    """Secure cookies everywhere but plain-http loopback (the sandbox) and tests without a base URL."""
    if settings.app_base_url:
        parts = urlsplit(settings.app_base_url)
        return not (parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS)
    return not testing


def session_id_signer(secret_keys: list[str]) -> Signer:
    """Signs session ids with the last key (SECRET_KEY) and verifies them with any (SECRET_KEY_FALLBACKS too)."""
    return Signer(secret_keys, salt="pizza42.session-id", key_derivation="hmac", digest_method=hashlib.sha256)


class ServerSideSession(SessionMixin):
    """One request's view of a stored session: read once, before the view runs; written back only if needed."""

    def __init__(self, store: SessionStore, session_id: str | None, *, had_cookie: bool) -> None:
        self._store = store
        self.session_id = session_id  # from a validly signed cookie; not yet known to exist
        self.had_cookie = had_cookie
        self._data: dict | None = None if session_id else {}  # None: not read yet
        self.record: SessionRecord | None = None
        self.modified = False
        self.accessed = False
        self.expired = False  # the cookie named a session the server ended by its idle or absolute timeout
        self.unavailable = False  # DynamoDB failed: nothing is written, the cookie is left alone
        self.ended = False  # deleted on the server during this request
        self.rotate = False  # give it a new id when it is saved (login)
        self.customer_id: str | None = None
        self._expiry_told = False

    # -- lifecycle --------------------------------------------------------------------------

    def load(self) -> dict:
        """The session's data, read from DynamoDB on first use; raises SessionsUnavailable once if it is down."""
        self.accessed = True
        if self._data is None:
            try:
                record = self._store.get(self.session_id)
            except SessionsUnavailable:
                self.unavailable, self._data = True, {}  # later reads see a visitor; the 503 page renders
                raise
            self.record = record
            if record is not None and self._store.is_expired(record):
                self.expired = True  # refused even before TTL deletes it
            self._data = _serializer.loads(record.payload) if self.live else {}
            self.customer_id = record.customer_id if self.live else None
        return self._data

    @property
    def loaded(self) -> bool:
        """Whether this request has read (or needed no read for) the session's data."""
        return self._data is not None

    @property
    def live(self) -> bool:
        """Whether the browser's id names a stored, unexpired session that this request has not ended."""
        return self.record is not None and not self.expired and not self.ended

    def expiry_notice(self) -> bool:
        """True once if the browser's session had expired (so the page can say why the customer is logged out)."""
        self.load()
        told, self._expiry_told = self._expiry_told, True
        return self.expired and not told

    def regenerate(self, customer_id: str) -> None:
        """At login: a new id for this customer; the old one is deleted when the new one is stored."""
        self.load()
        self.rotate, self.customer_id, self.modified = True, customer_id, True

    def end(self) -> None:
        """Logout: delete the stored session now (raises SessionsUnavailable), then forget it here."""
        if self.session_id is not None:
            self._store.delete(self.session_id)
        self.forget()

    def forget(self) -> None:
        """Drop everything in this request (the stored record is already gone); later data gets a new id."""
        self.load()
        self._data.clear()
        self.ended, self.modified, self.customer_id = True, True, None

    # -- the mapping Flask, Flask-WTF and Authlib use ------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.load()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.load()[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        del self.load()[key]
        self.modified = True

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.load()))

    def __len__(self) -> int:
        return len(self.load())

    def clear(self) -> None:
        """Remove every key (one change, not one per key)."""
        self.load().clear()
        self.modified = True


class ServerSessionInterface(SessionInterface):
    """Opens a ServerSideSession for the pages (none for /api and static files) and stores it when it changed."""

    def __init__(self, store: SessionStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def get_cookie_secure(self, app: Flask) -> bool:
        """Whether the cookie gets the Secure attribute."""
        return cookie_is_secure(self.settings, app.testing)

    def get_cookie_name(self, app: Flask) -> str:
        """`__Host-session` where the cookie is Secure: browsers then refuse it with a Domain or from http."""
        return "__Host-session" if self.get_cookie_secure(app) else "session"

    def _signer(self, app: Flask) -> Signer:
        return session_id_signer([*app.config.get("SECRET_KEY_FALLBACKS", []), app.secret_key])

    def cookie_value(self, app: Flask, session_id: str) -> str:
        """What the cookie carries for a session id: the id and its signature."""
        return self._signer(app).sign(session_id).decode()

    def session_id(self, app: Flask, cookie: str) -> str | None:
        """The session id a cookie value carries, if its signature is good and it has the shape we issue."""
        try:
            session_id = self._signer(app).unsign(cookie).decode()
        except (BadSignature, UnicodeDecodeError):
            return None  # forged, damaged, or signed with a retired key: no DynamoDB read
        return session_id if _ID.fullmatch(session_id) else None

    def open_session(self, app: Flask, request: Request) -> ServerSideSession | None:
        """The request's session, not read yet; None (Flask's read-only null session) for /api and static files."""
        if request.path.startswith(("/api/", app.static_url_path + "/")) or request.path == "/api":
            return None  # bearer tokens only: the API must not depend on (or be slowed by) a session
        cookie = request.cookies.get(self.get_cookie_name(app))
        session_id = self.session_id(app, cookie) if cookie else None
        return ServerSideSession(self.store, session_id, had_cookie=cookie is not None)

    def save_session(self, app: Flask, session: ServerSideSession, response: Response) -> None:  # type: ignore[override]
        """Write what changed (or move the idle window); on a DynamoDB failure answer 503, never log anyone out."""
        if session.unavailable or not session.loaded:
            return  # DynamoDB failed (the page says so), or the session was never read: nothing changed
        if session.accessed:
            response.vary.add("Cookie")
        try:
            self._store_changes(app, session, response)
        except SessionsUnavailable:
            session.unavailable = True
            _answer_try_again(response)

    def _store_changes(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        data = session.load()
        if session.live and not session.rotate:
            if not session.modified:
                self._touch(app, session, response)
            elif not data:
                self.store.delete(session.session_id)
                self._drop_cookie(app, response)
            elif not self.store.update(session.session_id, session.record, _serializer.dumps(data)):
                self._drop_cookie(app, response)  # logged out in another request meanwhile: stay logged out
            return
        if data:  # a new session, or a login: always a new id, never the one the browser sent
            new_id = secrets.token_urlsafe(_ID_BYTES)
            replacing = session.session_id if session.record is not None and not session.ended else None
            self.store.create(new_id, _serializer.dumps(data), session.customer_id, replacing=replacing)
            self._set_cookie(app, response, self.cookie_value(app, new_id))
        else:
            if session.live:  # regenerated, then emptied
                self.store.delete(session.session_id)
            if session.had_cookie:
                self._drop_cookie(app, response)  # stale, forged or ended: the next page view costs nothing

    def _touch(self, app: Flask, session: ServerSideSession, response: Response) -> None:
        if not self.store.needs_touch(session.record):
            return
        try:
            still_there = self.store.touch(session.session_id, session.record)
        except SessionsUnavailable:
            return  # this page was served from a good read; the next request moves the window
        if not still_there:
            self._drop_cookie(app, response)

    def _set_cookie(self, app: Flask, response: Response, value: str) -> None:
        # No Expires (a browser-session cookie: the server decides when the session ends); Path=/ and no Domain,
        # so it stays with this exact host (which `__Host-` requires).
        response.set_cookie(self.get_cookie_name(app), value, path="/", secure=self.get_cookie_secure(app),
                            httponly=True, samesite="Lax")

    def _drop_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(self.get_cookie_name(app), path="/", secure=self.get_cookie_secure(app),
                               httponly=True, samesite="Lax")


def _answer_try_again(response: Response) -> None:
    """Turn the response into the friendly 503 page: the session could not be saved, so the page must claim
    nothing that depended on it ("Welcome", "Order placed", a logged-in header); the customer tries again."""
    response.status_code = 503
    response.headers.pop("Location", None)
    response.headers["Retry-After"] = "5"
    response.headers["Cache-Control"] = "no-store"
    response.mimetype = "text/html"
    response.set_data(render_template("error.html", status=503, title="Please try again shortly",
                                      current_user=None, logout_form=None, get_flashed_messages=_no_flashes))


def _no_flashes(*args: object, **kwargs: object) -> list:
    return []


def load_page_session() -> None:
    """before_request: read the page's session before the view runs, so a DynamoDB failure is a 503 page."""
    current = session._get_current_object()  # type: ignore[attr-defined]
    if isinstance(current, ServerSideSession):
        current.load()
