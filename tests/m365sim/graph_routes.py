"""The Flask side of Graph: authentication, fault injection, throttling, accounting, `$batch`.

A request passes: route -> token -> injected faults -> documented limits -> handler; a `$batch`
runs each part through the same steps (parts are throttled on their own, as in Graph)."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time
from urllib.parse import parse_qsl, urlsplit

import jwt
from flask import Blueprint, Response, current_app, request

from tests.m365sim.graph_api import directory_cost, match_route
from tests.m365sim.graph_support import (
    GraphProblem,
    GraphRequest,
    GraphResponse,
    bad_request,
    error_body,
)
from tests.m365sim.state import SimState
from tests.m365sim.throttling import Throttle
from tests.m365sim.tokens import GRAPH_AUDIENCE, Caller
from tests.m365sim.world import UnknownTenant

MAX_BATCH = 20
graph = Blueprint("graph", __name__)
_THROTTLE_MESSAGES = {
    "MailboxConcurrency": ("ApplicationThrottled",
                           "Application is over its MailboxConcurrency limit."),
    "MailboxRequestRate": ("ApplicationThrottled",
                           "Application is over its MailboxRequestRate limit."),
    "SignInReports": ("TooManyRequests", "Too many requests."),
    "Directory": ("TooManyRequests", "Too many requests."),
    "Injected": ("TooManyRequests", "Too many requests."),
}


def _state() -> SimState:
    return current_app.config["SIM_STATE"]


def _authenticate(state: SimState, authorization: str | None) -> Caller:
    if not authorization or not authorization.startswith("Bearer "):
        raise GraphProblem(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims = state.key.verify(authorization[7:].strip(), GRAPH_AUDIENCE)
    except jwt.ExpiredSignatureError:
        raise GraphProblem(401, "InvalidAuthenticationToken",
                           "Lifetime validation failed, the token is expired.") from None
    except jwt.InvalidTokenError:
        raise GraphProblem(401, "InvalidAuthenticationToken",
                           "Access token validation failure. Invalid audience or signature."
                           ) from None
    return Caller.from_claims(claims)


def _retry_after_header(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _throttled(state: SimState, throttle: Throttle, with_header: bool = True) -> GraphResponse:
    state.stats.record_throttle(throttle.retry_after if with_header else None, throttle.reason)
    code, message = _THROTTLE_MESSAGES[throttle.reason]
    headers = {"Retry-After": _retry_after_header(throttle.retry_after)} if with_header else {}
    return GraphResponse(429, error_body(code, message), headers)


def _mailbox_of(req: GraphRequest, params: dict) -> str | None:
    key = params.get("user") or req.caller.user_id
    if key is None:
        return None
    user = req.tenant.directory.get(key)
    return user.id if user else key.lower()


def execute(state: SimState, method: str, path: str, query: dict, caller: Caller,
            graph_base: str, *, fault: str | None, retry_after: float,
            via_batch: bool = False, headers: dict | None = None) -> GraphResponse:
    matched = match_route(method, path)
    if matched is None:
        segment = path.strip("/").split("/")[0] or path
        return bad_request(f"Resource not found for the segment '{segment}'.").response()
    route, params = matched
    try:
        tenant = state.world.tenant(caller.tenant_id)
    except UnknownTenant:
        return GraphProblem(401, "InvalidAuthenticationToken", "Unknown tenant.").response()
    req = GraphRequest(method, path, query, caller, tenant, graph_base, headers=headers or {},
                       via_batch=via_batch)
    mailbox = _mailbox_of(req, params) if route.kind == "mailbox" else None
    with state.stats.in_flight(mailbox):
        response = _run(state, route, params, req, mailbox, fault, retry_after)
    state.stats.record(endpoint=route.name, status=response.status, tenant_id=tenant.id,
                       mailbox=mailbox, via_batch=via_batch)
    return response


def _run(state, route, params, req, mailbox, fault, retry_after) -> GraphResponse:
    if fault == "error":
        state.stats.record_fault("error")
        return GraphResponse(503, error_body("ServiceUnavailable", "Service Unavailable"))
    if fault in ("throttle", "throttle_no_ra"):
        return _throttled(state, Throttle("Injected", retry_after), fault == "throttle")
    limiter, app_id, headers = state.limiter, req.caller.app_id, {}
    if route.kind == "signins":
        throttle = limiter.check_signins(app_id, req.tenant.id)
    elif route.kind == "directory":
        throttle, used = limiter.check_directory(app_id, req.tenant.id,
                                                 len(req.tenant.directory.users),
                                                 directory_cost(route, req))
        headers["x-ms-resource-unit"] = str(directory_cost(route, req))
        if used >= 80:
            headers["x-ms-throttle-limit-percentage"] = f"{used / 100:.1f}"
    else:
        throttle = limiter.check_mailbox(app_id, mailbox) or limiter.enter_mailbox(app_id,
                                                                                    mailbox)
        if throttle is None:
            try:
                return _handle(state, route, params, req)
            finally:
                limiter.leave_mailbox(app_id, mailbox)
    if throttle is not None:
        return _throttled(state, throttle)
    response = _handle(state, route, params, req)
    response.headers.update(headers)
    return response


def _handle(state, route, params, req) -> GraphResponse:
    latency = state.faults.latency_s()
    if latency:
        time.sleep(latency)  # while the request holds its concurrency slot, like real work
    try:
        return route.handler(req, **params, sim=state)
    except GraphProblem as problem:
        return problem.response()


def _flask_response(response: GraphResponse) -> Response:
    if isinstance(response.body, bytes):
        payload = response.body
    else:
        payload = json.dumps(response.body).encode()
    headers = {"request-id": request.headers.get("client-request-id", ""), **response.headers}
    content_type = response.content_type
    if content_type == "application/json":
        content_type = "application/json;odata.metadata=minimal;odata.streaming=true;" \
                       "IEEE754Compatible=false;charset=utf-8"
    return Response(payload, status=response.status, headers=headers, content_type=content_type)


def _drop_connection() -> Response:
    """Close the socket without an answer: the client sees a reset/closed connection."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return Response(b"", status=500)


