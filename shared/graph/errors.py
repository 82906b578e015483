"""Typed errors of the Graph client. Messages carry Microsoft's error code and message and the
request path, never a token, a query string (it can hold addresses) or a response body."""

from __future__ import annotations


class GraphError(Exception):
    """A Graph request failed for good (after any retries that made sense)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 path: str | None = None, request_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.path = path
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.path:
            parts.append(f"path={self.path}")
        return " ".join(parts)


class GraphThrottled(GraphError):
    """Still throttled (429) when the retry budget ran out; `retry_after` is the last
    Retry-After Graph sent (None without one), so the work can be parked that long."""

    retry_after: float | None = None


class GraphUnavailable(GraphError):
    """Still 5xx or unreachable when the retry budget ran out."""

    retry_after: float | None = None


class GraphForbidden(GraphError):
    """403: a missing permission, or a tenant without the licence an API needs (sign-ins:
    `Authentication_RequestFromNonPremiumTenantOrB2CTenant`)."""


class GraphNotFound(GraphError):
    """404: the user, message or attachment does not exist (any more)."""


class GraphAuthError(GraphError):
    """401 again after one fresh token: the connection's grant is no longer good."""


class GraphBadRequest(GraphError):
    """400: the request itself is wrong (a filter Graph rejects, a bad page size)."""


class AttachmentTooLarge(GraphError):
    """The attachment is larger than the caller allowed; nothing beyond the limit was read."""


class ForbiddenField(GraphError, ValueError):
    """A field outside the allowlist (or a body field) was asked for; no request was sent."""
