"""Graph mail endpoints: messages (metadata, body accounting), attachments and $value."""

from __future__ import annotations

from tests.m365sim.directory import SimUser
from tests.m365sim.graph_support import (
    ACCESS_DENIED,
    GraphProblem,
    GraphRequest,
    GraphResponse,
    bad_request,
    collection,
    compile_query_filter,
    encode_token,
    forbidden,
    page_link,
    parse_select,
    parse_top,
    project,
    require,
    skip_value,
)

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


def _mailbox_owner(req: GraphRequest, user: str | None) -> SimUser:
    key = user or req.caller.user_id
    found = req.tenant.directory.get(key) if key else None
    if found is None:
        raise GraphProblem(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    if not req.caller.app_only and found.id != req.caller.user_id:
        raise forbidden(*ACCESS_DENIED)
    return found


def _mail_read(req: GraphRequest) -> None:
    require(req, "Mail.Read", "Mail.ReadBasic.All", "Mail.ReadBasic", problem=ACCESS_DENIED)


def _body_access(req: GraphRequest, requested: set[str], stats, route: str,
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
    predicate = compile_query_filter(req, MESSAGE_FILTERABLE, sim.settings.max_filter_clauses)
    orderby = req.query.get("$orderby")
    if orderby:
        prop = orderby.split()[0]
        if prop != "receivedDateTime" or (predicate and predicate.first_path() != prop):
            raise bad_request("The restriction or sort order is too complex for this "
                              "operation.", "InefficientFilter")
    requested = BODY_FIELDS & set(fields) if fields is not None else BODY_FIELDS - {"uniqueBody"}
    _body_access(req, requested, sim.stats, "GET /users/{id}/messages", owner.id)
    lower, upper = predicate.bounds("receivedDateTime") if predicate else (None, None)
    offset = skip_value(req, "offset", 0)
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
    _body_access(req, requested, sim.stats, "GET /users/{id}/messages/{id}",
                 owner.id)
    return GraphResponse(200, _message_view(req, _message(req, owner, message).graph(), fields))


def _attachments_allowed(req: GraphRequest) -> None:
    # Mail.ReadBasic(.All) covers no attachments: Graph answers 403.
    require(req, "Mail.Read", problem=ACCESS_DENIED)


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
