"""PDF bytes -> text, in memory, under hard limits.

Parsers cannot be interrupted from another thread, and a crafted file can make one spin,
allocate without bound or crash (PDFium is C++). So parsing runs in a worker process,
forked from a small forkserver (never from the service process itself, whose gRPC and
logging threads make a plain fork unsafe). The parent waits at most the time limit per
document and kills the worker after; a new one starts for the next document. The worker
caps its own address space, and pypdf checks structure and decompression budgets before
PDFium reads the text (pdf_gate, pdf_layout). Documents travel over a pipe; nothing is
written to disk. A long-lived worker serves many documents, so a document costs no
process start (the benchmark measures what the isolation costs).
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import threading
from functools import cache
from multiprocessing.connection import Connection

from services.invoice_parse.extraction.limits import DEFAULT_LIMITS, InvoiceRejected, Limits
from services.invoice_parse.extraction.pdf_gate import open_checked, pypdf_text
from services.invoice_parse.extraction.pdf_layout import pdfium_available, pdfium_text

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
    context.set_forkserver_preload(["pypdf", "pypdfium2", __name__])
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
    """The extraction itself: pypdf's structural checks, then PDFium's fast layout text
    (pypdf's own text where PDFium is not installed). No time limit here: only call it
    in a process that may be killed (the worker above), or on trusted test input."""
    reader, password = open_checked(pdf_bytes, limits)
    if pdfium_available():
        return _pdfium_or_malformed(pdf_bytes, password, limits.max_chars)
    return pypdf_text(reader, limits.max_chars)


def _pdfium_or_malformed(pdf_bytes: bytes, password: str | None, max_chars: int) -> str:
    import pypdfium2 as pdfium

    try:
        return pdfium_text(pdf_bytes, password, max_chars)
    except pdfium.PdfiumError as exc:
        reason = "encrypted" if "password" in str(exc).lower() else "malformed"
        raise InvoiceRejected(reason, str(exc)[:200]) from exc
