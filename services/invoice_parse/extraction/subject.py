"""Facts a billing email's subject states outright: many receipts carry the amount and the
invoice or receipt number ("Your receipt from Acme #1234-5678", "Rechnung RE-2024-001
über 119,00 €"). Only what is written is taken; nothing is guessed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.invoice_parse.extraction import labels
from services.invoice_parse.extraction.amounts import find_amounts, to_minor
from services.invoice_parse.extraction.dates import find_dates, fold_keep_length
from services.invoice_parse.extraction.language import guess_language

# "#1234-5678", "n° 1234-5678", "Nr. 88": a number sign with no document word before it.
_HASH_NUMBER = re.compile(
    r"(?:(?<![\w&])#|(?<!\w)(?:n°|nº|nr\.?|no\.))\s?([A-Za-z0-9][\w\-/]*\d[\w\-/]*)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z0-9][\w\-/.]*[A-Za-z0-9]")
# Bracketed account or order references are not invoice numbers.
_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)")


@dataclass(frozen=True)
class SubjectFacts:
    total_minor: int | None = None
    currency: str | None = None
    invoice_number: str | None = None


def parse_subject(subject: str, vendor_names: Iterable[str] = ()) -> SubjectFacts:
    """`vendor_names`: the vendor's own names when the sender already told us the vendor;
    they are taken out first, since next to a label they hide the value or pass for one."""
    text = subject_without_vendor(" ".join((subject or "").split())[:500], vendor_names)
    folded = fold_keep_length(text)
    language = guess_language(folded)
    money = [a for a in find_amounts(text, language) if a.has_marker and a.value > 0]
    amount = money[0] if money else None
    return SubjectFacts(
        total_minor=to_minor(amount.value, amount.currency) if amount else None,
        currency=amount.currency if amount else None,
        invoice_number=_number(text, folded),
    )


def subject_without_vendor(subject: str, vendor_names: Iterable[str]) -> str:
    """The subject with the vendor's own name taken out before it is read.

    Between a label and its value the name hides the value ("Votre facture Dropbox
    INV-2026-07979") or passes for one ("1Password", "8x8")."""
    for name in sorted({n for n in vendor_names if len(n) >= 2}, key=len, reverse=True):
        subject = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", subject, flags=re.IGNORECASE)
    return " ".join(subject.split())


def _number(text: str, folded: str) -> str | None:
    unbracketed = _BRACKETED.sub(lambda m: " " * len(m.group()), text)
    for match in labels.number_label().finditer(fold_keep_length(unbracketed)):
        if match.lastgroup == "weak":
            continue
        token = _TOKEN.match(unbracketed[match.end() :].lstrip(" :#"))
        if token and _is_number(token.group()):
            return token.group()
    hashed = _HASH_NUMBER.search(unbracketed)
    return hashed.group(1) if hashed else None


def _is_number(token: str) -> bool:
    if len(token) < 3 or not any(c.isdigit() for c in token):
        return False
    dates = find_dates(token)
    return not (dates and dates[0].end - dates[0].start == len(token))
