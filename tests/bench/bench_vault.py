"""token-vault: KEK rotation of 10,000 records and access-token handout latency.

Runs a real vault (in a thread) on the local stack against the simulated tenant.

- `vault.rewrap`: records/s of the rewrap job (`coax vault rewrap`'s code) after a KEK
  rotation, through PostgreSQL; the baseline is the in-memory rate of the same envelope
  re-wrap with no database, so the ratio is the share of the crypto ceiling reached.
  The bench fails unless every record still decrypts and no ciphertext changed.
- `vault.handout_*`: latency of `POST /v1/access-token` at 1 and 50 concurrent callers,
  for a cached token and for the refresh path (every handout must go to the token
  endpoint); the baseline is `/healthz` on the same server (the HTTP floor).
"""

from __future__ import annotations

import base64
import os
import secrets
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
import sqlalchemy as sa

from shared.crypto import KeyRing, RecordContext, rewrap, seal_record

FULL_RECORDS, QUICK_RECORDS = 10_000, 1_000
RECORDS_PER_ORG = 100
TOKEN_SIZE = 1_500   # Microsoft refresh tokens are opaque strings of 1-2 KB


def run(ctx) -> list[dict]:
    from infra.local.stack import StackConfig, up
    from tests.m365sim.harness import start_simulator
    from tests.support.connect import running_vault
    from tests.support.stack import owner_engine

    stack = StackConfig.from_env()
    up(stack)
    os.environ.setdefault("PUBSUB_EMULATOR_HOST", stack.pubsub_host)
    owner = owner_engine(stack)
    first_version = 1_000_000 + secrets.randbelow(10**9)
    folder = _key_folder(ctx.tmp / "vault-keys", first_version)
    created_orgs: list[str] = []
    try:
        with start_simulator(seed=1, profile="small") as sim:
            folder.joinpath("microsoft-client-secret").write_text(sim.client_secret)
            with running_vault(stack, sim, secrets_dir=folder) as vault:
                entries = _rotation(ctx, vault, owner, folder, created_orgs)
                entries += _handouts(ctx, stack, sim, vault, owner, created_orgs)
    finally:
        with owner.begin() as db:
            db.execute(sa.text("delete from organizations where id = any(cast(:o as uuid[]))"),
                       {"o": created_orgs})
        owner.dispose()
    return entries


def _key_folder(folder, version: int):
    (folder / "token-kek").mkdir(parents=True)
    (folder / "token-kek" / str(version)).write_bytes(base64.b64encode(os.urandom(64)))
    (folder / "vault-session-key").write_bytes(base64.b64encode(os.urandom(64)))
    return folder


def _entry(name: str, value: float, unit: str, baseline: float | None = None) -> dict:
    ratio = value / baseline if baseline else None
    return {"name": name, "value": round(value, 3), "unit": unit,
            "baseline": round(baseline, 3) if baseline else None,
            "ratio": round(ratio, 3) if ratio else None}


# ---------------------------------------------------------------- rotation

