"""Dates as written on invoices in en/da/de/fr/nl/es/sv (and their neighbours): ISO,
numeric day-month-year with the ambiguity resolved per document, and month names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache

# Month words (accents stripped, lower case) -> month number. Shared spellings across
# languages agree on the month, so one table serves them all.
_MONTH_WORDS = {
    1: "january jan januar jänner janvier janv januari enero ene gennaio janeiro",
    2: "february feb febr februar fevrier fevr fev februari febrero febbraio fevereiro",
    3: "march mar marz maerz mrz mars maart mrt marts marzo marco",
    4: "april apr avril abril aprile",
    5: "may mai mei maj mayo maggio maio",
    6: "june jun juni juin junio giugno junho",
    7: "july jul juli juillet juil julio luglio julho",
    8: "august aug aout augustus augusti agosto ago",
    9: "september sep sept septembre septiembre setiembre settembre setembro",
    10: "october oct okt oktober octobre octubre ottobre outubro out",
    11: "november nov novembre noviembre novembro",
    12: "december dec dez dezember decembre dic diciembre dicembre dezembro",
}
MONTHS = {word: number for number, words in _MONTH_WORDS.items() for word in words.split()}
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))

_DAY = r"(?P<day>[0-3]?\d)(?:\.|st|nd|rd|th|er|e|º|°)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_MONTH = rf"(?P<month>{_MONTH_ALT})\.?"
_DAY_MONTH_YEAR = rf"{_DAY}\s*(?:de\s+|-|/)?{_MONTH}\s*(?:de\s+|del\s+|,\s*|-|/)?{_YEAR}"
_MONTH_DAY_YEAR = rf"{_MONTH}\s+{_DAY}\s*,?\s*{_YEAR}"
_ISO = r"(?P<iy>(?:19|20)\d{2})(?P<isep>[-/.])(?P<im>[01]?\d)(?P=isep)(?P<id>[0-3]?\d)"
_NUMERIC = r"(?P<a>[0-3]?\d)(?P<nsep>[./-])(?P<b>[01]?\d|[0-3]?\d)(?P=nsep)(?P<ny>(?:19|20)?\d{2})"

# The month-first form reuses the group names with an "m" prefix (names must be unique).
_MONTH_DAY_YEAR_M = _MONTH_DAY_YEAR.replace("?P<", "?P<m")
# Digits may not follow "-" or "/" (inside a longer number or date); a month name may
# ("Mar 03, 2024-Apr 02, 2024").
_DATE = re.compile(
    rf"(?:(?<![\w.,/-])(?:{_ISO}|{_NUMERIC}|(?:{_DAY_MONTH_YEAR}))"
    rf"|(?<![\w])(?:{_MONTH_DAY_YEAR_M}))"
    r"(?![\w/]|[.-]\d)",
    re.IGNORECASE,
)
_NUMERIC_ONLY = re.compile(rf"(?<![\w.,/-]){_NUMERIC}(?![\w/]|[.-]\d)")
_DAY_MONTH_ONLY = re.compile(
    rf"(?:{_DAY}\s*{_MONTH}|{_MONTH.replace('?P<', '?P<m')}\s+{_DAY.replace('?P<', '?P<m')})\s*$",
    re.IGNORECASE,
)
_NUMERIC_DAY_MONTH_ONLY = re.compile(r"(?<![\d.])(?P<a>[0-3]?\d)[./](?P<b>[01]?\d)\.?\s*$")
_DAY_ONLY = re.compile(rf"(?<![\d.,])\b{_DAY}\s*$", re.IGNORECASE)
# Words and dashes between the two ends of a period, in the languages we read.
RANGE_SEPARATOR = re.compile(
    r"\s*(?:[-–—~]|to|till|until|through|thru|bis|au|tot|t/m|al|a|hasta|til|à)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateMatch:
    start: int
    end: int
    value: date


def fold(text: str) -> str:
    """Lower case without accents: "Février" -> "fevrier"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def numeric_order(text: str, prefer_month_first: bool = False) -> bool:
    """True when the document writes numeric dates month-first (US style).

    Decided by any unambiguous date in the document (a first number above 12 means
    day-first, a second above 12 means month-first), else by the caller's hint.
    """
    for match in _NUMERIC_ONLY.finditer(text):
        if match.group("a"):
            a, b = int(match.group("a")), int(match.group("b"))
            if a > 12 >= b:
                return False
            if b > 12 >= a:
                return True
    return prefer_month_first


def find_dates(line: str, month_first: bool = False) -> list[DateMatch]:
    """Every valid calendar date written in the line, left to right."""
    found = []
    for match in _DATE.finditer(fold_keep_length(line)):
        value = _to_date(match, month_first)
        if value is not None:
            found.append(DateMatch(match.start(), match.end(), value))
    return found


def fold_keep_length(text: str) -> str:
    """Accent-folded lower case with one output character per input character, so match
    offsets still point into the original line."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


@cache
def _fold_char(char: str) -> str:
    return (fold(char) or char)[:1]


def parse_date(text: str, month_first: bool = False) -> date:
    """The single date in `text`; ValueError when there is none."""
    dates = find_dates(text, month_first)
    if not dates:
        raise ValueError(f"no date in {text!r}")
    return dates[0].value


def partial_date_before(
    text: str, end: date, month_first: bool = False
) -> tuple[date, bool] | None:
    """The start of a range written short before its end date: "Nov 1 –", "du 1er au",
    "01.05 -": missing month and year come from the end date. Returns the start and
    whether its month was written (a lone day number is weaker evidence of a range)."""
    separator = RANGE_SEPARATOR.search(text)
    if not separator:
        return None
    folded = fold_keep_length(text[: separator.start()])
    for pattern in (_DAY_MONTH_ONLY, _NUMERIC_DAY_MONTH_ONLY, _DAY_ONLY):
        match = pattern.search(folded)
        if not match:
            continue
        groups = {k: v for k, v in match.groupdict().items() if v}
        day = int(groups.get("day") or groups.get("mday") or groups.get("a") or 0)
        month = end.month
        if "b" in groups:
            day, month = (int(groups["b"]), day) if month_first else (day, int(groups["b"]))
        elif groups.get("month") or groups.get("mmonth"):
            month = MONTHS[groups.get("month") or groups["mmonth"]]
        year = end.year if month <= end.month else end.year - 1
        try:
            return date(year, month, day), pattern is not _DAY_ONLY
        except ValueError:
            return None
    return None


def _to_date(match: re.Match, month_first: bool) -> date | None:
    g = match.groupdict()
    try:
        if g["iy"]:
            return date(int(g["iy"]), int(g["im"]), int(g["id"]))
        if g["a"]:
            a, b, year = int(g["a"]), int(g["b"]), _full_year(g["ny"])
            if a > 12 or (b <= 12 and not month_first):
                return date(year, b, a)
            return date(year, a, b)
        if g["day"]:
            return date(int(g["year"]), MONTHS[g["month"]], int(g["day"]))
        return date(int(g["myear"]), MONTHS[g["mmonth"]], int(g["mday"]))
    except (ValueError, KeyError):
        return None


def _full_year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year
