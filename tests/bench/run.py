"""`make bench`: run every tests/bench/bench_*.py and write .local/bench/results.json.

Each module exposes `run(ctx) -> list[dict]`; an entry is one figure:
`{"name", "value", "unit", "baseline", "ratio"}` where the baseline is
measured in the same run (these machines are noisy; only ratios compare).

    python -m tests.bench.run [bench_x ...] [--quick]
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / ".local" / "bench" / "results.json"


@dataclass
class BenchContext:
    repo: Path
    tmp: Path
    quick: bool


def _entry_ok(entry: dict) -> bool:
    return {"name", "value", "unit", "baseline", "ratio"} <= set(entry)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    modules = wanted or sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    results, failures = [], []
    with tempfile.TemporaryDirectory(prefix="coax-bench-") as tmp:
        for name in modules:
            started = time.monotonic()
            print(f"== {name}", flush=True)
            try:
                module = importlib.import_module(f"tests.bench.{name}")
                entries = module.run(BenchContext(REPO, Path(tmp), quick))
            except Exception:
                traceback.print_exc()
                failures.append(name)
                continue
            for entry in entries:
                if not _entry_ok(entry):
                    print(f"   malformed entry from {name}: {entry}")
                    failures.append(name)
                    continue
                entry.setdefault("module", name)
                results.append(entry)
                ratio = f" ratio {entry['ratio']:.3g}" if entry.get("ratio") is not None else ""
                base = f" (baseline {entry['baseline']:.4g})" if entry.get("baseline") else ""
                print(f"   {entry['name']}: {entry['value']:.4g} {entry['unit']}{base}{ratio}")
            print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    existing = []
    if wanted and OUT.exists():
        ran = set(modules)
        existing = [e for e in json.loads(OUT.read_text()) if e.get("module") not in ran]
    OUT.write_text(json.dumps(existing + results, indent=2))
    print(f"wrote {len(existing) + len(results)} figures to {OUT.relative_to(REPO)}")
    if failures:
        print(f"failed: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
