"""Who may open the shop's pages: staff (the kitchen) and managers (the kitchen and the figures).

Visitors are sent to log in (pizza42.web.session.login_required); everyone else logged in gets a 403 page that
names no order, customer or figure. The check runs before the CSRF check, so a customer's POST to a staff form
is refused as not allowed, whatever token it carries.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, request

from pizza42.dependencies import get_settings
from pizza42.shop.access import opens_analytics, opens_kitchen
from pizza42.staff import bp
from pizza42.web.session import SessionUser, current_user, login_required

NOT_ALLOWED = "This page is for Pizza 42's staff. If you work here, ask a manager to give your account its role."


def may_open_kitchen(user: SessionUser | None) -> bool:
    """Staff and managers run the kitchen (role names from the settings)."""
    settings = get_settings()
    return user is not None and opens_kitchen(user.roles, settings.staff_role, settings.manager_role)


def may_open_analytics(user: SessionUser | None) -> bool:
    """Only managers read the shop's figures."""
    return user is not None and opens_analytics(user.roles, get_settings().manager_role)


def _only_for(allowed: Callable[[SessionUser | None], bool]) -> Callable[[Callable], Callable]:
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not allowed(current_user()):  # also checked before CSRF (refuse_outsiders); again here, to be sure
                abort(403, NOT_ALLOWED)
            return view(*args, **kwargs)

        wrapper.allowed = allowed  # type: ignore[attr-defined]  (read by refuse_outsiders)
        return login_required(wrapper)

    return decorate


kitchen_only = _only_for(may_open_kitchen)
managers_only = _only_for(may_open_analytics)


@bp.before_app_request
def refuse_outsiders() -> None:
    """before_request, after visitors are sent to log in and before the CSRF check: 403 for non-staff."""
    view = current_app.view_functions.get(request.endpoint or "")
    allowed = getattr(view, "allowed", None)
    user = current_user() if allowed else None
    if allowed and user is not None and not allowed(user):
        abort(403, NOT_ALLOWED)


@bp.app_context_processor
def _staff_links() -> dict:
    """What the header needs: whether to show "Kitchen" and "Analytics"."""
    user = current_user()
    return {"shows_kitchen": may_open_kitchen(user), "shows_analytics": may_open_analytics(user)}
