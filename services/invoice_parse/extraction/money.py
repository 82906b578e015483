"""Money on an invoice: the total charged (never a subtotal or the tax) and the tax.

Totals compete by label tier (an "amount due" beats a bare "total"); within the best
tier the amount written most often wins, then the larger one; zero totals (a paid
invoice's balance) only when nothing else is stated."""

from __future__ import annotations

import re
from collections import Counter

from services.invoice_parse.extraction import labels
from services.invoice_parse.extraction.amounts import AmountMatch, Money, to_minor
from services.invoice_parse.extraction.document import Document, LabelHit
from services.invoice_parse.extraction.layout import value_below


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
