"""Field labels in the languages our customers' vendors write invoices in (en, da, de,
fr, nl, es, sv, and neighbours), as regular expressions over accent-folded lower case.

Each field has tiers: a higher tier is a more specific label and wins over a lower one
(an "amount due" beats a bare "total"). Negative labels name look-alikes (subtotal, due
date, VAT number) whose matches veto any positive label they overlap.
"""

from __future__ import annotations

import re
from functools import cache


def _alternation(words: str) -> str:
    """Top-level alternatives, longest first, so "total due" is tried before "total"."""
    # A line break inside a group would otherwise leave a space in front of an alternative.
    normalized = " ".join(words.split()).replace("| ", "|")
    phrases = (p.strip() for p in _top_level(normalized))
    return "|".join(sorted((p for p in phrases if p), key=len, reverse=True))


TOTAL_LABELS = {
    3: r"""amount due|total due|balance due|amount paid|total paid|amount charged|total charged|
        total amount due|amount to pay|total to pay|amount payable|total payable|grand total|
        invoice total|invoice amount|total for this invoice|total amount payable|total amount|
        total (?:\(?incl\.?|including|inc\.?|with) (?:tax|vat|gst)\)?|payment total|
        gesamtbetrag|rechnungsbetrag|endbetrag|zahlbetrag|zu zahlen(?:der betrag)?|gesamtsumme|
        bruttobetrag|rechnungssumme|summe brutto|gesamt brutto|total brutto|
        total ttc|montant ttc|net a payer|somme a payer|montant a payer|total a payer|
        montant total|total facture ttc|
        te betalen|totaalbedrag|factuur totaal|factuurbedrag|totaal te betalen|te voldoen|
        totaal incl(?:\.|usief)? btw|
        total a pagar|importe total|total factura|importe a pagar|total iva incluido|
        att betala|summa att betala|totalt att betala|totalbelopp|fakturabelopp|
        belopp att betala|at betale|total at betale|beløb i alt|i alt at betale|
        fakturabeløb|totalbeløb|samlet beløb|total inkl\.? moms|i alt inkl\.? moms|
        beløp å betale|å betale|naleznosc ogołem|do zapłaty|totale da pagare|importo totale|
        bezahlter betrag|gezahlter betrag|fälliger betrag|faelliger betrag|offener betrag|
        montant paye|montant regle|montant du|
        betaald bedrag|bedrag betaald|verschuldigd bedrag|openstaand bedrag|
        importe pagado|total pagado|importe adeudado|monto pagado|
        betalt belopp|belopp betalt|att betala totalt|
        betalt beløb|beløb betalt|skyldigt beløb""",
    2: r"""total|totaal|totalt|totale|gesamt|summe|i alt|razem|total eur|total facture""",
}
TOTAL_NEGATIVE = r"""subtotal|sub-total|sub total|zwischensumme|sous-total|sous total|subtotaal|
    delsumma|delsum|subtotale|total ht|total h\.t\.?|total hors taxes?|montant ht|
    total (?:\(?excl\.?|excluding|ex\.?|exkl\.?|before|net|netto|ohne|sans|zonder|exclusief|
    uden|utan|sin)\b[^\d]{0,12}|net total|nettobetrag|summe netto|gesamt netto|
    exclusief btw|excl\.? btw|excl\.? vat|totaal excl|before tax|
    total (?:tax|vat|tva|btw|iva|moms|mwst|ust|gst)(?: amount)?|tax total|vat total|
    total (?:discount|savings|quantity|qty|items|units|weight|hours|pages|credits?)|
    total (?:\w+ )?usage|grundlag|grondslag|base imponible|balance \(?if any\)?"""

NUMBER_WORDS = (
    r"invoice|receipt|bill|document|rechnung|beleg|facture|factuur|factura|faktura|"
    r"fattura|kvittering|kvitto|quittung|recu|recibo|credit note|gutschrift|avoir|nota"
)
# Words that name the document on their own ("Invoice INV-0008"); "bill"/"document"/"nota"
# are too common in prose to stand without a "number" word.
BARE_NUMBER_WORDS = (
    r"invoice|receipt|rechnung|facture|factuur|factura|faktura|fattura|kvittering|kvitto|"
    r"quittung|recu|recibo|credit note|gutschrift"
)
_NUMBER_SUFFIX = r"number|numbers|nummer|numero|num\.?|no\.?|nr\.?|n°|nº|#|id|ref\.?|reference"
NUMBER_COMPOUNDS = r"""rechnungsnummer|rechnungsnr\.?|rechnungs-nr\.?|belegnummer|belegnr\.?|
    factuurnummer|factuurnr\.?|fakturanummer|fakturanr\.?|
    numero de (?:la )?facture|n° de facture|no de facture|numero de (?:la )?factura|
    n° de factura|nº de factura|no\. de factura|numero fattura|kvitteringsnummer|
    kvittonummer|quittungsnummer|numero de recu|numero de recibo|ontvangstbewijsnummer|
    reference number|invoice reference"""
