"""Training and evaluation: fit the scikit-learn pipelines, score them, save their parts."""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.nlu.content import Example
from bot.nlu.serving import NLU, BlockSpec, ClassifierSpec, ModelSpec, normalize

OUT_OF_SCOPE = "out_of_scope"


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


def _parts(pipeline: Pipeline, name: str, arrays: dict[str, npt.NDArray[Any]]) -> ClassifierSpec:
    """Put a fitted pipeline's idf, weights and intercept into arrays; return the rest."""
    (_, features), (_, classifier) = pipeline.steps
    vectorizers = (
        [vectorizer for _, vectorizer in features.transformer_list]
        if isinstance(features, FeatureUnion) else [features]
    )
    blocks: list[BlockSpec] = []
    start = 0
    for number, vectorizer in enumerate(vectorizers):
        # The serving side repeats the analysis only for these settings.
        if (vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary
                or vectorizer.analyzer not in ("word", "char_wb")
                or vectorizer.preprocessor is not normalize or vectorizer.tokenizer is not None
                or vectorizer.stop_words is not None):
            raise ValueError(f"unsupported vectorizer settings: {vectorizer}")
        vocabulary: dict[str, int] = vectorizer.vocabulary_
        end = start + len(vocabulary)
        blocks.append(BlockSpec(
            analyzer=vectorizer.analyzer, ngram_range=list(vectorizer.ngram_range),
            token_pattern=vectorizer.token_pattern, sublinear_tf=bool(vectorizer.sublinear_tf),
            terms=sorted(vocabulary, key=vocabulary.__getitem__),
        ))
        arrays[f"{name}.{number}.idf"] = vectorizer.idf_
        arrays[f"{name}.{number}.weights"] = np.ascontiguousarray(classifier.coef_.T[start:end])
        start = end
    arrays[f"{name}.intercept"] = classifier.intercept_
    return ClassifierSpec(classes=[str(label) for label in classifier.classes_], blocks=blocks)


@dataclass(frozen=True)
class Fitted:
    """The two fitted pipelines of one training, and the digest of its data."""

    intents: Pipeline
    languages: Pipeline
    digest: str

    def parts(self) -> tuple[ModelSpec, dict[str, npt.NDArray[Any]]]:
        """Return what the serving model is made of: a spec and named arrays."""
        arrays: dict[str, npt.NDArray[Any]] = {}
        spec = ModelSpec(digest=self.digest, intents=_parts(self.intents, "intents", arrays),
                         languages=_parts(self.languages, "languages", arrays))
        return spec, arrays

    def model(self) -> NLU:
        """Return the serving model made from these pipelines."""
        return NLU.of(*self.parts())


def fit(examples: Sequence[Example], digest: str = "") -> Fitted:
    """Fit the intent classifier and the language detector on examples."""
    texts = [example.text for example in examples]
    intents = _intent_pipeline().fit(texts, [example.intent for example in examples])
    labelled = [example for example in examples if example.language]
    languages = _language_pipeline().fit(
        [example.text for example in labelled], [example.language for example in labelled]
    )
    return Fitted(intents, languages, digest)


def save(fitted: Fitted, path: Path) -> None:
    """Write the serving model's parts to one `.npz` file, replacing it in one step."""
    spec, arrays = fitted.parts()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    encoded = json.dumps(spec, ensure_ascii=False).encode()
    with temporary.open("wb") as file:
        np.savez(file, allow_pickle=False, spec=np.frombuffer(encoded, np.uint8), **arrays)
    temporary.replace(path)


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
        model = fit([examples[i] for i in train_index]).model()
        scores.append(evaluate(model, [examples[i] for i in test_index], threshold)["macro_f1"])
    return round(float(np.mean(scores)), 4)
