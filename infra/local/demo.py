"""`make demo`: the whole pipeline on the local stack against a simulated tenant.

1. the local stack (PostgreSQL, Pub/Sub and Storage emulators), fresh schema;
2. the simulated Microsoft 365 tenant (`coax m365sim serve --profile demo`);
3. every service as its own gunicorn process, wired by the topology;
4. an organization connects its tenant through token-vault (admin consent);
5. Cloud Scheduler's hourly call to ingest, then Pub/Sub does the rest:
   ingest -> email-scan -> invoice-parse;
6. the SaaS inventory, checked against the simulator's ground truth.

Everything it started is stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import requests
import sqlalchemy as sa

from infra.local.stack import (
    PrerequisiteMissing,
    StackConfig,
    down,
    free_port,
    kill_group,
    read_state,
    service_env,
    spawn,
    up,
    write_state,
)
from shared.topology import load_topology

SEED = 7
PROFILE = os.environ.get("COAX_DEMO_PROFILE", "demo")
SETTLE_S = 6.0          # the pipeline is done when nothing changed for this long
TIMEOUT_S = 600.0


def say(text: str) -> None:
    print(text, flush=True)


def start_simulator(cfg: StackConfig, pids: dict) -> dict:
    demo_dir = cfg.local_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    config_file = demo_dir / "m365sim.json"
    config_file.unlink(missing_ok=True)
    port = free_port()
    secret = (cfg.secrets_dir / "microsoft-client-secret").read_text().strip()
    env = os.environ | {"M365SIM_CLIENT_SECRET": secret}
    pids["m365sim"] = spawn(
        [str(Path(sys.executable).parent / "coax"), "m365sim", "serve", "--port", str(port),
         "--seed", str(SEED), "--profile", PROFILE, "--unconsented",
         "--tls-dir", str(demo_dir / "tls"), "--config-out", str(config_file)],
        cfg.local_dir / "logs" / "m365sim.log", env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if config_file.exists() and config_file.read_text().strip():
            return json.loads(config_file.read_text())
        time.sleep(0.2)
    raise RuntimeError("the simulator did not start; see .local/logs/m365sim.log")


def start_services(cfg: StackConfig, sim: dict, pids: dict) -> dict[str, str]:
    topology = load_topology()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    urls = {}
    for name, service in topology.services.items():
        port = cfg.service_port(service)
        urls[name] = f"http://127.0.0.1:{port}"
        env = os.environ | service_env(cfg, name, {
            "COAX_AUTHORITY_URL": sim["base_url"],
            "COAX_GRAPH_URL": sim["graph_url"],
            "COAX_MICROSOFT_CLIENT_ID": sim["client_id"],
            "COAX_PUBLIC_URL": urls[name],
            "COAX_AUTHORITY_CA_BUNDLE": sim["ca_bundle"],
            # The simulator's self-signed certificate plus the public roots.
            "REQUESTS_CA_BUNDLE": sim["ca_bundle_with_public_roots"],
        })
        pids[name] = spawn(
            [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8",
             "--timeout", "0", "--graceful-timeout", "3", f"{service.package}.main:create_app()"],
            cfg.local_dir / "logs" / f"{name}.log", env=env)
    deadline = time.monotonic() + 90
    for name, url in urls.items():
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; see .local/logs/{name}.log")
            time.sleep(0.2)
    return urls


def connect_tenant(owner: sa.Engine, urls: dict, sim: dict, tenant: dict) -> tuple[str, str]:
    """The organization's admin connects its tenant (admin consent, app-only)."""
    org_id = str(uuid.uuid4())
    with owner.begin() as c:
        c.execute(sa.text("insert into organizations (id, name, currency) "
                          "values (:id, :name, 'EUR')"), {"id": org_id, "name": tenant["name"]})
    start = requests.post(f"{urls['token-vault']}/connect/admin-consent/start",
                          headers={"X-Coax-Local-Caller": "api"}, timeout=30,
                          json={"org_id": org_id, "mode": "attachments",
                                "tenant": tenant["tenant_id"]})
    start.raise_for_status()
    consent = requests.get(start.json()["authorize_url"], allow_redirects=False, timeout=30,
                           verify=sim["ca_bundle"])
    callback = requests.get(consent.headers["Location"], timeout=60)
    callback.raise_for_status()
    with owner.connect() as c:
        connection_id = c.execute(sa.text("select id from connections where org_id = :o"),
                                  {"o": org_id}).scalar()
    return org_id, str(connection_id)


PROGRESS = """
select (select count(*) from connections where org_id = :o and sync_started_at is not null)
           as syncing,
       (select count(*) from sync_runs where org_id = :o and finished_at is not null) as synced,
       (select count(*) from directory_users where org_id = :o) as users,
       (select count(*) from sign_ins where org_id = :o) as sign_ins,
       (select count(*) from billing_emails where org_id = :o) as billing_emails,
       (select count(*) from invoices where org_id = :o) as invoices,
       (select count(*) from outbox where published_at is null) as unpublished
"""


