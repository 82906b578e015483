"""What of a message we keep, and how it is reduced before it is stored or published.

The subject is kept because in metadata-only mode it is the only place an amount or an
invoice number can come from. It is reduced first: control characters dropped, whitespace
collapsed, any email address in it (a person's, e.g. "Welcome to Slack, ana@contoso.com")
replaced by "[email]", and cut to MAX_SUBJECT_CHARS.
"""

from __future__ import annotations

import re
import unicodedata

MAX_SUBJECT_CHARS = 200
_EMAIL_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_WHITESPACE = re.compile(r"\s+")


def minimize_subject(subject: str | None) -> str:
    if subject is None:
        return ""
    if not isinstance(subject, str):
        raise TypeError(f"subject must be a string or None, not {type(subject).__name__}")
    text = unicodedata.normalize("NFC", subject)
    text = "".join(_without_controls(c) for c in text)
    text = _EMAIL_ADDRESS.sub("[email]", text)
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > MAX_SUBJECT_CHARS:
        text = text[: MAX_SUBJECT_CHARS - 1].rstrip() + "…"
    return text


def _without_controls(char: str) -> str:
    """Control characters become spaces; invisible format characters (zero-width, bidi
    overrides that could disguise a subject) are dropped."""
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    return " " if category.startswith("C") else char


def sender_address(message: dict) -> str:
    """The sender's address only (the display name is dropped), lower-cased."""
    sender = message.get("from")
    email = sender.get("emailAddress") if isinstance(sender, dict) else None
    address = email.get("address") if isinstance(email, dict) else None
    return address.strip().lower() if isinstance(address, str) else ""

