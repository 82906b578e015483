"""PDF bytes -> text, in memory, under hard limits.

pypdf cannot be interrupted from another thread, and a crafted file can make it spin or
allocate without bound. So the parsing runs in a child process forked from a small
forkserver (never from the service process itself, whose gRPC and logging threads make a
plain fork unsafe): the parent waits at most the time limit and kills the child after.
The child also caps its own address space and pypdf's decompression budgets. The
document travels over a pipe; nothing is written to disk.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import resource
from functools import cache
from multiprocessing.connection import Connection

from services.invoice_parse.extraction.limits import DEFAULT_LIMITS, InvoiceRejected, Limits

_PDF_MAGIC = b"%PDF-"
# Real PDFs may carry a little junk before the header; readers accept it within 1 KiB.
_MAGIC_WINDOW = 1024


def pdf_to_text(pdf_bytes: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    """Layout-preserving text of every page; InvoiceRejected when the PDF breaks a limit."""
    check_envelope(pdf_bytes, limits)
    context = _process_context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(sender, pdf_bytes, limits), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.timeout_seconds):
            raise InvoiceRejected("timeout", f"no result within {limits.timeout_seconds}s")
        try:
            outcome, payload = receiver.recv()
        except (EOFError, OSError) as exc:
            # The child died without answering: killed by its memory cap or crashed inside
            # a C extension. Either way the document is what broke it.
            raise InvoiceRejected("decompression_bomb", "extraction process died") from exc
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(1)
    if outcome == "rejected":
        raise InvoiceRejected(*payload)
    return payload


def check_envelope(pdf_bytes: bytes, limits: Limits) -> None:
    """Cheap checks done before paying for a process."""
    if len(pdf_bytes) > limits.max_bytes:
        raise InvoiceRejected("too_large", f"{len(pdf_bytes)} bytes > {limits.max_bytes}")
    if _PDF_MAGIC not in pdf_bytes[:_MAGIC_WINDOW]:
        raise InvoiceRejected("not_pdf", "no %PDF- header")


@cache
def _process_context() -> multiprocessing.context.BaseContext:
    # Cached so the forkserver (and its preloaded pypdf) is started once per process.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pypdf", __name__])
    return context


def _child_main(sender: Connection, pdf_bytes: bytes, limits: Limits) -> None:
    _cap_memory(limits.max_child_memory_bytes)
    # pypdf warns about every repaired defect on stderr; the outcome already says enough,
    # and the service's logs must stay one JSON object per line.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        sender.send(("ok", extract_text_unguarded(pdf_bytes, limits)))
    except InvoiceRejected as exc:
        sender.send(("rejected", (exc.reason, exc.detail)))
    except MemoryError:
        sender.send(("rejected", ("decompression_bomb", "memory cap reached")))
    except Exception as exc:  # noqa: BLE001 - any parser failure means a broken document
        sender.send(("rejected", ("malformed", type(exc).__name__)))
    finally:
        sender.close()


def _cap_memory(max_bytes: int) -> None:
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = max_bytes if hard == resource.RLIM_INFINITY else min(max_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        pass  # not permitted here: the time limit and pypdf's budgets still apply


def extract_text_unguarded(pdf_bytes: bytes, limits: Limits) -> str:
    """The extraction itself, with pypdf's own budgets but no time limit: only call it in
    a process that may be killed (the child above), or on trusted test input."""
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
            _unlock(reader)
            page_count = len(reader.pages)
            if page_count > limits.max_pages:
                raise InvoiceRejected("too_many_pages", f"{page_count} > {limits.max_pages}")
            return _pages_text(reader, limits.max_chars)
        except LimitReachedError as exc:
            raise InvoiceRejected("decompression_bomb", str(exc)[:200]) from exc
        except FileNotDecryptedError as exc:
            raise InvoiceRejected("encrypted", "needs a password") from exc
        except PdfReadError as exc:
            raise InvoiceRejected("malformed", str(exc)[:200]) from exc


def _unlock(reader) -> None:
    """Many invoices are 'encrypted' with an empty user password (print/copy restrictions
    only); those open. A real password means we cannot read it."""
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # noqa: BLE001 - unsupported algorithm counts as locked
            raise InvoiceRejected("encrypted", type(exc).__name__) from exc
        if not opened:
            raise InvoiceRejected("encrypted", "needs a password")


def _pages_text(reader, max_chars: int) -> str:
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
