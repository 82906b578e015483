"""Invoice extraction: our template-free parser beside invoice2data, same files, same run.

Two document sets:
- the invoice2data corpus (../shared/corpus/invoices), for which invoice2data ships
  templates: documents per second and fields right (total, currency, date, number);
  our speed twice: one document after another (`corpus_docs_per_s`, and the same as
  `corpus_ms_per_doc_sequential`: a single document's latency) and as a batch
  (`corpus_docs_per_s_batch`: the CLI's two stages, the worker reading the next PDF while
  this process finds fields). invoice2data is timed one document after another only;
- "unseen" SaaS-style invoices generated here from the unit tests' texts (no template
  exists for them anywhere): fields right for both.

invoice2data lives in its own venv (.local/bench-venv-invoice2data, created on first run)
so it never enters our dependencies; it reads PDFs with poppler's pdftotext, installed
with apt-get when missing and we are root. It is timed through its Python API in one
subprocess of its venv (templates loaded once, several rounds), as we are in-process.
When it cannot be set up the baseline is reported as skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

from services.invoice_parse.extraction import (
    PdfTextWorker,
    VendorMatcher,
    extract_from_text,
    extract_invoice,
    load_default_catalog,
)
from services.invoice_parse.extraction.extract import extract_invoice_text, fields_of_text
from services.invoice_parse.extraction.pipeline import one_ahead
from tests.unit.test_invoice_corpus import (
    CORPUS,
    FIELDS,
    Expected,
    corpus_files,
    field_results,
    summarize,
)
from tests.unit.test_invoice_fields import CASES, IDS

FULL_ROUNDS = 5
QUICK_ROUNDS = 2
MONO_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")

# Runs inside invoice2data's venv: argv = [files.json, rounds]; prints one JSON object.
_I2D_SCRIPT = r"""
import json, logging, sys, time
logging.disable(logging.CRITICAL)
from invoice2data import extract_data
from invoice2data.extract.loader import read_templates
from invoice2data.input import pdftotext, text
import invoice2data.input as inputs

def forget_texts():
    # invoice2data memoizes extracted text per file path: without this, every round after
    # the first would time a dictionary look-up instead of reading the document.
    for cache_owner, name in ((inputs, "_cached_to_text"), (pdftotext, "_words")):
        cached = getattr(cache_owner, name, None)
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()

files = json.load(open(sys.argv[1]))
rounds = int(sys.argv[2])
templates = read_templates()

def shape(data):
    date = data.get("date")
    amount = data.get("amount")
    return {
        "total": None if amount is None else str(amount),
        "currency": data.get("currency"),
        "invoice_date": date.date().isoformat() if hasattr(date, "date") else None,
        "invoice_number": None if data.get("invoice_number") is None
        else str(data["invoice_number"]),
    }

results = {}
started = time.perf_counter()
for round_ in range(rounds):
    forget_texts()
    for path in files:
        module = text if path.endswith(".txt") else pdftotext
        try:
            data = extract_data(path, templates=templates, input_module=module) or {}
        except Exception as exc:
            data = {}
        results[path] = shape(data)
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "documents": rounds * len(files),
                  "templates": len(templates), "results": results}))
