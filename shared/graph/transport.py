"""The request loop under the Graph client: tokens per request, retries that honour
Retry-After (else jittered exponential backoff), a per-mailbox concurrency gate, paging, and
HTTP failures mapped to typed errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import requests

from shared.graph.errors import (
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


class GraphTransport:
    """Sends one logical request until it succeeds or a typed error says why it cannot.
    `sleep` and `clock` are injectable so tests can record waits without waiting."""

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
                raise GraphError("refusing a link to another origin",
                                 path=redact_path(link.path))
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def _send(self, method: str, url: str, *, params: dict | None, body: dict | None,
              headers: dict | None, mailboxes: Iterable[str], stream: bool):
        request_headers = {"Authorization": f"Bearer {self._token_provider()}",
                           "Accept": "application/json", **(headers or {})}
        with self._gate.slots(mailboxes):
            started = self._clock()
            try:
                response = self._session.request(method, url, params=params, json=body,
                                                  headers=request_headers, stream=stream,
                                                  timeout=self._timeout)
            except (requests.ConnectionError, requests.Timeout):
                self.counters.sent(None, self._clock() - started)
                return None
            if not stream or response.status_code >= 400:
                response.content  # noqa: B018 (read the body while holding the slot)
        self.counters.sent(response.status_code, self._clock() - started)
        return response

    def request(self, method: str, path_or_url: str, *, params: dict | None = None,
                body: dict | None = None, headers: dict | None = None,
                mailboxes: Iterable[str] = (), stream: bool = False) -> requests.Response:
        """Send with retries; a 2xx response or a typed GraphError."""
        url = self._url(path_or_url)
        path = redact_path(urlsplit(url).path)
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
                # A caching provider (the vault client) must drop the token Graph refused,
                # or the retry would send the same one again.
                invalidate = getattr(self._token_provider, "invalidate", None)
                if callable(invalidate):
                    invalidate()
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
        response = self.request("GET", path_or_url, params=params, mailboxes=mailboxes,
                                headers=headers)
        return json_object(response)

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


def json_object(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GraphError("Graph answered with something other than a JSON object",
                         status=response.status_code,
                         path=redact_path(urlsplit(response.url or "").path))
    return body


def redact_path(path: str) -> str:
    """The request path with object ids (a user id may be an email address) replaced, so an
    error message can be logged: /v1.0/users/{id}/messages/{id}."""
    parts = path.split("/")
    for index in range(1, len(parts)):
        if parts[index - 1] in _ID_AFTER and parts[index] not in ("delta", "$value"):
            parts[index] = "{id}"
    return "/".join(parts)


_ID_AFTER = {"users", "messages", "attachments"}


def _error_details(response: requests.Response) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("code"), str(error.get("message") or f"HTTP {response.status_code}")
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
