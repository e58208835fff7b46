"""An order's lifecycle: its statuses and the one table of allowed moves (who may make each).

    confirmed ──> preparing ──> ready ──> completed
        │             │
        └─────────────┴──> cancelled   (customer: from confirmed, within the cancel window; staff: both)

`completed` and `cancelled` are final. The store's conditional write, the views' buttons and the tests all
read MOVES: nothing else decides whether an order may change.
"""

from __future__ import annotations

from typing import NamedTuple

CONFIRMED, PREPARING, READY, COMPLETED, CANCELLED = "confirmed", "preparing", "ready", "completed", "cancelled"
STATUSES = (CONFIRMED, PREPARING, READY, COMPLETED, CANCELLED)
OPEN_STATUSES = frozenset({CONFIRMED, PREPARING, READY})  # on the kitchen's board
PROGRESS = (CONFIRMED, PREPARING, READY, COMPLETED)  # the customer's tracker, in order

STAFF, CUSTOMER = "staff", "customer"

# (from, to) -> who may make that move. Everything absent is refused.
MOVES: dict[tuple[str, str], frozenset[str]] = {
    (CONFIRMED, PREPARING): frozenset({STAFF}),
    (PREPARING, READY): frozenset({STAFF}),
    (READY, COMPLETED): frozenset({STAFF}),
    (CONFIRMED, CANCELLED): frozenset({STAFF, CUSTOMER}),
    (PREPARING, CANCELLED): frozenset({STAFF}),
}

# What a button that makes the move says, and what the customer's tracker calls each step.
ACTION_LABELS = {PREPARING: "Start preparing", READY: "Mark ready", COMPLETED: "Hand over", CANCELLED: "Cancel"}
STEP_LABELS = {CONFIRMED: "Placed", PREPARING: "Preparing", READY: "Ready", COMPLETED: "Completed",
               CANCELLED: "Cancelled"}


class StatusChange(NamedTuple):
    """One entry of an order's history: the status it moved to, when (ISO UTC), and by whom."""

    status: str
    at: str
    by: str  # a staff member's `sub`, or "customer"

    def to_json(self) -> dict:
        """As the API shows it."""
        return {"status": self.status, "at": self.at, "by": self.by}


def may_move(current: str, target: str, actor: str) -> bool:
    """Whether `actor` (STAFF or CUSTOMER) may move an order from `current` to `target`."""
    return actor in MOVES.get((current, target), frozenset())


def sources(target: str, actor: str) -> tuple[str, ...]:
    """The statuses from which `actor` may move an order to `target` (the write's condition)."""
    return tuple(current for (current, to), actors in MOVES.items() if to == target and actor in actors)


def moves_from(current: str, actor: str) -> tuple[str, ...]:
    """The statuses `actor` may move an order to from `current`: the step forward first, cancel last."""
    return tuple(to for (frm, to), actors in MOVES.items() if frm == current and actor in actors)


def is_open(status: str) -> bool:
    """Whether the order is still on the kitchen's board."""
    return status in OPEN_STATUSES
