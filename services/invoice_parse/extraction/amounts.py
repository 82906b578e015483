"""Money as written on invoices -> integer minor units. Never floats: Decimal in between.

Handles the separators of en/da/de/fr/nl/es/sv/ch writing: `$1,234.56`, `1.234,56 €`,
`kr 1.234,56`, `1 234,56 €`, `USD 80.00`, `CHF 1'234.50`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.invoice_parse.extraction.currencies import MARKER, currency_of_marker, exponent

_SPACE_GROUPED = r"\d{1,3}(?: \d{3})+(?:,\d{1,2}(?!\d)|(?=\s?(?:€|kr|EUR|SEK|DKK|NOK|CHF|PLN)))"
_NUMBER = re.compile(
    rf"(?<![\w.,'/])(?P<sign>[-−](?=\s?\d))?(?P<num>{_SPACE_GROUPED}|\d[\d.,']*\d|\d)"
    r"(?![\w/]|\s?%)"
)
# Layout text may put the currency in its own column: any run of spaces may separate it.
_MARKER_BEFORE = re.compile(
    rf"(?P<outer_sign>(?<![\w.,])[-−])?(?P<marker>{MARKER})\s*(?P<sign>[-−])?\s?$"
)
_MARKER_AFTER = re.compile(rf"^\s?(?P<marker>{MARKER})(?![A-Za-z])")

_NARROW_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


class AmountError(ValueError):
    """The text is not a money amount we can read unambiguously."""


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str | None


@dataclass(frozen=True)
class AmountMatch:
    """A number found in a line, with the currency marker written next to it if any."""

    start: int
    end: int
    value: Decimal
    currency: str | None
    has_marker: bool
    has_decimals: bool

    @property
    def looks_like_money(self) -> bool:
        # Bare integers are quantities, years, account numbers: money needs a marker or cents.
        return self.has_marker or self.has_decimals


def interpret_number(raw: str, three_decimals: bool = False) -> tuple[Decimal, bool]:
    """Decimal value of a written number and whether it had a fractional part.

    A single separator followed by exactly three digits is a thousands separator
    ("1,234" = 1234) unless the currency has three decimals (KWD, BHD...).
    """
    text = raw.strip().replace("\u00a0", " ").replace("\u202f", " ")
    if not re.fullmatch(r"\d[\d.,' ]*", text) or not text[-1].isdigit():
        raise AmountError(f"not a number: {raw!r}")
    decimal_sep = _decimal_separator(text, three_decimals)
    if decimal_sep:
        whole, frac = text.rsplit(decimal_sep, 1)
    else:
        whole, frac = text, ""
    groups = re.split(r"[.,' ]", whole)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise AmountError(f"bad digit grouping: {raw!r}")
    if len(set(re.findall(r"[.,' ]", whole))) > 1:
        raise AmountError(f"mixed thousands separators: {raw!r}")
    digits = "".join(groups) + ("." + frac if frac else "")
    return Decimal(digits), bool(frac)


def _decimal_separator(text: str, three_decimals: bool) -> str | None:
    marks = [c for c in text if c in ".,"]
    if not marks:
        return None
    last = marks[-1]
    if len(set(marks)) == 2:
        return last
    if len(marks) > 1:
        return None  # "3.441.812": only thousands
    frac_len = len(text) - text.rindex(last) - 1
    if frac_len == 3 and not three_decimals and not text.startswith("0" + last):
        return None
    return last


def to_minor(value: Decimal, currency: str | None) -> int:
    """Integer minor units of `value` in `currency`, rounding half up."""
    scaled = value * (Decimal(10) ** exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_minor(minor: int, currency: str | None) -> str:
    """ "11900", "EUR" -> "119.00" (plain decimal string, no grouping)."""
    exp = exponent(currency)
    value = Decimal(minor).scaleb(-exp)
    return f"{value:.{exp}f}"


def find_amounts(line: str, language: str | None = None) -> list[AmountMatch]:
    """Every readable number in a line, left to right, with its adjacent currency marker."""
    found = []
    line = line.translate(_NARROW_SPACES)  # same length: offsets stay valid
    for match in _NUMBER.finditer(line):
        raw = match.group("num")
        before = _MARKER_BEFORE.search(line[max(0, match.start() - 32) : match.start()])
        after = _MARKER_AFTER.match(line[match.end() : match.end() + 6])
        # "$120.00 CAD": the ISO code is the more precise of two markers.
        marker = after if after and (not before or after.group("marker").isupper()) else before
        currency = currency_of_marker(marker.group("marker"), language) if marker else None
        try:
            value, has_decimals = interpret_number(raw, three_decimals=exponent(currency) == 3)
        except AmountError:
            continue
        # "-9,32 €", "€ -9,32" and "-$9.32" are all negative.
        negative = bool(match.group("sign")) or bool(
            before and (before.group("sign") or before.group("outer_sign"))
        )
        found.append(
            AmountMatch(
                start=match.start(),
                end=match.end(),
                value=-value if negative else value,
                currency=currency,
                has_marker=marker is not None,
                has_decimals=has_decimals,
            )
        )
    return found


def parse_amount(text: str, currency: str | None = None, language: str | None = None) -> Money:
    """Read one written amount such as "1.234,56 €" into Money (minor units).

    `currency` is used when the text carries no marker of its own.
    """
    money = [a for a in find_amounts(text, language) if a.looks_like_money]
    if len(money) != 1:
        raise AmountError(f"expected exactly one amount in {text!r}")
    amount = money[0]
    code = amount.currency or currency
    return Money(minor=to_minor(amount.value, code), currency=code)