def _rotation(ctx, vault, owner, folder, created_orgs: list[str]) -> list[dict]:
    from services.token_vault import records, rotation
    from shared.secrets import LocalSecretStore
    from tests.support.stack import create_org

    vault_ctx = vault.app.extensions["token-vault"]
    count = QUICK_RECORDS if ctx.quick else FULL_RECORDS
    plaintexts: dict[tuple[str, str], bytes] = {}
    for _ in range(count // RECORDS_PER_ORG):
        org_id, connection_id = create_org(owner)
        created_orgs.append(org_id)
        plaintexts.update(_seed_org(vault_ctx, org_id, connection_id))
    before = _ciphertexts(owner, created_orgs)

    rotation.rotate_kek(vault_ctx.runtime, vault_ctx.keys, LocalSecretStore(folder))
    summary = rotation.rewrap_all(vault_ctx.runtime, vault_ctx.keys)
    if summary["rewrapped"] != count or summary["unreadable"]:
        raise AssertionError(f"rewrap moved {summary} of {count} records")

    ring = vault_ctx.keys.reload()
    after = _ciphertexts(owner, created_orgs)
    if {k: v[1] for k, v in after.items()} != {k: v[1] for k, v in before.items()}:
        raise AssertionError("a token ciphertext changed during rotation")
    with owner.connect() as db:
        rows = db.execute(sa.text(
            "select id, org_id, connection_id, kind, generation, kek_version, wrapped_dek, "
            "ciphertext, expires_at from vault_tokens where org_id = any(cast(:o as uuid[]))"),
            {"o": created_orgs}).all()
    opened = 0
    for row in rows:
        token = records.from_row(row)
        if token.sealed.kek_version != ring.current_version:
            raise AssertionError("a record is still on the old KEK")
        if records.reveal(ring, token).encode() != plaintexts[(token.connection_id, token.kind)]:
            raise AssertionError("a token does not decrypt to what was stored")
        opened += 1
    ceiling = _in_memory_rewrap_rate(count)
    return [_entry("vault.rewrap", summary["records_per_s"], "records/s", ceiling),
            _entry("vault.rewrap_records_verified", opened, "records")]


def _seed_org(vault_ctx, org_id: str, connection_id: str) -> dict:
    from services.token_vault import records

    ring = vault_ctx.keys.ring()
    rows, plaintexts = [], {}
    for index in range(RECORDS_PER_ORG):
        kind = f"access_token:bench-{index}"
        token = secrets.token_urlsafe(TOKEN_SIZE)[:TOKEN_SIZE]
        sealed = seal_record(ring, token.encode(), records.record_context(org_id, connection_id,
                                                                           kind, 1))
        rows.append({"o": org_id, "c": connection_id, "k": kind, "v": sealed.kek_version,
                     "d": sealed.wrapped_dek, "ct": sealed.ciphertext})
        plaintexts[(connection_id, kind)] = token.encode()
    with vault_ctx.runtime.uow(org_id) as uow:
        uow.execute("insert into vault_tokens (org_id, connection_id, kind, generation, "
                    "kek_version, wrapped_dek, ciphertext, expires_at) values "
                    "(:o, :c, :k, 1, :v, :d, :ct, now() + interval '1 hour')", rows)
        uow.commit()
    return plaintexts


def _ciphertexts(owner, org_ids: list[str]) -> dict[str, tuple[int, bytes]]:
    with owner.connect() as db:
        rows = db.execute(sa.text("select id, kek_version, ciphertext from vault_tokens "
                                  "where org_id = any(cast(:o as uuid[]))"), {"o": org_ids}).all()
    return {str(r.id): (r.kek_version, bytes(r.ciphertext)) for r in rows}


def _in_memory_rewrap_rate(count: int) -> float:
    ring = KeyRing({1: os.urandom(64)})
    contexts = [RecordContext(f"org-{i % 97}", f"conn-{i}", "refresh_token#1")
                for i in range(count)]
    sealed = [seal_record(ring, os.urandom(TOKEN_SIZE), c) for c in contexts]
    ring = ring.with_key(2, os.urandom(64))
    started = time.perf_counter()
    for record, context in zip(sealed, contexts, strict=True):
        rewrap(ring, record, context)
    return count / (time.perf_counter() - started)


# ---------------------------------------------------------------- handouts

def _handouts(ctx, stack, sim, vault, owner, created_orgs: list[str]) -> list[dict]:
    from tests.support.connect import connect_tenant, expire_access_token

    tenant = sim.tenants[0].tenant_id
    connections = []
    for _ in range(50):
        org_id, connection_id = connect_tenant(stack, owner, sim, tenant, vault=vault)
        created_orgs.append(org_id)
        connections.append(connection_id)
    rounds = 4 if ctx.quick else 20

    def keep_active():
        # Other suites share this database, and some park every connection but their
        # own (tests.support.stack.deactivate_other_connections); ours stay active.
        with owner.begin() as db:
            db.execute(sa.text("update connections set status = 'active' "
                               "where id = any(cast(:ids as uuid[]))"), {"ids": connections})

    def expire_all(ids):
        keep_active()
        for connection_id in ids:
            expire_access_token(owner, connection_id)

    floor_1 = _latencies(vault.url, [None], rounds * 10)
    floor_50 = _latencies(vault.url, [None] * 50, rounds)
    entries = []
    cached_1 = _latencies(vault.url, connections[:1], rounds * 10, before_round=keep_active)
    cached_50 = _latencies(vault.url, connections[:1] * 50, rounds, before_round=keep_active)
    entries += _percentiles("vault.handout_cached_1", cached_1, floor_1)
    entries += _percentiles("vault.handout_cached_50", cached_50, floor_50)

    sim.reset_stats()
    refresh_1 = _latencies(vault.url, connections[:1], rounds * 5,
                           before_round=lambda: expire_all(connections[:1]))
    refresh_50 = _latencies(vault.url, connections, rounds,
                            before_round=lambda: expire_all(connections))
    made = sim.stats()["token_requests"].get("client_credentials:200", 0)
    if made != rounds * 5 + rounds * 50:
        raise AssertionError(f"refresh path made {made} token requests, "
                             f"expected {rounds * 5 + rounds * 50}")
    entries += _percentiles("vault.handout_refresh_1", refresh_1, floor_1)
    entries += _percentiles("vault.handout_refresh_50", refresh_50, floor_50)
    return entries


def _latencies(url: str, connections: list[str | None], rounds: int,
               before_round=None) -> list[float]:
    """`rounds` rounds; in each, one caller per entry of `connections` asks at once.
    A None entry calls /healthz instead (the HTTP floor)."""
    sessions = [requests.Session() for _ in connections]
    barrier = threading.Barrier(len(connections))
    samples: list[float] = []
    lock = threading.Lock()

    def one(index: int) -> None:
        connection_id = connections[index]
        barrier.wait()
        started = time.perf_counter()
        if connection_id is None:
            answer = sessions[index].get(f"{url}/healthz", timeout=60)
        else:
            answer = sessions[index].post(
                f"{url}/v1/access-token", headers={"X-Coax-Local-Caller": "ingest"},
                json={"connection_id": connection_id, "purpose": "directory"}, timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise AssertionError(f"handout answered {answer.status_code}: {answer.text[:200]}")
        with lock:
            samples.append(elapsed)

    with ThreadPoolExecutor(len(connections)) as pool:
        for _ in range(rounds):
            if before_round:
                before_round()
            list(pool.map(one, range(len(connections))))
    for session in sessions:
        session.close()
    return samples


def _percentiles(name: str, samples: list[float], floor: list[float]) -> list[dict]:
    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1]

    return [_entry(f"{name}_p50", pct(samples, 50), "ms", pct(floor, 50)),
            _entry(f"{name}_p99", pct(samples, 99), "ms", pct(floor, 99))]
