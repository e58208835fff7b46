"""Bearer-token verification: RS256 JWTs signed by a key from the issuer's JWKS (spec §4 Tokens).

The keys come from jwks.py (discovery, cache, refetches for an unknown `kid` within a token bucket,
last good keys kept through an outage). Nothing here logs or echoes token content.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import requests
from joserfc import jws
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import RSAKey
from joserfc.jwt import JWTClaimsRegistry

from pizza42.auth.jwks import ALGORITHM, REFETCH_BURST, REFETCHES_PER_MINUTE, JwksCache
from pizza42.claims import EMAIL, can_place_orders

# Verified tokens remembered per process: an SPA sends the same access token on every call until it
# expires, and its RSA signature check is the largest single cost of a request's token handling. Bounded
# (least recently used go first) so that many distinct valid tokens cannot grow memory.
VERIFIED_CACHE_SIZE = 1024

# RFC 6750 §2.1: the scheme is case-insensitive, then exactly one space and a token68.
_BEARER = re.compile(r"(?i:bearer) ([A-Za-z0-9._~+/-]+=*)")


class _SafeMessageError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message  # safe to show a client: never contains token content


class TokenError(_SafeMessageError):
    """The bearer token is missing or invalid (401)."""


class IdentityProviderUnavailable(_SafeMessageError):
    """No signing keys could be obtained from the issuer and none are cached (503)."""


@dataclass(frozen=True)
class VerifiedToken:
    """A token whose signature and claims have been checked."""

    claims: dict
    token_type: str  # "access" or "id"
    subject: str
    key_id: str | None = None  # the `kid` of the key it was verified with

    @property
    def email(self) -> str | None:
        """The customer's email: the Action's namespaced claim, else the standard one."""
        value = self.claims.get(EMAIL) or self.claims.get("email")
        return value if isinstance(value, str) else None

    @property
    def can_place_orders(self) -> bool:
        """Whether the customer may order (verified email, per the Action's claim)."""
        return can_place_orders(self.claims)

    def has_scope(self, scope: str) -> bool:
        """Whether an access token grants `scope`; ID tokens from the legacy SPA always do."""
        if self.token_type == "id":  # noqa: S105 (a token type, not a secret)
            return True
        granted = self.claims.get("scope")
        if isinstance(granted, str) and scope in granted.split():
            return True
        permissions = self.claims.get("permissions")
        return isinstance(permissions, list) and scope in permissions


def parse_bearer(authorization_header: str | None) -> str:
    """Return the token of an `Authorization: Bearer <token>` header, else raise TokenError."""
    if not authorization_header:
        raise TokenError("missing bearer token")
    match = _BEARER.fullmatch(authorization_header)
    if match is None:
        raise TokenError("authorization header must be 'Bearer <token>'")
    return match.group(1)


class TokenVerifier:
    """Verifies bearer tokens against one issuer; one instance per process, safe across threads."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        spa_client_ids: frozenset[str] | set[str] = frozenset(),
        http_timeout: float = 3.0,
        leeway: int = 60,
        jwks_refetch_burst: int = REFETCH_BURST,
        jwks_refetches_per_minute: float = REFETCHES_PER_MINUTE,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        on_jwks_refetch: Callable[[], None] | None = None,
    ) -> None:
        self._audience = audience
        self._spa_client_ids = frozenset(spa_client_ids)
        self._clock = clock
        self._leeway = leeway
        self._jwks = JwksCache(issuer.rstrip("/") + "/.well-known/openid-configuration",
                               http_timeout=http_timeout, session=session or requests.Session(), clock=clock,
                               refetch_burst=jwks_refetch_burst, refetches_per_minute=jwks_refetches_per_minute,
                               on_refetch=on_jwks_refetch)
        self._verified: OrderedDict[str, tuple[RSAKey, VerifiedToken]] = OrderedDict()  # token -> its key, result
        self._verified_lock = threading.Lock()
        # Built once. Claims: exp required, exp/nbf/iat with leeway, `iss` compared as an exact string,
        # `sub` a non-empty string, `aud` a string or a list of strings.
        self._jws_registry = jws.JWSRegistry(algorithms=[ALGORITHM], strict_check_header=False)
        self._claims_registry = JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            sub={"essential": True},
            exp={"essential": True},
        )

    def verify(self, token: str) -> VerifiedToken:
        """Check the token's signature and claims; raise TokenError or IdentityProviderUnavailable.

        A token verified before is not checked again with RSA: it is the same bytes, signed by the same
        key object, which must still be among the issuer's keys (a JWKS refetch makes new key objects,
        so a rotation verifies afresh). Its expiry is checked on every call.
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            key, verified = remembered
            if self._current_key(verified.key_id) is key:
                # Its claims passed at first sight; of them only `exp` can turn false as time goes on.
                if verified.claims["exp"] <= int(self._clock()) - self._leeway:
                    with self._verified_lock:
                        self._verified.pop(token, None)
                    raise TokenError("token has expired")
                with self._verified_lock:
                    if token in self._verified:
                        self._verified.move_to_end(token)
                return verified
        signed = self._parse(token)
        kid = signed.headers().get("kid")
        key = self._key_for(kid)
        try:
            valid = jws.validate_compact(signed, key, registry=self._jws_registry)
        except (JoseError, TypeError, ValueError):  # e.g. a malformed `crit` header
            raise TokenError("token header is not acceptable") from None
        if not valid:
            raise TokenError("token signature is invalid")
        try:
            claims = json.loads(signed.payload)
        except ValueError:
            claims = None
        if not isinstance(claims, dict):
            raise TokenError("token payload is not a JSON object")
        self._check_claims(claims)
        verified = VerifiedToken(claims=claims, token_type=self._token_type(claims), subject=claims["sub"],
                                 key_id=kid)
        with self._verified_lock:
            self._verified[token] = (key, verified)
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return verified

    def _parse(self, token: str) -> jws.CompactSignature:
        if not isinstance(token, str) or token.count(".") != 2:
            raise TokenError("token is not a signed JWT")
        try:
            signed = jws.extract_compact(token.encode("ascii"), registry=self._jws_registry)
        except (JoseError, TypeError, ValueError):
            raise TokenError("token is not a well-formed JWT") from None
        header = signed.headers()
        # Checked before any key lookup: RS256 only, so never "none", HS256 (with the public key as
        # secret) or any other algorithm; jwk/jku/x5u/x5c headers are never looked at.
        if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
            raise TokenError("token must be signed with RS256")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenError("token key id is not a string")
        return signed

    def _check_claims(self, claims: dict) -> None:
        try:
            self._claims_registry.validate(claims)
        except ExpiredTokenError:
            raise TokenError("token has expired") from None
        except MissingClaimError as exc:
            raise TokenError(f"token is missing a required claim ({exc.claim})") from None
        except ClaimError as exc:
            # Claim names come from our registry's fixed set, never from the token.
            raise TokenError(f"token has an invalid '{exc.claim}' claim") from None

    def _token_type(self, claims: dict) -> str:
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self._audience in audiences:
            return "access"
        if not self._spa_client_ids.isdisjoint(audiences):
            # An ID token of the legacy SPA; when it names its authorized party, that must be ours too.
            azp = claims.get("azp")
            if azp is None or (isinstance(azp, str) and azp in self._spa_client_ids):
                return "id"
        raise TokenError("token not issued for this API")

    def _current_key(self, kid: str | None) -> RSAKey | None:
        """The key that verifies `kid` now, without fetching; None if there is none."""
        keys = self._jwks.current
        return None if keys is None else keys.key_for(kid)

    def _key_for(self, kid: str | None) -> RSAKey:
        keys = self._jwks.keys_for(kid)
        if keys is None:
            raise IdentityProviderUnavailable("the identity provider is unavailable")
        key = keys.key_for(kid)
        if key is None:
            # A kid-less token with several keys is ambiguous: refused rather than tried against each.
            raise TokenError("token has no key id" if kid is None else "token signed by an unknown key")
        return key