"""


def run(ctx) -> list[dict]:
    rounds = QUICK_ROUNDS if ctx.quick else FULL_ROUNDS
    corpus = corpus_files()
    unseen = _unseen_documents(ctx.tmp / "unseen")
    catalog = load_default_catalog()
    vendors = VendorMatcher(catalog.vendors) if catalog is not None else None

    with PdfTextWorker() as worker:
        ours_rate, ours_corpus = _time_ours([e.path for e in corpus], rounds, vendors, worker)
        batch_rate, batch_corpus = _time_ours_batch(
            [e.path for e in corpus], rounds, vendors, worker
        )
        if batch_corpus != ours_corpus:
            raise AssertionError("the batch found other fields than one document at a time")
        _, ours_unseen = _time_ours([e.path for e in unseen], 1, vendors, worker)
        isolated, in_process = _isolation_cost(corpus, worker)

    baseline, skipped = _invoice2data(ctx, [*corpus, *unseen], rounds)
    i2d_rate = i2d_corpus = i2d_unseen = None
    if baseline is not None:
        i2d_rate = baseline["documents"] / baseline["seconds"]
        i2d_corpus = {str(e.path): baseline["results"][str(e.path)] for e in corpus}
        i2d_unseen = {str(e.path): baseline["results"][str(e.path)] for e in unseen}

    ours_c, ours_u = _score(corpus, ours_corpus), _score(unseen, ours_unseen)
    i2d_c = _score(corpus, i2d_corpus) if i2d_corpus else None
    i2d_u = _score(unseen, i2d_unseen) if i2d_unseen else None
    _report(ours_rate, i2d_rate, ours_c, i2d_c, ours_u, i2d_u, skipped, baseline)
    print(
        f"   ms/doc one at a time (latency): ours {1000 / ours_rate:.2f}  invoice2data "
        + ("-" if i2d_rate is None else f"{1000 / i2d_rate:.2f}"),
        file=sys.stdout,
    )
    print(
        f"   docs/s as a batch (two stages): ours {batch_rate:.1f}  (invoice2data: one at a "
        "time only)",
        file=sys.stdout,
    )

    return [
        _entry("invoice_parse.corpus_docs_per_s", ours_rate, i2d_rate, "docs/s, one at a time"),
        _entry(
            "invoice_parse.corpus_ms_per_doc_sequential",
            1000 / ours_rate,
            None if i2d_rate is None else 1000 / i2d_rate,
            "ms/doc, one at a time (latency; lower is better)",
        ),
        _entry(
            "invoice_parse.corpus_docs_per_s_batch",
            batch_rate,
            i2d_rate,
            "docs/s, ours as a two-stage batch (baseline: invoice2data one at a time)",
        ),
        _entry(
            "invoice_parse.corpus_fields_right",
            ours_c["fields"],
            _get(i2d_c, "fields"),
            f"of {ours_c['checked']} fields",
        ),
        _entry(
            "invoice_parse.corpus_files_all_four_right",
            ours_c["all four"],
            _get(i2d_c, "all four"),
            f"of {len(corpus)} files",
        ),
        _entry(
            "invoice_parse.corpus_files_total_currency_right",
            ours_c["total+currency"],
            _get(i2d_c, "total+currency"),
            f"of {len(corpus)} files",
        ),
        _entry(
            "invoice_parse.unseen_fields_right",
            ours_u["fields"],
            _get(i2d_u, "fields"),
            f"of {ours_u['checked']} fields",
        ),
        _entry(
            "invoice_parse.pdf_isolated_ms_per_doc",
            isolated,
            in_process,
            "ms/doc (baseline: same extraction in-process, unguarded)",
        ),
    ]


# --- ours ------------------------------------------------------------------------------


def _time_ours(paths: list[Path], rounds: int, vendors, worker) -> tuple[float, dict]:
    documents = [(p, p.read_bytes()) for p in paths]  # timing excludes our disk reads too
    # Start the worker first, as a service does at start-up.
    worker.extract(next((d for p, d in documents if p.suffix == ".pdf"), b""))
    results = {}
    started = time.perf_counter()
    for _ in range(rounds):
        for path, data in documents:
            if path.suffix == ".txt":
                fields = extract_from_text(data.decode("utf-8"), vendors=vendors)
            else:
                fields = extract_invoice(data, vendors=vendors, worker=worker)
            results[str(path)] = fields.to_json_dict()
    return rounds * len(documents) / (time.perf_counter() - started), results


def _time_ours_batch(paths: list[Path], rounds: int, vendors, worker) -> tuple[float, dict]:
    """Like _time_ours, through the two stages the CLI runs: text of the next document is
    read (by the worker process) while the fields of the current one are found."""
    documents = [(p, p.read_bytes()) for p in paths]

    def text_of(document: tuple[Path, bytes]) -> str:
        path, data = document
        if path.suffix == ".txt":
            return data.decode("utf-8")
        return extract_invoice_text(data, worker=worker)

    results = {}
    started = time.perf_counter()
    for _ in range(rounds):
        for (path, _), text in one_ahead(text_of, documents):
            find = extract_from_text if path.suffix == ".txt" else fields_of_text
            results[str(path)] = find(text.result(), vendors=vendors).to_json_dict()
    return rounds * len(documents) / (time.perf_counter() - started), results


def _isolation_cost(corpus: list[Expected], worker) -> tuple[float, float]:
    """Per-document milliseconds of PDF text extraction through the guarded worker (pipe,
    time limit) vs the same extraction called in-process; best of three passes each."""
    from services.invoice_parse.extraction.limits import DEFAULT_LIMITS
    from services.invoice_parse.extraction.pdf_text import extract_text_unguarded

    pdfs = [e.path.read_bytes() for e in corpus if e.path.suffix == ".pdf"]

    def per_doc_ms(extract) -> float:
        passes = []
        for _ in range(3):
            started = time.perf_counter()
            for data in pdfs:
                extract(data)
            passes.append((time.perf_counter() - started) * 1000 / len(pdfs))
        return min(passes)

    return per_doc_ms(worker.extract), per_doc_ms(
        lambda data: extract_text_unguarded(data, DEFAULT_LIMITS)
    )


# --- unseen documents ------------------------------------------------------------------


def _unseen_documents(folder: Path) -> list[Expected]:
    """SaaS-style invoices rendered to PDF from the unit tests' texts (generated test data,
    in the bench's scratch folder)."""
    from fpdf import FPDF

    folder.mkdir(parents=True, exist_ok=True)
    documents = []
    for name, (text, total, currency, day, number, _tax, _period) in zip(IDS, CASES, strict=True):
        pdf = FPDF()
        pdf.add_page()
        if MONO_FONT.exists():
            pdf.add_font("mono", fname=str(MONO_FONT))
            pdf.set_font("mono", size=7)
        else:
            pdf.set_font("courier", size=7)
            text = text.replace("€", "EUR").replace("–", "-")
            text = text.encode("latin-1", "replace").decode("latin-1")
        for line in text.strip("\n").splitlines():
            pdf.cell(0, 4, line, new_x="LMARGIN", new_y="NEXT")
        path = folder / f"{name}.pdf"
        path.write_bytes(bytes(pdf.output()))
        documents.append(Expected(name, path, total, currency, day.isoformat(), number))
    return documents


