"""The custom claims the Auth0 Post-Login Action writes and the app reads.

`claims.json` beside this module is the one list of claim names: `claims` on both tokens, `id_token_claims`
(the user's roles) on the ID token only. The Action (`deploy/auth0/post-login-action.js`) must be a single
file for Auth0, so it carries the same lists inline; tests on both sides check that it writes exactly these.
"""

from __future__ import annotations

import json
from pathlib import Path

_CLAIMS_FILE = Path(__file__).resolve().parent / "claims.json"
_SPEC = json.loads(_CLAIMS_FILE.read_text())

NAMESPACE: str = _SPEC["namespace"]
CLAIM_NAMES: tuple[str, ...] = tuple(_SPEC["claims"])
ID_TOKEN_CLAIM_NAMES: tuple[str, ...] = tuple(_SPEC["id_token_claims"])

EMAIL = NAMESPACE + "email"
EMAIL_VERIFIED = NAMESPACE + "email_verified"
CAN_PLACE_ORDERS = NAMESPACE + "can_place_orders"
TOKEN_VERIFIED_AT = NAMESPACE + "token_verified_at"
AUTH_METADATA = NAMESPACE + "auth_metadata"
CUSTOMER_INFO = NAMESPACE + "customer_info"
VERIFICATION_REQUIRED = NAMESPACE + "verification_required"


def custom_claims(claims: dict) -> dict:
    """Return the `https://pizza42.com/` claims of a token, keyed by their short name."""
    return {name: claims[NAMESPACE + name] for name in (*CLAIM_NAMES, *ID_TOKEN_CLAIM_NAMES)
            if NAMESPACE + name in claims}


def can_place_orders(claims: dict) -> bool:
    """Whether a customer may order: the Action's claim when present, else `email_verified`."""
    if CAN_PLACE_ORDERS in claims:
        return claims[CAN_PLACE_ORDERS] is True
    return claims.get("email_verified") is True


def login_time(auth_metadata: object) -> str | None:
    """When the customer logged in, from the Action's `auth_metadata` claim (None if it does not say).

    The Action writes `login_time` (the name the legacy SPA reads); tokens issued before that change
    carry `time` instead, and stay valid for hours after a deploy, so both are read.
    """
    if not isinstance(auth_metadata, dict):
        return None
    for name in ("login_time", "time"):
        value = auth_metadata.get(name)
        if isinstance(value, str) and value:
            return value
    return None
