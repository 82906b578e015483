"""KEK rotation: add a version, re-wrap data keys onto it, retire versions nobody uses.

Re-wrapping opens only the wrapped data key (with the old KEK) and wraps it again
(with the current one); token ciphertexts are copied through byte for byte and never
decrypted. The job walks the records in batches, one organization per transaction.
"""

from __future__ import annotations

import itertools
import time

from services.token_vault import keys, records
from services.token_vault.keys import KekSource
from shared.runtime import Runtime
from shared.secrets import SecretStore

REWRAP_BATCH = 1000


class RetireRefused(Exception):
    pass


def rotate_kek(runtime: Runtime, kek: KekSource, store: SecretStore) -> dict:
    runtime.secrets.versions(keys.KEK_SECRET)   # the allowlist check (audited if refused)
    version = keys.add_kek_version(store)
    ring = kek.reload()
    runtime.audit_system("kek.rotated", f"{keys.KEK_SECRET}:{version}",
                               {"current_version": ring.current_version})
    return {"new_version": int(version), "current_version": ring.current_version}


def rewrap_all(runtime: Runtime, kek: KekSource, batch: int = REWRAP_BATCH) -> dict:
    ring = kek.reload()
    older = [v for v in ring.versions if v != ring.current_version]
    started = time.perf_counter()
    moved = unreadable = 0
    after_org = after_record = "00000000-0000-0000-0000-000000000000"
    while older:
        with runtime.uow() as uow:
            due = uow.execute("select org_id, record_id from vault_records_to_rewrap("
                              "cast(:versions as integer[]), cast(:org as uuid), "
                              "cast(:record as uuid), :n)",
                              {"versions": older, "org": after_org, "record": after_record,
                               "n": batch}).all()
        if not due:
            break
        after_org, after_record = str(due[-1].org_id), str(due[-1].record_id)
        for org_id, rows in itertools.groupby(due, key=lambda row: str(row.org_id)):
            ids = [str(row.record_id) for row in rows]
            with runtime.uow(org_id) as uow:
                outcome = records.rewrap_records(uow, ring, ids)
                uow.audit(runtime.service.name, "kek.rewrapped",
                          f"{keys.KEK_SECRET}:{ring.current_version}",
                          {"records": outcome.moved, "unreadable": outcome.unreadable})
                uow.commit()
            moved += outcome.moved
            unreadable += outcome.unreadable
    seconds = time.perf_counter() - started
    summary = {"rewrapped": moved, "unreadable": unreadable, "to_version": ring.current_version,
               "seconds": round(seconds, 3),
               "records_per_s": round(moved / seconds, 1) if moved and seconds else None}
    runtime.audit_system("kek.rewrap_finished", f"{keys.KEK_SECRET}:{ring.current_version}",
                         summary)
    return summary


def kek_usage(runtime: Runtime) -> dict[int, int]:
    with runtime.uow() as uow:
        rows = uow.execute("select kek_version, records from vault_kek_usage()").all()
    return {int(row.kek_version): int(row.records) for row in rows}


def retire_kek(runtime: Runtime, kek: KekSource, store: SecretStore, version: int) -> dict:
    ring = kek.reload()
    if version not in ring:
        raise RetireRefused(f"KEK version {version} is not an enabled version")
    if version == ring.current_version:
        raise RetireRefused(f"KEK version {version} is the current version; rotate first")
    in_use = kek_usage(runtime).get(version, 0)
    if in_use:
        raise RetireRefused(f"KEK version {version} still wraps {in_use} record(s); "
                            "run `coax vault rewrap` first")
    keys.disable_kek_version(store, str(version))
    kek.reload()
    runtime.audit_system("kek.retired", f"{keys.KEK_SECRET}:{version}", {})
    return {"retired_version": version}
