"""The template-free field finder: labelled values found by vocabulary and layout.

Every finder works the same way: find the labels of its field (best tier first, look-alikes
vetoed), read the value written after the label on its line or, in tables, in the cell
below, and pick the best candidate. No vendor or document is special-cased.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from services.invoice_parse.extraction import labels
from services.invoice_parse.extraction.amounts import AmountMatch, to_minor
from services.invoice_parse.extraction.dates import (
    RANGE_SEPARATOR,
    find_dates,
    partial_date_before,
)
from services.invoice_parse.extraction.document import Document, LabelHit
from services.invoice_parse.extraction.layout import value_below

_TOKEN = re.compile(r"[A-Za-z0-9][\w\-/.]*[A-Za-z0-9]|\d")
_SHORT_PREFIX = re.compile(r"([A-Z]{1,3}) ([A-Za-z0-9][\w\-/.]*\d[\w\-/.]*)")
_MAX_PERIOD = timedelta(days=400)
# Cheap pre-filter: a range needs a digit followed later by a dash or a range word.
_MAYBE_RANGE = re.compile(
    r"\d.*?(?:[-–—~]|\s(?:to|till|until|through|thru|bis|au|tot|t/m|al|a|hasta|til|à)\s)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str | None


@dataclass(frozen=True)
class TextFields:
    total: Money | None
    tax_minor: int | None
    invoice_date: date | None
    invoice_number: str | None
    period_start: date | None
    period_end: date | None


def find_fields(text: str) -> TextFields:
    doc = Document(text)
    total = find_total(doc)
    number_hit, number = find_invoice_number(doc)
    period = find_period(doc)
    tax = find_tax(doc, total.currency if total else doc.main_currency)
    return TextFields(
        total=total,
        tax_minor=tax,
        invoice_date=find_invoice_date(doc, number_hit),
        invoice_number=number,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )


# --- total -----------------------------------------------------------------------------


def find_total(doc: Document) -> Money | None:
    tiers = {tier: labels.compiled(p) for tier, p in labels.TOTAL_LABELS.items()}
    negative = labels.compiled(labels.TOTAL_NEGATIVE)
    candidates: list[tuple[int, AmountMatch, int]] = []
    for hit in doc.label_hits(tiers, negative):
        amount = _amount_for(doc, hit, [*tiers.values(), negative], last=True)
        if amount is not None and amount.value >= 0:
            candidates.append((hit.tier, amount, hit.line))
    if not candidates:
        return None
    nonzero = [c for c in candidates if c[1].value > 0] or candidates
    best_tier = max(tier for tier, _, _ in nonzero)
    frequency = Counter(amount.value for _, amount, _ in nonzero)
    _, amount, line = max(
        (c for c in nonzero if c[0] == best_tier),
        key=lambda c: (frequency[c[1].value], c[1].value),
    )
    currency = doc.refine_currency(
        amount.currency or _currency_on_line(doc, line) or doc.main_currency
    )
    return Money(minor=to_minor(amount.value, currency), currency=currency)


def _amount_for(
    doc: Document, hit: LabelHit, boundaries: list[re.Pattern], last: bool
) -> AmountMatch | None:
    """The money amount a label introduces: after it on its line, else in the cell below."""
    start, end = doc.region_after(hit, boundaries)
    line = doc.lines[hit.line]
    money = [a for a in doc.amounts(line[:end]) if a.start >= start and a.looks_like_money]
    if money:
        return money[-1] if last else money[0]
    cell = value_below(doc.lines, hit.line, hit.start)
    below = [a for a in doc.amounts(cell or "") if a.looks_like_money]
    return below[0] if below else None


def _currency_on_line(doc: Document, line: int) -> str | None:
    marked = [a.currency for a in doc.amounts(doc.lines[line]) if a.currency]
    return marked[-1] if marked else None


# --- tax -------------------------------------------------------------------------------


def find_tax(doc: Document, currency: str | None) -> int | None:
    tiers = {tier: labels.compiled(p) for tier, p in labels.TAX_LABELS.items()}
    negative = labels.compiled(labels.TAX_NEGATIVE)
    for hit in doc.label_hits(tiers, negative):
        start, end = doc.region_after(hit, [*tiers.values(), negative])
        line = doc.lines[hit.line]
        money = [a for a in doc.amounts(line[:end]) if a.start >= start and a.looks_like_money]
        if not money and hit.tier >= 2:
            money = [
                a
                for a in doc.amounts(value_below(doc.lines, hit.line, hit.start) or "")
                if a.looks_like_money
            ]
        if money:
            amount = money[-1]
            return to_minor(amount.value, amount.currency or currency)
    return None


# --- invoice number --------------------------------------------------------------------

_TIER_OF_GROUP = {"tier3": 3, "bare": 2, "weak": 1}


def find_invoice_number(doc: Document) -> tuple[LabelHit | None, str | None]:
    """The best-labelled document number, and the label hit it came from."""
    found: list[tuple[LabelHit, str]] = []
    for match in labels.number_label().finditer(doc.folded_text):
        index, start = doc.position(match.start())
        end = start + match.end() - match.start()
        if end > len(doc.lines[index]):
            continue  # the separators ran into the next line
        hit = LabelHit(index, start, end, _TIER_OF_GROUP[match.lastgroup])
        value = _number_token(doc.lines[index][end:], doc)
        if value is None:
            value = _number_token(value_below(doc.lines, index, start) or "", doc)
        if value is not None:
            found.append((hit, value))
    if not found:
        return None, None
    return min(found, key=lambda f: (-f[0].tier, f[0].line, f[0].start))


def _number_token(text: str, doc: Document) -> str | None:
    text = text.lstrip(" :#")
    prefixed = _SHORT_PREFIX.match(text)
    if prefixed:  # "F 1234K20/1234/12": a short series letter belongs to the number
        token = prefixed.group(0)
    else:
        match = _TOKEN.match(text)
        if not match:
            return None
        token = match.group(0)
    if len(token) < 3 or not any(c.isdigit() for c in token):
        return None
    dates = find_dates(token, doc.month_first)
    if dates and dates[0].end - dates[0].start >= len(token) - 1:
        return None  # a date, not a number
    if any(a.has_marker or (a.has_decimals and "," in token) for a in doc.amounts(token)):
        return None  # an amount
    return token


# --- invoice date ----------------------------------------------------------------------


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


# --- billing period --------------------------------------------------------------------


def find_period(doc: Document) -> tuple[date, date] | None:
    period_words = labels.compiled(labels.PERIOD_WORDS)
    fallback = None
    for index, line in enumerate(doc.lines):
        if not _MAYBE_RANGE.search(line):
            continue
        labelled = bool(period_words.search(doc.folded[index]))
        for start, end, explicit in _ranges_in(line, doc.month_first):
            if labelled:
                return start, end
            if explicit and fallback is None:
                fallback = (start, end)
    return fallback


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
