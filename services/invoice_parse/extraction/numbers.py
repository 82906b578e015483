"""The invoice (or receipt) number: the token right after a number label, or in the cell
under it. Compound labels ("Rechnungsnummer", "Invoice number") beat a bare document word
("Invoice INV-8"), which beats a booking reference or a lone "#"."""

from __future__ import annotations

import re

from services.invoice_parse.extraction import labels
from services.invoice_parse.extraction.dates import find_dates
from services.invoice_parse.extraction.document import Document, LabelHit
from services.invoice_parse.extraction.layout import value_below

_TOKEN = re.compile(r"[A-Za-z0-9][\w\-/.]*[A-Za-z0-9]|\d")
_SHORT_PREFIX = re.compile(r"([A-Z]{1,3}) ([A-Za-z0-9][\w\-/.]*\d[\w\-/.]*)")


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
