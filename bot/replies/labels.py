"""Intents in words people read (supervisor pages, the staff queue), from `intents/labels.yml`."""

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.history.log import FORM_ANSWER
from bot.types import LANGUAGES, Language


@dataclass(frozen=True)
class Labels:
    """The label of each intent and form, per language."""

    intents: dict[str, dict[Language, str]]
    forms: dict[str, dict[Language, str]]

    def __call__(self, intent: str | None, language: Language = "nl") -> str:
        """Name a logged intent: `Kwijtschelding`; `form:tax_form` is a form's answer.

        An intent without a label (one a municipality added) keeps its own name.
        """
        if not intent:
            return ""
        table, key = ((self.forms, intent.removeprefix(FORM_ANSWER))
                      if intent.startswith(FORM_ANSWER) else (self.intents, intent))
        return table[key][language] if key in table else intent


def load(path: Path) -> Labels:
    """Read `labels.yml`: `intents:` and `forms:`, each name with its `nl:` and `en:` label."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}

    def table(section: str) -> dict[str, dict[Language, str]]:
        return {str(name): {language: str(entry[language]) for language in LANGUAGES}
                for name, entry in (data.get(section) or {}).items()}

    return Labels(table("intents"), table("forms"))
