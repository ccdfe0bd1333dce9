"""The error every job request raises when it cannot be queued."""
from __future__ import annotations


class RequestError(ValueError):
    """A request that cannot be queued; the message is one line a person can act on.

    `field` names the setting at fault when there is one, so a form can mark it.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
