"""Understanding: text to intent, confidence, ranking and language, trained from `intents/`."""

import logging
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import joblib
import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.nlu.content import Content, Example
from bot.types import Language, Parse

log = logging.getLogger(__name__)

OUT_OF_SCOPE = "out_of_scope"
MODEL_VERSION = "3"
LANGUAGE_CONFIDENCE = 0.8
DIGITS = re.compile(r"\d+")


def normalize(text: str) -> str:
    """Lower-case, strip accents and reduce numbers to a shape, so variants look alike."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return DIGITS.sub(lambda m: "0" * min(len(m.group()), 6), text)


def _intent_pipeline() -> Pipeline:
    features = FeatureUnion([
        ("words", TfidfVectorizer(
            preprocessor=normalize, ngram_range=(1, 2), sublinear_tf=True, min_df=1,
            token_pattern=r"(?u)\b\w+\b",
        )),
        ("chars", TfidfVectorizer(
            preprocessor=normalize, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
        )),
    ])
    return Pipeline([
        ("features", features),
        ("classifier", LogisticRegression(C=50.0, max_iter=5000)),
    ])


def _language_pipeline() -> Pipeline:
    return Pipeline([
        ("chars", TfidfVectorizer(
            preprocessor=normalize, analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True,
        )),
        ("classifier", LogisticRegression(C=5.0, max_iter=2000)),
    ])


@dataclass(frozen=True)
class _TfidfBlock:
    """One fitted TfidfVectorizer and the classifier weights of its columns, one row per term."""

    analyze: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: npt.NDArray[np.float64]
    sublinear_tf: bool
    weights: npt.NDArray[np.float64]

    def decision(self, text: str) -> npt.NDArray[np.float64]:
        """Return this block's share of the decision function: L2-normalised tf-idf · weights."""
        vocabulary = self.vocabulary
        counts = Counter(
            column for term in self.analyze(text) if (column := vocabulary.get(term)) is not None
        )
        if not counts:
            return np.zeros(self.weights.shape[1])
        columns = np.fromiter(counts.keys(), np.intp, len(counts))
        tf = np.fromiter(counts.values(), np.float64, len(counts))
        if self.sublinear_tf:
            tf = np.log(tf) + 1.0
        values = tf * self.idf[columns]
        return values / np.sqrt(values @ values) @ self.weights[columns]


@dataclass(frozen=True)
class Classifier:
    """A fitted tf-idf + LogisticRegression Pipeline, reduced to what one prediction needs.

    sklearn's `predict_proba` spends milliseconds per call validating its input; this computes
    the same probabilities from the fitted parts in a few hundred microseconds.
    """

    blocks: tuple[_TfidfBlock, ...]
    intercept: npt.NDArray[np.float64]
    classes: npt.NDArray[Any]

    @classmethod
    def of(cls, pipeline: Pipeline) -> "Classifier":
        """Take the vocabularies, idf and coefficients out of a fitted pipeline."""
        (_, features), (_, classifier) = pipeline.steps
        vectorizers = (
            [vectorizer for _, vectorizer in features.transformer_list]
            if isinstance(features, FeatureUnion) else [features]
        )
        blocks, start = [], 0
        for vectorizer in vectorizers:
            if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
                raise ValueError(f"unsupported vectorizer settings: {vectorizer}")
            end = start + len(vectorizer.vocabulary_)
            blocks.append(_TfidfBlock(
                vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_,
                vectorizer.sublinear_tf, np.ascontiguousarray(classifier.coef_.T[start:end]),
            ))
            start = end
        return cls(tuple(blocks), classifier.intercept_, classifier.classes_)

    def predict_proba(self, text: str) -> npt.NDArray[np.float64]:
        """Return the probability of each class, as `pipeline.predict_proba([text])[0]`."""
        decision = sum((block.decision(text) for block in self.blocks), self.intercept)
        if len(self.classes) == 2:
            # As LogisticRegression: binary is the logistic function of the one decision, for
            # classes[1] (written here not to overflow); more classes take the softmax.
            positive = 0.5 + 0.5 * np.tanh(0.5 * decision[0])
            return np.array([1.0 - positive, positive])
        exponentials: npt.NDArray[np.float64] = np.exp(decision - decision.max())
        exponentials /= exponentials.sum()
        return exponentials


