"""Responses from `intents/responses/`, rendered in the chat's language with the facts."""

import string
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from bot.acting.executor import template_values
from bot.nlu.content import Content, Variant, read_responses
from bot.replies import formats
from bot.replies.municipality import FactsError, Municipality
from bot.replies.tenants import Tenants
from bot.types import LANGUAGES, Button, Language, Reply

TELEGRAM_LIMIT = 4096
Responses = dict[str, dict[Language, Variant]]


class Placeholders(Mapping[str, str]):
    """The values a response may use: the facts written in one language, plus extra values."""

    def __init__(self, town: Municipality, language: Language, extra: Mapping[str, Any]) -> None:
        self.town = town
        self.language = language
        self.extra = extra

    def __getitem__(self, name: str) -> str:
        if name in self.extra:
            return write(name, self.extra[name], self.language)
        if name == "opening_hours":
            return self.town.opening_hours_text(self.language)
        return write(name, self.town.facts[name], self.language)

    def __iter__(self) -> Any:
        return iter([*self.town.facts, *self.extra, "opening_hours"])

    def __len__(self) -> int:
        return len(self.town.facts) + len(self.extra) + 1


def write(name: str, value: Any, language: Language) -> str:
    """Write one fact for a reader of `language`, by the kind its name and type say it is."""
    if isinstance(value, dict) and set(value) <= set(LANGUAGES):
        value = value[language]
    if isinstance(value, date):
        return formats.day(value, language)
    if name.endswith("_eur"):
        return formats.money(value, language)
    if name.endswith("_pct"):
        return formats.percent(value, language)
    if name == "minutes" and isinstance(value, int | float):
        return formats.minutes(value, language)
    return str(value)


def fields(template: str) -> set[str]:
    """Return the placeholder names a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def overrides(intents_dir: Path, tenants: Tenants) -> dict[str, Responses]:
    """Read each tenant's own responses: `overrides/<key>.yml` along its facts' `extends`."""
    found: dict[str, Responses] = {}
    for town in tenants.all.values():
        own: Responses = {}
        for key in town.lineage:
            path = intents_dir / "overrides" / f"{key}.yml"
            if path.exists():
                own.update(read_responses(path))
        if own:
            found[town.key] = own
    return found


def check(content: Content, town: Municipality, own: Responses | None = None) -> None:
    """Refuse responses with a placeholder that neither the facts nor the code fill in."""
    known = {*town.facts, *content.placeholders, "opening_hours"}
    unfilled: dict[str, set[str]] = {}
    for name, variants in {**content.responses, **(own or {})}.items():
        if name not in content.responses:
            raise FactsError(f"{town.key}'s own responses override {name}, which is not a "
                             f"response of intents/responses/.")
        missing = [language for language in LANGUAGES if language not in variants]
        if missing:  # else a citizen in that language would get an error, not an answer
            raise FactsError(f"{town.key}'s own {name} has no text in {', '.join(missing)}: "
                             f"an override gives one in every language.")
        for variant in variants.values():
            for field in fields(variant.text) - known:
                unfilled.setdefault(field, set()).add(name)
    if unfilled:
        uses = "; ".join(f"`{field}` (used by {', '.join(sorted(names))})"
                         for field, names in sorted(unfilled.items()))
        raise FactsError(
            f"The facts file {town.source} lacks facts that responses need: {uses}. Add each "
            f"to the facts file (or, when an action fills it in, to `placeholders` in "
            f"intents/contract.yml) and start again."
        )


class Renderer:
    """Turns a response name and values into a Reply in one language, for the turn's tenant."""

    def __init__(self, responses: Responses, tenants: Tenants,
                 own: dict[str, Responses] | None = None) -> None:
        self.responses = responses
        self.tenants = tenants
        self.own = own or {}

    @property
    def town(self) -> Municipality:
        """Return the tenant being answered for (`Tenants.serve`)."""
        return self.tenants.serving

    def render(
        self, name: str, language: Language, values: Mapping[str, Any] | None = None
    ) -> Reply:
        """Fill a response's template; its buttons keep their payloads as data."""
        town = self.tenants.serving
        variant = (self.own.get(town.key, {}).get(name) or self.responses[name])[language]
        text = variant.text.format_map(Placeholders(town, language, values or {}))
        buttons = tuple(Button(title, payload) for title, payload in variant.buttons)
        return Reply(text, buttons)

    def messages(self, messages: list[dict[str, Any]], language: Language) -> list[Reply]:
        """Render an action's messages; those without buttons join into one reply, a line each."""
        return joined([
            self.render(message["response"], language, template_values(message))
            if message.get("response") else Reply(str(message.get("text") or ""))
            for message in messages
        ])

    def label(self, intent: str, language: Language) -> str:
        """Return the short name of an intent's topic, for clarifying questions and buttons."""
        return self.render(f"utter_label_{intent}", language).text


def joined(replies: list[Reply]) -> list[Reply]:
    """Join replies without buttons into the next one, one message per line."""
    result: list[Reply] = []
    for reply in replies:
        if result and not result[-1].buttons:
            result[-1] = Reply(f"{result[-1].text}\n{reply.text}", reply.buttons)
        else:
            result.append(reply)
    return result


def split(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split a text into chunks of at most `limit` characters, at paragraph, line or word ends."""
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        ends = (window.rfind(mark) for mark in ("\n\n", "\n", " "))
        cut = next((end for end in ends if end > limit // 2), limit)
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*chunks, text] if text else chunks
