"""The refetch budget for unknown key ids: a token bucket (burst at once, then a steady refill), thread-safe."""

from __future__ import annotations

import threading

import pytest
import requests

from pizza42.auth.jwks import OUTAGE_RETRY_INTERVAL, JwksCache, TokenBucket
from tests.jwt_helpers import RSAKeyFixture


class Clock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def takes(bucket: TokenBucket, attempts: int) -> int:
    return sum(bucket.take() for _ in range(attempts))


def test_a_full_bucket_allows_its_whole_burst_at_once_then_refuses():
    bucket = TokenBucket(4, per_minute=4, clock=Clock())
    assert takes(bucket, 10) == 4


def test_tokens_come_back_at_the_refill_rate():
    clock = Clock()
    bucket = TokenBucket(4, per_minute=4, clock=clock)  # one token every 15 s
    takes(bucket, 4)
    clock.now += 14
    assert not bucket.take()
    clock.now += 1
    assert bucket.take()  # exactly at the refill time (float error must not cost a token)
    clock.now += 30
    assert takes(bucket, 5) == 2


def test_the_bucket_never_holds_more_than_its_capacity():
    clock = Clock()
    bucket = TokenBucket(3, per_minute=60, clock=clock)
    clock.now += 3_600  # an idle hour
    assert takes(bucket, 10) == 3


def test_a_clock_stepping_back_adds_no_tokens():
    clock = Clock()
    bucket = TokenBucket(2, per_minute=60, clock=clock)
    takes(bucket, 2)
    clock.now -= 500
    assert not bucket.take()
    clock.now += 1  # the refill counts from the stepped-back time, not from the future
    assert bucket.take()


def test_concurrent_takers_share_exactly_the_capacity():
    bucket = TokenBucket(25, per_minute=1, clock=Clock())
    barrier = threading.Barrier(16)
    granted: list[int] = []

    def worker() -> None:
        barrier.wait()
        granted.append(takes(bucket, 50))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 25


@pytest.mark.parametrize("capacity, per_minute", [(0, 4), (4, 0), (4, -1)])
def test_a_bucket_that_could_never_grant_is_refused(capacity, per_minute):
    with pytest.raises(ValueError):
        TokenBucket(capacity, per_minute=per_minute, clock=Clock())


class FakeIssuer:
    """A requests.Session stand-in serving a discovery document and a JWKS, or failing; counts JWKS fetches."""

    def __init__(self, jwks: dict) -> None:
        self.jwks, self.down, self.jwks_fetches = jwks, False, 0

    def get(self, url: str, timeout: float):
        if self.down:
            raise requests.ConnectionError("down")
        if url.endswith("/jwks"):
            self.jwks_fetches += 1
        body = self.jwks if url.endswith("/jwks") else {"jwks_uri": "https://issuer.test/jwks"}
        return type("Answer", (), {"raise_for_status": lambda self: None, "json": lambda self: body})()


def test_every_jwks_fetch_after_the_first_is_reported_as_a_refetch():
    key = RSAKeyFixture(kid="k1")
    issuer, clock, refetches = FakeIssuer(key.jwks), Clock(), []
    cache = JwksCache("https://issuer.test/.well-known/openid-configuration", http_timeout=1, session=issuer,
                      clock=clock, refetch_burst=2, refetches_per_minute=1, on_refetch=lambda: refetches.append(1))
    assert cache.keys_for("k1").has("k1") and (issuer.jwks_fetches, len(refetches)) == (1, 0)  # the first fetch
    assert cache.keys_for("k1") is cache.current and issuer.jwks_fetches == 1  # cached: no fetch at all
    for _ in range(5):  # made-up kids: the bucket allows 2 refetches, each reported; the rest cost nothing
        cache.keys_for("made-up")
    assert (issuer.jwks_fetches, len(refetches)) == (3, 2)


def test_retries_while_the_issuer_is_down_from_the_start_are_refetches_too():
    issuer, clock, refetches = FakeIssuer(RSAKeyFixture(kid="k1").jwks), Clock(), []
    issuer.down = True
    cache = JwksCache("https://issuer.test/.well-known/openid-configuration", http_timeout=1, session=issuer,
                      clock=clock, on_refetch=lambda: refetches.append(1))
    assert cache.keys_for("k1") is None and refetches == []  # the first attempt
    assert cache.keys_for("k1") is None and refetches == []  # within the outage interval: no attempt
    clock.now += OUTAGE_RETRY_INTERVAL
    issuer.down = False
    assert cache.keys_for("k1").has("k1") and len(refetches) == 1
