#!/usr/bin/env python3
"""A fake OAuth 2.0 provider and an XOAUTH2-only SMTP server (aiosmtpd) in one process, sharing one
token table, so "a currently valid access token" means exactly what the provider issued and has
not expired or revoked. For the OAuth (XOAUTH2) credentials of issue #21.

Standalone:
    python3 scripts/interop/oauth_fixture.py --redirect-uri http://127.0.0.1:PORT/settings/oauth/callback \
        --ready-file /tmp/ready.json [--access-ttl 3600] [--rotate] [--provider-id google] \
        [--provider-name Google] [--token-delay 0] [--smtp-idle-timeout 300]
  writes the ready JSON {"providerURL", "smtpHost", "smtpPort", "caFile", "providersFile",
  "clientId", "clientSecret"} once both servers listen, then serves until SIGTERM or SIGINT.

As a module:
    fixture = OAuthFixture(redirect_uri=..., access_ttl=6, rotate=True)
    ready = fixture.start()   # the same dict
    ... fixture.stats(), fixture.issued(), fixture.revoke(), fixture.configure(accessTTL=...),
        fixture.messages(), fixture.refreshes() ...
    fixture.stop()

Provider (HTTP on 127.0.0.1, an ephemeral port):
  GET  /authorize            checks response_type=code, client_id, redirect_uri (exactly the
                             configured one), scope, state, code_challenge, code_challenge_method=S256
                             (else a 400 page) and shows a consent page: "Posthorn Test wants to send
                             email as …", an email field (id `email`, default alice@example.test) and
                             the buttons Allow (id `allow`) and Deny (id `deny`).
  POST /authorize/decision   302 to the redirect URI with `code` and `state`, or with
                             `error=access_denied` and `state`.
  POST /token                form-encoded; client_secret_post or HTTP Basic. authorization_code
                             (single use, 60 s, redirect_uri equal, PKCE S256) and refresh_token
                             (rotation optional: the old refresh token is then invalid). Failures:
                             401 invalid_client, 400 invalid_grant ("Token has been expired or
                             revoked." for a refresh token), 400 unsupported_grant_type.
  GET  /userinfo             Bearer → {"sub", "email", "email_verified"}.
  GET  /_admin/stats         {exchanges, exchangeFailures, refreshes, refreshFailures, authAttempts,
                             authFailures, messages, tokenRequests, userinfo, authorizations, denials,
                             staleRefreshes, overlappingRefreshes}: staleRefreshes counts the refreshes
                             (among refreshFailures) that presented a refresh token rotated away by an
                             earlier refresh — not a revoked or unknown one; overlappingRefreshes counts
                             refresh_token requests that arrived while another was still being answered
  GET  /_admin/refreshes     {"refreshes": [{"began", "ended" (Unix times), "outcome": ok|stale|revoked|
                             unknown|refused}]}: every refresh_token request, in arrival order, no token
  GET  /_admin/issued        {"issued": [{"kind": code|access|refresh|id_token, "value", "at",
                             "expiresIn" (access)}], "clientSecret"}
  GET  /_admin/messages      {"messages": [{mailFrom, rcptTos, messageId, authUser}]}
  GET  /_admin/config        the settings below
  POST /_admin/config        {"accessTTL": s, "rotate": bool, "tokenDelay": s, "smtpIdleTimeout": s}
                             (any subset; later tokens and connections follow it)
  POST /_admin/revoke        every access and refresh token issued so far becomes invalid
  POST /_admin/expire        every access token issued so far expires now (refresh tokens stay)

SMTP (aiosmtpd, 127.0.0.1, an ephemeral port, banner name localhost): STARTTLS required before
anything else, with a certificate for DNS:localhost and IP:127.0.0.1 signed by a test CA made at
start (`cryptography`); AUTH offers only XOAUTH2. `user=<u>\\x01auth=Bearer <token>\\x01\\x01` with a
currently valid access token issued for <u> → 235 2.7.0 Accepted; another token → the XOAUTH2 error
challenge `334 <base64 {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}>`, then
(after the client's empty line) 535 5.7.8; a payload that does not parse → 501 5.5.2. MAIL without
AUTH → 530. Sessions idle longer than smtpIdleTimeout are closed by the server.

Every token, code and the client secret carry a canary (`ya29.CANARY-ACCESS-…`, `1//CANARY-REFRESH-…`,
`4/0CANARY-CODE-…`, `GOCSPX-CANARY-SECRET-…`) and the fixture remembers every one it handed out, so a
test can search logs and databases for them. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime
import email.parser
import email.policy
import hashlib
import html
import http.server
import ipaddress
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError:  # pragma: no cover
    print("aiosmtpd is not installed: pip install 'aiosmtpd>=1.4.6'", file=sys.stderr)
    sys.exit(2)
try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover
    print("cryptography is not installed: pip install cryptography", file=sys.stderr)
    sys.exit(2)

# aiosmtpd logs every session; a client closing after QUIT leaves BrokenPipe noise in asyncio's log.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

LOOPBACK = "127.0.0.1"
MAIL_SCOPE = "https://mail.google.com/"
SCOPES = ["openid", "email", MAIL_SCOPE]
KNOWN_SCOPES = {"openid", "email", "profile", MAIL_SCOPE}
DEFAULT_EMAIL = "alice@example.test"
CODE_TTL = 60.0
APP_NAME = "Posthorn Test"
XOAUTH2_ERROR = {"status": "401", "schemes": "bearer", "scope": MAIL_SCOPE}
REVOKED = "Token has been expired or revoked."
CHALLENGE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
VERIFIER_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


# MARK: - Certificates


def make_pki(directory: Path) -> dict[str, Path]:
    """A test CA (P-256) and a leaf it signs for DNS:localhost and IP:127.0.0.1, valid for two
    days. Returns the paths of ca.pem, server.pem and server.key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Posthorn OAuth fixture test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (x509.CertificateBuilder()
          .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(ca_ski, critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": directory / "ca.pem", "cert": directory / "server.pem", "key": directory / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    os.chmod(paths["key"], 0o600)
    return paths


# MARK: - The shared state


@dataclass
class PendingConsent:
    client_id: str
    redirect_uri: str
    scope: str
    state: str
    challenge: str


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str
    email: str
    expires: float
    used: bool = False


@dataclass
class AccessToken:
    email: str
    scope: str
    expires: float
    revoked: bool = False


@dataclass
class RefreshToken:
    email: str
    scope: str
    valid: bool = True
    rotated: bool = False  # replaced by a refresh (rotation); a revocation leaves it False


@dataclass
class Settings:
    access_ttl: float = 3600.0
    rotate: bool = False
    token_delay: float = 0.0
    smtp_idle_timeout: float = 300.0

    def as_json(self) -> dict:
        return {"accessTTL": self.access_ttl, "rotate": self.rotate, "tokenDelay": self.token_delay,
                "smtpIdleTimeout": self.smtp_idle_timeout}


@dataclass
class XOAuth2Login:
    """What a successful AUTH leaves on the aiosmtpd session (`login` is what aiosmtpd reads)."""
    login: bytes


class TokenTable:
    """Codes, tokens, counters and received messages; one lock for the HTTP threads and the SMTP loop."""

    STAT_NAMES = ("exchanges", "exchangeFailures", "refreshes", "refreshFailures", "authAttempts", "authFailures",
                  "messages", "tokenRequests", "userinfo", "authorizations", "denials", "staleRefreshes",
                  "overlappingRefreshes")

    def __init__(self, settings: Settings) -> None:
        self.lock = threading.Lock()
        self.settings = settings
        self.pending: dict[str, PendingConsent] = {}
        self.codes: dict[str, Code] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.issued: list[dict] = []
        self.stats = {name: 0 for name in self.STAT_NAMES}
        self.received: list[dict] = []
        self.refreshing = 0            # refresh_token requests being answered now
        self.refresh_log: list[dict] = []

    def begin_refresh(self) -> dict:
        """A refresh_token request arrived: counts an overlap if another is still being answered.
        Returns its log entry (the handler fills in `ended` and `outcome`)."""
        with self.lock:
            if self.refreshing > 0:
                self.stats["overlappingRefreshes"] += 1
            self.refreshing += 1
            entry = {"began": time.time(), "ended": None, "outcome": None}
            self.refresh_log.append(entry)
            return entry

    def end_refresh(self, entry: dict, outcome: str | None) -> None:
        with self.lock:
            self.refreshing -= 1
            entry["ended"] = time.time()
            entry["outcome"] = entry["outcome"] or outcome or "refused"

    def count(self, name: str) -> None:
        with self.lock:
            self.stats[name] += 1

    def remember(self, kind: str, value: str) -> str:
        """Under the lock. `at` is the Unix time it was handed out."""
        self.issued.append({"kind": kind, "value": value, "at": time.time()})
        return value

    def access_valid_for(self, token: str, user: str) -> bool:
        with self.lock:
            entry = self.access.get(token)
            return (entry is not None and not entry.revoked and time.monotonic() < entry.expires
                    and entry.email.lower() == user.lower())

    def email_of_access(self, token: str) -> str | None:
        with self.lock:
            entry = self.access.get(token)
            if entry is None or entry.revoked or time.monotonic() >= entry.expires:
                return None
            return entry.email


# MARK: - The SMTP side


class XOAuth2Handler:
    """aiosmtpd handler: the XOAUTH2 mechanism (found by aiosmtpd through the `auth_` prefix; it is
    called with the SMTP protocol instance and the AUTH arguments) and the message recorder."""

    def __init__(self, table: TokenTable) -> None:
        self.table = table

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        self.table.count("authAttempts")
        if len(args) == 1:
            # No initial response: an empty challenge, then the client's line.
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):  # aiosmtpd already answered (501 abort or bad base64)
                self.table.count("authFailures")
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                self.table.count("authFailures")
                return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode base64")
        parsed = self.parse(blob)
        if parsed is None:
            self.table.count("authFailures")
            return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot parse XOAUTH2 response")
        user, token = parsed
        if self.table.access_valid_for(token, user):
            return AuthResult(success=True, handled=False, message="235 2.7.0 Accepted",
                              auth_data=XOAuth2Login(user.encode()))
        self.table.count("authFailures")
        # The XOAUTH2 error challenge; the client answers with an empty line, then the final 535.
        answer = await server.challenge_auth(json.dumps(XOAUTH2_ERROR, separators=(",", ":")).encode())
        if not isinstance(answer, bytes):
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")

    @staticmethod
    def parse(blob: bytes) -> tuple[str, str] | None:
        """`user=<u>\\x01auth=Bearer <token>\\x01\\x01` → (u, token); None if it is anything else."""
        parts = blob.split(b"\x01")
        if len(parts) != 4 or parts[2] != b"" or parts[3] != b"":
            return None
        if not parts[0].startswith(b"user=") or not parts[1].startswith(b"auth=Bearer "):
            return None
        try:
            user = parts[0][5:].decode("ascii")
            token = parts[1][12:].decode("ascii")
        except UnicodeDecodeError:
            return None
        printable = re.compile(r"^[\x21-\x7e]+$")
        if not printable.match(user) or not printable.match(token):
            return None
        return user, token

    async def handle_DATA(self, server: SMTP, session, envelope) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", errors="replace")
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(content)
        login = getattr(session.auth_data, "login", None)
        record = {"mailFrom": envelope.mail_from, "rcptTos": list(envelope.rcpt_tos),
                  "messageId": (headers.get("Message-ID") or "").strip() or None,
                  "authUser": login.decode(errors="replace") if isinstance(login, bytes) else login,
                  "size": len(content)}
        with self.table.lock:
            self.table.received.append(record)
            self.table.stats["messages"] += 1
        return "250 2.0.0 OK queued"


class FixtureController(Controller):
    """Each connection's SMTP instance gets the idle timeout in force when it connects."""

    def __init__(self, table: TokenTable, *args, **kwargs) -> None:
        self.table = table
        super().__init__(*args, **kwargs)

    def factory(self) -> SMTP:
        return SMTP(self.handler, timeout=self.table.settings.smtp_idle_timeout, **self.SMTP_kwargs)


# MARK: - The provider side


def make_handler(fixture: "OAuthFixture") -> type[http.server.BaseHTTPRequestHandler]:
    table = fixture.table

    class Provider(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeOAuth/1"
        sys_version = ""

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            if fixture.verbose:
                sys.stderr.write("oauth-fixture: " + (format % args) + "\n")

        # ---- plumbing ---------------------------------------------------------------------

        def send_body(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.close_refresh()  # before the answer leaves: the client may act on it at once
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Pragma", "no-cache")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def send_json(self, status: int, value: object, headers: dict[str, str] | None = None) -> None:
            self.send_body(status, json.dumps(value).encode(), "application/json; charset=utf-8", headers)

        def send_page(self, status: int, title: str, inner: str) -> None:
            page = (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>\n"
                    f"<body><main>\n{inner}\n</main></body></html>\n")
            self.send_body(status, page.encode(), "text/html; charset=utf-8")

        def error_page(self, reason: str) -> None:
            self.send_page(400, "Error 400: invalid_request",
                           f"<h1>Error 400: invalid_request</h1>\n<p id=\"error\">{html.escape(reason)}</p>")

        def read_body(self) -> bytes:
            length = self.headers.get("Content-Length")
            try:
                size = int(length) if length is not None else 0
            except ValueError:
                size = -1
            if size < 0 or size > 65536:
                self.close_connection = True
                return b""
            return self.rfile.read(size) if size else b""

        def form(self, body: bytes) -> dict[str, list[str]] | None:
            try:
                return urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError:
                return None

        @staticmethod
        def single(values: dict[str, list[str]], name: str) -> str | None:
            found = values.get(name)
            return found[0] if found and len(found) == 1 else None

        # ---- routing ----------------------------------------------------------------------

        def do_GET(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            routes = {"/authorize": self.authorize, "/userinfo": self.userinfo, "/_admin/stats": self.admin_stats,
                      "/_admin/issued": self.admin_issued, "/_admin/messages": self.admin_messages,
                      "/_admin/config": self.admin_config_get, "/_admin/refreshes": self.admin_refreshes}
            route = routes.get(url.path)
            if route is None:
                self.send_json(404, {"error": "not_found"})
                return
            route(url)

        def do_POST(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            body = self.read_body()
            routes = {"/authorize/decision": self.decision, "/token": self.token, "/_admin/revoke": self.admin_revoke,
                      "/_admin/expire": self.admin_expire, "/_admin/config": self.admin_config_post}
            route = routes.get(url.path)
            if route is None:
                self.send_json(404, {"error": "not_found"})
                return
            route(body)

        # ---- /authorize -------------------------------------------------------------------

        def authorize(self, url: urllib.parse.SplitResult) -> None:
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            values = {}
            for name in ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                         "code_challenge_method"):
                value = self.single(query, name)
                if not value:
                    self.error_page(f"Missing or repeated parameter: {name}")
                    return
                values[name] = value
            if values["response_type"] != "code":
                self.error_page("response_type must be code")
            elif values["client_id"] != fixture.client_id:
                self.error_page("The OAuth client was not found (client_id).")
            elif values["redirect_uri"] != fixture.redirect_uri:
                self.error_page("redirect_uri_mismatch: the redirect URI is not the one registered for this client.")
            elif not set(values["scope"].split(" ")) <= KNOWN_SCOPES or MAIL_SCOPE not in values["scope"].split(" "):
                self.error_page(f"invalid_scope: {values['scope']}")
            elif values["code_challenge_method"] != "S256":
                self.error_page("code_challenge_method must be S256")
            elif not CHALLENGE_PATTERN.match(values["code_challenge"]):
                self.error_page("code_challenge must be base64url(SHA-256(verifier)) without padding (43 characters)")
            else:
                request_id = secrets.token_urlsafe(16)
                with table.lock:
                    table.pending[request_id] = PendingConsent(values["client_id"], values["redirect_uri"], values["scope"],
                                                               values["state"], values["code_challenge"])
                scopes = "".join(f"<li>{html.escape(s)}</li>" for s in values["scope"].split(" "))
                self.send_page(200, f"Sign in - {fixture.provider_name}", (
                    f"<h1>{APP_NAME} wants to send email as <span id=\"account\">{html.escape(DEFAULT_EMAIL)}</span></h1>\n"
                    f"<p>{html.escape(fixture.provider_name)} (test provider) asks you to allow access to:</p>\n<ul>{scopes}</ul>\n"
                    "<form method=\"post\" action=\"/authorize/decision\">\n"
                    f"<input type=\"hidden\" name=\"request\" value=\"{html.escape(request_id)}\">\n"
                    "<label for=\"email\">Account</label>\n"
                    f"<input id=\"email\" name=\"email\" type=\"email\" value=\"{html.escape(DEFAULT_EMAIL)}\">\n"
                    "<button id=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n"
                    "<button id=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n"
                    "</form>"))

        def decision(self, body: bytes) -> None:
            values = self.form(body) or {}
            request_id = self.single(values, "request") or ""
            choice = self.single(values, "decision")
            with table.lock:
                pending = table.pending.pop(request_id, None)
            if pending is None:
                self.error_page("This consent request is unknown or was already answered.")
                return
            separator = "&" if "?" in pending.redirect_uri else "?"
            if choice == "allow":
                account = (self.single(values, "email") or "").strip()
                if not re.match(r"^[^\s@\x00-\x1f\x7f]+@[^\s@\x00-\x1f\x7f]+$", account) or len(account) > 254:
                    self.error_page("Enter an email address.")
                    return
                with table.lock:
                    code = table.remember("code", "4/0CANARY-CODE-" + secrets.token_urlsafe(24))
                    table.codes[code] = Code(pending.client_id, pending.redirect_uri, pending.scope, pending.challenge,
                                             account, time.monotonic() + CODE_TTL)
                    table.stats["authorizations"] += 1
                query = urllib.parse.urlencode({"code": code, "state": pending.state})
            elif choice == "deny":
                table.count("denials")
                query = urllib.parse.urlencode({"error": "access_denied", "state": pending.state})
            else:
                self.error_page("decision must be allow or deny")
                return
            self.send_body(302, b"", "text/plain", {"Location": pending.redirect_uri + separator + query})

        # ---- /token -----------------------------------------------------------------------

        def client_authenticated(self, values: dict[str, list[str]]) -> tuple[bool, bool]:
            """(authenticated, used HTTP Basic)."""
            header = self.headers.get("Authorization") or ""
            if header[:6].lower() == "basic ":
                try:
                    pair = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
                    client_id, _, secret = pair.partition(":")
                    client_id, secret = urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
                except (binascii.Error, ValueError, UnicodeDecodeError):
                    return False, True
                body_id = self.single(values, "client_id")
                ok = (secrets.compare_digest(client_id, fixture.client_id) and secrets.compare_digest(secret, fixture.client_secret)
                      and body_id in (None, client_id))
                return ok, True
            client_id = self.single(values, "client_id") or ""
            secret = self.single(values, "client_secret") or ""
            return (secrets.compare_digest(client_id, fixture.client_id)
                    and secrets.compare_digest(secret, fixture.client_secret)), False

        def close_refresh(self, outcome: str | None = None) -> None:
            """Ends this request's refresh (once), if it is one."""
            entry = getattr(self, "refresh_entry", None)
            if entry is not None:
                self.refresh_entry = None
                table.end_refresh(entry, outcome)

        def token(self, body: bytes) -> None:
            table.count("tokenRequests")
            values = self.form(body)
            self.refresh_entry = None
            if values is not None and self.single(values, "grant_type") == "refresh_token":
                self.refresh_entry = table.begin_refresh()
            try:
                self.answer_token(values)
            finally:
                self.close_refresh()

        def answer_token(self, values: dict[str, list[str]] | None) -> None:
            delay = table.settings.token_delay
            if delay > 0:
                time.sleep(delay)
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type != "application/x-www-form-urlencoded" or values is None:
                self.send_json(400, {"error": "invalid_request",
                                     "error_description": "The body must be application/x-www-form-urlencoded."})
                return
            authenticated, basic = self.client_authenticated(values)
            if not authenticated:
                headers = {"WWW-Authenticate": 'Basic realm="token"'} if basic else None
                self.send_json(401, {"error": "invalid_client", "error_description": "The OAuth client was not found."},
                               headers)
                return
            grant = self.single(values, "grant_type")
            if grant == "authorization_code":
                self.exchange(values)
            elif grant == "refresh_token":
                self.refresh(values)
            else:
                self.send_json(400, {"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {grant}"})

        def issue(self, email_address: str, scope: str, with_refresh: bool) -> dict:
            """Under the lock: a new access token (and refresh token), the answer's JSON."""
            ttl = table.settings.access_ttl
            access = table.remember("access", "ya29.CANARY-ACCESS-" + secrets.token_urlsafe(30))
            table.access[access] = AccessToken(email_address, scope, time.monotonic() + ttl)
            table.issued[-1]["expiresIn"] = ttl
            now = int(time.time())
            claims = {"iss": fixture.provider_url, "aud": fixture.client_id, "azp": fixture.client_id,
                      "sub": str(int(hashlib.sha256(email_address.lower().encode()).hexdigest()[:15], 16)),
                      "email": email_address, "email_verified": True, "iat": now, "exp": now + 3600}
            id_token = table.remember("id_token", ".".join([
                b64url(json.dumps({"alg": "RS256", "kid": "posthorn-fixture", "typ": "JWT"}).encode()),
                b64url(json.dumps(claims).encode()),
                "CANARY-IDTOKEN-" + secrets.token_urlsafe(24)]))
            answer = {"access_token": access, "token_type": "Bearer", "expires_in": int(ttl) if float(ttl).is_integer() else ttl,
                      "scope": scope, "id_token": id_token}
            if with_refresh:
                refresh = table.remember("refresh", "1//CANARY-REFRESH-" + secrets.token_urlsafe(30))
                table.refresh[refresh] = RefreshToken(email_address, scope)
                answer["refresh_token"] = refresh
            return answer

        def exchange(self, values: dict[str, list[str]]) -> None:
            code_value = self.single(values, "code") or ""
            redirect_uri = self.single(values, "redirect_uri")
            verifier = self.single(values, "code_verifier") or ""
            with table.lock:
                code = table.codes.get(code_value)
                problem = None
                if code is None:
                    problem = "Malformed auth code."
                elif code.used:
                    problem = "The authorization code was already used."
                elif time.monotonic() >= code.expires:
                    problem = "The authorization code has expired."
                if code is not None:
                    code.used = True  # single use, whatever the outcome
                if problem is None and (code.client_id != fixture.client_id or redirect_uri != code.redirect_uri):
                    problem = "redirect_uri does not match the authorization request."
                if problem is None and (not VERIFIER_PATTERN.match(verifier)
                                        or b64url(hashlib.sha256(verifier.encode()).digest()) != code.challenge):
                    problem = "Invalid code verifier."
                if problem is not None:
                    table.stats["exchangeFailures"] += 1
                    answer = None
                else:
                    table.stats["exchanges"] += 1
                    answer = self.issue(code.email, code.scope, with_refresh=True)
            if answer is None:
                self.send_json(400, {"error": "invalid_grant", "error_description": problem})
            else:
                self.send_json(200, answer)

        def refresh(self, values: dict[str, list[str]]) -> None:
            presented = self.single(values, "refresh_token") or ""
            with table.lock:
                entry = table.refresh.get(presented)
                if entry is None or not entry.valid:
                    table.stats["refreshFailures"] += 1
                    outcome = "unknown" if entry is None else "stale" if entry.rotated else "revoked"
                    if outcome == "stale":
                        table.stats["staleRefreshes"] += 1
                    answer = None
                else:
                    table.stats["refreshes"] += 1
                    rotate = table.settings.rotate
                    if rotate:
                        entry.valid = False
                        entry.rotated = True
                    answer = self.issue(entry.email, entry.scope, with_refresh=rotate)
                    outcome = "ok"
            if self.refresh_entry is not None:
                self.refresh_entry["outcome"] = outcome
            if answer is None:
                self.send_json(400, {"error": "invalid_grant", "error_description": REVOKED})
            else:
                self.send_json(200, answer)

        # ---- /userinfo --------------------------------------------------------------------

        def userinfo(self, url: urllib.parse.SplitResult) -> None:  # noqa: ARG002
            table.count("userinfo")
            header = self.headers.get("Authorization") or ""
            address = table.email_of_access(header[7:].strip()) if header[:7].lower() == "bearer " else None
            if address is None:
                self.send_json(401, {"error": "invalid_token"},
                               {"WWW-Authenticate": 'Bearer error="invalid_token"'})
                return
            self.send_json(200, {"sub": str(int(hashlib.sha256(address.lower().encode()).hexdigest()[:15], 16)),
                                 "email": address, "email_verified": True})

        # ---- admin ------------------------------------------------------------------------

        def admin_stats(self, url) -> None:  # noqa: ARG002
            self.send_json(200, fixture.stats())

        def admin_issued(self, url) -> None:  # noqa: ARG002
            self.send_json(200, {"issued": fixture.issued(), "clientSecret": fixture.client_secret})

        def admin_refreshes(self, url) -> None:  # noqa: ARG002
            self.send_json(200, {"refreshes": fixture.refreshes()})

        def admin_messages(self, url) -> None:  # noqa: ARG002
            self.send_json(200, {"messages": fixture.messages()})

        def admin_config_get(self, url) -> None:  # noqa: ARG002
            self.send_json(200, table.settings.as_json())

        def admin_config_post(self, body: bytes) -> None:
            try:
                values = json.loads(body or b"{}")
                self.send_json(200, fixture.configure(**values))
            except (ValueError, TypeError) as error:
                self.send_json(400, {"error": "invalid_config", "error_description": str(error)})

        def admin_revoke(self, body: bytes) -> None:  # noqa: ARG002
            self.send_json(200, {"revoked": fixture.revoke()})

        def admin_expire(self, body: bytes) -> None:  # noqa: ARG002
            self.send_json(200, {"expired": fixture.expire()})

    return Provider


# MARK: - The fixture


class OAuthFixture:
    """Both servers and their shared table. `start()` returns the ready dict; `stop()` stops both
    and removes the working directory it made (not one it was given)."""

    def __init__(self, redirect_uri: str, access_ttl: float = 3600, rotate: bool = False, provider_id: str = "google",
                 provider_name: str = "Google", token_delay: float = 0.0, smtp_idle_timeout: float = 300.0,
                 work_dir: Path | None = None, verbose: bool = False) -> None:
        self.redirect_uri = redirect_uri
        self.provider_id = provider_id
        self.provider_name = provider_name
        self.verbose = verbose
        self.table = TokenTable(Settings(float(access_ttl), bool(rotate), float(token_delay), float(smtp_idle_timeout)))
        self.client_id = f"posthorn-test-{secrets.token_hex(6)}.apps.googleusercontent.test"
        self.client_secret = "GOCSPX-CANARY-SECRET-" + secrets.token_urlsafe(24)
        self._own_dir = work_dir is None
        self.work_dir = Path(tempfile.mkdtemp(prefix="posthorn-oauth-fixture-")) if work_dir is None else Path(work_dir)
        self.http: http.server.ThreadingHTTPServer | None = None
        self.smtp: FixtureController | None = None
        self.provider_url = ""
        self.smtp_port = 0
        self.ready: dict = {}

    # ---- life cycle ---------------------------------------------------------------------------

    def start(self) -> dict:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        pki = make_pki(self.work_dir)
        self.http = http.server.ThreadingHTTPServer((LOOPBACK, 0), make_handler(self))
        self.http.daemon_threads = True
        self.provider_url = f"http://{LOOPBACK}:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, name="oauth-fixture-http", daemon=True).start()

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # no client certificates
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(pki["cert"], pki["key"])
        last_error: Exception | None = None
        for _ in range(5):  # a free port can be taken between the probe and the bind
            self.smtp_port = free_port()
            controller = FixtureController(
                self.table, XOAuth2Handler(self.table), hostname=LOOPBACK, port=self.smtp_port, server_hostname="localhost",
                tls_context=context, require_starttls=True, auth_required=True, auth_require_tls=True,
                auth_exclude_mechanism=["PLAIN", "LOGIN"])
            try:
                controller.start()
            except Exception as error:  # noqa: BLE001
                last_error = error
                continue
            self.smtp = controller
            break
        if self.smtp is None:
            self.http.shutdown()
            raise RuntimeError(f"the SMTP fixture did not start: {last_error!r}")

        providers_file = self.work_dir / "providers.json"
        providers_file.write_text(json.dumps([{
            "id": self.provider_id, "name": self.provider_name,
            "authorizeURL": self.provider_url + "/authorize", "tokenURL": self.provider_url + "/token",
            "userinfoURL": self.provider_url + "/userinfo", "scopes": SCOPES,
            "clientId": self.client_id, "clientSecret": self.client_secret,
            "smtpHost": "localhost", "smtpPort": self.smtp_port, "security": "starttls",
            "caCertificateFile": str(pki["ca"])}], indent=2) + "\n")
        os.chmod(providers_file, 0o600)
        self.ready = {"providerURL": self.provider_url, "smtpHost": "localhost", "smtpPort": self.smtp_port,
                      "caFile": str(pki["ca"]), "providersFile": str(providers_file),
                      "clientId": self.client_id, "clientSecret": self.client_secret}
        return self.ready

    def stop(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.stop()
            except Exception:  # noqa: BLE001  (already stopped)
                pass
            self.smtp = None
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
            self.http = None
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # ---- what tests read and change -----------------------------------------------------------

    def stats(self) -> dict:
        with self.table.lock:
            return dict(self.table.stats)

    def issued(self) -> list[dict]:
        with self.table.lock:
            return [dict(item) for item in self.table.issued]

    def refreshes(self) -> list[dict]:
        """Every refresh_token request: began, ended (Unix times) and its outcome."""
        with self.table.lock:
            return [dict(item) for item in self.table.refresh_log]

    def messages(self) -> list[dict]:
        with self.table.lock:
            return [dict(item) for item in self.table.received]

    def configure(self, accessTTL=None, rotate=None, tokenDelay=None, smtpIdleTimeout=None) -> dict:  # noqa: N803
        def seconds(value, name: str) -> float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number of seconds")
            return float(value)
        with self.table.lock:
            settings = self.table.settings
            if accessTTL is not None:
                settings.access_ttl = seconds(accessTTL, "accessTTL")
                if settings.access_ttl <= 0:
                    raise ValueError("accessTTL must be above 0")
            if rotate is not None:
                if not isinstance(rotate, bool):
                    raise ValueError("rotate must be true or false")
                settings.rotate = rotate
            if tokenDelay is not None:
                settings.token_delay = seconds(tokenDelay, "tokenDelay")
            if smtpIdleTimeout is not None:
                settings.smtp_idle_timeout = seconds(smtpIdleTimeout, "smtpIdleTimeout")
                if settings.smtp_idle_timeout <= 0:
                    raise ValueError("smtpIdleTimeout must be above 0")
            return settings.as_json()

    def revoke(self) -> int:
        """Every access and refresh token issued so far becomes invalid; returns how many."""
        with self.table.lock:
            count = 0
            for entry in self.table.access.values():
                count += not entry.revoked
                entry.revoked = True
            for entry in self.table.refresh.values():
                count += entry.valid
                entry.valid = False
            return count

    def expire(self) -> int:
        with self.table.lock:
            now = time.monotonic()
            count = 0
            for entry in self.table.access.values():
                if entry.expires > now:
                    entry.expires = now
                    count += 1
            return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redirect-uri", required=True, help="the only redirect URI the client may use")
    parser.add_argument("--ready-file", help="where to write the ready JSON once both servers listen")
    parser.add_argument("--access-ttl", type=float, default=3600, help="access token lifetime in seconds (3600)")
    parser.add_argument("--rotate", action="store_true", help="a refresh returns a new refresh token; the old one dies")
    parser.add_argument("--provider-id", default="google")
    parser.add_argument("--provider-name", default="Google")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds each /token request waits first")
    parser.add_argument("--smtp-idle-timeout", type=float, default=300.0, help="the SMTP server closes idle sessions after this")
    parser.add_argument("--work-dir", help="where the CA and providers file go (default: a temporary directory, removed at exit)")
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request to stderr")
    args = parser.parse_args(argv)
    fixture = OAuthFixture(args.redirect_uri, args.access_ttl, args.rotate, args.provider_id, args.provider_name,
                           args.token_delay, args.smtp_idle_timeout, Path(args.work_dir) if args.work_dir else None, args.verbose)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    ready = fixture.start()
    try:
        text = json.dumps(ready, indent=2) + "\n"
        if args.ready_file:
            partial = Path(args.ready_file + ".partial")
            partial.write_text(text)
            os.replace(partial, args.ready_file)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    finally:
        fixture.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
