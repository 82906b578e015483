"""Control endpoints under /_sim/ for tests, the demo and benchmarks (not part of Microsoft's
API): stats, faults, limits, config, ground truth, revocation and directory changes."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from tests.m365sim.state import SimState
from tests.m365sim.world import UnknownTenant

control = Blueprint("control", __name__, url_prefix="/_sim")


def _state() -> SimState:
    return current_app.config["SIM_STATE"]


def _json_object() -> dict:
    payload = request.get_json(silent=True)
    return payload if isinstance(payload, dict) else {}


def _problem(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    return response


@control.get("/health")
def health():
    return jsonify({"status": "ok"})


@control.get("/config")
def config():
    return jsonify(_state().config())


@control.get("/stats")
def stats():
    return jsonify(_state().stats.snapshot())


@control.post("/stats/reset")
def reset_stats():
    _state().stats.reset()
    return jsonify({"reset": True})


@control.post("/faults")
def faults():
    try:
        applied = _state().faults.configure(_json_object())
    except (TypeError, ValueError) as exc:
        return _problem(400, str(exc))
    return jsonify(applied.as_dict())


@control.post("/limits")
def limits():
    state = _state()
    try:
        state.limiter.limits.update(_json_object())
    except ValueError as exc:
        return _problem(400, str(exc))
    state.limiter.reset()
    return jsonify(state.limiter.limits.as_dict())


@control.get("/ground-truth")
def ground_truth():
    return jsonify(_state().world.ground_truth())


@control.post("/revoke")
def revoke():
    body = _json_object()
    try:
        result = _state().revoke(str(body.get("tenant_id", "")),
                                 consent=bool(body.get("consent", False)),
                                 refresh_tokens=bool(body.get("refresh_tokens", True)))
    except UnknownTenant:
        return _problem(404, "unknown tenant")
    return jsonify(result)


@control.post("/tenants/<tenant_id>/directory-changes")
def directory_changes(tenant_id: str):
    state = _state()
    try:
        with state.lock:
            return jsonify(state.world.apply_directory_changes(tenant_id))
    except UnknownTenant:
        return _problem(404, "unknown tenant")


@control.post("/tenants/<tenant_id>/grants")
def grants(tenant_id: str):
    """Change the application permissions an admin granted; tokens issued later carry them."""
    state = _state()
    roles = _json_object().get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        return _problem(400, "roles must be a list of permission names")
    try:
        state.world.tenant(tenant_id)
    except UnknownTenant:
        return _problem(404, "unknown tenant")
    with state.lock:
        state.settings.grants[tenant_id] = tuple(roles)
    return jsonify({"tenant_id": tenant_id, "roles": roles})


@control.post("/tenants/<tenant_id>/expire-delta-tokens")
def expire_delta_tokens(tenant_id: str):
    """Every outstanding users/delta link now answers 410 syncStateNotFound (as Graph does
    for old tokens); a fresh round from /users/delta works."""
    state = _state()
    try:
        directory = state.world.tenant(tenant_id).directory
    except UnknownTenant:
        return _problem(404, "unknown tenant")
    with state.lock:
        directory.delta_epoch += 1
    return jsonify({"tenant_id": tenant_id, "delta_epoch": directory.delta_epoch})
