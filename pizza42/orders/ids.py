"""Order ids: unique, and sorting as text in the order the orders were placed.

`order_<epoch ms, 13 digits>_<10 base32 chars>`. The original backend wrote `order_<epoch ms>`;
a legacy id is a prefix of any new id of the same millisecond, so old and new ids sort together.
The suffix is random (so two processes never collide in practice, and a collision is caught by
the conditional write anyway) and, within one process, strictly increasing in the same
millisecond — like a ULID — so orders placed back to back keep their order.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

PREFIX = "order_"
_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, in ASCII order
_SUFFIX_LEN = 10
_SUFFIX_MAX = 32**_SUFFIX_LEN - 1
# Every id this app hands out or accepts back (legacy ids have no suffix).
ORDER_ID_PATTERN = re.compile(r"^order_[0-9]{13}(?:_[0-9a-hjkmnp-tv-z]{10})?\Z")

_lock = threading.Lock()
_last_ms = -1
_last_suffix = 0


def _encode(number: int) -> str:
    chars = []
    for _ in range(_SUFFIX_LEN):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_order_id(now_ms: int | None = None) -> str:
    """A fresh order id for the current (or given) epoch millisecond."""
    global _last_ms, _last_suffix
    with _lock:
        # Read the clock under the lock, and never behind the last id (a clock stepping back):
        # otherwise two ids of one millisecond could come out of order.
        ms = max(int(time.time() * 1000), _last_ms) if now_ms is None else now_ms
        if ms == _last_ms and _last_suffix < _SUFFIX_MAX:
            # Same millisecond as the previous id: keep increasing, with a random step.
            suffix = min(_last_suffix + 1 + secrets.randbelow(1024), _SUFFIX_MAX)
        else:
            suffix = secrets.randbelow(_SUFFIX_MAX // 2)  # leave room to increase within the ms
        _last_ms, _last_suffix = ms, suffix
    return f"{PREFIX}{ms:013d}_{_encode(suffix)}"


def is_order_id(value: str) -> bool:
    """Whether a string has the shape of an order id (new or legacy)."""
    return bool(ORDER_ID_PATTERN.match(value))


def order_id_millis(order_id: str) -> int | None:
    """The epoch milliseconds an order id was made at, or None if it is not an order id."""
    return int(order_id[len(PREFIX):len(PREFIX) + 13]) if is_order_id(order_id) else None