NUMBER_WEAK = r"booking id|booking reference|reservation number|confirmation number"
# Words that, right after a bare "invoice"/"factuur", show the label is about something else.
_NOT_A_NUMBER_AFTER = (
    r"date|datum|dato|fecha|data|total|totaal|totalt|amount|adres|address|adresse|bedrag|"
    r"betrag|summary|period|periode|to|for|from|is|was|has|de|du|van"
)

DATE_LABELS = {
    3: r"""invoice date|date of issue|issue date|date issued|issued on|invoice issued|
        billing date|date of invoice|receipt date|invoice date and time|
        rechnungsdatum|belegdatum|ausstellungsdatum|rechnungsdatum/leistungsdatum|
        date de (?:la )?facture|date de facturation|date d'emission|date facture|
        factuurdatum|factuur datum|fecha de (?:la )?factura|fecha de emision|fecha factura|
        fakturadatum|fakturadato|faktureringsdato|data wystawienia|data faktury|
        data fattura|data da fatura|uitgiftedatum|utfardandedatum|udstedelsesdato|
        ausstellungsdatum""",
    2: r"""date paid|payment date|paid on|zahlungsdatum|bezahlt am|date de paiement|
        paye le|betaaldatum|betaald op|fecha de pago|pagado el|betalningsdatum|betalt den|
        betalingsdato|betalt den|date|datum|dato|fecha|data""",
}
DATE_NEGATIVE = r"""due date|date due|payment due|due on|due by|pay by|fälligkeitsdatum|
    faelligkeitsdatum|fallig(?:keit)?|zahlungsziel|date d'echeance|echeance|date limite|
    vervaldatum|vervaldag|fecha de vencimiento|vencimiento|forfaldsdato|förfallodatum|
    forfallodatum|forfallsdato|sista betalningsdag|betalingsfrist|order date|orderdatum|
    bestelldatum|date de commande|fecha de pedido|fecha del pedido|orderdato|
    beställningsdatum|bestillingsdato|delivery date|lieferdatum|leveringsdato|leveransdatum|
    leverdatum|date de livraison|check in|check out|start date|end date|date of birth|
    data sprzedazy|datum levering|next billing date|renewal date"""

TAX_LABELS = {
    2: r"""total tax|total vat|tax total|vat total|tax amount|vat amount|total sales tax|
        mwst\.?-betrag|mwst\.? betrag|ust\.?-betrag|umsatzsteuerbetrag|montant tva|total tva|
        montant de la tva|btw bedrag|btw-bedrag|totaal btw|importe iva|total iva|cuota iva|
        momsbelopp|moms i alt|total moms|momsbeløb|kwota vat|mva-beløp""",
    1: r"""tax|vat|mwst\.?|ust\.?|umsatzsteuer|mehrwertsteuer|tva|btw|iva|moms|gst|hst|pst|
        qst|mva|igst|cgst|sgst|sales tax""",
}
TAX_NEGATIVE = r"""tax id|tax number|tax no|tax reg\w*|vat number|vat no|vat reg\w*|vat id|
    vat/tin|tax/tin|btw[- ]?nummer|btw[- ]?nr|btw[- ]?id|ust[- ]?id\w*|ustid\w*|
    tva intra\w*|n° de tva|numero de tva|n° tva|momsnummer|momsnr|momsreg\w*|
    incl\.? (?:tax|vat|btw|moms|mwst|tva|iva|gst)|inkl\.? (?:moms|mwst|mva)|
    incluido iva|iva incluido|inclusief btw|exclusief btw|excl\.? (?:tax|vat|btw|moms)|
    excluding (?:tax|vat|mwst|moms)|including (?:tax|vat|mwst|moms)|
    before (?:tax|vat|mwst|moms)|after (?:tax|vat|mwst|moms)|plus (?:tax|vat|mwst|moms)|
    zzgl\.? (?:tax|vat|mwst|moms)|inkl\.? (?:tax|vat|mwst|moms)|exkl\.? (?:tax|vat|mwst|moms)|
    prices include|prijzen zijn|exclusive of|inclusive of|tax exempt|reverse charge|gstin|
    service tax #|gst(?:in)? no|steuer-nr|steuernummer|tax invoice|vat invoice|
    not a vat invoice|sales tax, vat|tax\(%\)|tax \(%\)|before tax|after tax|
    incl\.? mwst|excl\.? mwst|ohne\.? mwst|mit\.? mwst|zzgl\.? mwst|inkl\.? mwst|
    mwst\.? ?%|ttc|ht"""

