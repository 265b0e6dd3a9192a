"""Intents in words people read (supervisor pages, the staff queue), from `intents/labels.yml`."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.history.log import FORM_ANSWER
from bot.types import LANGUAGES, Language

GENERAL: dict[Language, str] = {"nl": "Algemene vraag", "en": "General question"}


@dataclass(frozen=True)
class Labels:
    """The label of each intent and form, per language, and the intents that name no subject."""

    intents: dict[str, dict[Language, str]]
    forms: dict[str, dict[Language, str]]
    subjectless: frozenset[str] = frozenset()

    def __call__(self, intent: str | None, language: Language = "nl") -> str:
        """Name a logged intent: `Kwijtschelding`; `form:tax_form` is a form's answer.

        An intent without a label (one a municipality added) keeps its own name.
        """
        if not intent:
            return ""
        table, key = ((self.forms, intent.removeprefix(FORM_ANSWER))
                      if intent.startswith(FORM_ANSWER) else (self.intents, intent))
        return table[key][language] if key in table else intent

    def subject(self, intents: Iterable[str | None]) -> str | None:
        """Return the latest intent among intents (oldest first) that names a subject."""
        subjects = [intent for intent in intents
                    if intent in self.intents and intent not in self.subjectless]
        return subjects[-1] if subjects else None

    def topic(self, intents: Iterable[str | None], language: Language = "nl") -> str:
        """Name the latest subject among intents (oldest first), or a general question."""
        subject = self.subject(intents)
        return self.intents[subject][language] if subject else GENERAL[language]


def load(path: Path) -> Labels:
    """Read `labels.yml`: `intents:` and `forms:`, each name with its `nl:` and `en:` label.

    A label missing a language stops start-up, naming it.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}

    def table(section: str) -> dict[str, dict[Language, str]]:
        entries = data.get(section) or {}
        for name, entry in entries.items():
            missing = [language for language in LANGUAGES if not entry.get(language)]
            if missing:
                raise ValueError(f"{path.name}: {name} has no label in {', '.join(missing)}")
        return {str(name): {language: str(entry[language]) for language in LANGUAGES}
                for name, entry in entries.items()}

    subjectless = frozenset(str(name) for name, entry in (data.get("intents") or {}).items()
                            if entry.get("topic", True) is False)
    return Labels(table("intents"), table("forms"), subjectless)
