"""Reading a page laid out as text: columns are runs separated by two or more spaces.

Tables put a label in a header row and its value in the row below, in the same column;
`value_below` finds that value by matching columns, which is what makes label lookups
work without a template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COLUMN_GAP = re.compile(r"\S+(?: \S+)*")
# How far a value's centre may sit from its header's centre and still belong to it.
_MAX_CENTRE_DISTANCE = 24


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    text: str

    @property
    def centre(self) -> float:
        return (self.start + self.end) / 2


def segments(line: str) -> list[Segment]:
    """The line's column runs (text separated by at least two spaces)."""
    return [Segment(m.start(), m.end(), m.group()) for m in _COLUMN_GAP.finditer(line)]


def segment_at(line: str, position: int) -> Segment | None:
    for segment in segments(line):
        if segment.start <= position < segment.end:
            return segment
    return None


def value_below(lines: list[str], index: int, position: int, look_ahead: int = 3) -> str | None:
    """Text of the cell under the column holding `position` in lines[index].

    Looks at the first non-blank line below (blank lines skipped, at most `look_ahead`
    lines); each cell there belongs to the header cell whose centre is nearest.
    """
    headers = segments(lines[index])
    header = next((h for h in headers if h.start <= position < h.end), None)
    if header is None:
        return None
    for below in lines[index + 1 : index + 1 + look_ahead]:
        cells = segments(below)
        if not cells:
            continue
        mine = [cell for cell in cells if _nearest(cell, headers) is header]
        return mine[0].text if mine else None
    return None


def _nearest(cell: Segment, headers: list[Segment]) -> Segment | None:
    best = min(headers, key=lambda h: abs(h.centre - cell.centre))
    overlaps = best.start <= cell.end and cell.start <= best.end
    if overlaps or abs(best.centre - cell.centre) <= _MAX_CENTRE_DISTANCE:
        return best
    return None
