"""Staff and managers for the shop's pages: demo users with the roles claim, registered at the local provider."""

from __future__ import annotations

import re

import requests

from pizza42 import claims
from pizza42.orders import service
from pizza42.orders.model import Order
from pizza42.orders.service import Customer
from pizza42.sandbox import DEMO_USERS

STAFF = "auth0|test-staff"
MANAGER = "auth0|test-manager"
ROLES_CLAIM = claims.NAMESPACE + "roles"


def staff_claims(name: str, email: str, roles: list[str]) -> dict:
    """A verified user's claims (as the Post-Login Action writes them) with the given Auth0 roles."""
    base = {key: value for key, value in DEMO_USERS["auth0|demo-verified"].items()}
    return {**base, "name": name, "nickname": name.split()[0].lower(), "email": email, ROLES_CLAIM: roles}


def register_staff(issuer: str) -> None:
    """Add the staff member and the manager to the running oidc-provider-mock (PUT /users/<sub>)."""
    for sub, claims_ in ((STAFF, staff_claims("Sam Staff", "staff@pizza42.test", ["staff"])),
                         (MANAGER, staff_claims("Mia Manager", "manager@pizza42.test", ["manager"]))):
        answer = requests.put(f"{issuer}/users/{sub}", json=claims_, timeout=5)
        assert answer.status_code == 204, answer.text[:200]


def place(store, sub: str = "auth0|demo-verified", *, name: str | None = "Vera Verified", pizza: str = "Margherita",
          size: str = "medium", quantity: int = 2) -> Order:
    """An order placed through the domain, as the page or the API would."""
    email = f"{sub.split('|')[1]}@pizza42.test"
    return service.place_order(store, Customer(sub, email, name), {"pizza": pizza, "size": size,
                                                                   "quantity": quantity})[0]


def csrf_token(html: str) -> str:
    """The first CSRF token on a page."""
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)
