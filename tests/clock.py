"""A clock the tests move by hand, for the app's (and the session store's) injectable clock."""

from __future__ import annotations

import time


class ManualClock:
    """Starts at the real time (the identity provider's tokens use the real one) and moves only when told."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        self.now += seconds