@dataclass
class NLU:
    """A trained intent classifier and language detector.

    The pipelines are what is trained and cached; parsing uses the `Classifier` made from each.
    """

    intents: Pipeline
    languages: Pipeline
    digest: str
    intent_classifier: Classifier = field(init=False, repr=False, compare=False)
    language_classifier: Classifier = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.intent_classifier = Classifier.of(self.intents)
        self.language_classifier = Classifier.of(self.languages)

    def parse(self, text: str) -> Parse:
        """Classify one message."""
        probabilities = self.intent_classifier.predict_proba(text)
        order = np.argsort(probabilities)[::-1][:5]
        labels = self.intent_classifier.classes
        ranking = tuple((str(labels[i]), float(probabilities[i])) for i in order)
        return Parse(ranking[0][0], ranking[0][1], ranking, self.language(text))

    def language(self, text: str) -> Language | None:
        """Return nl or en when the text clearly is that language, else None."""
        if not any(ch.isalpha() for ch in text):
            return None
        probabilities = self.language_classifier.predict_proba(text)
        best = int(np.argmax(probabilities))
        if probabilities[best] < LANGUAGE_CONFIDENCE:
            return None
        return cast(Language, str(self.language_classifier.classes[best]))


def train(examples: Sequence[Example], digest: str = "") -> NLU:
    """Fit the intent classifier and the language detector on examples."""
    texts = [example.text for example in examples]
    intents = _intent_pipeline().fit(texts, [example.intent for example in examples])
    labelled = [example for example in examples if example.language]
    languages = _language_pipeline().fit(
        [example.text for example in labelled], [example.language for example in labelled]
    )
    return NLU(intents, languages, digest)


def load_or_train(content: Content, cache_dir: Path) -> NLU:
    """Return the model for this content, from the cached pipelines when its data hash matches."""
    path = cache_dir / f"nlu-{MODEL_VERSION}-{content.digest[:16]}.joblib"
    if path.exists():
        try:
            intents, languages, digest = joblib.load(path)
            return NLU(intents, languages, digest)
        except Exception:
            log.warning("nlu cache unreadable, retraining", extra={"path": str(path)})
    started = time.perf_counter()
    model = train(content.examples, content.digest)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    joblib.dump((model.intents, model.languages, model.digest), temporary)
    temporary.replace(path)
    log.info("nlu trained", extra={
        "examples": len(content.examples), "seconds": round(time.perf_counter() - started, 2),
    })
    return model


def predict(model: NLU, text: str, threshold: float) -> str:
    """Return the intent, or out_of_scope when the model is not confident enough."""
    parse = model.parse(text)
    return parse.intent if parse.confidence >= threshold else OUT_OF_SCOPE


def evaluate(model: NLU, examples: Sequence[Example], threshold: float) -> dict[str, Any]:
    """Score a model on labelled examples: accuracy, macro-F1, per-intent F1, parse latency."""
    truth, predicted, latencies = [], [], []
    for example in examples:
        started = time.perf_counter()
        predicted.append(predict(model, example.text, threshold))
        latencies.append((time.perf_counter() - started) * 1000)
        truth.append(example.intent)
    labels = sorted(set(truth))
    per_intent = f1_score(truth, predicted, labels=labels, average=None, zero_division=0)
    correct = [t == p for t, p in zip(truth, predicted, strict=True)]
    return {
        "n": len(examples),
        "accuracy": round(float(np.mean(correct)), 4),
        "macro_f1": round(float(np.mean(per_intent)), 4),
        "per_intent_f1": {
            label: round(float(f), 4) for label, f in zip(labels, per_intent, strict=True)
        },
        "parse_ms_p50": round(float(np.percentile(latencies, 50)), 3),
        "parse_ms_p99": round(float(np.percentile(latencies, 99)), 3),
    }


def cross_validate(examples: Sequence[Example], threshold: float, folds: int = 5) -> float:
    """Return the mean macro-F1 of a stratified k-fold cross-validation."""
    labels = [example.intent for example in examples]
    scores = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    for train_index, test_index in splitter.split(np.zeros(len(labels)), labels):
        model = train([examples[i] for i in train_index])
        scores.append(evaluate(model, [examples[i] for i in test_index], threshold)["macro_f1"])
    return round(float(np.mean(scores)), 4)
