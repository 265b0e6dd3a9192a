"""Intents in words (`intents/labels.yml`), for staff and supervisors."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.types import LANGUAGES, Language

FILE = "labels.yml"
GENERAL: dict[Language, str] = {"nl": "Algemene vraag", "en": "General question"}


@dataclass(frozen=True)
class Label:
    """An intent's name in each language, and whether it names a subject."""

    words: dict[Language, str]
    topic: bool = True


class Labels:
    """The label table: `name` for one intent, `topic` for what a chat is about."""

    def __init__(self, table: dict[str, Label]) -> None:
        self.table = table

    @classmethod
    def load(cls, intents_dir: Path) -> "Labels":
        """Read the table; an intent without both languages stops start-up, naming it."""
        raw = yaml.safe_load((intents_dir / FILE).read_text(encoding="utf-8")) or {}
        table = {}
        for intent, entry in raw.items():
            missing = [language for language in LANGUAGES if not entry.get(language)]
            if missing:
                raise ValueError(f"{FILE}: {intent} has no label in {', '.join(missing)}")
            table[intent] = Label({language: str(entry[language]) for language in LANGUAGES},
                                  bool(entry.get("topic", True)))
        return cls(table)

    def name(self, intent: str | None, language: Language = "nl") -> str:
        """Return an intent in words; an unknown or missing intent is a general question."""
        label = self.table.get(intent or "")
        return label.words[language] if label else GENERAL[language]

    def topic(self, intents: Iterable[str | None], language: Language = "nl") -> str:
        """Return the latest subject among intents (oldest first), or a general question."""
        subjects = [i for i in intents if i in self.table and self.table[i].topic]
        return self.name(subjects[-1] if subjects else None, language)
