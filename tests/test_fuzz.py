"""Any text a citizen can send gets an answer and is logged; nothing crashes the pipeline."""

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.pipeline import Balie
from bot.types import Turn

ODD = ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\x00", "\x1b[31m", "\r\n", "😀",
       "👨‍👩‍👧", "ﷺ", "שלום", "e\u0301", "<b>", "&amp;", "{municipality}", "%s", "\\n"]
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(ODD) | st.text(max_size=8), max_size=40).map("".join),
    st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=4),
              st.integers(min_value=1, max_value=3000)),
)
CHATS = itertools.count()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS)
async def test_any_text_gets_an_answer_and_is_logged(balie: Balie, text: str) -> None:
    chat = f"fuzz:{next(CHATS)}"
    replies = await balie.handle(Turn(chat, "test", "text", text))
    assert replies, repr(text)
    assert all(reply.text.strip() for reply in replies)
    apologies = {balie.renderer.render("utter_technical_problem", language).text
                 for language in ("nl", "en")}
    assert replies[0].text not in apologies, f"the pipeline failed on {text!r}"
    assert "{" not in replies[0].text or "{" in text
    [incoming] = [m for m in await balie.history.conversation(chat) if m.direction == "in"]
    assert incoming.kind == "text"
