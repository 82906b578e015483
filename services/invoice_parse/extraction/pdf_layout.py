"""Fast text with layout from PDFium: words with their boxes, set back into lines.

PDFium (Chrome's PDF engine, C++) reads a page in a few milliseconds where pure-Python
pypdf takes tens. It gives characters in content order with boxes; here words are
grouped into visual rows by baseline and placed at columns proportional to their x, so
table columns stay aligned (two or more spaces between cells, one between words) and the
field finder can read values under their headers. Runs inside the extraction worker.
"""

from __future__ import annotations

import ctypes
import statistics
from dataclasses import dataclass

# Measures in ems, the em estimated from the words themselves (PDFium's font size is the
# nominal one, which a text matrix may scale by any factor). Latin text averages about
# half an em per character...
_CHAR_EM = 0.5
# ...a gap wider than this separates cells, not words (a monospaced space is 0.6 em of
# the nominal size, which the estimate above reads as about 0.5)...
_WORD_GAP_EM = 0.8
# ...baselines closer than this share a row...
_SAME_ROW_EM = 0.5
# ...and a text column is about this wide (average advance of Latin text).
_COLUMN_EM = 0.5


@dataclass(frozen=True)
class Word:
    left: float  # origin of the first character
    right: float  # right edge of the last character's box
    baseline: float
    text: str


def pdfium_available() -> bool:
    try:
        import pypdfium2  # noqa: F401
    except ImportError:
        return False
    return True


def pdfium_text(pdf_bytes: bytes, password: str | None, max_chars: int) -> str:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf_bytes, password=password)
    parts: list[str] = []
    total = 0
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            try:
                text = layout(page_words(textpage.raw))
            finally:
                textpage.close()
                page.close()
            parts.append(text)
            total += len(text)
            if total >= max_chars:
                break
    finally:
        document.close()
    return "\n".join(parts)[:max_chars]


def page_words(textpage) -> list[Word]:
    """Whitespace-separated words of a PDFium text page with their boxes."""
    import pypdfium2.raw as raw

    count = raw.FPDFText_CountChars(textpage)
    if count <= 0:
        return []
    buffer = ctypes.create_string_buffer((count + 1) * 2)
    written = raw.FPDFText_GetText(
        textpage, 0, count, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort))
    )
    # One UTF-16 unit per character index (astral characters would shift indexes: rare
    # in invoices, and then only a box is off, never the text).
    text = buffer.raw[: max(written - 1, 0) * 2].decode("utf-16-le", "replace")
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    origin_x, origin_y = ctypes.c_double(), ctypes.c_double()
    words = []
    start = 0
    length = len(text)
    while start < length:
        if text[start].isspace():
            start += 1
            continue
        end = start
        while end < length and not text[end].isspace():
            end += 1
        # The origin sits on the baseline, so "$" or "g" descenders do not split a row.
        raw.FPDFText_GetCharOrigin(textpage, start, origin_x, origin_y)
        raw.FPDFText_GetCharBox(textpage, end - 1, left, right, bottom, top)
        words.append(Word(origin_x.value, right.value, origin_y.value, text[start:end]))
        start = end
    return words


def layout(words: list[Word]) -> str:
    """Rows of words, top to bottom, each word at a column proportional to its x."""
    if not words:
        return ""
    per_char = [(w.right - w.left) / len(w.text) for w in words if w.right > w.left]
    em = statistics.median(per_char) / _CHAR_EM if per_char else 10.0
    column = em * _COLUMN_EM
    lines = []
    for row in _rows(words, em * _SAME_ROW_EM):
        line, previous_right = "", None
        for word in sorted(row, key=lambda w: w.left):
            if previous_right is not None and word.left - previous_right <= em * _WORD_GAP_EM:
                line += " "
            elif line:
                line += " " * max(2, round(word.left / column) - len(line))
            else:
                line = " " * max(0, round(word.left / column))
            line += word.text
            previous_right = word.right
        lines.append(line)
    return "\n".join(lines)


def _rows(words: list[Word], tolerance: float) -> list[list[Word]]:
    rows: list[list[Word]] = []
    row_baseline = None
    for word in sorted(words, key=lambda w: (-w.baseline, w.left)):
        if row_baseline is None or abs(word.baseline - row_baseline) > tolerance:
            rows.append([])
            row_baseline = word.baseline
        rows[-1].append(word)
    return rows
