"""The Microsoft Graph client every service uses.

- Tokens come from a provider called per request (the vault's cache decides when to refresh);
  a 401 gets exactly one fresh token, then GraphAuthError.
- 429 waits exactly Retry-After; 5xx, dropped connections and 429 without Retry-After back
  off exponentially with jitter; the retry budget is bounded, then a typed error.
- At most `max_concurrency_per_mailbox` requests in flight per mailbox (Outlook allows 4).
- `$select` is built from the allowlists in shared.graph.fields: body fields cannot be asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import requests

from shared.graph import fields as allow
from shared.graph.errors import (
    AttachmentTooLarge,
    GraphAuthError,
    GraphBadRequest,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
)
from shared.graph.retry import RETRYABLE_STATUS, Backoff, GraphCounters, parse_retry_after

GRAPH_V1 = "https://graph.microsoft.com/v1.0"
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


class _MailboxGate:
    """A bounded semaphore per mailbox: never more than `limit` requests in flight to one."""

    def __init__(self, limit: int):
        self._limit = limit
        self._lock = threading.Lock()
        self._gates: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slots(self, mailboxes: Iterable[str]):
        with ExitStack() as stack:
            for mailbox in sorted(set(mailboxes)):  # fixed order: no deadlock between batches
                with self._lock:
                    gate = self._gates.setdefault(mailbox,
                                                  threading.BoundedSemaphore(self._limit))
                gate.acquire()
                stack.callback(gate.release)
            yield


class GraphClient:
    def __init__(self, token_provider: Callable[[], str], base_url: str = GRAPH_V1, *,
                 session: requests.Session | None = None, max_retries: int = 8,
                 max_concurrency_per_mailbox: int = 4, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, timeout_s: float = 60.0,
                 backoff: Backoff | None = None):
        if max_retries < 0 or max_concurrency_per_mailbox < 1:
            raise ValueError("max_retries must be >= 0 and max_concurrency_per_mailbox >= 1")
        self._token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._max_retries = max_retries
        self._sleep = sleep
        self._clock = clock
        self._timeout = timeout_s
        self._backoff = backoff or Backoff()
        self._gate = _MailboxGate(max_concurrency_per_mailbox)
        self.counters = GraphCounters()

    # --- the request loop ----------------------------------------------------------------------
    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("https://", "http://")):
            # nextLinks and deltaLinks are followed verbatim, but the bearer token only ever
            # goes to the Graph origin we were configured with.
            base, link = urlsplit(self.base_url), urlsplit(path_or_url)
            if (link.scheme, link.netloc) != (base.scheme, base.netloc):
                raise GraphError("refusing a link to another origin", path=link.path)
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def _send(self, method: str, url: str, *, params: dict | None, body: dict | None,
              headers: dict | None, mailboxes: Iterable[str], stream: bool):
        request_headers = {"Authorization": f"Bearer {self._token_provider()}",
                           "Accept": "application/json", **(headers or {})}
        with self._gate.slots(mailboxes):
            try:
                response = self._session.request(method, url, params=params, json=body,
                                                  headers=request_headers, stream=stream,
                                                  timeout=self._timeout)
            except (requests.ConnectionError, requests.Timeout):
                self.counters.sent(None)
                return None
            if not stream or response.status_code >= 400:
                response.content  # noqa: B018 (read the body while holding the slot)
        self.counters.sent(response.status_code)
        return response

    def request(self, method: str, path_or_url: str, *, params: dict | None = None,
                body: dict | None = None, headers: dict | None = None,
                mailboxes: Iterable[str] = (), stream: bool = False) -> requests.Response:
        """Send with retries; a 2xx response or a typed GraphError."""
        url = self._url(path_or_url)
        path = urlsplit(url).path
        mailboxes = tuple(mailboxes)
        attempt, refreshed = 0, False
        while True:
            response = self._send(method, url, params=params, body=body, headers=headers,
                                  mailboxes=mailboxes, stream=stream)
            status = response.status_code if response is not None else None
            if status is not None and status < 400:
                return response
            if status == 401 and not refreshed:
                refreshed = True  # one fresh token, then give up
                self.counters.refreshed_token()
                continue
            if status is not None and status not in RETRYABLE_STATUS:
                raise _typed_error(response, path)
            if attempt >= self._max_retries:
                raise _exhausted(response, path, attempt)
            retry_after = parse_retry_after(response.headers.get("Retry-After")) if (
                response is not None) else None
            wait = retry_after if retry_after is not None else self._backoff.delay(attempt)
            self.counters.waited(wait, throttled=status == 429)
            self._sleep(wait)
            attempt += 1

    def get_json(self, path_or_url: str, params: dict | None = None, *,
                 mailboxes: Iterable[str] = (), headers: dict | None = None) -> dict:
        return self.request("GET", path_or_url, params=params, mailboxes=mailboxes,
                            headers=headers).json()

    # --- paging --------------------------------------------------------------------------------
    def _walk(self, path_or_url: str, params: dict | None, mailboxes: Iterable[str] = (),
              headers: dict | None = None) -> Iterator[dict]:
        """Every page body; nextLinks are followed verbatim (never rebuilt from $skip)."""
        body = self.get_json(path_or_url, params, mailboxes=mailboxes, headers=headers)
        yield body
        while body.get("@odata.nextLink"):
            body = self.get_json(body["@odata.nextLink"], mailboxes=mailboxes, headers=headers)
            yield body

    def iter_pages(self, path_or_url: str, params: dict | None = None, *,
                   mailboxes: Iterable[str] = ()) -> Iterator[list[dict]]:
        for body in self._walk(path_or_url, params, mailboxes):
            yield body.get("value", [])

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
                                         status=response.status_code, path=urlsplit(path).path)
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
            for part in response.json().get("responses", []):
                status = int(part.get("status", 0))
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


def _error_details(response: requests.Response) -> tuple[str | None, str]:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return None, f"HTTP {response.status_code}"
    if isinstance(error, dict):
        return error.get("code"), error.get("message") or f"HTTP {response.status_code}"
    return None, f"HTTP {response.status_code}"


def _typed_error(response: requests.Response, path: str) -> GraphError:
    code, message = _error_details(response)
    kind = {400: GraphBadRequest, 401: GraphAuthError, 403: GraphForbidden,
            404: GraphNotFound}.get(response.status_code, GraphError)
    return kind(message, status=response.status_code, code=code, path=path,
                request_id=response.headers.get("request-id"))


def _exhausted(response: requests.Response | None, path: str, attempts: int) -> GraphError:
    if response is None:
        return GraphUnavailable(f"no answer after {attempts} retries (connection failed)",
                                path=path)
    code, message = _error_details(response)
    kind = GraphThrottled if response.status_code == 429 else GraphUnavailable
    error = kind(f"{message} (after {attempts} retries)", status=response.status_code,
                 code=code, path=path, request_id=response.headers.get("request-id"))
    # The last Retry-After tells a caller how long to park the work (e.g. nack with delay).
    error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return error
