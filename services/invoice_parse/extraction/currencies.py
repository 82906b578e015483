"""Currency knowledge: ISO 4217 minor-unit exponents and the symbols and words that
stand for a currency on an invoice."""

from __future__ import annotations

import re

# ISO 4217 minor units that differ from the usual 2.
_EXPONENT_OVERRIDES = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}

# Codes we recognise next to a number. Kept to real, commonly billed currencies so that
# ordinary upper-case words are never mistaken for one.
ISO_CODES = frozenset(
    (
        "USD EUR GBP DKK SEK NOK CHF PLN CZK HUF RON BGN ISK JPY CNY INR AUD CAD NZD SGD HKD "
        "BRL MXN ZAR KWD BHD OMR JOD TND ILS TRY AED SAR KRW TWD THB MYR IDR PHP VND CLP COP "
        "ARS PEN UAH EGP NGN KES MAD QAR"
    ).split()
)

# Symbols and abbreviations, longest first when matched. "kr" is resolved by language.
SYMBOLS = {
    "US$": "USD",
    "U$S": "USD",
    "CA$": "CAD",
    "C$": "CAD",
    "AU$": "AUD",
    "A$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "MX$": "MXN",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₪": "ILS",
    "₺": "TRY",
    "₴": "UAH",
    "zł": "PLN",
    "Kč": "CZK",
    "Fr.": "CHF",
    "Rs.": "INR",
    "Rs": "INR",
    "kr.": "kr",
    "kr": "kr",
    "Kr.": "kr",
    "Kr": "kr",
    ",-": "",
}
KRONA_BY_LANGUAGE = {"da": "DKK", "sv": "SEK", "no": "NOK"}

_SYMBOL_ALTERNATION = "|".join(
    re.escape(s) for s in sorted((s for s in SYMBOLS if s != ",-"), key=len, reverse=True)
)
# A currency marker: an ISO code or a symbol, not glued to letters around it.
MARKER = rf"(?:(?<![A-Za-z])(?:{'|'.join(sorted(ISO_CODES))})(?![A-Za-z])|{_SYMBOL_ALTERNATION})"


def exponent(currency: str | None) -> int:
    """Minor-unit exponent of an ISO 4217 code (2 when unknown)."""
    return _EXPONENT_OVERRIDES.get(currency or "", 2)


def currency_of_marker(marker: str, language: str | None) -> str | None:
    """ISO code for a marker found next to an amount ("kr" needs the document's language)."""
    marker = marker.strip()
    if marker.upper() in ISO_CODES and marker.isupper():
        return marker.upper()
    code = SYMBOLS.get(marker)
    if code == "kr":
        return KRONA_BY_LANGUAGE.get(language or "")
    return code or None
