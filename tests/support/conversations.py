"""Conversation tests as data: load tests/data/conversations.yml, play it, check each turn.

The file's format is described at its top. `play` drives one conversation through anything
that takes a `Turn` and returns replies (`Balie.handle` in process; the channel tests pass a
function that talks to the Telegram emulator or the web chat), and `Checker` says what a turn's
replies got wrong. bench/turns.py plays the same conversations to time the pipeline.
"""

import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.replies.render import Renderer, write
from bot.settings import PROJECT_DIR
from bot.types import Language, Reply, Turn, TurnKind, as_language

FILE = PROJECT_DIR / "tests" / "data" / "conversations.yml"
SAYS: dict[str, TurnKind] = {"say": "text", "command": "command", "press": "button",
                             "send": "non_text"}
SOURCE = "from"  # a press: the turn whose reply holds the button (default: the newest)
CHECKS = {"responses", "not_responses", "contains", "not_contains", "buttons", "not_buttons",
          "replies", "language", "once", "in_order"}
SETUP = {"channel", "office", "staff", "language_code"}


@dataclass(frozen=True)
class Step:
    """One turn of a conversation: what the citizen does and what Balie's answer must hold."""

    kind: TurnKind
    text: str
    checks: dict[str, Any]
    source: int | None = None

    def __str__(self) -> str:
        return {"button": f"[{self.text}]", "non_text": f"<{self.text}>"}.get(self.kind,
                                                                              self.text)


@dataclass(frozen=True)
class Conversation:
    """A named conversation in one language, with its setup, channels and turns."""

    name: str
    language: Language
    steps: tuple[Step, ...]
    setup: dict[str, Any] = field(default_factory=dict)
    channels: tuple[str, ...] = ()

    @property
    def office_open(self) -> bool:
        """Whether staff are at work during the conversation (the default: open all day)."""
        return str(self.setup.get("office", "open")) == "open"

    @property
    def staffed(self) -> bool:
        """Whether a staff desk is set up (the default), so a person can be offered."""
        return bool(self.setup.get("staff", True))

    @property
    def language_code(self) -> str:
        """The citizen's app language (Telegram's `language_code`, the web page's language)."""
        return str(self.setup.get("language_code", self.language))


def load(path: Path = FILE) -> list[Conversation]:
    """Read the conversations, refusing unknown keys so a typo cannot pass as a check."""
    conversations = []
    # The C loader when PyYAML has it: the file is large and read by every test run.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for entry in yaml.load(path.read_text(encoding="utf-8"), loader)["conversations"]:
        steps = []
        for number, raw in enumerate(entry["turns"], 1):
            [said] = [key for key in raw if key in SAYS] or [None]
            unknown = set(raw) - CHECKS - set(SAYS) - {SOURCE}
            if said is None or unknown:
                raise ValueError(f"{entry['name']}, turn {number}: one of {sorted(SAYS)} and "
                                 f"only checks from {sorted(CHECKS)} (got {sorted(raw)})")
            steps.append(Step(SAYS[said], str(raw[said]),
                              {key: value for key, value in raw.items() if key in CHECKS},
                              raw.get(SOURCE)))
        if set(entry.get("setup", {})) - SETUP:
            raise ValueError(f"{entry['name']}: setup takes only {sorted(SETUP)}")
        conversations.append(Conversation(
            entry["name"], as_language(entry["language"]), tuple(steps),
            entry.get("setup", {}), tuple(entry.get("channels", ()))))
    names = [c.name for c in conversations]
    if len(set(names)) != len(names):
        raise ValueError("two conversations share a name")
    return conversations


def press(step: Step, earlier: list[list[Reply]]) -> str | None:
    """Return the data of the newest button titled like the step, or None when there is none."""
    wanted = step.text.casefold()
    for replies in reversed(earlier if step.source is None else earlier[step.source - 1:][:1]):
        for reply in reversed(replies):
            for button in reply.buttons:
                if button.title.casefold() == wanted:
                    return button.data
    return None


def _turn(step: Step, conversation: Conversation, chat_id: str, earlier: list[list[Reply]],
         channel: str = "test") -> Turn | None:
    """Return the Turn a step makes (None when its button is not on screen)."""
    text = step.text
    if step.kind == "button":
        pressed = press(step, earlier)
        if pressed is None:
            return None
        text = pressed
    return Turn(chat_id, channel, step.kind, text, language_hint=conversation.language_code)


async def play(conversation: Conversation, chat_id: str,
               handle: Callable[[Turn], Awaitable[list[Reply]]],
               channel: str = "test") -> list[list[Reply]]:
    """Play every step through `handle`; a button not on screen gets no turn (and no replies)."""
    exchange: list[list[Reply]] = []
    for step in conversation.steps:
        made = _turn(step, conversation, chat_id, exchange, channel)
        exchange.append(await handle(made) if made else [])
    return exchange


def _pieces(template: str, facts: dict[str, str]) -> tuple[str, ...] | None:
    """Return a template's fixed texts in order: facts written in, action-filled values left out.

    A reply holds the response when these texts appear in it in this order.
    """
    pieces, literal = [], ""
    for text, name, _, _ in string.Formatter().parse(template):
        literal += text
        if name is None:
            continue
        if name in facts:
            literal += facts[name]
        else:
            pieces.append(literal)
            literal = ""
    pieces = [piece for piece in [*pieces, literal] if piece]
    if sum(map(len, pieces)) < 8:
        return None  # too little fixed text to recognise the response by
    return tuple(pieces)


