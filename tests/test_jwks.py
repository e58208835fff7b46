"""The refetch budget for unknown key ids: a token bucket (burst at once, then a steady refill), thread-safe."""

from __future__ import annotations

import threading

import pytest

from pizza42.auth.jwks import TokenBucket


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
