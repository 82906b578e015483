"""The Microsoft Graph client every service uses.

- Tokens come from a provider called per request (the vault's cache decides when to refresh);
  a 401 gets exactly one fresh token, then GraphAuthError.
- 429 waits exactly Retry-After; 5xx, dropped connections and 429 without Retry-After back
  off exponentially with jitter; the retry budget is bounded, then a typed error.
- At most `max_concurrency_per_mailbox` requests in flight per mailbox (Outlook allows 4).
- `$select` is built from the allowlists in shared.graph.fields: body fields cannot be asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from shared.graph import fields as allow
from shared.graph.errors import (
    AttachmentTooLarge,
    GraphError,
    GraphForbidden,
    GraphThrottled,
    GraphUnavailable,
)
from shared.graph.retry import RETRYABLE_STATUS, parse_retry_after
from shared.graph.transport import GRAPH_V1, GraphTransport, json_object, redact_path

MAX_BATCH = 20
USERS_PAGE = 999
DELTA_PAGE = 999


@dataclass
class DeltaRound:
    """One delta round: every change since the previous round (removals carry "@removed"),
    and the deltaLink to start the next round from."""

    changes: list[dict]
    delta_link: str


def graph_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("Graph filters need timezone-aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GraphClient(GraphTransport):
    """GraphClient(token_provider, base_url=GRAPH_V1, *, session=None, max_retries=8,
    max_concurrency_per_mailbox=4, sleep=time.sleep, clock=time.monotonic, timeout_s=60,
    backoff=None); `counters` reports what it sent."""

    # --- directory -----------------------------------------------------------------------------
    def list_users(self, fields: Iterable[str] | None = None, *, page_size: int = USERS_PAGE
                   ) -> Iterator[dict]:
        params = {"$select": allow.select("user", fields), "$top": str(page_size)}
        for page in self.iter_pages("users", params):
            yield from page

    def users_delta(self, fields: Iterable[str] | None = None, delta_link: str | None = None,
                    *, page_size: int = DELTA_PAGE) -> DeltaRound:
        """A whole round: follow nextLinks until the page with the deltaLink. `fields` only
        matters for the first round (the deltaLink remembers the selection)."""
        prefer = {"Prefer": f"odata.maxpagesize={page_size}"}
        if delta_link:
            pages = self._walk(delta_link, None, headers=prefer)
        else:
            pages = self._walk("users/delta", {"$select": allow.select("user", fields)},
                               headers=prefer)
        changes: list[dict] = []
        for body in pages:
            changes.extend(body.get("value", []))
            if body.get("@odata.deltaLink"):
                return DeltaRound(changes, body["@odata.deltaLink"])
        raise GraphError("delta round ended without a deltaLink", path="/users/delta")

    # --- sign-ins ------------------------------------------------------------------------------
    def sign_ins(self, start: datetime, end: datetime, top: int = 1000) -> Iterator[dict]:
        """Sign-ins with start <= createdDateTime < end, newest first, kept fields only."""
        if not 1 <= top <= 1000:
            raise ValueError("top must be between 1 and 1000")
        params = {"$filter": f"createdDateTime ge {graph_time(start)} and "
                             f"createdDateTime lt {graph_time(end)}", "$top": str(top)}
        for page in self.iter_pages("auditLogs/signIns", params):
            for record in page:
                yield allow.keep_signin_fields(record)

    # --- mail ----------------------------------------------------------------------------------
    def _mailbox_path(self, user_id: str, *parts: str) -> str:
        return "/".join(["users", quote(user_id, safe="@")] + [quote(p, safe="$") for p in parts])

    def messages(self, user_id: str, filter: str, fields: Iterable[str] | None = None,
                 top: int = 1000) -> Iterator[dict]:
        """Message metadata matching a server-side `$filter` (build it with the sender list:
        non-vendor mail must never leave Microsoft)."""
        if not 1 <= top <= 1000:
            raise ValueError("top must be between 1 and 1000")
        params = {"$select": allow.select("message", fields), "$filter": filter,
                  "$top": str(top)}
        for page in self.iter_pages(self._mailbox_path(user_id, "messages"), params,
                                    mailboxes=[user_id]):
            yield from page

    def attachments(self, user_id: str, message_id: str) -> list[dict]:
        """Attachment metadata (no contentBytes)."""
        path = self._mailbox_path(user_id, "messages", message_id, "attachments")
        params = {"$select": allow.select("attachment")}
        return [item for page in self.iter_pages(path, params, mailboxes=[user_id])
                for item in page]

    def attachment_bytes(self, user_id: str, message_id: str, attachment_id: str,
                         max_bytes: int) -> bytes:
        """The raw bytes, in memory only; AttachmentTooLarge past `max_bytes` (stops reading)."""
        path = self._mailbox_path(user_id, "messages", message_id, "attachments",
                                  attachment_id, "$value")
        response = self.request("GET", path, mailboxes=[user_id], stream=True)
        with response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise AttachmentTooLarge(f"attachment is {declared} bytes, limit {max_bytes}",
                                         status=response.status_code,
                                         path=redact_path(urlsplit(path).path))
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise AttachmentTooLarge(f"attachment exceeds {max_bytes} bytes",
                                             status=response.status_code)
        return bytes(data)

    def attachments_for(self, user_id: str, message_ids: Iterable[str]) -> dict[str, list]:
        """Attachment metadata of many messages of one mailbox, 20 per `$batch` request.
        A message that no longer exists maps to an empty list."""
        message_ids = list(dict.fromkeys(message_ids))
        query = f"$select={allow.select('attachment')}"
        answers = self.batch([{"id": str(i), "method": "GET", "url": "/" + self._mailbox_path(
            user_id, "messages", m, "attachments") + "?" + query}
            for i, m in enumerate(message_ids)])
        found: dict[str, list] = {}
        for index, message_id in enumerate(message_ids):
            answer = answers[str(index)]
            if answer["status"] == 404:
                found[message_id] = []
            elif answer["status"] >= 400:
                body = answer.get("body") if isinstance(answer.get("body"), dict) else {}
                error = body.get("error", {}) if isinstance(body, dict) else {}
                kind = GraphForbidden if answer["status"] == 403 else GraphError
                raise kind(error.get("message", "batch part failed"), status=answer["status"],
                           code=error.get("code"), path="/$batch")
            else:
                found[message_id] = answer["body"].get("value", [])
        return found

    # --- $batch --------------------------------------------------------------------------------
    def batch(self, requests_: list[dict]) -> dict[str, dict]:
        """Run GET requests ({"id", "method", "url"}) in batches of 20; parts answered 429 or
        5xx are retried (waiting the longest Retry-After among them) within the retry budget.
        Returns {id: {"status", "headers", "body"}}; raises GraphThrottled/GraphUnavailable if
        parts still fail when the budget is spent."""
        ids = [r["id"] for r in requests_]
        if len(set(ids)) != len(ids):
            raise ValueError("batch request ids must be unique")
        results: dict[str, dict] = {}
        for start in range(0, len(requests_), MAX_BATCH):
            results.update(self._batch_chunk(requests_[start:start + MAX_BATCH]))
        return results

    def _batch_chunk(self, chunk: list[dict]) -> dict[str, dict]:
        pending = {r["id"]: {"id": r["id"], "method": r.get("method", "GET"), "url": r["url"]}
                   for r in chunk}
        done: dict[str, dict] = {}
        attempt = 0
        while pending:
            mailboxes = [m for m in (_mailbox_of(p["url"]) for p in pending.values()) if m]
            response = self.request("POST", "$batch", body={"requests": list(pending.values())},
                                    mailboxes=mailboxes)
            retry_waits, throttled = [], False
            parts = json_object(response).get("responses")
            if not isinstance(parts, list):
                raise GraphError("batch answer has no responses list", path="/$batch")
            for part in parts:
                if not isinstance(part, dict) or part.get("id") not in pending:
                    continue  # an answer to nothing we asked: ignore it
                status = part.get("status")
                if not isinstance(status, int):
                    raise GraphError("batch part without a status", path="/$batch")
                if status in RETRYABLE_STATUS:
                    headers = {k.lower(): v for k, v in (part.get("headers") or {}).items()}
                    retry_waits.append(parse_retry_after(headers.get("retry-after")))
                    throttled = throttled or status == 429
                    continue
                done[part["id"]] = {"status": status, "headers": part.get("headers", {}),
                                    "body": part.get("body")}
                pending.pop(part["id"], None)
            if not pending:
                break
            if not retry_waits:
                raise GraphError("batch answer is missing parts", path="/$batch")
            if attempt >= self._max_retries:
                kind = GraphThrottled if throttled else GraphUnavailable
                raise kind(f"{len(pending)} batch part(s) still failing after {attempt} "
                           "retries", status=429 if throttled else 503, path="/$batch")
            known = [w for w in retry_waits if w is not None]
            wait = max(known) if known else self._backoff.delay(attempt)
            self.counters.waited(wait, throttled=throttled)
            self._sleep(wait)
            attempt += 1
        return done


def _mailbox_of(url: str) -> str | None:
    parts = urlsplit(url).path.strip("/").split("/")
    if parts and parts[0] == "v1.0":
        parts = parts[1:]
    if len(parts) >= 3 and parts[0] == "users" and parts[2] == "messages":
        return parts[1]
    return None


__all__ = ["GRAPH_V1", "DeltaRound", "GraphClient", "graph_time"]
