"""Precision and recall of detected (message, vendor, kind) triples against a known truth;
used by the simulator-backed test and the benchmark."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    def line(self) -> str:
        return (f"precision {self.precision:.4f} recall {self.recall:.4f} "
                f"(tp {self.true_positives}, fp {self.false_positives}, "
                f"fn {self.false_negatives})")


def score(found: Iterable[tuple], expected: Iterable[tuple]) -> Score:
    found, expected = set(found), set(expected)
    hits = found & expected
    return Score(len(hits), len(found - hits), len(expected - hits))
