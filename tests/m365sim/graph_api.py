"""Graph v1.0 endpoints: users, users/delta, auditLogs/signIns, messages and attachments.

Each handler takes a GraphRequest and returns a GraphResponse (or raises GraphProblem), so the
same code answers direct requests and `$batch` parts. Permissions come from the token."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tests.m365sim.directory import SimUser
from tests.m365sim.graph_support import (
    GraphProblem,
    GraphRequest,
    GraphResponse,
    bad_request,
    collection,
    decode_token,
    encode_token,
    forbidden,
    page_link,
    parse_select,
    parse_top,
    project,
)
from tests.m365sim.odata import FilterError, compile_filter
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
MESSAGE_PROPERTIES = {
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
    "receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject",
    "bodyPreview", "importance", "parentFolderId", "conversationId", "conversationIndex",
    "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink",
    "inferenceClassification", "body", "uniqueBody", "sender", "from", "toRecipients",
    "ccRecipients", "bccRecipients", "replyTo", "flag"}
BODY_FIELDS = {"body", "bodyPreview", "uniqueBody"}
MESSAGE_FILTERABLE = {"receivedDateTime", "from/emailAddress/address",
                      "sender/emailAddress/address", "subject", "hasAttachments", "isRead"}
ATTACHMENT_PROPERTIES = {"id", "lastModifiedDateTime", "name", "contentType", "size",
                         "isInline", "contentId", "contentLocation", "contentBytes"}
DELTA_PAGE = 200
ACCESS_DENIED = ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
NO_PRIVILEGES = ("Authorization_RequestDenied",
                 "Insufficient privileges to complete the operation.")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    name: str  # endpoint label used in stats
    kind: str  # directory | signins | mailbox | batch
    handler: Callable[..., GraphResponse]


def _require(req: GraphRequest, *permissions: str, problem=NO_PRIVILEGES) -> None:
    if not req.caller.has(*permissions):
        raise forbidden(*problem)


def _compile(req: GraphRequest, allowed: set[str], max_clauses: int | None = None):
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


# --- directory ---------------------------------------------------------------------------------

def _directory_read(req: GraphRequest) -> None:
    _require(req, "User.Read.All", "User.ReadBasic.All", "Directory.Read.All")


def list_users(req: GraphRequest, *, sim=None) -> GraphResponse:
    _directory_read(req)
    top = parse_top(req, 100, 999, "Invalid page size specified: '{}'. Must be between 1 and "
                    "999 inclusive.", "Request_UnsupportedQuery")
    fields = parse_select(req, USER_PROPERTIES, "microsoft.graph.user") or USER_DEFAULT
    predicate = _compile(req, USER_FILTERABLE)
    after = decode_token(req.query["$skiptoken"]).get("after", -1) if (
        "$skiptoken" in req.query) else -1
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
    _require(req, "User.Read", "User.Read.All", "Directory.Read.All")
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
        state = decode_token(req.query["$skiptoken"])
    else:
        since = decode_token(req.query["$deltatoken"]).get("since", 0) if (
            "$deltatoken" in req.query) else 0
        fields = parse_select(req, USER_PROPERTIES, "microsoft.graph.user")
        state = {"since": since, "upto": directory.version, "after": -1,
                 "select": fields or USER_DEFAULT}
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
    token = encode_token({"since": upto})
    return collection(req, "users", items, delta_link=page_link(req, **{"$deltatoken": token}))


# --- sign-ins ----------------------------------------------------------------------------------

def sign_ins(req: GraphRequest, *, sim=None) -> GraphResponse:
    _require(req, "AuditLog.Read.All")
    if not req.tenant.has_p1:
        raise forbidden("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                        "Neither tenant is B2C or tenant doesn't have premium license")
    top = parse_top(req, 1000, 1000, "Invalid page size specified: '{}'. Must be between 1 "
                    "and 1000 inclusive.", "Request_UnsupportedQuery")
    predicate = _compile(req, SIGNIN_FILTERABLE)
    lower, upper = predicate.bounds("createdDateTime") if predicate else (None, None)
    offset = decode_token(req.query["$skiptoken"]).get("offset", 0) if (
        "$skiptoken" in req.query) else 0
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


# --- mail --------------------------------------------------------------------------------------

def _mailbox_owner(req: GraphRequest, user: str | None) -> SimUser:
    key = user or req.caller.user_id
    found = req.tenant.directory.get(key) if key else None
    if found is None:
        raise GraphProblem(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    if not req.caller.app_only and found.id != req.caller.user_id:
        raise forbidden(*ACCESS_DENIED)
    return found


def _mail_read(req: GraphRequest) -> None:
    _require(req, "Mail.Read", "Mail.ReadBasic.All", "Mail.ReadBasic", problem=ACCESS_DENIED)


def _body_access(req: GraphRequest, requested: set[str], settings, stats, route: str,
                 mailbox: str) -> None:
    """Serve body fields only with Mail.Read; count every request for one as a violation."""
    if requested:
        stats.record_privacy_violation(endpoint=route, mailbox=mailbox, fields=sorted(requested),
                                       reason="$select asked for body fields" if "$select" in
                                       req.query else "no $select: Graph returns the body")
    # An explicit body $select without Mail.Read is refused; without $select Graph answers
    # with its default set minus the body fields the caller cannot read.
    if requested and "$select" in req.query and not req.caller.has("Mail.Read"):
        raise forbidden(*ACCESS_DENIED)


def _message_view(req: GraphRequest, record: dict, fields: list[str] | None) -> dict:
    """$select as asked; without one, Graph's default set (no uniqueBody, and no body fields
    at all for a Mail.ReadBasic caller)."""
    if fields is not None:
        return project(record, fields)
    hidden = {"uniqueBody"} if req.caller.has("Mail.Read") else BODY_FIELDS
    return {k: v for k, v in record.items() if k not in hidden}


def list_messages(req: GraphRequest, user: str | None = None, *, sim) -> GraphResponse:
    _mail_read(req)
    owner = _mailbox_owner(req, user)
    top = parse_top(req, 10, 1000, "The value '{}' of $top is invalid: it must be between 1 "
                    "and 1000.", "ErrorInvalidArgument")
    fields = parse_select(req, MESSAGE_PROPERTIES, "microsoft.graph.message")
    predicate = _compile(req, MESSAGE_FILTERABLE, sim.settings.max_filter_clauses)
    orderby = req.query.get("$orderby")
    if orderby:
        prop = orderby.split()[0]
        if prop != "receivedDateTime" or (predicate and predicate.first_path() != prop):
            raise bad_request("The restriction or sort order is too complex for this "
                              "operation.", "InefficientFilter")
    requested = BODY_FIELDS & set(fields) if fields is not None else BODY_FIELDS - {"uniqueBody"}
    _body_access(req, requested, sim.settings, sim.stats, "GET /users/{id}/messages", owner.id)
    lower, upper = predicate.bounds("receivedDateTime") if predicate else (None, None)
    offset = decode_token(req.query["$skiptoken"]).get("offset", 0) if (
        "$skiptoken" in req.query) else 0
    matched = []
    for message in req.tenant.mail.mailbox(owner):
        if (lower and message.received < lower) or (upper and message.received > upper):
            continue
        record = message.graph()
        if predicate is None or predicate.matches(record):
            matched.append(record)
    if orderby and orderby.split()[-1].lower() == "asc":
        matched.reverse()
    page = [_message_view(req, r, fields) for r in matched[offset:offset + top]]
    more = offset + top < len(matched)
    next_link = page_link(req, **{"$skiptoken": encode_token({"offset": offset + top})}) if (
        more) else None
    return collection(req, f"users('{owner.id}')/messages", page, next_link)


def _message(req: GraphRequest, owner: SimUser, message_id: str):
    message = req.tenant.mail.find(owner, message_id)
    if message is None:
        raise GraphProblem(404, "ErrorItemNotFound",
                           "The specified object was not found in the store.")
    return message


def get_message(req: GraphRequest, user: str | None = None, message: str = "", *, sim
                ) -> GraphResponse:
    _mail_read(req)
    owner = _mailbox_owner(req, user)
    fields = parse_select(req, MESSAGE_PROPERTIES, "microsoft.graph.message")
    requested = BODY_FIELDS & set(fields) if fields is not None else BODY_FIELDS - {"uniqueBody"}
    _body_access(req, requested, sim.settings, sim.stats, "GET /users/{id}/messages/{id}",
                 owner.id)
    return GraphResponse(200, _message_view(req, _message(req, owner, message).graph(), fields))


def _attachments_allowed(req: GraphRequest) -> None:
    # Mail.ReadBasic(.All) covers no attachments: Graph answers 403.
    _require(req, "Mail.Read", problem=ACCESS_DENIED)


def list_attachments(req: GraphRequest, user: str | None = None, message: str = "", *, sim
                     ) -> GraphResponse:
    _attachments_allowed(req)
    owner = _mailbox_owner(req, user)
    fields = parse_select(req, ATTACHMENT_PROPERTIES, "microsoft.graph.attachment")
    items = [project(a.graph(), fields) for a in _message(req, owner, message).attachments]
    return collection(req, f"users('{owner.id}')/messages('{message}')/attachments", items)


def _attachment(req: GraphRequest, owner: SimUser, message: str, attachment: str):
    for candidate in _message(req, owner, message).attachments:
        if candidate.id == attachment:
            return candidate
    raise GraphProblem(404, "ErrorItemNotFound", "The specified object was not found in the "
                       "store.")


def get_attachment(req: GraphRequest, user: str | None = None, message: str = "",
                   attachment: str = "", *, sim) -> GraphResponse:
    _attachments_allowed(req)
    owner = _mailbox_owner(req, user)
    fields = parse_select(req, ATTACHMENT_PROPERTIES, "microsoft.graph.attachment")
    return GraphResponse(200, project(_attachment(req, owner, message, attachment).graph(),
                                      fields))


def attachment_value(req: GraphRequest, user: str | None = None, message: str = "",
                     attachment: str = "", *, sim) -> GraphResponse:
    _attachments_allowed(req)
    owner = _mailbox_owner(req, user)
    found = _attachment(req, owner, message, attachment)
    return GraphResponse(200, found.content(), content_type=found.content_type)


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
