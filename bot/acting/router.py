"""One handler per kind of move: features register theirs, the pipeline dispatches through it.

As aiogram's routers do: the pipeline, forms, the handoff reception and listening each keep a
`Router` with the handlers of their moves, and the pipeline includes them all in one.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.state.store import ChatState
from bot.types import Move, Parse, Reply, Turn

M = TypeVar("M", bound=Move)


@dataclass(frozen=True)
class Context:
    """The turn a move is carried out in: what came in, the chat's state and the parse."""

    turn: Turn
    state: ChatState
    text: str
    parse: Parse | None

    @property
    def chat_id(self) -> str:
        """Return the chat of the turn."""
        return self.turn.chat_id


Handler = Callable[[M, Context], Awaitable[list[Reply]]]


class Router:
    """Maps each kind of move to the one handler that carries it out."""

    def __init__(self) -> None:
        self._handlers: dict[type[Move], Handler[Any]] = {}

    def register(self, move: type[M], handler: Handler[M]) -> None:
        """Make `handler` carry out every move of type `move`."""
        if move in self._handlers:
            raise ValueError(f"{move.__name__} has a handler already")
        self._handlers[move] = handler

    def include(self, *routers: "Router") -> None:
        """Take over the handlers of other routers."""
        for router in routers:
            for move, handler in router._handlers.items():
                self.register(move, handler)

    def handles(self) -> frozenset[type[Move]]:
        """Return the kinds of move this router has a handler for."""
        return frozenset(self._handlers)

    async def perform(self, move: Move, context: Context) -> list[Reply]:
        """Carry out a move and return what to tell the citizen."""
        handler = self._handlers.get(type(move))
        if handler is None:
            raise LookupError(f"no handler for {type(move).__name__}")
        return await handler(move, context)
