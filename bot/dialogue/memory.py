"""Conversation memory: the current topic and typed facts, and reading follow-ups against them.

Each text turn ticks the chat's turn counter, forgets what is older than the limits, and keeps
the facts the message gives (`bot.nlu.amounts.facts`: household size, dogs, WOZ value, role);
a bare number only fills the slot Balie just asked. The topic is the last answered intent. A
short message that points back at the topic ("hoe lang heb ik daarvoor?") or adds a fact to
a calculation ("en voor twee honden?") is answered from `intents/follow_ups.yml`.
"""

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.nlu import amounts
from bot.state.store import ChatState, Remembered
from bot.types import Parse

TOPIC = "topic"
FOLLOW_UP = "follow_up"  # set for the turn a message continues or corrects the last one
# Slots Balie asks outside a form: the calculator's offer after the rates (`offered_slot`),
# and the slot a running form asks.
OFFERED = "offered_slot"
REQUESTED = "requested_slot"
NEVER = re.compile(r"(?!)")
COUNTS = ("dogs", "household_size")  # the facts a bare number can be


def _pattern(patterns: list[str]) -> re.Pattern[str]:
    if not patterns:
        return NEVER
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class FollowUp:
    """Patterns that, after one of `topics`, lead to an intent or a response."""

    topics: frozenset[str] = frozenset()
    pattern: re.Pattern[str] = NEVER
    intent: str = ""
    response: str = ""


@dataclass(frozen=True)
class Memory:
    """How long the memory keeps a value, and the follow-ups of `intents/follow_ups.yml`.

    The defaults keep a value for its own turn only and read no follow-ups; `load` gives the
    limits of the settings (BALIE_MEMORY_TURNS, BALIE_MEMORY_MINUTES).
    """

    turns: int = 0
    minutes: int = 0
    markers: re.Pattern[str] = NEVER
    anaphors: re.Pattern[str] = NEVER
    recount: re.Pattern[str] = NEVER
    calculation: str = ""
    calculated: frozenset[str] = frozenset()
    questions: re.Pattern[str] = NEVER
    follow_ups: tuple[FollowUp, ...] = ()


def load(path: Path, turns: int, minutes: int) -> Memory:
    """Read the follow-ups file; without it, the memory keeps facts but reads no follow-ups."""
    if not path.exists():
        return Memory(turns, minutes)
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    calculation = data.get("calculation") or {}
    return Memory(
        turns, minutes, _pattern(data.get("markers", [])), _pattern(data.get("anaphors", [])),
        _pattern(data.get("recount", [])), str(calculation.get("intent", "")),
        frozenset(calculation.get("topics", ())), _pattern(calculation.get("questions", [])),
        tuple(FollowUp(frozenset(rule["topics"]), _pattern(rule["patterns"]),
                       rule.get("intent", ""), rule.get("response", ""))
              for rule in data.get("follow_ups", ())),
    )


def observe(state: ChatState, text: str, memory: Memory, now: float | None = None) -> None:
    """Count a text turn, forget what is too old, and keep the facts the text gives."""
    now = time.time() if now is None else now
    state.turn += 1
    oldest = now - memory.minutes * 60
    state.memory = {name: fact for name, fact in state.memory.items()
                    if name != FOLLOW_UP and state.turn - fact.turn < memory.turns
                    and fact.at >= oldest}
    offered = state.slots.pop(OFFERED, None)
    given = amounts.facts(text, offered or (state.slots.get(REQUESTED) if state.form else None))
    recount = memory.recount.match(text)
    counts = [name for name in COUNTS if name in state.memory]
    if not given and recount and counts:  # "en voor 3?": the count given last, again
        given = amounts.facts(next(g for g in recount.groups() if g),
                              max(counts, key=lambda name: state.memory[name].turn))
    for name, value in given.items():
        state.memory[name] = Remembered(value, state.turn, now)
    if memory.markers.search(text) or offered in given:  # "350.000" after the offer continues
        state.memory[FOLLOW_UP] = Remembered(True, state.turn, now)


def forget(state: ChatState) -> None:
    """Forget the remembered facts (a cancelled form's answers), keeping the topic."""
    state.memory = {name: fact for name, fact in state.memory.items() if name == TOPIC}


def answered(state: ChatState, intent: str, now: float | None = None) -> None:
    """Make an answered intent the current topic."""
    state.memory[TOPIC] = Remembered(intent, state.turn, time.time() if now is None else now)


def given(state: ChatState) -> frozenset[str]:
    """Return the facts the current turn's message gave."""
    return frozenset(name for name, fact in state.memory.items()
                     if fact.turn == state.turn and name not in {TOPIC, FOLLOW_UP})


def follow_up(state: ChatState, text: str, parse: Parse | None, sure: bool,
              memory: Memory) -> FollowUp | None:
    """Return how to answer a message that continues the current topic; None if it does not.

    `sure` says whether the NLU was confident and clear about the message on its own.
    """
    topic = state.memory.get(TOPIC)
    current = str(topic.value) if topic else ""
    if given(state) - {"role"} and (
        (current in memory.calculated and (not sure or FOLLOW_UP in state.memory))
        or (parse is not None and parse.intent in memory.calculated
            and memory.questions.search(text))
    ):
        return FollowUp(intent=memory.calculation)
    if not current or not (memory.anaphors.search(text) or not sure):
        return None
    return next((rule for rule in memory.follow_ups
                 if current in rule.topics and rule.pattern.search(text)), None)
