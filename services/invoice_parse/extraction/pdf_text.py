"""PDF bytes -> text, in memory, under hard limits.

pypdf cannot be interrupted from another thread, and a crafted file can make it spin or
allocate without bound. So parsing runs in a worker process (forked from a small
forkserver, never from the service process itself, whose gRPC and logging threads make a
plain fork unsafe). The parent waits at most the time limit per document and kills the
worker after; a new one starts for the next document. The worker also caps its own
address space and pypdf's decompression budgets. Documents travel over a pipe; nothing
is written to disk. A long-lived worker serves many documents, so a document costs no
process start (measured by the benchmark).
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import resource
import threading
from functools import cache
from multiprocessing.connection import Connection

from services.invoice_parse.extraction.limits import DEFAULT_LIMITS, InvoiceRejected, Limits

_PDF_MAGIC = b"%PDF-"
# Real PDFs may carry a little junk before the header; readers accept it within 1 KiB.
_MAGIC_WINDOW = 1024
# Reasons after which the worker's heap may be bloated or damaged: it exits after replying.
_RETIRE_AFTER = frozenset({"decompression_bomb"})


class PdfTextWorker:
    """A reusable PDF-to-text process. Build one per service process at start-up (or use
    it as a context manager); it is thread-safe, one document at a time."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS, max_documents: int = 1000) -> None:
        self._limits = limits
        # Recycling bounds whatever memory pypdf's caches and fragmentation accumulate.
        self._max_documents = max_documents
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._served = 0

    def __enter__(self) -> PdfTextWorker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def extract(self, pdf_bytes: bytes, limits: Limits | None = None) -> str:
        """Layout-preserving text of every page; InvoiceRejected when a limit is broken.
        (The memory cap is the worker's, set from the limits it was built with.)"""
        limits = limits or self._limits
        check_envelope(pdf_bytes, limits)
        with self._lock:
            conn = self._ready_connection()
            try:
                conn.send((pdf_bytes, limits))
                if not conn.poll(limits.timeout_seconds):
                    self._stop()
                    raise InvoiceRejected("timeout", f"no result in {limits.timeout_seconds}s")
                outcome, payload = conn.recv()
            except (EOFError, OSError) as exc:
                # The worker died mid-document (a crash inside the parser): the document
                # broke it. The next document gets a fresh worker.
                self._stop()
                raise InvoiceRejected("malformed", "extraction process died") from exc
            self._served += 1
            retiring = outcome == "rejected" and payload[0] in _RETIRE_AFTER
            if retiring or self._served >= self._max_documents:
                self._stop()
        if outcome == "rejected":
            raise InvoiceRejected(*payload)
        return payload

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _ready_connection(self) -> Connection:
        if self._process is None or not self._process.is_alive():
            self._stop()
            context = _process_context()
            parent_end, child_end = context.Pipe(duplex=True)
            self._process = context.Process(
                target=_worker_main, args=(child_end, self._limits), daemon=True
            )
            self._process.start()
            child_end.close()
            self._conn, self._served = parent_end, 0
        return self._conn

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(1)
        self._process, self._conn = None, None


def pdf_to_text(pdf_bytes: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    """One-off extraction in a fresh worker (costs a process start; services keep a
    PdfTextWorker instead)."""
    check_envelope(pdf_bytes, limits)
    with PdfTextWorker(limits) as worker:
        return worker.extract(pdf_bytes, limits)


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


def _worker_main(conn: Connection, limits: Limits) -> None:
    _cap_memory(limits.max_child_memory_bytes)
    # pypdf warns about every repaired defect on stderr; the outcome already says enough,
    # and the service's logs must stay one JSON object per line.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    while True:
        try:
            pdf_bytes, request_limits = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe
        outcome = _extract_outcome(pdf_bytes, request_limits)
        del pdf_bytes
        conn.send(outcome)
        if outcome[0] == "rejected" and outcome[1][0] in _RETIRE_AFTER:
            return


def _extract_outcome(pdf_bytes: bytes, limits: Limits) -> tuple[str, object]:
    try:
        return "ok", extract_text_unguarded(pdf_bytes, limits)
    except InvoiceRejected as exc:
        return "rejected", (exc.reason, exc.detail)
    except MemoryError:
        return "rejected", ("decompression_bomb", "memory cap reached")
    except RecursionError:
        return "rejected", ("malformed", "nesting too deep")
    except Exception as exc:  # noqa: BLE001 - any parser failure means a broken document
        return "rejected", ("malformed", type(exc).__name__)


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
