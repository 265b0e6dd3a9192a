"""Adding an intent touches `intents/` (and, for its action, an actions folder) only."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.acting.executor import Executor
from bot.listening.listener import FEEDBACK
from bot.nlu import content
from bot.replies import municipality
from bot.services import Services
from bot.settings import PROJECT_DIR, Settings
from bot.types import Turn
from tests.conftest import MODEL_CACHE
from tests.support import content_checks as checks

NL = ["ik wil een {} aanvragen", "hoe vraag ik een {} aan", "waar regel ik een {}",
      "wat kost een {}", "kan ik online een {} krijgen", "{} aanvragen", "ik heb een {} nodig",
      "hoe lang duurt het voor ik een {} heb"]
NL_PERMITS = ["parkeervergunning", "bewonersvergunning", "bezoekersvergunning",
              "parkeervergunning voor bewoners", "parkeervergunning voor mijn tweede auto",
              "parkeerkaart voor bezoek"]
EN = ["I want to apply for a {}", "how do I get a {}", "where can I arrange a {}",
      "how much is a {}", "can I get a {} online", "{} application", "I need a {}",
      "how long until I have a {}"]
EN_PERMITS = ["parking permit", "residents parking permit", "visitor parking permit",
              "parking permit for my second car", "permit to park in my street",
              "visitor parking pass"]
ACTION = '''"""Where to apply for a parking permit."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionCheckParkingPermit(Action):
    """Say where residents apply for a parking permit in their zone."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_check_parking_permit"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Utter the zone's answer."""
        dispatcher.utter_message(response="utter_parking_permit_zone", zone="centrum")
        return []
'''


def variant(language: str, text: str) -> dict[str, object]:
    return {"condition": [{"type": "slot", "name": "language", "value": language}], "text": text}


def write_yaml(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@dataclass(frozen=True)
class Town:
    """A municipality's own copies of the intents and actions folders, with parking_permit."""

    intents: Path
    actions: Path
    cache: Path


@pytest.fixture(scope="module")
def town_folders(tmp_path_factory: pytest.TempPathFactory) -> Town:
    root = tmp_path_factory.mktemp("town")
    intents = root / "intents"
    shutil.copytree(PROJECT_DIR / "intents", intents)
    # Parking permits were out of scope; now they get their own intent.
    out_of_scope = intents / "nlu" / "out_of_scope.yml"
    lines = out_of_scope.read_text(encoding="utf-8").splitlines(keepends=True)
    out_of_scope.write_text("".join(line for line in lines if "park" not in line.lower()))
    write_yaml(intents / "nlu" / "parking_permit.yml", {"version": "3.1", "nlu": [
        {"intent": "parking_permit", "metadata": {"language": language},
         "examples": "".join(f"- {t.format(p)}\n" for t in templates for p in permits)}
        for language, templates, permits in (("nl", NL, NL_PERMITS), ("en", EN, EN_PERMITS))
    ]})
    write_yaml(intents / "responses" / "parking_permit.yml", {"version": "3.1", "responses": {
        "utter_parking_permit_zone": [
            variant("nl", "Een parkeervergunning voor zone {zone} vraag je aan op {website}."),
            variant("en", "You apply for a parking permit for zone {zone} at {website}."),
        ],
    }})
    contract = yaml.safe_load((intents / "contract.yml").read_text(encoding="utf-8"))
    contract["intents"]["parking_permit"] = ["rated"]
    contract["placeholders"]["zone"] = "centrum"
    write_yaml(intents / "contract.yml", contract)
    with (intents / "rules.yml").open("a", encoding="utf-8") as rules:
        rules.write("- rule: where to apply for a parking permit\n  steps:\n"
                    "  - intent: parking_permit\n  - action: action_check_parking_permit\n")
    # A copy of actions/ under its own name: a test process has imported `actions` already.
    actions = root / "town_actions"
    shutil.copytree(PROJECT_DIR / "actions", actions,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (actions / "parking_permit.py").write_text(ACTION)
    return Town(intents, actions, root / "cache")


def test_the_new_intent_passes_the_content_checks(
    town_folders: Town, town: municipality.Municipality
) -> None:
    loaded = content.load(town_folders.intents)
    assert "parking_permit" in loaded.contract and "parking_permit" in loaded.rated
    names = set(Executor(actions=town_folders.actions).names)
    assert "action_check_parking_permit" in names
    checks.check_all(loaded, town_folders.intents, town, names)


@pytest.fixture
def cache_untouched() -> Iterator[None]:
    before = sorted(MODEL_CACHE.iterdir())
    yield
    assert sorted(MODEL_CACHE.iterdir()) == before


async def test_a_conversation_reaches_the_new_action(
    town_folders: Town, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    cache_untouched: None,
) -> None:
    for name, value in {**environment, "BALIE_INTENTS_DIR": str(town_folders.intents),
                        "BALIE_ACTIONS_DIR": str(town_folders.actions),
                        "BALIE_CACHE_DIR": str(town_folders.cache)}.items():
        monkeypatch.setenv(name, value)
    async with Services.opened(Settings(_env_file=None)) as services:
        balie = services.balie
        nl = await balie.handle(Turn("test:p", "test", "text", "hoe kom ik aan een parkeer"
                                                               "vergunning voor mijn straat?"))
        en = await balie.handle(Turn("test:p", "test", "text", "how can I get a parking permit "
                                                               "for my street?"))
    assert nl[0].text.startswith("Een parkeervergunning voor zone centrum vraag je aan op http")
    assert en[0].text.startswith("You apply for a parking permit for zone centrum at http")
    thumbs = {button.title for button in FEEDBACK}
    assert thumbs <= {b.title for b in nl[-1].buttons}, "rated, as the town's contract says"
    assert list(town_folders.cache.glob("nlu-*")), "trained into the town's own cache"
