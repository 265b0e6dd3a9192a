"""More than one question in a message: each one answered, in the order asked (at most three).

"wat is de woz-waarde en hoe lang heb ik voor bezwaar?" is split at question marks and at "en"
or "and". The split is tried when the message as a whole is not clearly one question, or when
it asks again (two question marks, or "en hoe …", "and when …"). It is taken only when every
part on its own is clearly a question about a different tax topic (a `rated` intent) that is
answered by a response or an action, not a form.
"""

import re
from collections.abc import Callable

from bot.dialogue import buttons, cues
from bot.dialogue.policy import Policy, answer, clear
from bot.state.store import ChatState
from bot.types import Act, Answer, Parse, Several

_ASKING = (r"(?:hoe|wat|wanneer|waar|waarom|welke|hoeveel|kan|kun|mag|moet|is|zijn|heb|how|what"
           r"|when|where|why|which|can|may|must|do|does|are|should)\b")
# Between questions: a question mark, "en"/"and", or a comma before a question word.
SPLIT = re.compile(rf"\?+\s*|[,;]?\s+(?:en|and)(?:\s+(?:ook|also))?\s+(?=\w)|,\s*(?={_ASKING})",
                   re.IGNORECASE)
# "... en hoe lang ...": a conjunction that starts a new question, even after a clear one.
ASKS_AGAIN = re.compile(rf"\s(?:en|and)\s+(?:ook\s+|also\s+)?{_ASKING}", re.IGNORECASE)
MAX_PARTS = 3


def parts(text: str) -> list[str]:
    """Return the pieces of a text between question marks and the conjunctions en/and."""
    return [piece for piece in (p.strip(" ,.;!") for p in SPLIT.split(text)) if piece]


def decide(state: ChatState, text: str, parse: Parse, understand: Callable[[str], Parse],
           policy: Policy) -> Several | None:
    """Return the answers to each question of a message, or None to read it as one."""
    if state.form or state.mode is not None or not SPLIT.search(text):
        return None
    if clear(parse, policy) and text.count("?") < 2 and not ASKS_AGAIN.search(text):
        return None
    pieces = parts(text)
    if not 2 <= len(pieces) <= MAX_PARTS:
        return None
    parses = [understand(piece) for piece in pieces]
    intents = [p.intent for p in parses]
    if len(set(intents)) < len(intents) or not all(
            clear(p, policy) and p.intent in policy.rated for p in parses):
        return None
    moves = [cues.refine(answer(intent, policy, state.tenant), piece, policy.cues)
             for intent, piece in zip(intents, pieces, strict=True)]
    if not all(isinstance(move, Answer | Act) for move in moves):
        return None
    if parse.language and not state.language_locked:
        state.language = parse.language
    for intent in intents:
        state.remember(intent)
    buttons.expire(state)
    state.fallbacks = 0
    return Several(tuple(zip(pieces, parses, moves, strict=True)), intent=intents[0],
                   offer_handoff=any(move.offer_handoff for move in moves))