# --- invoice2data ----------------------------------------------------------------------


def _invoice2data(ctx, documents: list[Expected], rounds: int) -> tuple[dict | None, str]:
    python, reason = _invoice2data_python(ctx.repo / ".local" / "bench-venv-invoice2data")
    if python is None:
        return None, reason
    files = ctx.tmp / "invoice2data-files.json"
    files.write_text(json.dumps([str(e.path) for e in documents]))
    script = ctx.tmp / "invoice2data_timing.py"
    script.write_text(_I2D_SCRIPT)
    done = subprocess.run(
        [str(python), str(script), str(files), str(rounds)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        return None, f"invoice2data run failed: {done.stderr.strip()[-300:]}"
    return json.loads(done.stdout.strip().splitlines()[-1]), ""


def _invoice2data_python(venv_dir: Path) -> tuple[Path | None, str]:
    if shutil.which("pdftotext") is None:
        if os.geteuid() != 0:
            return None, "pdftotext (poppler-utils) missing and not root to install it"
        apt = ["apt-get", "install", "-y", "-qq", "poppler-utils"]
        if subprocess.run(apt, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
            subprocess.run(apt, capture_output=True, check=False)
        if shutil.which("pdftotext") is None:
            return None, "apt-get could not install poppler-utils (pdftotext)"
    python = venv_dir / "bin" / "python"
    if not python.exists():
        venv.create(venv_dir, with_pip=True)
    probe = [str(python), "-c", "import invoice2data"]
    if subprocess.run(probe, capture_output=True, check=False).returncode != 0:
        pip = [str(python), "-m", "pip", "install", "-q", "invoice2data"]
        installed = subprocess.run(pip, capture_output=True, text=True, check=False)
        if installed.returncode != 0:
            return None, f"pip install invoice2data failed: {installed.stderr.strip()[-300:]}"
    return python, ""


# --- scoring and report ----------------------------------------------------------------


def _score(expected: list[Expected], found: dict | None) -> dict:
    results = {e.name: field_results(e, found[str(e.path)]) for e in expected}
    counts = summarize(results)
    counts["fields"] = sum(ok is True for r in results.values() for ok in r.values())
    counts["checked"] = sum(ok is not None for r in results.values() for ok in r.values())
    counts["per_field"] = {f: sum(r[f] is True for r in results.values()) for f in FIELDS}
    counts["per_field_checked"] = {
        f: sum(r[f] is not None for r in results.values()) for f in FIELDS
    }
    return counts


def _get(counts: dict | None, key: str):
    return None if counts is None else counts[key]


def _entry(name: str, value: float, baseline: float | None, unit: str) -> dict:
    ratio = value / baseline if baseline else None
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}


def _report(ours_rate, i2d_rate, ours_c, i2d_c, ours_u, i2d_u, skipped, baseline) -> None:
    out = sys.stdout
    print(f"   corpus: {CORPUS}", file=out)
    if baseline is None:
        print(f"   invoice2data: skipped ({skipped})", file=out)
    else:
        print(f"   invoice2data: {baseline['templates']} templates, pdftotext input", file=out)
    for label, ours, theirs in (("corpus", ours_c, i2d_c), ("unseen", ours_u, i2d_u)):
        for field in FIELDS:
            checked = ours["per_field_checked"][field]
            theirs_text = "-" if theirs is None else theirs["per_field"][field]
            print(
                f"   {label:7} {field:15} right: ours {ours['per_field'][field]:>2}/{checked}"
                f"  invoice2data {theirs_text}/{checked}",
                file=out,
            )
        files = ours["files"]
        theirs_text = "-" if theirs is None else theirs["all four"]
        print(
            f"   {label:7} {'all four':15} files: ours {ours['all four']:>2}/{files}"
            f"  invoice2data {theirs_text}/{files}  (a field not stated counts as right)",
            file=out,
        )
    if baseline is not None:
        unseen_paths = [p for p in baseline["results"] if "/unseen/" in p]
        empty = sum(all(v is None for v in baseline["results"][p].values()) for p in unseen_paths)
        print(
            f"   invoice2data found nothing (no template) on {empty}/{len(unseen_paths)} "
            "unseen documents",
            file=out,
        )
    rate = "-" if i2d_rate is None else f"{i2d_rate:.1f}"
    print(f"   docs/s: ours {ours_rate:.1f}  invoice2data {rate}", file=out)
