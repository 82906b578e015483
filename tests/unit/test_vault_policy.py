"""Which caller may have which token, and what a grant can serve."""

from __future__ import annotations

import pytest

from services.token_vault.policy import (
    PolicyRefusal,
    check_caller_purpose,
    check_grant_serves,
    decide_mode,
    delegated_scopes,
)
from shared.topology import load_topology

APP_ROLES_FULL = ("User.Read.All", "AuditLog.Read.All", "Directory.Read.All", "Mail.Read")
APP_ROLES_BASIC = ("User.Read.All", "AuditLog.Read.All", "Mail.ReadBasic.All")


@pytest.fixture(scope="module")
def callers():
    return load_topology().service("token-vault").callers


@pytest.mark.parametrize("caller, purpose", [
    ("ingest", "directory"), ("ingest", "sign_ins"), ("email-scan", "mail_metadata"),
    ("invoice-parse", "mail_attachments")])
def test_the_topology_allows_each_service_its_purposes(callers, caller, purpose):
    check_caller_purpose(callers, caller, purpose)


@pytest.mark.parametrize("caller, purpose, code", [
    ("ingest", "mail_metadata", "purpose_not_allowed"),
    ("email-scan", "mail_attachments", "purpose_not_allowed"),
    ("api", "directory", "purpose_not_allowed"),
    ("retention-purge", "sign_ins", "purpose_not_allowed"),
    ("stranger", "directory", "unknown_caller"),
    ("ingest", "everything", "unknown_purpose"),
    ("ingest", "", "unknown_purpose"),
])
def test_everything_else_is_refused(callers, caller, purpose, code):
    with pytest.raises(PolicyRefusal) as refused:
        check_caller_purpose(callers, caller, purpose)
    assert refused.value.code == code


def test_a_metadata_connection_serves_no_attachments_even_with_mail_read():
    with pytest.raises(PolicyRefusal, match="metadata-only"):
        check_grant_serves("mail_attachments", "metadata", APP_ROLES_FULL)
    check_grant_serves("mail_attachments", "attachments", APP_ROLES_FULL)


def test_a_purpose_needs_a_permission_in_the_grant():
    check_grant_serves("mail_metadata", "metadata", APP_ROLES_BASIC)
    check_grant_serves("directory", "metadata", ("Directory.Read.All",))
    with pytest.raises(PolicyRefusal, match="AuditLog.Read.All"):
        check_grant_serves("sign_ins", "metadata", ("User.Read.All",))


def test_attachments_mode_needs_mail_read_else_metadata_with_a_reason():
    assert decide_mode("attachments", APP_ROLES_FULL).mode == "attachments"
    downgraded = decide_mode("attachments", APP_ROLES_BASIC)
    assert downgraded.mode == "metadata" and "Mail.Read" in downgraded.note
    assert decide_mode("metadata", APP_ROLES_FULL).note is None
    with pytest.raises(ValueError):
        decide_mode("everything", APP_ROLES_FULL)


def test_delegated_scopes_follow_the_mode_and_never_ask_for_more():
    assert delegated_scopes("attachments")[-1].endswith("/Mail.Read")
    metadata = delegated_scopes("metadata")
    assert metadata[-1].endswith("/Mail.ReadBasic")
    assert not any(scope.endswith("/Mail.Read") for scope in metadata)
