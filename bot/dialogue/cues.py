"""Answer variants chosen by words in the message (`intents/cues.yml`).

"hoe kan ik mijn aanslag betalen" is the `payment_deadline` intent, but it asks how to pay: the
cue `how_to_pay` of that intent answers it with `utter_payment_deadline_how_to_pay` instead.
"""

from collections.abc import Mapping

from bot.nlu.content import Cue
from bot.types import Act, Answer, Move


def refine(move: Move, text: str, cues: Mapping[str, tuple[Cue, ...]]) -> Move:
    """Return the answer variant whose cue the text holds, or the move as it was."""
    if not isinstance(move, Answer | Act) or not move.intent:
        return move
    lowered = text.lower()
    for cue in cues.get(move.intent, ()):
        if cue.pattern.search(lowered):
            return Answer(intent=move.intent, variant=cue.variant,
                          offer_handoff=move.offer_handoff)
    return move
