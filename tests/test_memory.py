"""The conversation memory: facts kept per turn, expiry, and old states still loading."""


from bot.dialogue import memory
from bot.settings import PROJECT_DIR
from bot.state.store import ChatState, Remembered

MEMORY = memory.load(PROJECT_DIR / "intents" / "follow_ups.yml", turns=3, minutes=30)


def test_facts_expire_after_the_turns_or_the_minutes() -> None:
    state = ChatState()
    memory.observe(state, "we zijn met z'n drieën", MEMORY, now=1000.0)
    memory.observe(state, "2 honden", MEMORY, now=1010.0)
    memory.observe(state, "hallo", MEMORY, now=1020.0)
    assert {n: f.value for n, f in state.memory.items()} == {"household_size": 3, "dogs": 2}
    memory.observe(state, "hallo", MEMORY, now=1030.0)
    assert {n: f.value for n, f in state.memory.items()} == {"dogs": 2}, "3 turns later"
    memory.observe(state, "hallo", MEMORY, now=1010.0 + 30 * 60 + 1)
    assert state.memory == {}, "30 minutes later"


def test_a_later_fact_replaces_an_earlier_one_with_its_turn() -> None:
    state = ChatState()
    memory.observe(state, "2 honden", MEMORY, now=1.0)
    memory.observe(state, "oh nee, drie honden", MEMORY, now=2.0)
    assert state.memory["dogs"] == Remembered(3, 2, 2.0)
    assert memory.given(state) == {"dogs"} and memory.FOLLOW_UP in state.memory


def test_memory_survives_redis_and_an_older_state_still_loads() -> None:
    state = ChatState()
    memory.answered(state, "objection", now=5.0)
    memory.observe(state, "een hond", MEMORY, now=6.0)
    assert ChatState.from_json(state.to_json()) == state
    old = '{"language":"en","last_intents":["greet"],"slots":{},"fallbacks":0,"mode":null}'
    loaded = ChatState.from_json(old)
    assert loaded.language == "en" and loaded.memory == {} and loaded.turn == 0
