"""KEK rotation through the `coax vault` CLI: rotate, rewrap without re-encrypting, retire.

The vault here has a key folder of its own (KEK versions numbered from a random base),
so rotating it never touches the stack's keys, and the rewrap job only moves records
under versions its ring holds.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys

import pytest
import requests
import sqlalchemy as sa

from infra.local.stack import service_env
from services.token_vault import records
from tests.m365sim.harness import start_simulator
from tests.support.connect import connect_tenant, running_vault, stored_token
from tests.support.stack import create_org

FIRST_VERSION = 1_000_000 + secrets.randbelow(10**9)
SEEDED_ORGS, KINDS_PER_ORG = 4, 30


@pytest.fixture()
def key_folder(tmp_path):
    def write(path, data: bytes):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    folder = tmp_path / "secrets"
    write(folder / "token-kek" / str(FIRST_VERSION), base64.b64encode(os.urandom(64)))
    write(folder / "vault-session-key", base64.b64encode(os.urandom(64)))
    return folder


def _coax(stack, key_folder, *args) -> tuple[int, str]:
    env = {**os.environ, **service_env(stack, "token-vault",
                                       {"COAX_SECRETS_DIR": str(key_folder)})}
    done = subprocess.run([sys.executable, "-m", "shared.cli", "vault", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    # Logs go to stdout too (Cloud Logging's convention); the answer is the last line.
    return done.returncode, done.stdout.strip().splitlines()[-1]


def _rows(owner, org_ids: list[str]) -> dict[str, tuple]:
    with owner.connect() as db:
        rows = db.execute(sa.text("select id, kek_version, wrapped_dek, ciphertext from "
                                  "vault_tokens where org_id = any(cast(:o as uuid[]))"),
                          {"o": org_ids}).all()
    return {str(r.id): (r.kek_version, bytes(r.wrapped_dek), bytes(r.ciphertext)) for r in rows}


def _seed(vault_app, owner) -> tuple[list[str], dict[tuple[str, str], str]]:
    """Token records written through the vault's own code, under the first KEK."""
    vault = vault_app.extensions["token-vault"]
    org_ids, plaintexts = [], {}
    for _ in range(SEEDED_ORGS):
        org_id, connection_id = create_org(owner)
        org_ids.append(org_id)
        with vault.runtime.uow(org_id) as uow:
            for index in range(KINDS_PER_ORG):
                kind, token = f"access_token:seed-{index}", secrets.token_urlsafe(900)
                records.write(uow, vault.keys.ring(), org_id=org_id, connection_id=connection_id,
                              kind=kind, token=token, expires_in_s=3600)
                plaintexts[(connection_id, kind)] = token
            uow.commit()
    return org_ids, plaintexts


def test_rotation_rewraps_every_record_without_reencrypting_it(stack, owner, key_folder):
    key_folder.joinpath("microsoft-client-secret").write_text("unused")
    with start_simulator(seed=1, profile="small") as sim:
        key_folder.joinpath("microsoft-client-secret").write_text(sim.client_secret)
        with running_vault(stack, sim, secrets_dir=key_folder) as vault:
            connected_org, connection_id = connect_tenant(stack, owner, sim,
                                                          sim.tenants[0].tenant_id, vault=vault)
            handout = {"connection_id": connection_id, "purpose": "directory"}
            caller = {"X-Coax-Local-Caller": "ingest"}
            token_before = requests.post(f"{vault.url}/v1/access-token", json=handout,
                                         headers=caller, timeout=30).json()["access_token"]
            org_ids, plaintexts = _seed(vault.app, owner)
            org_ids.append(connected_org)
            before = _rows(owner, org_ids)
            assert {v for v, _, _ in before.values()} == {FIRST_VERSION}

            code, out = _coax(stack, key_folder, "rotate-kek")
            assert code == 0 and json.loads(out)["new_version"] == FIRST_VERSION + 1
            code, out = _coax(stack, key_folder, "retire-kek", str(FIRST_VERSION))
            assert code == 1 and "still wraps" in out

            code, out = _coax(stack, key_folder, "rewrap", "--batch", "16")
            assert code == 0
            assert json.loads(out)["rewrapped"] == len(before)
            after = _rows(owner, org_ids)
            assert after.keys() == before.keys()
            for record_id, (version, wrapped, ciphertext) in after.items():
                old_version, old_wrapped, old_ciphertext = before[record_id]
                assert version == FIRST_VERSION + 1 and wrapped != old_wrapped
                assert ciphertext == old_ciphertext   # the token was never re-encrypted
            for (connection, kind), token in plaintexts.items():
                assert stored_token(owner, key_folder, connection, kind) == token

            code, out = _coax(stack, key_folder, "retire-kek", str(FIRST_VERSION))
            assert code == 0, out
            assert not key_folder.joinpath("token-kek", str(FIRST_VERSION)).exists()
            code, out = _coax(stack, key_folder, "retire-kek", str(FIRST_VERSION + 1))
            assert code == 1 and "current" in out
            vault.app.extensions["token-vault"].keys.reload()
            token_after = requests.post(f"{vault.url}/v1/access-token", json=handout,
                                        headers=caller, timeout=30).json()["access_token"]
            assert token_after == token_before   # the cached token, opened under the new KEK
    with owner.begin() as db:
        db.execute(sa.text("delete from organizations where id = any(cast(:o as uuid[]))"),
                   {"o": org_ids})


def test_the_scheduled_rewrap_runs_and_reports(stack, key_folder):
    with start_simulator(seed=1, profile="small") as sim:
        key_folder.joinpath("microsoft-client-secret").write_text(sim.client_secret)
        with running_vault(stack, sim, secrets_dir=key_folder) as vault:
            answer = requests.post(f"{vault.url}/cron/rewrap", timeout=60)
            refused = requests.post(f"{vault.url}/cron/rewrap", timeout=60,
                                    headers={"X-Coax-Local-Caller": "ingest"})
    # One KEK version in this folder: nothing is wrapped by an older one.
    assert answer.status_code == 200
    assert answer.json()["rewrapped"] == 0 and answer.json()["to_version"] == FIRST_VERSION
    assert refused.status_code == 403
