"""The terminal: a local chat through the same pipeline, for a try-out without a token."""

import asyncio
import sys
from typing import TextIO

from bot.pipeline import Balie
from bot.types import Button, Reply, Turn, TurnKind

CHAT_ID = "cli:local"
PROMPT = "jij> "


def show(replies: list[Reply], out: TextIO) -> list[Button]:
    """Print replies with numbered buttons; return the buttons in that order."""
    buttons: list[Button] = []
    for reply in replies:
        print(f"balie> {reply.text}", file=out)
        for button in reply.buttons:
            buttons.append(button)
            print(f"  [{len(buttons)}] {button.title}", file=out)
    out.flush()
    return buttons


def turn_for(line: str, buttons: list[Button]) -> Turn:
    """Read a typed line: a number presses a shown button, a /word is a command."""
    kind: TurnKind = "text"
    text = line
    if line.isdigit() and 1 <= int(line) <= len(buttons):
        kind, text = "button", buttons[int(line) - 1].data
    elif line.startswith("/"):
        kind = "command"
    return Turn(chat_id=CHAT_ID, channel="terminal", kind=kind, text=text)


async def chat(balie: Balie, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Talk with Balie until end of input or /stop."""
    start = Turn(chat_id=CHAT_ID, channel="terminal", kind="command", text="/start")
    buttons = show(await balie.handle(start), out)
    while True:
        print(PROMPT, end="", file=out, flush=True)
        line = await asyncio.to_thread(source.readline)
        if not line or line.strip() in {"/stop", "/quit", "/exit"}:
            break
        buttons = show(await balie.handle(turn_for(line.strip(), buttons)), out)
