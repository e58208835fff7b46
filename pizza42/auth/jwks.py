"""The issuer's signing keys: found by discovery, fetched lazily, cached, refetched within a small budget.

A token whose `kid` is not in the cache means one of two things: the issuer has just published a new
key (rotation: refetch at once, or customers are refused) or someone is sending made-up kids (a flood:
each must not cost the issuer a request). A token bucket, as Auth0's own jwks-rsa uses
(`jwksRequestsPerMinute`), serves both: a burst of refetches is available at once, and a flood drains it
to a few fetches a minute. When the issuer cannot be reached, the last good keys are kept. Every fetch
after a process's first (a rotation, a made-up kid, a retry while the issuer is down) is reported to
`on_refetch` (the app counts them as the JwksRefetches metric; this package imports nothing of the app's).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
# Refetches for unknown kids: this many at once, refilled at this rate. A flood costs the issuer at
# most BURST + PER_MINUTE fetches in its first minute and PER_MINUTE a minute after that.
REFETCH_BURST = 4
REFETCHES_PER_MINUTE = 4.0
# With no key at all (first use, or the issuer down since start) every request waits on the issuer:
# retry it this often, not on every request.
OUTAGE_RETRY_INTERVAL = 5.0


class TokenBucket:
    """`capacity` tokens, refilled continuously at `per_minute`; safe across threads."""

    def __init__(self, capacity: int, per_minute: float, clock: Callable[[], float]) -> None:
        if capacity < 1 or per_minute <= 0:
            raise ValueError("a token bucket needs a capacity of at least 1 and a positive rate")
        self._capacity = float(capacity)
        self._per_second = per_minute / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(capacity)
        self._updated = clock()

    def take(self) -> bool:
        """Spend one token if there is one; False (and nothing spent) when the bucket is empty."""
        with self._lock:
            now = self._clock()
            # A clock stepping back adds nothing (and is not held against the next refill).
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self._capacity, self._tokens + elapsed * self._per_second)
            self._updated = now
            if self._tokens < 1.0 - 1e-9:  # the epsilon absorbs float error at exact refill times
                return False
            self._tokens = max(0.0, self._tokens - 1.0)
            return True


@dataclass(frozen=True)
class SigningKeys:
    """One JWKS fetch, imported once: verification keys by kid, and the key for kid-less tokens."""

    by_kid: dict[str, RSAKey]
    only: RSAKey | None  # set when the JWKS has exactly one usable key

    @classmethod
    def from_jwks(cls, jwks: object) -> SigningKeys:
        """Import the usable RSA signing keys of a JWKS document; raise ValueError if there are none."""
        entries = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(entries, list):
            raise ValueError("JWKS has no 'keys' list")
        keys = [(entry.get("kid"), key) for entry in entries if (key := _signing_key(entry)) is not None]
        if not keys:
            raise ValueError("JWKS has no usable RSA signing key")
        by_kid = {kid: key for kid, key in reversed(keys) if isinstance(kid, str)}  # first one wins
        return cls(by_kid=by_kid, only=keys[0][1] if len(keys) == 1 else None)

    def key_for(self, kid: str | None) -> RSAKey | None:
        """The key that verifies a token with this `kid` (a kid-less one: the only key), else None."""
        return self.only if kid is None else self.by_kid.get(kid)

    def has(self, kid: str | None) -> bool:
        """Whether these keys can answer for `kid` (a kid-less token is answered, or refused, by `only`)."""
        return kid is None or kid in self.by_kid


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


class JwksCache:
    """The issuer's signing keys for one process (one instance, shared by all threads)."""

    def __init__(
        self,
        discovery_url: str,
        *,
        http_timeout: float,
        session: requests.Session,
        clock: Callable[[], float],
        refetch_burst: int = REFETCH_BURST,
        refetches_per_minute: float = REFETCHES_PER_MINUTE,
        on_refetch: Callable[[], None] | None = None,
    ) -> None:
        self._discovery_url = discovery_url
        self._on_refetch = on_refetch
        self._fetched = False  # whether this process has tried a fetch yet (the next one is a refetch)
        self._http_timeout = http_timeout
        self._session = session
        self._clock = clock
        self._refetches = TokenBucket(refetch_burst, refetches_per_minute, clock)
        self._lock = threading.Lock()  # one fetch at a time; waiting threads then use its result
        self._keys: SigningKeys | None = None
        self._jwks_uri: str | None = None
        self._last_outage_attempt: float | None = None

    @property
    def current(self) -> SigningKeys | None:
        """The keys held now (no fetch); None before the first successful fetch."""
        return self._keys

    def keys_for(self, kid: str | None) -> SigningKeys | None:
        """The keys to verify a token with this `kid` (refetched first if unknown); None if there are none."""
        keys = self._keys
        if keys is not None and keys.has(kid):
            return keys
        with self._lock:
            keys = self._keys
            if (keys is not None and keys.has(kid)) or not self._may_fetch(keys):
                return keys  # another thread fetched while we waited, or no fetch is allowed now
            if self._fetched and self._on_refetch is not None:
                self._on_refetch()
            self._fetched = True
            try:
                self._keys = SigningKeys.from_jwks(self._get_json(self._jwks_url()))
            except (requests.RequestException, ValueError) as exc:
                # Keep the last good keys; find the JWKS afresh next time in case it moved.
                self._jwks_uri = None
                log.warning("could not fetch the issuer's signing keys: %s", exc)
            return self._keys

    def _may_fetch(self, keys: SigningKeys | None) -> bool:
        if keys is None:
            now = self._clock()
            if self._last_outage_attempt is not None and now - self._last_outage_attempt < OUTAGE_RETRY_INTERVAL:
                return False
            self._last_outage_attempt = now
            return True
        # We have keys, but not this kid: a rotation or made-up kids; the bucket caps what either costs.
        return self._refetches.take()

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
