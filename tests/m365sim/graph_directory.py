"""Graph directory and audit endpoints: users, users/delta, /me and auditLogs/signIns."""

from __future__ import annotations

import re

from tests.m365sim.directory import SimUser
from tests.m365sim.graph_support import (
    GraphProblem,
    GraphRequest,
    GraphResponse,
    bad_request,
    collection,
    compile_query_filter,
    decode_token,
    encode_token,
    forbidden,
    page_link,
    parse_select,
    parse_top,
    project,
    require,
    skip_value,
)
from tests.m365sim.signins import iso

USER_PROPERTIES = {"id", "businessPhones", "displayName", "givenName", "jobTitle", "mail",
                   "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                   "userPrincipalName", "accountEnabled", "department", "otherMails"}
USER_DEFAULT = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"]
USER_FILTERABLE = {"accountEnabled", "department", "userPrincipalName", "displayName", "mail",
                   "id", "givenName", "surname", "jobTitle"}
SIGNIN_FILTERABLE = {"createdDateTime", "userId", "appId", "appDisplayName",
                     "userPrincipalName", "status/errorCode"}
DELTA_PAGE = 200


def _directory_read(req: GraphRequest) -> None:
    require(req, "User.Read.All", "User.ReadBasic.All", "Directory.Read.All")


def list_users(req: GraphRequest, *, sim=None) -> GraphResponse:
    _directory_read(req)
    top = parse_top(req, 100, 999, "Invalid page size specified: '{}'. Must be between 1 and "
                    "999 inclusive.", "Request_UnsupportedQuery")
    fields = parse_select(req, USER_PROPERTIES, "microsoft.graph.user") or USER_DEFAULT
    predicate = compile_query_filter(req, USER_FILTERABLE)
    after = skip_value(req, "after", -1)
    page: list[SimUser] = []
    more = False
    for user in req.tenant.directory.users[after + 1:]:
        if user.id in req.tenant.directory.removed:
            continue
        record = user.graph()
        if predicate is not None and not predicate.matches(record):
            continue
        if len(page) == top:
            more = True
            break
        page.append(user)
    items = [project(u.graph(), fields) for u in page]
    next_link = page_link(req, **{"$skiptoken": encode_token({"after": page[-1].index})}) if (
        more) else None
    return collection(req, "users", items, next_link)


def get_user(req: GraphRequest, user: str, *, sim=None) -> GraphResponse:
    _directory_read(req)
    found = req.tenant.directory.get(user)
    if found is None:
        raise GraphProblem(404, "Request_ResourceNotFound",
                           f"Resource '{user}' does not exist or one of its queried reference-"
                           "property objects are not present.")
    fields = parse_select(req, USER_PROPERTIES, "microsoft.graph.user") or USER_DEFAULT
    return GraphResponse(200, project(found.graph(), fields))


def me(req: GraphRequest, *, sim=None) -> GraphResponse:
    if req.caller.app_only:
        raise bad_request("/me request is only valid with delegated authentication flow.")
    require(req, "User.Read", "User.Read.All", "Directory.Read.All")
    found = req.tenant.directory.get(req.caller.user_id)
    if found is None:
        raise GraphProblem(404, "Request_ResourceNotFound", "The signed-in user is gone.")
    fields = parse_select(req, USER_PROPERTIES, "microsoft.graph.user") or USER_DEFAULT
    return GraphResponse(200, project(found.graph(), fields))


def _max_page_size(req: GraphRequest, default: int) -> int:
    """`Prefer: odata.maxpagesize=N` (delta honours it, up to 999)."""
    found = re.search(r"odata\.maxpagesize=(\d+)", req.headers.get("Prefer", ""))
    return min(max(int(found.group(1)), 1), 999) if found else default


def users_delta(req: GraphRequest, *, sim=None) -> GraphResponse:
    """A round lists users changed after `since` up to the version when the round started,
    paging by creation index; removals come back as `@removed`."""
    _directory_read(req)
    directory = req.tenant.directory
    if "$skiptoken" in req.query:
        state = decode_token(req.query["$skiptoken"], since=int, upto=int, after=int,
                             select=list, epoch=int)
    elif "$deltatoken" in req.query:  # the deltaLink remembers the round's $select
        previous = decode_token(req.query["$deltatoken"], since=int, select=list, epoch=int)
        state = {**previous, "upto": directory.version, "after": -1}
    else:
        fields = parse_select(req, USER_PROPERTIES, "microsoft.graph.user")
        state = {"since": 0, "upto": directory.version, "after": -1,
                 "select": fields or USER_DEFAULT, "epoch": directory.delta_epoch}
    if state["epoch"] != directory.delta_epoch:
        raise GraphProblem(410, "syncStateNotFound",
                           "The sync state generation is not found. Resync required.")
    since, upto, fields = state["since"], state["upto"], state["select"]
    page_size = _max_page_size(req, DELTA_PAGE)
    items, last_index, more = [], state["after"], False
    for user in directory.users[state["after"] + 1:]:
        removed_at = directory.removed.get(user.id)
        if removed_at is not None and removed_at <= upto:
            item = ({"id": user.id, "@removed": {"reason": "changed"}}
                    if since < removed_at and since > 0 else None)
        elif since < user.version <= upto:
            item = project(user.graph(), fields)
        else:
            item = None
        if item is None:
            continue
        if len(items) == page_size:
            more = True
            break
        items.append(item)
        last_index = user.index
    base = {k: v for k, v in req.query.items() if k.startswith("$") is False}
    req = GraphRequest(req.method, req.path, base, req.caller, req.tenant, req.graph_base)
    if more:
        token = encode_token({**state, "after": last_index})
        return collection(req, "users", items, next_link=page_link(req, **{"$skiptoken": token}))
    token = encode_token({"since": upto, "select": fields, "epoch": state["epoch"]})
    return collection(req, "users", items, delta_link=page_link(req, **{"$deltatoken": token}))


# --- sign-ins ----------------------------------------------------------------------------------

def sign_ins(req: GraphRequest, *, sim=None) -> GraphResponse:
    require(req, "AuditLog.Read.All")
    if not req.tenant.has_p1:
        raise forbidden("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                        "Neither tenant is B2C or tenant doesn't have premium license")
    top = parse_top(req, 1000, 1000, "Invalid page size specified: '{}'. Must be between 1 "
                    "and 1000 inclusive.", "Request_UnsupportedQuery")
    predicate = compile_query_filter(req, SIGNIN_FILTERABLE)
    lower, upper = predicate.bounds("createdDateTime") if predicate else (None, None)
    offset = skip_value(req, "offset", 0)
    log, directory = req.tenant.signins, req.tenant.directory
    events = log.between(lower, upper)
    if predicate is not None and predicate.paths() == {"createdDateTime"}:
        # Cheap path for the usual time-window query: no full records for the filter.
        events = [e for e in events if predicate.matches({"createdDateTime": iso(e.created)})]
    elif predicate is not None:
        events = [e for e in events if predicate.matches(log.graph(e, directory))]
    page = [log.graph(e, directory) for e in events[offset:offset + top]]
    more = offset + top < len(events)
    next_link = page_link(req, **{"$skiptoken": encode_token({"offset": offset + top})}) if (
        more) else None
    return collection(req, "auditLogs/signIns", page, next_link)
