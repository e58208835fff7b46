"""Who is staff: Auth0 roles for the pages (the ID token's roles claim), RBAC permissions for the API."""

from __future__ import annotations

from collections.abc import Iterable

from pizza42 import claims

READ_SHOP_ORDERS = "read:shop_orders"
UPDATE_ORDER_STATUS = "update:order_status"
READ_ANALYTICS = "read:analytics"
ROLES_CLAIM = claims.NAMESPACE + "roles"
_MAX_ROLES = 20


def roles_from_claims(id_claims: dict) -> tuple[str, ...]:
    """The Auth0 roles the Post-Login Action put in the ID token (strings only, bounded)."""
    value = id_claims.get(ROLES_CLAIM)
    if not isinstance(value, list):
        return ()
    return tuple(role[:100] for role in value if isinstance(role, str) and role)[:_MAX_ROLES]


def opens_kitchen(roles: Iterable[str], staff_role: str, manager_role: str) -> bool:
    """Staff and managers run the kitchen."""
    return bool({staff_role, manager_role} & set(roles))


def opens_analytics(roles: Iterable[str], manager_role: str) -> bool:
    """Only managers read the shop's figures."""
    return manager_role in set(roles)
