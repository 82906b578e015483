"""The label regexes are rewritten for speed (grouped by first letter, pre-filtered); they
must find exactly the spans the plain word-bounded alternation finds."""

from __future__ import annotations

import re

import pytest

from services.invoice_parse.extraction import labels
from tests.unit.test_invoice_fields import CASES

VOCABULARIES = {
    "total": [*labels.TOTAL_LABELS.values(), labels.TOTAL_NEGATIVE],
    "date": [*labels.DATE_LABELS.values(), labels.DATE_NEGATIVE],
    "tax": [*labels.TAX_LABELS.values(), labels.TAX_NEGATIVE],
    "period": [labels.PERIOD_WORDS],
}
TRICKY = (
    "subtotal 10  total 12  sub-total  nettotal  total excl. vat 3  total uden moms 4\n"
    "grand total: 5 | amount due 6 xamount due 7 amount dues 8  incl. mwst  zzgl. vat\n"
    "invoice date 1.2.2024  due date 3.2.2024  datum: 4.2.2024  total tax 1  tax id 9\n"
    "rechnungsnummer 12  n° de facture 7  i alt at betale 1.000,00  beløb i alt 5"
)


def plain(pattern: str) -> re.Pattern:
    return re.compile(rf"(?<![\w])(?:{labels._alternation(pattern)})(?![\w])")


@pytest.mark.parametrize("field", sorted(VOCABULARIES))
def test_fast_label_patterns_match_the_plain_ones(field):
    texts = [TRICKY, *(case[0].lower() for case in CASES)]
    for pattern in VOCABULARIES[field]:
        fast, slow = labels.compiled(pattern), plain(pattern)
        assert fast.pattern != slow.pattern  # the fast form is really in use
        for text in texts:
            assert [m.span() for m in fast.finditer(text)] == [
                m.span() for m in slow.finditer(text)
            ]


def test_alternation_splits_only_at_top_level_and_ignores_escaped_brackets():
    assert labels._top_level(r"a \(?b|c (?:d|e)|[|]f") == [r"a \(?b", "c (?:d|e)", "[|]f"]
    assert labels._alternation("x|\n   long one|(?:p|\n q)") == "long one|(?:p|q)|x"


def test_total_negative_vetoes_total_uden_moms():
    assert labels.compiled(labels.TOTAL_NEGATIVE).search("total uden moms 100,00")
