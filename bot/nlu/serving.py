"""The serving model: intent, confidence, ranking and language from saved arrays (numpy only)."""

import json
import logging
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict, cast

import numpy as np
import numpy.typing as npt

from bot.nlu.content import Content
from bot.types import Language, Parse

log = logging.getLogger(__name__)

MODEL_VERSION = "4"
LANGUAGE_CONFIDENCE = 0.8
# A real word for the language detector: three letters or more with a vowel ("xxxxxxxxxx" is none).
WORD = re.compile(r"[^\W\d_]{3,}")
VOWELS = frozenset("aeiouyáéíóúàèëïöüij")
DIGITS = re.compile(r"\d+")
Arrays = Mapping[str, npt.NDArray[np.float64]]


class BlockSpec(TypedDict):
    """How one tf-idf block cuts text into terms (as its TfidfVectorizer), and its terms."""

    analyzer: Literal["word", "char_wb"]
    ngram_range: list[int]
    token_pattern: str
    sublinear_tf: bool
    terms: list[str]


class ClassifierSpec(TypedDict):
    """A classifier's labels and blocks; its numbers are arrays named `<name>.…`."""

    classes: list[str]
    blocks: list[BlockSpec]


class ModelSpec(TypedDict):
    """What a saved model holds besides its arrays."""

    digest: str
    intents: ClassifierSpec
    languages: ClassifierSpec


def normalize(text: str) -> str:
    """Lower-case, strip accents and reduce numbers to a shape, so variants look alike."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return DIGITS.sub(lambda m: "0" * min(len(m.group()), 6), text)


def _analyzer(spec: BlockSpec) -> Callable[[str], list[str]]:
    """Return the term list of a text, as the TfidfVectorizer's `build_analyzer()` does."""
    low, high = spec["ngram_range"]
    if spec["analyzer"] == "char_wb":
        def char_wb(text: str) -> list[str]:
            terms: list[str] = []
            for word in normalize(text).split():
                padded = f" {word} "
                for n in range(low, high + 1):
                    terms.extend(padded[i:i + n] for i in range(max(len(padded) - n, 0) + 1))
                    if len(padded) <= n:  # a short word counts once, not once per n
                        break
            return terms
        return char_wb

    tokenize = re.compile(spec["token_pattern"]).findall

    def words(text: str) -> list[str]:
        tokens: list[str] = tokenize(normalize(text))
        terms = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            terms.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        return terms
    return words


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
    """A fitted tf-idf + LogisticRegression pipeline, reduced to what one prediction needs.

    sklearn's `predict_proba` spends milliseconds per call validating its input; this computes
    the same probabilities from the fitted parts in a few hundred microseconds.
    """

    blocks: tuple[_TfidfBlock, ...]
    intercept: npt.NDArray[np.float64]
    classes: tuple[str, ...]

    @classmethod
    def of(cls, spec: ClassifierSpec, arrays: Arrays, name: str) -> "Classifier":
        """Assemble the classifier `name` from its spec and its arrays."""
        blocks = tuple(
            _TfidfBlock(
                _analyzer(block),
                {term: column for column, term in enumerate(block["terms"])},
                arrays[f"{name}.{number}.idf"],
                block["sublinear_tf"],
                arrays[f"{name}.{number}.weights"],
            )
            for number, block in enumerate(spec["blocks"])
        )
        return cls(blocks, arrays[f"{name}.intercept"], tuple(spec["classes"]))

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


@dataclass(frozen=True)
class NLU:
    """The intent classifier and the language detector, trained on the data with this digest."""

    intents: Classifier
    languages: Classifier
    digest: str

    @classmethod
    def of(cls, spec: ModelSpec, arrays: Arrays) -> "NLU":
        """Assemble the model from what training saves."""
        return cls(Classifier.of(spec["intents"], arrays, "intents"),
                   Classifier.of(spec["languages"], arrays, "languages"), spec["digest"])

    def parse(self, text: str) -> Parse:
        """Classify one message."""
        probabilities = self.intents.predict_proba(text)
        order = np.argsort(probabilities)[::-1][:5]
        labels = self.intents.classes
        ranking = tuple((labels[i], float(probabilities[i])) for i in order)
        return Parse(ranking[0][0], ranking[0][1], ranking, self.language(text))

    def language(self, text: str) -> Language | None:
        """Return nl or en when the text clearly is that language, else None."""
        if not _has_words(text):
            return None
        probabilities = self.languages.predict_proba(text)
        best = int(np.argmax(probabilities))
        if probabilities[best] < LANGUAGE_CONFIDENCE:
            return None
        return cast(Language, self.languages.classes[best])


def _has_words(text: str) -> bool:
    """Tell whether a text holds a real word: three letters or more, not one letter repeated."""
    return any(len(set(word)) > 1 and not VOWELS.isdisjoint(word)
               for word in WORD.findall(text.lower()))


def cached(cache_dir: Path, digest: str) -> Path:
    """Return where the model trained on the data with this digest is saved."""
    return cache_dir / f"nlu-{MODEL_VERSION}-{digest[:16]}.npz"


def load(path: Path) -> NLU:
    """Read a saved model: a spec (JSON, stored as bytes under `spec`) and float arrays."""
    with np.load(path) as saved:
        arrays = {name: saved[name] for name in saved.files}
    spec: ModelSpec = json.loads(arrays.pop("spec").tobytes())
    return NLU.of(spec, arrays)


def load_or_train(content: Content, cache_dir: Path) -> NLU:
    """Return the model for this content, from the cache when its data hash matches."""
    path = cached(cache_dir, content.digest)
    if path.exists():
        try:
            return load(path)
        except Exception:
            log.warning("nlu cache unreadable, retraining", extra={"path": str(path)})
    # Imported here: scikit-learn costs a serving process seconds and is needed only to train.
    from bot.nlu import training

    started = time.perf_counter()
    training.save(training.fit(content.examples, content.digest), path)
    log.info("nlu trained", extra={
        "examples": len(content.examples), "seconds": round(time.perf_counter() - started, 2),
    })
    return load(path)
