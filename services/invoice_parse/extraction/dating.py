"""When: the invoice date (labelled; else on the number's line; else the first date not
labelled as something else) and the billing period (a date range, preferring one on a
line that names a period)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from services.invoice_parse.extraction import labels
from services.invoice_parse.extraction.dates import (
    RANGE_SEPARATOR,
    find_dates,
    partial_date_before,
)
from services.invoice_parse.extraction.document import Document, LabelHit
from services.invoice_parse.extraction.layout import value_below

_MAX_PERIOD = timedelta(days=400)
# Cheap pre-filter: a range needs a digit followed later by a dash or a range word.
# Two searches (the first digit, then a mark after it) instead of one "\d.*?mark", which
# retries the lazy scan from every digit of the line.
_DIGIT = re.compile(r"\d")
_RANGE_MARK = re.compile(
    r"[-–—~]|\s(?:to|till|until|through|thru|bis|au|tot|t/m|al|a|hasta|til|à)\s",
    re.IGNORECASE,
)


def find_invoice_date(doc: Document, number_hit: LabelHit | None) -> date | None:
    tiers = {tier: labels.compiled(p) for tier, p in labels.DATE_LABELS.items()}
    negative = labels.compiled(labels.DATE_NEGATIVE)
    for hit in doc.label_hits(tiers, negative):
        start, end = doc.region_after(hit, [*tiers.values(), negative])
        dates = [
            d for d in find_dates(doc.lines[hit.line][:end], doc.month_first) if d.start >= start
        ]
        if not dates:
            dates = find_dates(value_below(doc.lines, hit.line, hit.start) or "", doc.month_first)
        if dates:
            return dates[0].value
    if number_hit is not None:  # "Facture n° 123 du 02 juillet 2015"
        line = doc.lines[number_hit.line]
        dates = [d for d in find_dates(line, doc.month_first) if d.start >= number_hit.end]
        if dates:
            return dates[0].value
    return _first_unlabelled_date(doc, negative)


def _first_unlabelled_date(doc: Document, negative: re.Pattern) -> date | None:
    for index, line in enumerate(doc.lines):
        if negative.search(doc.folded[index]):
            continue
        dates = find_dates(line, doc.month_first)
        if dates:
            return dates[0].value
    return None


def find_period(doc: Document) -> tuple[date, date] | None:
    period_words = labels.compiled(labels.PERIOD_WORDS)
    fallback = None
    for index, line in enumerate(doc.lines):
        if not _may_hold_range(line):
            continue
        labelled = bool(period_words.search(doc.folded[index]))
        for start, end, explicit in _ranges_in(line, doc.month_first):
            if labelled:
                return start, end
            if explicit and fallback is None:
                fallback = (start, end)
    return fallback


def _may_hold_range(line: str) -> bool:
    digit = _DIGIT.search(line)
    return digit is not None and _RANGE_MARK.search(line, digit.end()) is not None


def _ranges_in(line: str, month_first: bool):
    dates = find_dates(line, month_first)
    for position, end in enumerate(dates):
        previous = dates[position - 1] if position else None
        between = line[previous.end : end.start] if previous else ""
        if previous and RANGE_SEPARATOR.fullmatch(between) and between.strip():
            start, explicit = previous.value, True
        else:
            partial = partial_date_before(line[: end.start], end.value, month_first)
            if partial is None:
                continue
            start, explicit = partial
        if start <= end.value and end.value - start <= _MAX_PERIOD:
            yield start, end.value, explicit
