"""The intents folder meets the contract: every intent has examples, answers and labels."""

import pytest

from bot.nlu import content
from bot.nlu.content import BOT_MOVES, HANDOFF_ACTION, Content
from bot.replies.municipality import Municipality
from bot.replies.render import Renderer, fields
from bot.settings import PROJECT_DIR
from bot.types import LANGUAGES

# The 32 intent names of the contract (shared/contract/intents.md).
CONTRACT = {
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "request_human",
    "explain_assessment", "payment_deadline", "direct_debit", "payment_arrangement", "remission",
    "objection", "woz_value", "property_tax", "waste_levy", "sewage_levy", "dog_tax",
    "tourist_tax", "water_board_tax", "moving", "refund", "reminder_costs", "deceased",
    "contact_info", "digital_access", "tax_calculation", "national_tax", "case_status",
    "complaint", "subscribe_updates", "out_of_scope",
}
MIN_EXAMPLES = 40
# Values that actions pass for placeholders of their own responses.
ACTION_VALUES = {"closes_at": "17.00", "next_opening": "maandag om 8.30 uur",
                 "when": "over 12 dagen", "option_a": "a", "option_b": "b", "max_chars": 4096,
                 "position": 2, "minutes": 10, "agent": "Anna", "text": "Hallo",
                 "topic": "Storingen", "woz": "€ 1", "rate": "1%", "amount": "€ 1",
                 "people": 2, "dogs": 1, "kind": "je bezwaar", "reference": "BZ-7K3M9Q",
                 "tries_left": 3, "until": "14.05", "instalment": "€ 1", "terms": 4}
LOADED = content.load(PROJECT_DIR / "intents")


@pytest.fixture(scope="module")
def loaded() -> Content:
    return LOADED


def test_intents_are_exactly_the_contract(loaded: Content) -> None:
    assert set(loaded.intents) == CONTRACT


@pytest.mark.parametrize("intent", sorted(CONTRACT))
def test_intent_has_enough_examples_per_language(loaded: Content, intent: str) -> None:
    for language in LANGUAGES:
        texts = [e.text for e in loaded.examples if e.intent == intent and e.language == language]
        assert len(texts) >= MIN_EXAMPLES, (intent, language, len(texts))
        assert len(set(texts)) == len(texts), f"duplicate examples in {intent}"


@pytest.mark.parametrize("intent", sorted(CONTRACT))
def test_intent_is_answered_by_a_response_or_an_action(loaded: Content, intent: str) -> None:
    if loaded.actions.get(intent, HANDOFF_ACTION) in BOT_MOVES:
        # Without a staff desk, an intent that offers a person is answered by its response.
        assert f"utter_{intent}" in loaded.responses
    else:
        names = [n for n in loaded.responses if n.startswith(f"utter_{intent}_")]
        assert [n for n in names if n != f"utter_label_{intent}"], intent


def test_rules_name_actions_that_exist() -> None:
    from bot.acting.executor import Executor

    names = set(Executor().names)
    assert set(LOADED.actions.values()) - set(BOT_MOVES) - set(LOADED.forms) <= names
    assert LOADED.handoffs == {"request_human", "complaint"}


@pytest.mark.parametrize("form", sorted(LOADED.forms))
def test_form_has_a_validator_a_submit_action_and_a_question_per_slot(form: str) -> None:
    from bot.acting.executor import Executor

    spec = LOADED.forms[form]
    assert {f"validate_{form}", spec.submit} <= set(Executor().names)
    assert spec.required_slots
    for slot in spec.required_slots:
        assert f"utter_ask_{slot}" in LOADED.responses, slot


def test_no_example_is_trained_under_two_intents(loaded: Content) -> None:
    seen: dict[str, str] = {}
    clashes = []
    for example in loaded.examples:
        key = example.text.lower()
        if seen.setdefault(key, example.intent) != example.intent:
            clashes.append((example.text, seen[key], example.intent))
    assert clashes == []


@pytest.mark.parametrize("name", sorted(LOADED.responses))
def test_response_has_both_languages_and_its_placeholders_resolve(
    name: str, town: Municipality
) -> None:
    renderer = Renderer(LOADED.responses, town)
    for language in LANGUAGES:
        template = LOADED.responses[name][language].text
        assert template, (name, language)
        unknown = fields(template) - set(town.facts) - set(ACTION_VALUES) - {"opening_hours"}
        assert not unknown, (name, language, unknown)
        text = renderer.render(name, language, ACTION_VALUES).text
        assert "{" not in text and "}" not in text
        assert len(text) <= 1000, "answers are short"
