"""The intent classifier and language detector, scored on data it was never trained on."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.nlu import content, serving, training
from bot.nlu.serving import NLU
from bot.settings import PROJECT_DIR, Settings
from tests.conftest import MODEL_CACHE

HELD_OUT = PROJECT_DIR / "tests" / "data" / "nlu_heldout.yml"
THRESHOLD = Settings().nlu_threshold
AWKWARD = [
    "",
    "👍🙏🎉",
    "\u200b\u200c\u200d\u2060\ufeff",
    "hoe maak ik be\u200bzwaar\u200d?",
    ("wanneer moet ik mijn aanslag betalen? " * 300)[:10_000],
    "x" * 10_000,
    "\u202ehoe maak ik bezwaar\u202c",
    "\u202bhow do I object\u202c \u202dto my WOZ value\u202c",
    "12345",
    "0612345678 2025",
]
# What `python -m bot --help` and the serving processes (`balie run`, `worker`, `chat`, the
# console) import, load and parse; it prints the heavy training libraries that got imported.
SERVING = """
import contextlib, io, logging, runpy, sys
from pathlib import Path

logging.basicConfig()
logging.getLogger("bot.nlu").setLevel(logging.INFO)  # a training instead of a load shows
cache = Path(sys.argv[1])

def leaked():
    return sorted({name.partition(".")[0] for name in sys.modules} & {"sklearn", "scipy"})

sys.argv = ["bot", "--help"]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    runpy.run_module("bot", run_name="__main__")
print("help", leaked())
import bot.channels.telegram, bot.channels.terminal, bot.console.app, bot.intake.worker
import bot.ops.runner, bot.pipeline
from bot.nlu import content, serving
from bot.settings import PROJECT_DIR
model = serving.load_or_train(content.load(PROJECT_DIR / "intents"), cache)
print(model.parse("hoe maak ik bezwaar?").intent, leaked())
"""


def unseen_held_out() -> list[content.Example]:
    """Held-out examples minus those that happen to equal a training example ("ja", "hoi")."""
    trained = {e.text.lower() for e in content.load(PROJECT_DIR / "intents").examples}
    return [e for e in content.read_examples(HELD_OUT) if e.text.lower() not in trained]


def test_held_out_file_is_mostly_unseen() -> None:
    assert len(unseen_held_out()) >= 0.85 * len(content.read_examples(HELD_OUT)) >= 380


@pytest.fixture(scope="module")
def fitted() -> training.Fitted:
    """The scikit-learn pipelines, fitted on intents/ as for the cached model."""
    loaded = content.load(PROJECT_DIR / "intents")
    return training.fit(loaded.examples, loaded.digest)


@pytest.fixture(scope="module")
def served(fitted: training.Fitted, tmp_path_factory: pytest.TempPathFactory) -> NLU:
    """The serving model as a process loads it: saved by training, read back from the file."""
    path = serving.cached(tmp_path_factory.mktemp("cache"), fitted.digest)
    training.save(fitted, path)
    return serving.load(path)


def test_held_out_macro_f1_meets_the_target(model: NLU) -> None:
    examples = unseen_held_out()
    report = training.evaluate(model, examples, THRESHOLD)
    assert report["n"] == len(examples)
    assert report["macro_f1"] >= 0.92, report
    # The intents with held-out rows are scored, so a new intent may come without rows (if it
    # takes others' questions, their scores drop); a row may not name an unknown intent.
    assert set(report["per_intent_f1"]) <= set(model.intents.classes)


def test_parse_gives_a_sorted_ranking(model: NLU) -> None:
    parse = model.parse("wanneer moet ik mijn aanslag betalen?")
    assert parse.intent == "payment_deadline"
    confidences = [c for _, c in parse.ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert parse.confidence == confidences[0] and 0 < parse.confidence <= 1


@pytest.mark.parametrize("part", ["intent", "language"])
def test_fast_path_gives_sklearns_probabilities_and_ranking(
    fitted: training.Fitted, served: NLU, part: str
) -> None:
    pipeline, classifier = {
        "intent": (fitted.intents, served.intents),
        "language": (fitted.languages, served.languages),
    }[part]
    texts = [e.text for e in content.load(PROJECT_DIR / "intents").examples] + AWKWARD
    assert list(classifier.classes) == list(pipeline.classes_)
    for text, expected in zip(texts, pipeline.predict_proba(texts), strict=True):
        probabilities = classifier.predict_proba(text)
        np.testing.assert_allclose(probabilities, expected, rtol=1e-9, atol=1e-12,
                                   err_msg=repr(text))
        assert list(np.argsort(-probabilities)) == list(np.argsort(-expected)), repr(text)


@pytest.mark.parametrize("text", AWKWARD)
def test_parse_ranks_awkward_text_as_sklearn_does(
    fitted: training.Fitted, served: NLU, text: str
) -> None:
    expected = fitted.intents.predict_proba([text])[0]
    top = np.argsort(expected)[::-1][:5]
    parse = served.parse(text)
    assert [label for label, _ in parse.ranking] == list(fitted.intents.classes_[top])
    assert np.allclose([c for _, c in parse.ranking], expected[top], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hoe lang heb ik om bezwaar te maken?", "nl"),
        ("ik kan mijn aanslag niet betalen", "nl"),
        ("how do I object to my WOZ value", "en"),
        ("when do I have to pay the municipal tax", "en"),
        ("12345", None),
        ("👍", None),
    ],
)
def test_language_detection(model: NLU, text: str, language: str | None) -> None:
    assert model.language(text) == language


def test_below_threshold_counts_as_out_of_scope(model: NLU) -> None:
    assert training.predict(model, "hoe maak ik bezwaar", 1.01) == training.OUT_OF_SCOPE


def test_serving_does_not_import_scikit_learn(model: NLU) -> None:
    """Importing scikit-learn costs every bot process seconds; only training needs it."""
    result = subprocess.run([sys.executable, "-c", SERVING, str(MODEL_CACHE)], cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["help []", "objection []"], result.stderr


def test_model_is_cached_by_data_hash(tmp_path: Path) -> None:
    examples = tuple(
        content.Example(text, intent, language)
        for intent, language, texts in [("greet", "nl", ["hoi", "hallo", "goedemorgen"]),
                                        ("thank", "en", ["thanks", "thank you", "cheers"])]
        for text in texts
    )
    small = content.Content(examples, {}, {}, digest="a" * 64)
    first = serving.load_or_train(small, tmp_path)
    [saved] = tmp_path.glob("nlu-*.npz")
    written = saved.stat()
    second = serving.load_or_train(small, tmp_path)
    assert second.digest == first.digest == "a" * 64
    # Training would have replaced the file (a new inode), not left it as it was.
    assert (saved.stat().st_ino, saved.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    changed = content.Content(examples[:-1], {}, {}, digest="b" * 64)
    serving.load_or_train(changed, tmp_path)
    assert len(list(tmp_path.glob("nlu-*.npz"))) == 2


def test_content_digest_changes_with_the_data(tmp_path: Path) -> None:
    (tmp_path / "nlu").mkdir()
    path = tmp_path / "nlu" / "greet.yml"
    path.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hoi\n')
    before = content.load(tmp_path).digest
    path.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hallo\n')
    assert content.load(tmp_path).digest != before


def test_entity_annotations_are_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "test.yml"
    path.write_text('version: "3.1"\nnlu:\n- intent: tax_calculation\n  examples: |\n'
                    '    - mijn woz is [285000](woz_value), hoeveel ozb?\n')
    assert content.read_examples(path)[0].text == "mijn woz is 285000, hoeveel ozb?"