def wait_for_pipeline(owner: sa.Engine, org_id: str) -> dict:
    last, stable_since, started = None, time.monotonic(), time.monotonic()
    while time.monotonic() - started < TIMEOUT_S:
        with owner.connect() as c:
            now = dict(c.execute(sa.text(PROGRESS), {"o": org_id}).mappings().one())
        if now != last:
            say("   " + ", ".join(f"{k} {v}" for k, v in now.items()))
            last, stable_since = now, time.monotonic()
        elif (now["synced"] > 0 and now["syncing"] == 0 and now["unpublished"] == 0
              and time.monotonic() - stable_since > SETTLE_S):
            return now
        time.sleep(0.5)
    raise RuntimeError("the pipeline did not settle in time; see .local/logs/")


def report(cfg: StackConfig, org_id: str, org_name: str, sim: dict, truth: dict) -> None:
    from services.api.inventory import format_inventory, load_inventory
    from shared.catalog import load_catalog
    from shared.db import UnitOfWork, make_engine

    engine = make_engine(cfg.url("coax_api"))
    with UnitOfWork(engine, org_id=org_id) as uow:
        inventory = load_inventory(uow, load_catalog())
        stored_mail = {(r.message_id, r.vendor_id, r.kind) for r in uow.execute(
            "select message_id, vendor_id, kind from billing_emails")}
        stored_invoices = {r.source_message_id: r for r in uow.execute(
            "select source_message_id, total_minor, currency from invoices")}
    engine.dispose()
    say("")
    say(format_inventory(inventory, org_name))

    truth_apps = {a["vendor_id"] for a in truth["apps"] if a["vendor_id"]}
    found_apps = {r.vendor_id for r in inventory.rows if "sign-ins" in r.sources}
    truth_mail = {(m["message_id"], m["vendor_id"], m["class"]) for m in truth["billing_messages"]}
    hits = len(truth_mail & stored_mail)
    # An invoice is discoverable when its PDF is attached or its subject states the
    # amount; the others exist only in the vendor's portal.
    discoverable = [i for i in truth["invoices"] if i["attachment_id"] or i["amount_in_subject"]]
    right_invoices = sum(
        1 for i in discoverable
        if (s := stored_invoices.get(i["message_id"])) is not None
        and s.total_minor == i["total_minor"] and s.currency == i["currency"])
    stats = requests.get(f"{sim['base_url']}/_sim/stats", verify=sim["ca_bundle"],
                         timeout=10).json()
    say("")
    say("Checked against the simulator's ground truth:")
    say(f"  apps from sign-ins:    {len(found_apps & truth_apps)} of {len(truth_apps)} found, "
        f"{len(found_apps - truth_apps)} extra")
    say(f"  billing/sign-up mail:  precision {hits / max(1, len(stored_mail)):.3f}, "
        f"recall {hits / max(1, len(truth_mail)):.3f} ({len(stored_mail)} kept)")
    say(f"  invoices:              {right_invoices} of {len(discoverable)} discoverable (PDF "
        f"attached or amount in the subject; {len(truth['invoices'])} in all) with the exact "
        f"total and currency")
    say(f"  privacy violations recorded by the simulator: "
        f"{len(stats.get('privacy_violations', []))}")
    say(f"  Graph requests: {stats.get('total_requests', stats.get('requests', '?'))}")


def main() -> int:
    cfg = StackConfig.from_env()
    pids: dict = {}
    try:
        say("== 1. local stack (PostgreSQL, Pub/Sub emulator, Storage emulator)")
        up(cfg, reset_db=True)
        say(f"== 2. simulated Microsoft 365 tenant (seed {SEED}, profile {PROFILE})")
        sim = start_simulator(cfg, pids)
        say("== 3. services: " + ", ".join(load_topology().services))
        urls = start_services(cfg, sim, pids)
        owner = sa.create_engine(cfg.url("coax_owner"), poolclass=sa.pool.NullPool)
        tenant = sim["tenants"][0]
        say(f"== 4. {tenant['name']} connects its tenant through token-vault (admin consent)")
        org_id, connection_id = connect_tenant(owner, urls, sim, tenant)
        say(f"   connection {connection_id} active")
        say("== 5. the hourly sync fires; Pub/Sub carries the rest")
        answer = requests.post(f"{urls['ingest']}/cron/sync", timeout=60)
        say(f"   ingest /cron/sync -> {answer.status_code} {answer.text.strip()}")
        wait_for_pipeline(owner, org_id)
        truth = requests.get(f"{sim['base_url']}/_sim/ground-truth", verify=sim["ca_bundle"],
                             timeout=60).json()
        tenant_truth = next(t for t in truth["tenants"] if t["tenant_id"] == tenant["tenant_id"])
        report(cfg, org_id, tenant["name"], sim, tenant_truth)
        owner.dispose()
        return 0
    except PrerequisiteMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if os.environ.get("COAX_DEMO_KEEP") == "1":
            say("== left running for inspection (COAX_DEMO_KEEP=1); stop with: make down")
            write_state(cfg, read_state(cfg) | {"services": pids})
            return 0  # noqa: B012 (an explicit choice to skip teardown)
        for pid in pids.values():
            kill_group(int(pid))
        busy = down(cfg)
        say("== stopped everything" + (f" (ports still open: {busy})" if busy else ""))


if __name__ == "__main__":
    sys.exit(main())
