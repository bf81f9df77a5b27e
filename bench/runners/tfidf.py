"""A classical baseline: TF-IDF of unigrams and bigrams with logistic regression (scikit-learn), C chosen on
validation. Trained by `bench.train.estimator` under the same splits, metrics and records as the transformer runners."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from bench.errors import BenchError
from bench.runners.base import EstimatorRunner
from bench.runners.registry import register_runner


@register_runner("tfidf-logreg")
@dataclass(frozen=True)
class TfidfLogRegRunner(EstimatorRunner):
    family: ClassVar[str] = "tfidf-logreg"
    ngram_max: int = 2  # unigrams and bigrams
    min_df: int = 2  # a term must occur in 2 training documents: drops typos and most of the bigram long tail
    max_features: int | None = None
    c_grid: tuple[float, ...] = (1.0, 4.0, 16.0, 64.0)  # inverse regularisation strengths tried on validation

    def __post_init__(self) -> None:
        for name in ("ngram_max", "min_df"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BenchError(f"{name} must be a positive integer, got {value!r}")
        if self.max_features is not None and (not isinstance(self.max_features, int) or self.max_features < 1):
            raise BenchError(f"max_features must be a positive integer or null, got {self.max_features!r}")
        grid = self.c_grid
        if (
            not isinstance(grid, list | tuple)
            or not grid
            or not all(isinstance(c, int | float) and not isinstance(c, bool) and c > 0 for c in grid)
        ):
            raise BenchError(f"c_grid must be a non-empty list of positive numbers, got {grid!r}")
        object.__setattr__(self, "c_grid", tuple(float(c) for c in grid))  # a suite file gives a list

    def build_features(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        # sublinear tf (1 + log tf) damps words a long review repeats; IMDB's "<br />" markup becomes the token "br",
        # which occurs in both classes alike and so carries no weight worth removing it for
        return TfidfVectorizer(
            ngram_range=(1, self.ngram_max),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            strip_accents="unicode",
            dtype=_float32(),
        )

    def build_classifiers(self, seed: int, n_labels: int) -> list[tuple[dict[str, Any], Any]]:
        from sklearn.linear_model import LogisticRegression

        # liblinear: the fastest exact solver for one sparse binary problem; it refuses several classes, lbfgs does not
        solver = "liblinear" if n_labels == 2 else "lbfgs"
        return [
            ({"C": c}, LogisticRegression(C=c, solver=solver, max_iter=1000, random_state=seed)) for c in self.c_grid
        ]

    def count_tokens(self, features: Any, texts) -> list[int]:
        tokenize = features.build_tokenizer()
        preprocess = features.build_preprocessor()
        return [len(tokenize(preprocess(t))) for t in texts]

    def describe(self) -> str:
        grams = "unigrams" if self.ngram_max == 1 else f"1- to {self.ngram_max}-grams"
        cs = ", ".join(f"{c:g}" for c in self.c_grid)
        return f"scikit-learn TF-IDF ({grams}, min_df {self.min_df}) + logistic regression, C in {{{cs}}} on validation"


def _float32():
    import numpy as np

    return np.float32  # half the memory of float64; logistic regression converges the same
