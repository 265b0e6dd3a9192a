"""The checks an intents folder must pass, for the project's folder and for a copy of it.

Everything they compare against comes from the folder itself: the contract and the
placeholders that code fills in are in `contract.yml`.
"""

from pathlib import Path

from bot.nlu import content
from bot.nlu.content import BOT_MOVES, HANDOFF_ACTION, Content
from bot.replies import render
from bot.replies.municipality import Municipality
from bot.replies.render import Renderer, fields
from bot.replies.tenants import Tenants
from bot.types import LANGUAGES

MIN_EXAMPLES = 40


def intent_files(intents_dir: Path) -> list[Path]:
    """Return the NLU files of an intents folder, one per intent."""
    return sorted((intents_dir / "nlu").glob("*.yml"))


def check_contract(loaded: Content) -> None:
    """The intents with examples are exactly the contract's; handoffs are contract intents."""
    assert set(loaded.intents) == set(loaded.contract), (
        set(loaded.intents) ^ set(loaded.contract))
    assert loaded.handoffs <= set(loaded.contract), loaded.handoffs - set(loaded.contract)


def check_examples(loaded: Content, path: Path) -> None:
    """An NLU file names one contract intent, with enough distinct examples per language."""
    intent = path.stem
    assert {e.intent for e in content.read_examples(path)} == {intent}, path
    assert intent in loaded.contract, f"{intent} is not in contract.yml"
    for language in LANGUAGES:
        texts = [e.text for e in loaded.examples if e.intent == intent and e.language == language]
        assert len(texts) >= MIN_EXAMPLES, (intent, language, len(texts))
        assert len(set(texts)) == len(texts), f"duplicate examples in {intent}"


def check_answer(loaded: Content, intent: str, town: Municipality) -> None:
    """An intent is answered by its response or its action's, and their placeholders resolve."""
    if loaded.actions.get(intent, HANDOFF_ACTION) in BOT_MOVES:
        # Without a staff desk, an intent that offers a person is answered by its response.
        names = [f"utter_{intent}"]
    else:
        names = [n for n in loaded.responses
                 if n.startswith(f"utter_{intent}_") and n != f"utter_label_{intent}"]
    assert names and all(name in loaded.responses for name in names), (intent, names)
    for name in names:
        check_response(loaded, name, town)


def check_response(loaded: Content, name: str, town: Municipality) -> None:
    """A response has both languages; its placeholders are facts or values code fills in."""
    renderer = Renderer(loaded.responses, Tenants({town.key: town}, town))
    for language in LANGUAGES:
        template = loaded.responses[name][language].text
        assert template, (name, language)
        unknown = fields(template) - set(town.facts) - set(loaded.placeholders) - {
            "opening_hours"}
        assert not unknown, (name, language, unknown)
        text = renderer.render(name, language, loaded.placeholders).text
        assert "{" not in text and "}" not in text, (name, text)
        assert len(text) <= 1000, f"answers are short: {name}"


def check_cues(loaded: Content) -> None:
    """Each answer variant in `cues.yml` belongs to a contract intent and has its response."""
    for intent, cues in loaded.cues.items():
        assert intent in loaded.contract, f"cues.yml: {intent} is not in contract.yml"
        for cue in cues:
            name = f"utter_{intent}_{cue.variant}"
            assert set(loaded.responses.get(name, {})) == set(LANGUAGES), f"cues.yml: {name}"


def check_rules(loaded: Content, actions: set[str]) -> None:
    """Rules name registered actions, forms or Balie's own moves."""
    unknown = set(loaded.actions.values()) - set(BOT_MOVES) - set(loaded.forms) - actions
    assert not unknown, unknown


def check_form(loaded: Content, form: str, actions: set[str]) -> None:
    """A form has a validator, a submit action and a question per slot."""
    spec = loaded.forms[form]
    assert {f"validate_{form}", spec.submit} <= actions
    assert spec.required_slots
    for slot in spec.required_slots:
        assert f"utter_ask_{slot}" in loaded.responses, slot


def check_no_example_under_two_intents(loaded: Content) -> None:
    """No text is trained as two intents."""
    seen: dict[str, str] = {}
    clashes = []
    for example in loaded.examples:
        key = example.text.lower()
        if seen.setdefault(key, example.intent) != example.intent:
            clashes.append((example.text, seen[key], example.intent))
    assert clashes == []


def check_all(loaded: Content, intents_dir: Path, town: Municipality, actions: set[str]) -> None:
    """Run every check on a whole intents folder, and the check Balie makes at start-up."""
    render.check(loaded, town)
    check_contract(loaded)
    for path in intent_files(intents_dir):
        check_examples(loaded, path)
        check_answer(loaded, path.stem, town)
    for name in loaded.responses:
        check_response(loaded, name, town)
    check_rules(loaded, actions)
    for form in loaded.forms:
        check_form(loaded, form, actions)
    check_no_example_under_two_intents(loaded)
