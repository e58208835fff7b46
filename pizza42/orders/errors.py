"""The orders domain's own exceptions; views map them to status codes."""

from __future__ import annotations


class InvalidOrder(ValueError):
    """The order request is not acceptable (422); `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class InvalidCursor(ValueError):
    """A pagination cursor that this app did not hand out (400)."""


class OrderNotFound(LookupError):
    """No such order for this customer (404)."""


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different order request (422)."""


class StorageUnavailable(Exception):
    """DynamoDB could not be reached, or throttled us past our retries (503)."""


class UnknownStatus(ValueError):
    """A status that does not exist in the lifecycle (422)."""

    def __init__(self, status: object) -> None:
        super().__init__(f"unknown status {status!r}")
        self.status = status


class StatusConflict(Exception):
    """The order is not in a status that allows the move, or lost a race for it (409); `status` is its status now.

    `reason` says why in words a customer or a cook can act on.
    """

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
