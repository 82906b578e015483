"""Who may have which token, and what a connection's grant allows. Pure rules, no I/O.

The topology says which calling service may ask for which purpose; the grant an
organization's admin gave says whether the connection can serve that purpose at all.
"""

from __future__ import annotations

from dataclasses import dataclass

# Any one of these permissions (application or delegated) serves the purpose.
PURPOSE_PERMISSIONS: dict[str, frozenset[str]] = {
    "directory": frozenset({"User.Read.All", "Directory.Read.All"}),
    "sign_ins": frozenset({"AuditLog.Read.All"}),
    "mail_metadata": frozenset({"Mail.ReadBasic.All", "Mail.Read", "Mail.ReadBasic"}),
    "mail_attachments": frozenset({"Mail.Read"}),
}
# Reading invoice attachments needs Mail.Read; Mail.ReadBasic(.All) excludes attachments.
ATTACHMENT_PERMISSION = "Mail.Read"
MODES = ("metadata", "attachments")


class PolicyRefusal(Exception):
    """The request is well-formed but not allowed; the message is safe to return."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check_caller_purpose(callers: dict[str, tuple[str, ...]], caller: str, purpose: str) -> None:
    """Raise PolicyRefusal unless the topology lets `caller` ask for `purpose`."""
    if purpose not in PURPOSE_PERMISSIONS:
        raise PolicyRefusal("unknown_purpose", f"unknown purpose {purpose!r}")
    if caller not in callers:
        raise PolicyRefusal("unknown_caller", f"caller {caller!r} may not ask for tokens")
    if purpose not in callers[caller]:
        raise PolicyRefusal("purpose_not_allowed",
                            f"caller {caller!r} may not ask for purpose {purpose!r}")


def check_grant_serves(purpose: str, mode: str, permissions: list[str] | tuple[str, ...]) -> None:
    """Raise PolicyRefusal if the connection's mode or grant cannot serve `purpose`."""
    if purpose == "mail_attachments" and mode != "attachments":
        raise PolicyRefusal("purpose_not_granted",
                            "the connection is metadata-only: no invoice attachments")
    if not PURPOSE_PERMISSIONS[purpose] & set(permissions):
        needed = " or ".join(sorted(PURPOSE_PERMISSIONS[purpose]))
        raise PolicyRefusal("purpose_not_granted",
                            f"the grant lacks a permission for {purpose!r} ({needed})")


@dataclass(frozen=True)
class ModeDecision:
    mode: str
    note: str | None   # why the requested mode was not granted, shown to the admin


def decide_mode(requested: str, permissions: list[str] | tuple[str, ...]) -> ModeDecision:
    """'attachments' only when the grant includes Mail.Read; otherwise metadata, said aloud."""
    if requested not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if requested == "attachments" and ATTACHMENT_PERMISSION not in permissions:
        return ModeDecision("metadata", "the grant lacks Mail.Read, so invoice attachments "
                                        "cannot be read: connected as metadata-only")
    return ModeDecision(requested, None)


def delegated_scopes(mode: str) -> list[str]:
    """Graph scopes a delegated connect asks for (msal adds openid/profile/offline_access)."""
    mail = "Mail.Read" if mode == "attachments" else "Mail.ReadBasic"
    return [f"https://graph.microsoft.com/{name}"
            for name in ("User.Read.All", "AuditLog.Read.All", mail)]