def _graph_base() -> str:
    return request.host_url.rstrip("/") + "/v1.0"


@graph.route("/v1.0/<path:path>", methods=["GET", "POST"])
def graph_request(path: str):
    state = _state()
    fault, retry_after = state.faults.draw()
    if fault == "drop":
        state.stats.record_fault("drop")
        return _drop_connection()
    try:
        caller = _authenticate(state, request.headers.get("Authorization"))
    except GraphProblem as problem:
        state.stats.record(endpoint="unauthenticated", status=problem.status, tenant_id=None,
                           mailbox=None)
        return _flask_response(problem.response())
    if path == "$batch":
        if request.method != "POST":
            return _flask_response(bad_request("$batch needs POST.").response())
        answer = _batch(state, caller, fault, retry_after)
        state.stats.record(endpoint="POST /$batch", status=answer.status,
                           tenant_id=caller.tenant_id, mailbox=None)
        return _flask_response(answer)
    query = {k: v for k, v in request.args.items()}
    return _flask_response(execute(state, request.method, "/" + path, query, caller,
                                   _graph_base(), fault=fault, retry_after=retry_after,
                                   headers={"Prefer": request.headers.get("Prefer", "")}))


def _batch(state: SimState, caller: Caller, fault: str | None, retry_after: float
           ) -> GraphResponse:
    if fault == "error":
        return GraphResponse(503, error_body("ServiceUnavailable", "Service Unavailable"))
    if fault in ("throttle", "throttle_no_ra"):
        return _throttled(state, Throttle("Injected", retry_after), fault == "throttle")
    payload = request.get_json(silent=True)
    parts = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(parts, list) or not parts:
        return bad_request("Invalid batch payload format.").response()
    if len(parts) > MAX_BATCH:
        return bad_request(f"Invalid batch payload. The number of requests exceeds the limit "
                           f"of {MAX_BATCH}.").response()
    ids = [p.get("id") if isinstance(p, dict) else None for p in parts]
    if any(not isinstance(i, str) or not i for i in ids) or len(set(ids)) != len(ids):
        return bad_request("Invalid batch payload: every request needs a unique id.").response()
    answers = [_batch_part(state, caller, part) for part in parts]
    # Graph answers parts in any order; shuffle deterministically so clients match by id.
    answers.sort(key=lambda a: hashlib.sha256(a["id"].encode()).hexdigest())
    return GraphResponse(200, {"responses": answers})


def _batch_part(state: SimState, caller: Caller, part: dict) -> dict:
    url = str(part.get("url", ""))
    split = urlsplit(url if url.startswith("/") else "/" + url)
    path = split.path[len("/v1.0"):] if split.path.startswith("/v1.0/") else split.path
    fault, retry_after = state.faults.draw(allow_drop=False)
    response = execute(state, str(part.get("method", "GET")).upper(), path,
                       dict(parse_qsl(split.query, keep_blank_values=True)), caller,
                       _graph_base(), fault=fault, retry_after=retry_after, via_batch=True,
                       headers={str(k): str(v) for k, v in (part.get("headers") or {}).items()
                                if isinstance(part.get("headers"), dict)})
    body = response.body
    headers = dict(response.headers)
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode()
        headers["Content-Type"] = response.content_type
    else:
        headers.setdefault("Content-Type", "application/json")
    return {"id": part["id"], "status": response.status, "headers": headers, "body": body}
