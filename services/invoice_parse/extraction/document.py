"""An invoice's text prepared once for every field finder: lines, their accent-folded
twins (same offsets), the guessed language, and label hits with vetoes applied."""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from services.invoice_parse.extraction.amounts import AmountMatch, find_amounts
from services.invoice_parse.extraction.dates import fold_keep_length, numeric_order
from services.invoice_parse.extraction.language import guess_language

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\t": "    "})
_DOLLAR_CODES = ("AUD", "CAD", "NZD", "SGD", "HKD", "MXN")


@dataclass(frozen=True)
class LabelHit:
    line: int
    start: int
    end: int
    tier: int


class Document:
    def __init__(self, text: str) -> None:
        self.lines = [line.translate(_SPACES).rstrip() for line in text.splitlines()]
        self.folded = [fold_keep_length(line) for line in self.lines]
        # One string for whole-document scans (one regex pass instead of one per line),
        # with each line's offset in it to map matches back.
        self.folded_text = "\n".join(self.folded)
        self.line_starts = list(itertools.accumulate((len(f) + 1 for f in self.folded), initial=0))
        self.language = guess_language(self.folded_text)

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) of an offset in folded_text."""
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line, offset - self.line_starts[line]

    def label_hits(self, tiers: dict[int, re.Pattern], negative: re.Pattern) -> list[LabelHit]:
        """Positive label matches, best tier first then document order, minus any that a
        negative label overlaps. Overlapping positive matches keep the higher tier."""
        text = self.folded_text
        blocked = [m.span() for m in negative.finditer(text)]
        hits = []
        for tier in sorted(tiers, reverse=True):
            for match in tiers[tier].finditer(text):
                span = match.span()
                if any(_overlaps(span, other) for other in blocked):
                    continue
                blocked.append(span)  # a lower tier may not reuse these words
                line, column = self.position(span[0])
                hits.append(LabelHit(line, column, column + span[1] - span[0], tier))
        return sorted(hits, key=lambda h: (-h.tier, h.line, h.start))

    def region_after(self, hit: LabelHit, boundaries: list[re.Pattern]) -> tuple[int, int]:
        """From the end of a label to the next label of the same kind on its line."""
        folded = self.folded[hit.line]
        stops = [
            m.start()
            for pattern in boundaries
            for m in pattern.finditer(folded, hit.end)
            if m.start() >= hit.end
        ]
        return hit.end, min(stops, default=len(folded))

    def amounts(self, text: str) -> list[AmountMatch]:
        return find_amounts(text, self.language)

    @cached_property
    def currency_evidence(self) -> Counter:
        """How often each currency is written next to an amount anywhere in the document."""
        counts: Counter = Counter()
        for line in self.lines:
            counts.update(a.currency for a in self.amounts(line) if a.currency)
        return counts

    @cached_property
    def main_currency(self) -> str | None:
        evidence = self.currency_evidence
        return evidence.most_common(1)[0][0] if evidence else None

    def refine_currency(self, currency: str | None) -> str | None:
        """ "$" alone means USD unless the document names another dollar by its code."""
        if currency != "USD":
            return currency
        evidence = self.currency_evidence
        other_dollars = [code for code in _DOLLAR_CODES if evidence[code]]
        return max(other_dollars, key=evidence.__getitem__) if other_dollars else currency

    @cached_property
    def month_first(self) -> bool:
        us_style = self.language == "en" and self.main_currency == "USD"
        return numeric_order("\n".join(self.lines), prefer_month_first=us_style)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
