"""A local stand-in for Google's OIDC signer (the outer edge we may fake).

It makes an RSA key and a self-signed certificate, serves the certificate
in Google's format (`{kid: PEM}`) on a loopback port, and signs ID tokens
with whatever claims a test wants, so our verification code runs unchanged
on real signatures.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt


class LocalOidcIssuer:
    def __init__(self, kid: str = "local-test-key"):
        self.kid = kid
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local-oidc-issuer")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self._key.public_key()).serial_number(1)
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=1))
                .sign(self._key, hashes.SHA256()))
        self._cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        pem = self._key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        self._signer = crypt.RSASigner.from_string(pem, key_id=kid)
        self._server: ThreadingHTTPServer | None = None
        self.fetches = 0

    def start(self) -> LocalOidcIssuer:
        issuer = self

        class Certs(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                issuer.fetches += 1
                body = json.dumps({issuer.kid: issuer._cert_pem}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def certs_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}/certs"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def token(self, *, email: str, audience: str, issuer: str = "https://accounts.google.com",
              lifetime_s: int = 600, issued_ago_s: int = 0, email_verified: bool = True,
              signer=None) -> str:
        now = int(time.time()) - issued_ago_s
        claims = {"iss": issuer, "aud": audience, "email": email, "email_verified": email_verified,
                  "iat": now, "exp": now + lifetime_s, "sub": "1234567890"}
        return jwt.encode(signer or self._signer, claims).decode()

    def foreign_signer(self):
        """A signer with the same key id but another key: a forged token."""
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        return crypt.RSASigner.from_string(pem, key_id=self.kid)
