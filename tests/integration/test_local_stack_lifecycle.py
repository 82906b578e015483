"""`make up` / `make down` on a second, throwaway stack: re-running up is safe, and down
leaves no process and no port behind."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

from infra.local.stack import StackConfig, down, free_port, port_open, read_state, up


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_up_twice_then_down_leaves_nothing_behind(stack, tmp_path):
    # Ports in the ephemeral range are only borrowed for this test's second stack.
    cfg = replace(stack, local_dir=tmp_path / "second-stack", pg_port=free_port(),
                  pubsub_port=free_port(), storage_port=free_port())
    emulator_before = os.environ.get("PUBSUB_EMULATOR_HOST")
    try:
        up(cfg)
        # The test process keeps talking to its own emulator, not the second stack's.
        assert os.environ.get("PUBSUB_EMULATOR_HOST") == emulator_before
        first = read_state(cfg)
        up(cfg)                                  # re-running is safe: nothing new is started
        second = read_state(cfg)
        assert second["pubsub_pid"] == first["pubsub_pid"]
        assert second["storage_pid"] == first["storage_pid"]
        pids = [first["pubsub_pid"], first["storage_pid"]]
        assert all(_alive(pid) for pid in pids)
        assert all(port_open(p) for p in (cfg.pg_port, cfg.pubsub_port, cfg.storage_port))
    finally:
        busy = down(cfg)
        if tmp_path not in cfg.pg_dir.parents:   # the /tmp fallback for a root-owned checkout
            shutil.rmtree(cfg.pg_dir, ignore_errors=True)
    assert busy == []
    assert not any(_alive(pid) for pid in pids)
    assert not any(port_open(p) for p in (cfg.pg_port, cfg.pubsub_port, cfg.storage_port))
    assert not (cfg.pg_dir / "data" / "postmaster.pid").exists()


def test_the_default_ports_are_uncommon_and_movable(monkeypatch):
    for name in ("COAX_PG_PORT", "COAX_PUBSUB_PORT", "COAX_STORAGE_PORT"):
        monkeypatch.delenv(name, raising=False)
    defaults = StackConfig.from_env()
    assert 5432 not in (defaults.pg_port, defaults.pubsub_port, defaults.storage_port)
    assert 8085 not in (defaults.pg_port, defaults.pubsub_port, defaults.storage_port)
    monkeypatch.setenv("COAX_PG_PORT", "61111")
    assert StackConfig.from_env().pg_port == 61111
