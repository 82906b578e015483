"""A rough guess of an invoice's language from its vocabulary.

Only two decisions depend on it: which krone "kr" means (DKK, SEK or NOK) and whether
ambiguous numeric dates are month-first (US English).
"""

from __future__ import annotations

import re
from collections import Counter

_MARKERS = {
    "en": "invoice total amount due date tax the and bill receipt payment paid",
    "de": "rechnung datum betrag mwst gesamt zahlung und der die bitte summe",
    "fr": "facture montant tva date le la du paiement total ttc et",
    "nl": "factuur btw totaal bedrag betalen de het van en datum",
    "es": "factura importe iva fecha el la pago y del",
    "da": "faktura moms alt beløb dato betaling og fakturadato forfaldsdato cvr kr",
    "sv": "faktura moms betala fakturadatum förfallodatum summa och belopp kvitto kr",
    "no": "faktura mva betale beløp forfallsdato og fakturadato kr",
}
_WORD = re.compile(r"[^\W\d_]+")


def guess_language(folded_text: str) -> str | None:
    """Most likely language code of lower-cased text, or None when nothing matches."""
    words = Counter(_WORD.findall(folded_text[:20_000]))
    scores = {
        lang: sum(words[w] for w in vocabulary.split()) for lang, vocabulary in _MARKERS.items()
    }
    best = max(scores, key=scores.get)
    return best if scores[best] > 0 else None
