"""Learning from a workspace's committed transactions: the nearest earlier description decides.

Descriptions are compared as TF-IDF vectors of character n-grams within words (`char_wb`, 3 to 5
characters, smoothed idf, raw counts, l2 norm: the same weighting as scikit-learn's
`TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5))`, which the tests use as the oracle), and the
cosine similarity of the nearest example is the suggestion's confidence. Written in pure Python with an
inverted index so the Lambda layer carries no numeric stack and nothing is downloaded at run time.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NGRAM_RANGE = (3, 5)
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s\s+")


def normalise(text: str) -> str:
    """Lower case, accents stripped, digit runs folded to one `0` (dates and references vary from one
    statement to the next; the words do not), spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return _SPACES.sub(" ", _DIGITS.sub("0", plain)).strip()


def char_wb_ngrams(text: str, ngram_range: tuple[int, int] = NGRAM_RANGE) -> list[str]:
    """The n-grams of each space-padded word (a word shorter than n gives itself once)."""
    low, high = ngram_range
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            offset = 0
            grams.append(padded[offset:offset + n])
            while offset + n < size:
                offset += 1
                grams.append(padded[offset:offset + n])
            if offset == 0:
                break
    return grams


@dataclass(frozen=True, slots=True)
class Match:
    index: int
    similarity: float


class NearestDescription:
    """A TF-IDF index of example descriptions; `nearest(text)` answers the closest example and its
    cosine similarity (0 to 1)."""

    def __init__(self, descriptions: Sequence[str], ngram_range: tuple[int, int] = NGRAM_RANGE) -> None:
        self.ngram_range = ngram_range
        counts = [Counter(char_wb_ngrams(normalise(d), ngram_range)) for d in descriptions]
        docs = len(counts)
        frequency: Counter[str] = Counter()
        for c in counts:
            frequency.update(c.keys())
        self.idf = {term: math.log((1 + docs) / (1 + df)) + 1.0 for term, df in frequency.items()}
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for index, c in enumerate(counts):
            for term, weight in self._unit(c).items():
                self.postings.setdefault(term, []).append((index, weight))
        self._cache: dict[str, Match | None] = {}

    def _unit(self, counts: Counter[str]) -> dict[str, float]:
        weights = {t: n * self.idf[t] for t, n in counts.items() if t in self.idf}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {t: w / norm for t, w in weights.items()} if norm else {}

    def vector(self, text: str) -> dict[str, float]:
        """The l2-normalised TF-IDF vector of a text (n-grams unknown to the examples are dropped)."""
        return self._unit(Counter(char_wb_ngrams(normalise(text), self.ngram_range)))

    def nearest(self, text: str) -> Match | None:
        """The most similar example (the earliest on ties), or None when nothing is shared."""
        key = normalise(text)
        if key in self._cache:
            return self._cache[key]
        scores: dict[int, float] = {}
        for term, weight in self.vector(text).items():
            for index, other in self.postings.get(term, ()):
                scores[index] = scores.get(index, 0.0) + weight * other
        best = min(scores.items(), key=lambda kv: (-kv[1], kv[0]), default=None)
        found = Match(best[0], min(1.0, best[1])) if best and best[1] > 0 else None
        if len(self._cache) < 100_000:
            self._cache[key] = found
        return found

    def similarities(self, text: str) -> list[float]:
        """The cosine similarity of `text` with every example, in order (for tests and diagnostics)."""
        out = [0.0] * (max((i for p in self.postings.values() for i, _ in p), default=-1) + 1)
        for term, weight in self.vector(text).items():
            for index, other in self.postings.get(term, ()):
                out[index] += weight * other
        return out


def learnable(descriptions: Iterable[str]) -> bool:
    """True when there is something to learn from."""
    return any(normalise(d) for d in descriptions)
