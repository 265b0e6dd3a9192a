"""A value read from the database at most every few seconds, for what each answer looks at."""

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Refreshed(Generic[T]):
    """Holds the result of `read` for `seconds`; `clear` makes the next `get` read again."""

    def __init__(self, read: Callable[[], Awaitable[T]], seconds: float) -> None:
        self.read = read
        self.seconds = seconds
        self._expires = 0.0
        self._value: T | None = None

    async def get(self) -> T:
        """Return the value, read again when it is older than `seconds`."""
        if self._value is None or time.monotonic() >= self._expires:
            self._value = await self.read()
            self._expires = time.monotonic() + self.seconds
        return self._value

    def clear(self) -> None:
        """Forget the value (after a change made by this process)."""
        self._value = None
