"""Each service reads only its own secrets; logs are JSON and never carry one."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sqlalchemy as sa

from infra.local.stack import service_env
from shared.logs import CloudJsonFormatter, set_trace
from shared.runtime import bootstrap
from shared.secrets import LocalSecretStore, ScopedSecrets, SecretAccessDenied
from shared.topology import load_topology


@pytest.mark.parametrize("service", ["ingest", "email-scan", "invoice-parse", "retention-purge",
                                     "api"])
def test_no_other_service_can_read_the_vaults_secrets(stack, owner, service):
    runtime = bootstrap(service, service_env(stack, service))
    try:
        for secret in ("microsoft-client-secret", "token-kek"):
            with pytest.raises(SecretAccessDenied):
                runtime.secrets.access(secret)
    finally:
        runtime.engine.dispose()
    with owner.connect() as c:
        denied = c.execute(sa.text(
            "select count(*) from audit_log where action = 'secret.access_denied' "
            "and actor = :s and target = 'token-kek' and at > now() - interval '1 minute'"),
            {"s": service}).scalar()
    assert denied >= 1


def test_the_vault_reads_its_own_secrets_and_the_value_never_prints(stack):
    store = LocalSecretStore(stack.secrets_dir)
    secrets = ScopedSecrets(store, "token-vault", load_topology())
    value = secrets.access("token-kek")
    raw = value.reveal()
    assert len(raw) > 20
    assert raw.decode() not in repr(value) and raw.decode() not in str(value)
    assert "redacted" in repr(value)
    assert secrets.versions("token-kek")[-1] == value.version


def test_every_secret_belongs_to_exactly_one_service():
    topology = load_topology()
    for secret in topology.secrets:
        assert len(topology.secret_owners(secret)) == 1, secret


def _capture(service: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CloudJsonFormatter(service))
    logger = logging.getLogger(f"test.{service}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_log_lines_are_cloud_logging_json_with_trace_and_error_reporting_shape():
    logger, stream = _capture("ingest")
    set_trace("105445aa7843bc8bf206b12000100000/1;o=1", "coax-prod")
    logger.info("synced %d users", 12)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("sync failed")
    set_trace(None, "coax-prod")
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["severity"] == "INFO" and first["message"] == "synced 12 users"
    assert first["logging.googleapis.com/trace"] == \
        "projects/coax-prod/traces/105445aa7843bc8bf206b12000100000"
    assert second["severity"] == "ERROR"
    assert "RuntimeError: boom" in second["stack_trace"]
    assert second["@type"].endswith("ReportedErrorEvent")
    assert second["serviceContext"] == {"service": "ingest"}


def test_tokens_and_secrets_are_masked_even_when_code_tries_to_log_them():
    logger, stream = _capture("token-vault")
    jwt_like = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLWJ5dGVz"
    logger.info("calling graph with Authorization: Bearer abc.def-ghi_123")
    logger.info("token response %s", {"access_token": "s3cr3t-token", "refresh_token": "r3fr3sh"})
    logger.info("got %s", jwt_like)
    logger.warning("form client_secret=hunter2&grant_type=x", extra={"fields": {"note": jwt_like}})
    output = stream.getvalue()
    for leaked in ("abc.def-ghi_123", "s3cr3t-token", "r3fr3sh", jwt_like, "hunter2"):
        assert leaked not in output
    for line in output.splitlines():
        entry = json.loads(line)
        assert {"severity", "message"} <= set(entry)
