"""Cloud Logging JSON lines, trace correlation and redaction.

One JSON object per line on stdout: Cloud Run turns `severity` and `message`
into the entry's fields and the rest into jsonPayload. Exceptions carry the
Error Reporting shape so they are grouped there. Anything that looks like a
bearer token, JWT or secret is masked before it is written, as a last line of
defence: code should never try to log those in the first place.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime

_trace: contextvars.ContextVar[str | None] = contextvars.ContextVar("coax_trace", default=None)

_REDACTIONS = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (re.compile(r"(?i)((?:access|refresh|id)_token|client_secret|password|secret|code_verifier|"
                r"assertion)(['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,}]+"), r"\1\2[redacted]"),
]

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def set_trace(header: str | None, project: str) -> None:
    """Remember the request's trace from `X-Cloud-Trace-Context: TRACE/SPAN;o=1`."""
    if header:
        trace_id = header.split("/", 1)[0].strip()
        if trace_id:
            _trace.set(f"projects/{project}/traces/{trace_id}")
            return
    _trace.set(None)


class CloudJsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": redact(record.getMessage()),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
            "serviceContext": {"service": self.service},
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update({k: _redact_value(v) for k, v in fields.items()})
        trace = _trace.get()
        if trace:
            entry["logging.googleapis.com/trace"] = trace
        if record.exc_info:
            stack = "".join(traceback.format_exception(*record.exc_info))
            # Error Reporting groups entries whose message holds the stack trace.
            entry["@type"] = ("type.googleapis.com/google.devtools.clouderrorreporting."
                              "v1beta1.ReportedErrorEvent")
            entry["stack_trace"] = redact(stack)
            entry["message"] = redact(f"{entry['message']}\n{stack}")
        return json.dumps(entry, default=str)


def _redact_value(value):
    if isinstance(value, str):
        return redact(value)
    return value


def configure_logging(service: str, level: int = logging.INFO, stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(CloudJsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that log request URLs with tokens in query strings stay quiet.
    for noisy in ("urllib3", "werkzeug", "msal", "google"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_fields(**fields) -> dict:
    """`log.info("msg", extra=log_fields(org=...))` puts structured keys in jsonPayload."""
    return {"fields": fields}
