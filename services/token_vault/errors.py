"""What the vault answers when it says no: an HTTP status, a stable code, a safe message."""

from __future__ import annotations


class VaultRefusal(Exception):
    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def body(self) -> dict:
        return {"error": self.code, "detail": self.detail}


def bad_request(detail: str, code: str = "bad_request") -> VaultRefusal:
    return VaultRefusal(400, code, detail)
