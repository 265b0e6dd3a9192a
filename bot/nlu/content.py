"""Everything under `intents/`: the contract, examples, responses and intent-to-action rules."""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

import yaml

from bot.types import LANGUAGES, ChooseTopics, HandoffOffer, Language, Move

HANDOFF_ACTION = "offer_handoff"
# Rule actions that Balie itself carries out, and the move each one is.
BOT_MOVES: dict[str, type[Move]] = {
    HANDOFF_ACTION: HandoffOffer, "offer_subscriptions": ChooseTopics,
}
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
# What `contract.yml` may say about an intent besides its name (described in that file).
Flag = Literal["rated", "form_stay"]


@dataclass(frozen=True)
class Example:
    """One training or test message with its intent and, when known, its language."""

    text: str
    intent: str
    language: Language | None


@dataclass(frozen=True)
class Variant:
    """One language's text of a response, with its buttons as (title, payload) pairs."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Topic:
    """A news topic citizens subscribe to; its announcements go with these intents' answers."""

    key: str
    names: dict[Language, str]
    intents: frozenset[str]


@dataclass(frozen=True)
class Cue:
    """An answer variant of an intent (`utter_<intent>_<variant>`) and the phrases that pick it."""

    variant: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Form:
    """A guided form from `forms.yml`: the slots it asks for in order, and its submit action."""

    name: str
    required_slots: tuple[str, ...]
    submit: str


@dataclass(frozen=True)
class Content:
    """The loaded `intents/` folder."""

    examples: tuple[Example, ...]
    responses: dict[str, dict[Language, Variant]]
    actions: dict[str, str]
    digest: str
    handoffs: frozenset[str] = frozenset()
    topics: dict[str, Topic] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)
    contract: dict[str, frozenset[Flag]] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    cues: dict[str, tuple[Cue, ...]] = field(default_factory=dict)
    # How a citizen says where they live, before a municipality's name ("ik woon in").
    residence: re.Pattern[str] | None = None

    @property
    def intents(self) -> tuple[str, ...]:
        """Return every intent that has training examples, sorted."""
        return tuple(sorted({example.intent for example in self.examples}))

    @property
    def clarifiable(self) -> frozenset[str]:
        """Return the intents with a `utter_label_<intent>`: those a clarifying question offers."""
        return frozenset(i for i in self.intents if f"utter_label_{i}" in self.responses)

    @property
    def rated(self) -> frozenset[str]:
        """Return the intents whose answers get thumbs up and down."""
        return self.flagged("rated")

    @property
    def form_stay(self) -> frozenset[str]:
        """Return the intents that, typed during a form, are taken as the form's answer."""
        return self.flagged("form_stay")

    def flagged(self, flag: Flag) -> frozenset[str]:
        """Return the contract's intents that carry `flag`."""
        return frozenset(intent for intent, flags in self.contract.items() if flag in flags)


def _read(path: Path) -> dict[str, Any]:
    # libyaml's safe loader reads the same YAML about ten times faster than the Python one.
    text = path.read_text(encoding="utf-8")
    return cast(dict[str, Any], yaml.load(text, Loader=yaml.CSafeLoader) or {})


def read_examples(path: Path) -> list[Example]:
    """Read a Rasa NLU YAML file; entity annotations are reduced to their text."""
    examples = []
    for entry in _read(path).get("nlu") or []:
        if "intent" not in entry:
            continue
        language = (entry.get("metadata") or {}).get("language")
        for line in str(entry.get("examples", "")).splitlines():
            text = line.strip()
            if text.startswith("- "):
                text = ANNOTATION.sub(r"\1", text[2:].strip())
                examples.append(Example(text, entry["intent"], language))
    return examples


def _language_of(variant: dict[str, Any]) -> Language:
    for condition in variant.get("condition") or []:
        if condition.get("name") == "language" and condition.get("value") in LANGUAGES:
            return cast(Language, condition["value"])
    raise ValueError(f"response variant without a language condition: {variant.get('text')!r}")


def read_responses(path: Path) -> dict[str, dict[Language, Variant]]:
    """Read a Rasa responses YAML file whose variants are conditioned on the `language` slot."""
    responses: dict[str, dict[Language, Variant]] = {}
    for name, variants in (_read(path).get("responses") or {}).items():
        for variant in variants:
            buttons = tuple((b["title"], b["payload"]) for b in variant.get("buttons") or [])
            text = str(variant.get("text", "")).strip()
            responses.setdefault(name, {})[_language_of(variant)] = Variant(text, buttons)
    return responses


