"""The Graph v1.0 route table: which handler answers which path, and how it is throttled.

Each handler takes a GraphRequest and returns a GraphResponse (or raises GraphProblem), so the
same code answers direct requests and `$batch` parts. Permissions come from the token."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tests.m365sim.graph_directory import get_user, list_users, me, sign_ins, users_delta
from tests.m365sim.graph_mail import (
    attachment_value,
    get_attachment,
    get_message,
    list_attachments,
    list_messages,
)
from tests.m365sim.graph_support import GraphRequest, GraphResponse


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    name: str  # endpoint label used in stats
    kind: str  # directory | signins | mailbox | batch
    handler: Callable[..., GraphResponse]


def _routes() -> list[Route]:
    mailbox = r"(?:/users/(?P<user>[^/]+)|/me)/messages"
    table = [
        ("GET", r"/users", "GET /users", "directory", list_users),
        ("GET", r"/users/delta", "GET /users/delta", "directory", users_delta),
        ("GET", r"/me", "GET /me", "directory", me),
        ("GET", r"/auditLogs/signIns", "GET /auditLogs/signIns", "signins", sign_ins),
        ("GET", mailbox, "GET /users/{id}/messages", "mailbox", list_messages),
        ("GET", mailbox + r"/(?P<message>[^/]+)", "GET /users/{id}/messages/{id}", "mailbox",
         get_message),
        ("GET", mailbox + r"/(?P<message>[^/]+)/attachments",
         "GET /users/{id}/messages/{id}/attachments", "mailbox", list_attachments),
        ("GET", mailbox + r"/(?P<message>[^/]+)/attachments/(?P<attachment>[^/$]+)",
         "GET /users/{id}/messages/{id}/attachments/{id}", "mailbox", get_attachment),
        ("GET", mailbox + r"/(?P<message>[^/]+)/attachments/(?P<attachment>[^/]+)/\$value",
         "GET /users/{id}/messages/{id}/attachments/{id}/$value", "mailbox", attachment_value),
        ("GET", r"/users/(?P<user>[^/]+)", "GET /users/{id}", "directory", get_user),
    ]
    return [Route(m, re.compile(f"^{p}$"), n, k, h) for m, p, n, k, h in table]


ROUTES = _routes()


def match_route(method: str, path: str) -> tuple[Route, dict] | None:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and route.method == method:
            return route, {k: v for k, v in found.groupdict().items() if v is not None}
    return None


def directory_cost(route: Route, req: GraphRequest) -> int:
    """Resource units per documented cost table: users 2, delta 5; $select saves 1."""
    base = 5 if route.name == "GET /users/delta" else 2
    return base - 1 if "$select" in req.query else base