PERIOD_WORDS = r"""period|periode|période|periodo|perioden|zeitraum|leistungszeitraum|
    abrechnungszeitraum|billing cycle|service|subscription|abonnement|from|du|von|vom|fra|
    från|desde|van|for"""


def _boundary(pattern: str) -> str:
    return rf"(?<![\w]){pattern}(?![\w])"


@cache
def compiled(pattern: str) -> re.Pattern:
    """Compile a label alternation with word boundaries (cached: the vocabulary is constant)."""
    body = _alternation(pattern)
    grouped = _grouped_by_first_letter(_top_level(body))
    if grouped is None:
        return re.compile(_boundary(f"(?:{body})"))
    return re.compile(f"(?:{grouped})(?![\\w])")


def _top_level(body: str) -> list[str]:
    """The alternatives of a regex alternation as the regex engine sees them (escapes and
    character classes respected), in order."""
    alternatives, current, depth, index = [], [], 0, 0
    in_class = False
    while index < len(body):
        char = body[index]
        if char == "\\":
            current.append(body[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            alternatives.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    alternatives.append("".join(current))
    return alternatives


def _grouped_by_first_letter(alternatives: list[str]) -> str | None:
    """The same alternation regrouped as `a(?:lt1|lt2)|b(?:...)`, or None when an
    alternative does not start with a plain letter.

    Why: Python's regex engine tries every alternative at every position, and a leading
    look-behind hides the first letters from its scanner. Grouped, the alternation starts
    with literals, so the engine skips positions whose letter begins no label and tries
    one group where one does: about five times faster on invoices. Alternatives with
    different first letters never match at the same position, so the matches are the same.
    The word-boundary look-behind moves after the first letter: `(?<!\\w.)` there is
    "no word character before the label"."""
    groups: dict[str, list[str]] = {}
    for alternative in alternatives:
        first, following = alternative[:1], alternative[1:2]
        if not (first.isalnum() or first == "°") or following in ("?", "*", "+", "{"):
            return None
        groups.setdefault(first, []).append(alternative[1:])
    return "|".join(
        f"{re.escape(first)}(?<!\\w.)(?:{'|'.join(rests)})" for first, rests in groups.items()
    )


@cache
def number_label() -> re.Pattern:
    """An invoice-number label followed by its separators; the value starts at match end.

    Group `tier3` is a compound or a "<word> number" form, `bare` a lone document word,
    `weak` a booking reference or a lone "#" that opens a column.
    """
    compounds = _alternation(NUMBER_COMPOUNDS)
    words = NUMBER_WORDS
    suffix = _NUMBER_SUFFIX
    # Separators stay on the label's line: a value is never taken from the next line here.
    separators = r"[ \t]*(?:[:.][ \t]*)?(?:#[ \t]*)?(?:[:.][ \t]*)?"
    return re.compile(
        _starts_with_any(compounds, words, BARE_NUMBER_WORDS, NUMBER_WEAK)
        + rf"(?:(?<![\w])(?P<tier3>(?:{compounds})|(?:{words})[ \t]*-?[ \t]*(?:{suffix})(?![a-z]))"
        rf"|(?<![\w])(?P<bare>{BARE_NUMBER_WORDS})(?![\w])(?!\s*(?:{_NOT_A_NUMBER_AFTER})(?![\w]))"
        rf"|(?P<weak>(?<![\w])(?:{NUMBER_WEAK})(?![\w])|^[ \t]*#|(?<=\s\s)#)){separators}",
        re.MULTILINE,
    )


def _starts_with_any(*alternations: str) -> str:
    """A look-ahead that lets through only positions where a label can start: a first
    letter of one of the alternatives, a "#", or a line start (for "^ *#").

    Why: the number pattern opens with look-behinds and named groups, which hide its first
    letters from the regex engine's scanner; without this it tries the whole pattern at
    every position (about three times slower)."""
    firsts = {alternative[:1] for body in alternations for alternative in _top_level(body)}
    if not all(first.isalpha() for first in firsts):
        return ""
    return f"(?=[{''.join(sorted(firsts))}#]|^)"