def read_rules(path: Path) -> tuple[dict[str, str], frozenset[str]]:
    """Read Rasa rules into {intent: its first action} and the intents that offer a person.

    A rule is `intent: X` followed by actions; `offer_handoff` among them makes Balie offer a
    staff member after answering.
    """
    actions, handoffs = {}, set()
    for rule in _read(path).get("rules") or []:
        steps = rule.get("steps") or []
        intents = [step["intent"] for step in steps if "intent" in step]
        names = [step["action"] for step in steps if "action" in step]
        if len(intents) != 1:
            continue
        starts = names[0] if names else ""
        if starts.startswith("action_") or starts.endswith("_form") or starts in BOT_MOVES:
            actions[intents[0]] = names[0]
        if HANDOFF_ACTION in names:
            handoffs.add(intents[0])
    return actions, frozenset(handoffs)


def read_topics(path: Path) -> dict[str, Topic]:
    """Read `topics.yml`: per topic its name in each language and its intents (none if absent)."""
    topics: dict[str, Topic] = {}
    if not path.exists():
        return topics
    for name, entry in (_read(path).get("topics") or {}).items():
        names = {language: str(entry[language]) for language in LANGUAGES}
        topics[name] = Topic(name, names, frozenset(entry.get("intents") or ()))
    return topics


def read_forms(path: Path) -> dict[str, Form]:
    """Read `forms.yml` (Rasa domain `forms:`, plus the action that submits each form)."""
    if not path.exists():
        return {}
    return {
        name: Form(name, tuple(entry.get("required_slots") or ()), str(entry["submit"]))
        for name, entry in (_read(path).get("forms") or {}).items()
    }


def _phrase(phrase: str) -> str:
    """Return the pattern of a cue phrase: words match word starts, `*` up to three words."""
    words = [r"(?:\W+\w+){0,3}" if word == "*" else rf"\W+{re.escape(word)}\w*"
             for word in phrase.lower().split()]
    return r"(?<!\w)" + "".join(words).removeprefix(r"\W+")


def read_cues(path: Path) -> dict[str, tuple[Cue, ...]]:
    """Read `cues.yml`: per intent, its answer variants and the phrases that choose them."""
    if not path.exists():
        return {}
    return {
        str(intent): tuple(
            Cue(str(variant), re.compile("|".join(_phrase(str(p)) for p in phrases)))
            for variant, phrases in variants.items())
        for intent, variants in (_read(path).get("cues") or {}).items()
    }


def read_residence(path: Path) -> re.Pattern[str] | None:
    """Read `residence.yml`: phrases that say one lives in the municipality named after them."""
    phrases = (_read(path).get("residence") or []) if path.exists() else []
    return re.compile("|".join(_phrase(str(p)) for p in phrases)) if phrases else None


def read_contract(path: Path) -> tuple[dict[str, frozenset[Flag]], dict[str, str]]:
    """Read `contract.yml`: {intent: its flags}, and {placeholder code fills: an example value}."""
    if not path.exists():
        return {}, {}
    data = _read(path)
    contract = {}
    for intent, flags in (data.get("intents") or {}).items():
        unknown = set(flags or ()) - set(get_args(Flag))
        if unknown:
            raise ValueError(f"{path}: intent {intent} has unknown flags {sorted(unknown)}; "
                             f"known are {list(get_args(Flag))}")
        contract[str(intent)] = frozenset(cast(list[Flag], flags or []))
    placeholders = {str(k): str(v) for k, v in (data.get("placeholders") or {}).items()}
    return contract, placeholders


def load(intents_dir: Path) -> Content:
    """Load an intents folder: `contract.yml`, `nlu/`, `responses/`, rules, topics, forms, cues."""
    nlu_files = sorted((intents_dir / "nlu").glob("*.yml"))
    response_files = sorted((intents_dir / "responses").glob("*.yml"))
    rules = intents_dir / "rules.yml"
    digest = hashlib.sha256()
    for path in nlu_files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    responses: dict[str, dict[Language, Variant]] = {}
    for path in response_files:
        responses.update(read_responses(path))
    actions, handoffs = read_rules(rules) if rules.exists() else ({}, frozenset())
    contract, placeholders = read_contract(intents_dir / "contract.yml")
    return Content(
        examples=tuple(example for path in nlu_files for example in read_examples(path)),
        responses=responses,
        actions=actions,
        digest=digest.hexdigest(),
        handoffs=handoffs,
        topics=read_topics(intents_dir / "topics.yml"),
        forms=read_forms(intents_dir / "forms.yml"),
        contract=contract,
        placeholders=placeholders,
        cues=read_cues(intents_dir / "cues.yml"),
        residence=read_residence(intents_dir / "residence.yml"),
    )
