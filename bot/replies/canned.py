"""Standard replies for staff (`intents/canned/<tenant>.yml`), filled with the tenant's facts."""

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.replies.municipality import FactsError, Municipality
from bot.replies.render import Placeholders, fields
from bot.types import LANGUAGES, Language


@dataclass(frozen=True)
class Canned:
    """One standard reply: its title for staff, and its text per language, facts filled in."""

    title: str
    text: dict[Language, str]


def load(intents_dir: Path, town: Municipality) -> list[Canned]:
    """Read a municipality's standard replies: its own file, else its collaboration's; or none.

    A placeholder that is not a fact stops start-up, naming the file and the reply.
    """
    files = (intents_dir / "canned" / f"{key}.yml" for key in reversed(town.lineage or
                                                                       (town.key,)))
    path = next((path for path in files if path.exists()), None)
    if path is None:
        return []
    found = []
    for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
        title = str(entry["title"])
        text: dict[Language, str] = {}
        for language in LANGUAGES:
            template = str(entry.get(language) or "")
            unknown = fields(template) - {*town.facts, "opening_hours"}
            if not template or unknown:
                raise FactsError(f"{path}: the reply {title!r} has no {language} text or uses "
                                 f"a placeholder that is not a fact: {sorted(unknown)}")
            text[language] = template.format_map(Placeholders(town, language, {}))
        found.append(Canned(title, text))
    return found
