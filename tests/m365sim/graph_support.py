"""Plumbing shared by the Graph endpoints: request/response types, errors, paging, $select."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

from tests.m365sim.odata import CompiledFilter, FilterError, compile_filter
from tests.m365sim.tokens import Caller
from tests.m365sim.world import SimTenant


@dataclass
class GraphRequest:
    method: str
    path: str  # after /v1.0, e.g. "/users/abc/messages"
    query: dict[str, str]
    caller: Caller
    tenant: SimTenant
    graph_base: str  # absolute ".../v1.0" used in nextLinks
    headers: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    via_batch: bool = False


@dataclass
class GraphResponse:
    status: int
    body: dict | bytes | None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class GraphProblem(Exception):
    """An error answer in Graph's shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def response(self) -> GraphResponse:
        return GraphResponse(self.status, error_body(self.code, self.message), dict(self.headers))


def error_body(code: str, message: str) -> dict:
    request_id = str(uuid.uuid4())
    return {"error": {"code": code, "message": message, "innerError": {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id, "client-request-id": request_id}}}


def bad_request(message: str, code: str = "BadRequest") -> GraphProblem:
    return GraphProblem(400, code, message)


def forbidden(code: str, message: str) -> GraphProblem:
    return GraphProblem(403, code, message)


def encode_token(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, **expected: type) -> dict:
    """Our own paging/delta token back, with `expected` keys of the given types; anything else
    is the 400 Graph gives for a tampered token."""
    invalid = bad_request("Invalid skip or delta token.", "Request_BadRequest")
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(data, dict):
        raise invalid
    for key, kind in expected.items():
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise invalid
    return data


def skip_value(req: GraphRequest, key: str, default: int) -> int:
    """The integer a nextLink's $skiptoken carries (offset or cursor), else `default`."""
    if "$skiptoken" not in req.query:
        return default
    return decode_token(req.query["$skiptoken"], **{key: int})[key]


def page_link(req: GraphRequest, **params: str) -> str:
    query = {k: v for k, v in req.query.items() if k not in ("$skiptoken", "$deltatoken")}
    query.update(params)
    return f"{req.graph_base}{req.path}?{urlencode(query)}"


def parse_top(req: GraphRequest, default: int, maximum: int, message: str, code: str) -> int:
    raw = req.query.get("$top")
    if raw is None:
        return default
    try:
        top = int(raw)
    except ValueError:
        raise bad_request(message.format(raw), code) from None
    if not 1 <= top <= maximum:
        raise bad_request(message.format(raw), code)
    return top


def parse_select(req: GraphRequest, known: set[str], entity: str) -> list[str] | None:
    raw = req.query.get("$select")
    if raw is None:
        return None
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    for name in fields:
        if name not in known:
            raise bad_request(f"Could not find a property named '{name}' on type "
                              f"'{entity}'.", "BadRequest")
    return fields


def project(record: dict, fields: list[str] | None) -> dict:
    if fields is None:
        return record
    chosen = {"id": record["id"]} if "id" in record else {}
    chosen.update({name: record[name] for name in fields if name in record})
    return chosen


def collection(req: GraphRequest, entity_set: str, items: list[dict],
               next_link: str | None = None, delta_link: str | None = None) -> GraphResponse:
    body: dict = {"@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#{entity_set}",
                  "value": items}
    if next_link:
        body["@odata.nextLink"] = next_link
    if delta_link:
        body["@odata.deltaLink"] = delta_link
    return GraphResponse(200, body)


ACCESS_DENIED = ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
NO_PRIVILEGES = ("Authorization_RequestDenied",
                 "Insufficient privileges to complete the operation.")


def require(req: GraphRequest, *permissions: str, problem=NO_PRIVILEGES) -> None:
    if not req.caller.has(*permissions):
        raise forbidden(*problem)


def compile_query_filter(req: GraphRequest, allowed: set[str], max_clauses: int | None = None
                         ) -> CompiledFilter | None:
    raw = req.query.get("$filter")
    if raw is None:
        return None
    try:
        compiled = compile_filter(raw, allowed)
    except FilterError as exc:
        raise bad_request(str(exc), "BadRequest") from None
    if max_clauses is not None and compiled.clause_count > max_clauses:
        raise bad_request("The restriction or sort order is too complex for this operation.",
                          "InefficientFilter")
    return compiled
