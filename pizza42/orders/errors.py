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
