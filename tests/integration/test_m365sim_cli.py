"""`coax m365sim serve` and `coax m365sim ground-truth` as processes, as the demo runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import requests

from tests.m365sim.world import World

REPO = Path(__file__).resolve().parents[2]
COAX = [sys.executable, "-c", "import sys; from shared.cli import main; sys.exit(main())"]


def test_ground_truth_command_prints_the_world(tmp_path):
    out = tmp_path / "truth.json"
    subprocess.run(COAX + ["m365sim", "ground-truth", "--seed", "4", "--profile", "small",
                           "--anchor-date", "2026-11-30", "--out", str(out)],
                   cwd=REPO, check=True, timeout=120)
    expected = World(4, "small", date(2026, 11, 30)).ground_truth()
    assert json.loads(out.read_text(encoding="utf-8")) == expected


def test_serve_starts_answers_and_stops_on_sigterm(tmp_path):
    config_path = tmp_path / "config.json"
    process = subprocess.Popen(
        COAX + ["m365sim", "serve", "--port", "0", "--seed", "2", "--profile", "small",
                "--tls-dir", str(tmp_path / "tls"), "--config-out", str(config_path),
                "--grant", "1=User.Read.All"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not config_path.exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.1)
        config = json.loads(config_path.read_text())
        assert "client_secret" not in json.dumps(config)
        assert config["tenants"][1]["roles"] == ["User.Read.All"]
        health = requests.get(f"{config['base_url']}/_sim/health",
                              verify=config["ca_bundle_with_public_roots"], timeout=10)
        assert health.json() == {"status": "ok"}
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
