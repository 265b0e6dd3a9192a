"""The intents folder meets its contract: every intent has examples, answers and labels."""

from pathlib import Path

import pytest

from bot.acting.executor import Executor
from bot.nlu import content
from bot.replies import canned, labels, render, tenants
from bot.replies.municipality import Municipality
from bot.settings import PROJECT_DIR
from tests.support import content_checks as checks

INTENTS = PROJECT_DIR / "intents"
LOADED = content.load(INTENTS)
FILES = checks.intent_files(INTENTS)


def test_intents_are_exactly_the_contract() -> None:
    checks.check_contract(LOADED)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_intent_file_is_in_the_contract_with_enough_examples_per_language(path: Path) -> None:
    checks.check_examples(LOADED, path)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_intent_is_answered_by_a_response_or_an_action(path: Path, town: Municipality) -> None:
    checks.check_answer(LOADED, path.stem, town)


def test_cue_variants_have_their_responses() -> None:
    checks.check_cues(LOADED)


def test_rules_name_actions_that_exist() -> None:
    checks.check_rules(LOADED, set(Executor().names))


@pytest.mark.parametrize("form", sorted(LOADED.forms))
def test_form_has_a_validator_a_submit_action_and_a_question_per_slot(form: str) -> None:
    checks.check_form(LOADED, form, set(Executor().names))


def test_no_example_is_trained_under_two_intents() -> None:
    checks.check_no_example_under_two_intents(LOADED)


@pytest.mark.parametrize("name", sorted(LOADED.responses))
def test_response_has_both_languages_and_its_placeholders_resolve(
    name: str, town: Municipality
) -> None:
    checks.check_response(LOADED, name, town)


DEMO = tenants.open_all(INTENTS / "facts", (), "voorbeeld")


@pytest.mark.parametrize("key", [town.key for town in DEMO.municipalities])
def test_every_placeholder_passes_the_start_up_check_for_each_demo_tenant(key: str) -> None:
    own = render.overrides(INTENTS, DEMO)
    render.check(LOADED, DEMO.all[key], own.get(key))
    if DEMO.all[key].facts.get("water_board_tenant"):
        assert "utter_water_board_tax" in own[key], "the collaboration's own answer"


def test_a_chats_topic_is_the_latest_intent_that_names_a_subject() -> None:
    table = labels.load(INTENTS / "labels.yml")
    assert table.topic(["remission", "request_human", "affirm"]) == "Kwijtschelding"
    assert table.topic(["greet", "no_such_intent"], "en") == "General question"


@pytest.mark.parametrize("key", [town.key for town in DEMO.municipalities])
def test_canned_replies_are_filled_from_each_tenants_facts(key: str) -> None:
    town = DEMO.all[key]
    replies = canned.load(INTENTS, town)
    assert replies and all(r.text["nl"] and r.text["en"] for r in replies)
    assert any(str(town.facts["phone"]) in r.text["nl"] for r in replies)
    assert not any("{" in text for r in replies for text in r.text.values())


def test_the_contract_gives_each_intent_its_flags(tmp_path: Path) -> None:
    (tmp_path / "contract.yml").write_text(
        "intents:\n  greet: [form_stay]\n  objection: [rated]\n  goodbye: []\n"
        "placeholders:\n  position: 2\n")
    contract, placeholders = content.read_contract(tmp_path / "contract.yml")
    loaded = content.Content((), {}, {}, "", contract=contract, placeholders=placeholders)
    assert set(loaded.contract) == {"greet", "objection", "goodbye"}
    assert (loaded.form_stay, loaded.rated) == ({"greet"}, {"objection"})
    assert placeholders == {"position": "2"}


def test_an_unknown_flag_in_the_contract_is_refused(tmp_path: Path) -> None:
    (tmp_path / "contract.yml").write_text("intents:\n  greet: [form_stay, rate]\n")
    with pytest.raises(ValueError, match="greet has unknown flags \\['rate'\\]"):
        content.read_contract(tmp_path / "contract.yml")
