"""Structural checks of a PDF with pypdf before any text engine touches it.

pypdf budgets every decompression, so it is the one to decode the streams a text engine
would decode (page contents, form XObjects, ToUnicode maps): a bomb trips the budget here
and is refused by name, instead of exhausting memory later. Also decides encryption and
page count. Runs inside the extraction worker.
"""

from __future__ import annotations

import io

from services.invoice_parse.extraction.limits import InvoiceRejected, Limits

# Form XObjects may nest; deeper than this is not an invoice.
_MAX_FORM_DEPTH = 4


def open_checked(pdf_bytes: bytes, limits: Limits):
    """A pypdf reader for a PDF that passed every check, and the password that opened it
    ("" for owner-only encryption, None when not encrypted)."""
    import pypdf
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError

    budget = limits.max_stream_bytes
    with pypdf.apply_configuration(
        zlib_maximum_output_length=budget,
        lzw_maximum_output_length=budget,
        run_length_maximum_output_length=budget,
        array_based_stream_maximum_output_length=budget,
        maximum_declared_stream_length=budget,
        stream_decoding_work_maximum_length=budget * 4,
        image_maximum_buffer_size=budget,
    ):
        try:
            reader = pypdf.PdfReader(io.BytesIO(pdf_bytes))
            password = _unlock(reader)
            page_count = len(reader.pages)
            if page_count > limits.max_pages:
                raise InvoiceRejected("too_many_pages", f"{page_count} > {limits.max_pages}")
            decoded = sum(_decoded_size(page) for page in reader.pages)
            if decoded > budget * 4:
                raise InvoiceRejected("decompression_bomb", f"{decoded} decoded bytes")
            return reader, password
        except LimitReachedError as exc:
            raise InvoiceRejected("decompression_bomb", str(exc)[:200]) from exc
        except FileNotDecryptedError as exc:
            raise InvoiceRejected("encrypted", "needs a password") from exc
        except PdfReadError as exc:
            raise InvoiceRejected("malformed", str(exc)[:200]) from exc


def pypdf_text(reader, max_chars: int) -> str:
    """Fallback text engine (pure Python, slower) where pdfium is not installed."""
    from pypdf.errors import LimitReachedError

    parts: list[str] = []
    total = 0
    for page in reader.pages:
        try:
            text = page.extract_text(extraction_mode="layout")
        except LimitReachedError:
            raise
        except Exception:  # noqa: BLE001 - layout mode trips on some fonts; plain still reads
            text = page.extract_text()
        parts.append(text)
        total += len(text)
        if total >= max_chars:
            break  # enough: totals sit on the first pages, and more text only costs time
    return "\n".join(parts)[:max_chars]


def _unlock(reader) -> str | None:
    """Many invoices are 'encrypted' with an empty user password (print/copy restrictions
    only); those open. A real password means we cannot read it."""
    if not reader.is_encrypted:
        return None
    try:
        opened = reader.decrypt("")
    except Exception as exc:  # noqa: BLE001 - unsupported algorithm counts as locked
        raise InvoiceRejected("encrypted", type(exc).__name__) from exc
    if not opened:
        raise InvoiceRejected("encrypted", "needs a password")
    return ""


def _decoded_size(page) -> int:
    """Bytes of every stream text extraction decodes for this page (each under budget)."""
    size = 0
    contents = page.get("/Contents")
    if contents is not None:
        contents = contents.get_object()
        streams = contents if isinstance(contents, list) else [contents]
        size += sum(len(s.get_object().get_data()) for s in streams)
    return size + _resources_size(page.get("/Resources"), depth=0)


def _resources_size(resources, depth: int) -> int:
    if resources is None or depth > _MAX_FORM_DEPTH:
        return 0
    resources = resources.get_object()
    size = 0
    for font in _values(resources.get("/Font")):
        to_unicode = font.get("/ToUnicode")
        if to_unicode is not None and hasattr(to_unicode.get_object(), "get_data"):
            size += len(to_unicode.get_object().get_data())
    for xobject in _values(resources.get("/XObject")):
        if xobject.get("/Subtype") == "/Form":
            size += len(xobject.get_data())
            size += _resources_size(xobject.get("/Resources"), depth + 1)
    return size


def _values(dictionary) -> list:
    if dictionary is None:
        return []
    dictionary = dictionary.get_object()
    return (
        [value.get_object() for value in dictionary.values()]
        if hasattr(dictionary, "values")
        else []
    )
