"""Bearer-token verification: RS256 JWTs signed by a key from the issuer's JWKS (spec §4 Tokens).

Keys are fetched lazily (discovery, then `jwks_uri`), built into joserfc key objects once per fetch
and cached; an unknown `kid` triggers a rate-limited refetch and an outage keeps the last good keys.
Nothing here logs or echoes token content.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from joserfc import jws
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import RSAKey
from joserfc.jwt import JWTClaimsRegistry

from pizza42.claims import EMAIL, can_place_orders

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
# RFC 6750 §2.1: the scheme is case-insensitive, then exactly one space and a token68.
_BEARER = re.compile(r"(?i:bearer) ([A-Za-z0-9._~+/-]+=*)")
# Without any key, retry the identity provider at most this often (capped by min_refetch_interval).
_OUTAGE_RETRY_INTERVAL = 5.0


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


@dataclass(frozen=True)
class _Keys:
    """One JWKS fetch, imported once: verification keys by kid, and the key for kid-less tokens."""

    by_kid: dict[str, RSAKey]
    only: RSAKey | None  # set when the JWKS has exactly one usable key

    @classmethod
    def from_jwks(cls, jwks: object) -> _Keys:
        """Import the usable RSA signing keys of a JWKS document; raise ValueError if there are none."""
        entries = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(entries, list):
            raise ValueError("JWKS has no 'keys' list")
        keys = [(entry.get("kid"), key) for entry in entries if (key := _signing_key(entry)) is not None]
        if not keys:
            raise ValueError("JWKS has no usable RSA signing key")
        by_kid = {kid: key for kid, key in reversed(keys) if isinstance(kid, str)}  # first one wins
        return cls(by_kid=by_kid, only=keys[0][1] if len(keys) == 1 else None)


def _signing_key(entry: object) -> RSAKey | None:
    # Only RSA keys meant for signatures; an "alg" other than RS256 would never verify ours.
    if not isinstance(entry, dict) or entry.get("kty") != "RSA":
        return None
    if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
        return None
    try:
        # Import only the public numbers, whatever else the entry carries.
        return RSAKey.import_key({"kty": "RSA", "n": entry["n"], "e": entry["e"]})
    except (KeyError, TypeError, ValueError, JoseError):
        log.warning("ignoring a malformed RSA key in the issuer's JWKS")
        return None


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
        min_refetch_interval: float = 60.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._audience = audience
        self._spa_client_ids = frozenset(spa_client_ids)
        self._discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._http_timeout = http_timeout
        self._min_refetch_interval = min_refetch_interval
        self._session = session or requests.Session()
        self._clock = clock
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
        self._lock = threading.Lock()
        self._keys: _Keys | None = None
        self._jwks_uri: str | None = None
        self._last_fetch: float | None = None

    def verify(self, token: str) -> VerifiedToken:
        """Check the token's signature and claims; raise TokenError or IdentityProviderUnavailable."""
        signed = self._parse(token)
        key = self._key_for(signed.headers().get("kid"))
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
        return VerifiedToken(claims=claims, token_type=self._token_type(claims), subject=claims["sub"])

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

    def _key_for(self, kid: str | None) -> RSAKey:
        keys = self._keys
        if keys is None or (kid is not None and kid not in keys.by_kid):
            keys = self._refresh(kid)
        if keys is None:
            raise IdentityProviderUnavailable("the identity provider is unavailable")
        if kid is None:
            if keys.only is None:
                # With several keys a kid-less token is ambiguous; refuse rather than try each.
                raise TokenError("token has no key id")
            return keys.only
        key = keys.by_kid.get(kid)
        if key is None:
            raise TokenError("token signed by an unknown key")
        return key

    def _refresh(self, kid: str | None) -> _Keys | None:
        """Refetch the JWKS (once across threads, rate-limited); return the keys to use now."""
        with self._lock:
            keys = self._keys
            if keys is not None and (kid is None or kid in keys.by_kid):
                return keys  # another thread fetched while we waited
            interval = self._min_refetch_interval
            if keys is None:
                interval = min(interval, _OUTAGE_RETRY_INTERVAL)
            now = self._clock()
            if self._last_fetch is not None and now - self._last_fetch < interval:
                return keys
            self._last_fetch = now
            try:
                self._keys = _Keys.from_jwks(self._get_json(self._jwks_url()))
            except (requests.RequestException, ValueError) as exc:
                # Keep the last good keys; find the JWKS afresh next time in case it moved.
                self._jwks_uri = None
                log.warning("could not fetch the issuer's signing keys: %s", exc)
            return self._keys

    def _jwks_url(self) -> str:
        if self._jwks_uri is None:
            discovery = self._get_json(self._discovery_url)
            uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
            if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
                raise ValueError("discovery document has no jwks_uri")
            self._jwks_uri = uri
        return self._jwks_uri

    def _get_json(self, url: str) -> object:
        response = self._session.get(url, timeout=self._http_timeout)
        response.raise_for_status()
        return response.json()