class Checker:
    """Knows every response's text in both languages, to name the responses in a reply."""

    def __init__(self, renderer: Renderer) -> None:
        self.pieces: dict[Language, dict[str, tuple[str, ...]]] = {}
        for language in ("nl", "en"):
            facts = {name: write(name, value, language)
                     for name, value in renderer.town.facts.items() if value is not None}
            facts["opening_hours"] = renderer.town.opening_hours_text(language)
            # A topic's label ("de WOZ-waarde") is part of other texts, not a reply of its own.
            self.pieces[language] = {
                name: found for name, variants in renderer.responses.items()
                if language in variants and not name.startswith("utter_label_")
                and (found := _pieces(variants[language].text, facts)) is not None}

    def names(self, replies: list[Reply], language: Language) -> list[str]:
        """Return the responses whose text appears in the replies, in one language."""
        text = "\n".join(reply.text for reply in replies)
        return sorted(name for name, pieces in self.pieces[language].items()
                      if in_order(list(pieces), text))

    def problems(self, step: Step, replies: list[Reply], language: Language) -> list[str]:
        """Return what the replies to a step got wrong (nothing when every check holds)."""
        checks = step.checks
        language = as_language(checks.get("language", language))
        text = "\n".join(reply.text for reply in replies).casefold()
        titles = [button.title.casefold() for reply in replies for button in reply.buttons]
        names = set(self.names(replies, language))
        known = set(self.pieces[language])
        wrong = []
        for wanted in checks.get("responses", []):
            if not names & set(alternatives(wanted)):
                missing = set(alternatives(wanted)) - known
                why = f" (no response {', '.join(sorted(missing))} exists)" if missing else ""
                wrong.append(f"expected response {' or '.join(alternatives(wanted))}{why}")
        wrong += [f"unexpected response {name}" for name in checks.get("not_responses", [])
                  if name in names]
        wrong += [f"expected text {' or '.join(map(repr, alternatives(words)))}"
                  for words in checks.get("contains", [])
                  if not any(word.casefold() in text for word in alternatives(words))]
        wrong += [f"unexpected text {words!r}" for words in checks.get("not_contains", [])
                  if str(words).casefold() in text]
        seen = "\n".join([text, *titles])
        wrong += [f"expected exactly one of {words!r} (in texts and buttons)"
                  for words in checks.get("once", []) if once(words, seen) != 1]
        wrong += [f"expected button {title!r}" for title in checks.get("buttons", [])
                  if str(title).casefold() not in titles]
        wrong += [f"unexpected button {title!r}" for title in checks.get("not_buttons", [])
                  if str(title).casefold() in titles]
        if not in_order([str(words).casefold() for words in checks.get("in_order", [])], text):
            wrong.append(f"expected {checks['in_order']!r} in this order")
        if "replies" in checks and len(replies) != checks["replies"]:
            wrong.append(f"expected {checks['replies']} replies, got {len(replies)}")
        return wrong


def in_order(texts: list[str], text: str) -> bool:
    """Tell whether the texts all appear, each after the one before it."""
    start = 0
    for words in texts:
        found = text.find(words, start)
        if found < 0:
            return False
        start = found + len(words)
    return True


def once(words: str | list[str], seen: str) -> int:
    """Count a text's occurrences, or how many of a list's alternatives are there at all."""
    if isinstance(words, list):
        return sum(str(word).casefold() in seen for word in words)
    return seen.count(words.casefold())


def alternatives(wanted: str | list[str]) -> list[str]:
    """Return the alternatives of an expectation: a list is met by any one of its items."""
    return [str(item) for item in wanted] if isinstance(wanted, list) else [str(wanted)]


def transcript(conversation: Conversation, exchange: list[list[Reply]], checker: Checker,
               problems: dict[int, list[str]]) -> str:
    """Write the whole exchange, the responses recognised in it, and what went wrong where."""
    lines = [f"conversation {conversation.name!r} ({conversation.language}, "
             f"setup {conversation.setup or 'default'}):"]
    for number, (step, replies) in enumerate(zip(conversation.steps, exchange, strict=True), 1):
        lines.append(f"  {number}. citizen: {step}")
        language = as_language(step.checks.get("language", conversation.language))
        for reply in replies:
            body = reply.text.replace("\n", "\n" + " " * 14)
            lines.append(f"     balie:   {body}")
            if reply.buttons:
                lines.append("              [" + "] [".join(b.title for b in reply.buttons) + "]")
        if not replies:
            lines.append("     balie:   (nothing)")
        lines.append(f"     recognised: {', '.join(checker.names(replies, language)) or '-'}")
        lines += [f"     ✗ {problem}" for problem in problems.get(number, [])]
    return "\n".join(lines)


def verdict(conversation: Conversation, exchange: list[list[Reply]],
            checker: Checker) -> str | None:
    """Return the transcript with the problems when a check failed, None when all held."""
    problems = {}
    for number, (step, replies) in enumerate(zip(conversation.steps, exchange, strict=True), 1):
        found = checker.problems(step, replies, conversation.language)
        if step.kind == "button" and not replies:
            found.insert(0, f"no button {step.text!r} on screen")
        if found:
            problems[number] = found
    return transcript(conversation, exchange, checker, problems) if problems else None
