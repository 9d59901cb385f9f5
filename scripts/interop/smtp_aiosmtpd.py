#!/usr/bin/env python3
"""Interop check of `posthorn send` against a real SMTP server (aiosmtpd).

Usage:
    python3 scripts/interop/smtp_aiosmtpd.py PATH_TO_POSTHORN

Needs Python 3.11, aiosmtpd >= 1.4.6 and the `openssl` command line tool (the test CA and the
server certificates are generated at run time in a temporary directory; nothing is committed).

What it proves: with STARTTLS + AUTH and with implicit TLS + AUTH, the bytes aiosmtpd received
(`envelope.original_content`: the DATA lines as they came off the wire, CRLF kept, with aiosmtpd
having removed the dot-stuffing and the terminating `.` line, nothing else) are byte for byte what
`posthorn send --dry-run` prints for the same input (a given --message-id and --date make the
MIME boundaries reproducible too). Also: the
envelope (Bcc only there), the `--json` result, authentication failures, certificate verification
(unknown CA, name and IP mismatch, `--accept-unverified-certs`), no STARTTLS downgrade, and that
the password never shows up in the trace log or, on a plaintext session, on the wire.

Every posthorn run has a 30 s timeout, so a hang fails a check instead of hanging CI. Prints
`ok  NAME` or `FAIL NAME: reasons` per check, then `N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:  # pragma: no cover
    print("aiosmtpd is not installed: pip install 'aiosmtpd>=1.4.6'", file=sys.stderr)
    sys.exit(2)

# aiosmtpd warns (Python warning + log line) when AUTH is required without STARTTLS; the implicit
# TLS server does that on purpose (the whole session is TLS, which aiosmtpd cannot see).
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
# aiosmtpd writing to a socket the client already closed (after a refused certificate, after QUIT)
# leaves "Future exception was never retrieved: BrokenPipeError" behind; it is not a finding.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

TIMEOUT = 30
RNG = random.Random(20261125)

USER = "mailer@example.com"
PASSWORD = 'pä$$ w0rd:"x'  # non-ASCII, shell metacharacters, space, colon, quote
WRONG_PASSWORD = 'wr0ng-pässwörd "#!'
IDENTITY = ["--message-id", "<fixed@example.com>", "--date", "2026-11-25T10:00:00Z"]
ALLOW = ["--allow-private-egress", "127.0.0.1,::1"]
EHLO = ["--ehlo-name", "client.example.com"]


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def secret_needles(user: str, password: str) -> dict[str, bytes]:
    """Every form of the password a transcript or a wire capture must never contain."""
    u, p = user.encode(), password.encode()
    return {
        "password": p,
        "password (latin-1)": password.encode("latin-1", errors="replace"),
        "base64(password) [LOGIN]": b64(p),
        "base64(user) [LOGIN]": b64(u),
        "base64(\\0user\\0password) [PLAIN]": b64(b"\0" + u + b"\0" + p),
        "base64(user\\0user\\0password) [PLAIN authzid]": b64(u + b"\0" + u + b"\0" + p),
    }


# --------------------------------------------------------------------------------------------
# Certificates (openssl CLI)
# --------------------------------------------------------------------------------------------


def openssl(*args: str, cwd: Path) -> None:
    run = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=TIMEOUT)
    if run.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {run.stderr.decode(errors='replace')}")


def make_pki(directory: Path) -> dict[str, Path]:
    """A test CA and two leaves it signs: `good` (localhost, 127.0.0.1, ::1) and `other`
    (a name and an address that are not this server's)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Posthorn interop test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    leaves = {"good": "DNS:localhost,IP:127.0.0.1,IP:::1", "other": "DNS:other.example,IP:192.0.2.1"}
    for name, san in leaves.items():
        openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={san.split(',')[0][4:]}", cwd=directory)
        (directory / f"{name}.ext").write_text(
            f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-sha256",
                "-extfile", f"{name}.ext", cwd=directory)
    return {"ca": directory / "ca.pem", **{n: directory / f"{n}.pem" for n in leaves},
            **{f"{n}.key": directory / f"{n}.key" for n in leaves}}


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # no client certs, no name check
    context.load_cert_chain(cert, key)
    return context


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    raw: bytes
    mail_from: str
    rcpt_tos: list[str]
    login: bytes | None
    tls_version: str | None


@dataclass
class Recorder:
    """Handler and authenticator of one aiosmtpd server: what arrived, who tried to log in."""

    deliveries: list[Delivery] = field(default_factory=list)
    logins: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.deliveries.clear()
            self.logins.clear()

    # aiosmtpd authenticator. handled=False matters: with the default (True) aiosmtpd sends no
    # reply for a failed login and the client waits forever.
    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        with self.lock:
            self.logins.append((mechanism, auth_data.login, auth_data.password))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def handle_DATA(self, server, session, envelope) -> str:
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        with self.lock:
            self.deliveries.append(Delivery(
                raw=bytes(envelope.original_content), mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos), login=session.login_data,
                tls_version=ssl_object.version() if ssl_object else None))
        return "250 2.0.0 Ok: queued as interop"


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def start(recorder: Recorder, host: str, **kwargs) -> Controller:
    controller = Controller(recorder, hostname=host, port=free_port(host), authenticator=recorder,
                            server_hostname="mx.interop.test", ready_timeout=10, **kwargs)
    controller.start()
    return controller


class WireTap:
    """A TCP relay that records every byte the client sends (used on plaintext sessions)."""

    def __init__(self, host: str, target_port: int):
        self.client_bytes = bytearray()
        self._target = (host, target_port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.bind((host, 0))
        self._listener.listen(4)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target, timeout=TIMEOUT)
            for src, dst, record in ((client, upstream, True), (upstream, client, False)):
                thread = threading.Thread(target=self._pump, args=(src, dst, record), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while chunk := src.recv(65536):
                if record:
                    self.client_bytes += chunk
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closing = True
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)


# --------------------------------------------------------------------------------------------
# Running posthorn
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    argv: list[str]
    code: int | None  # None = timed out
    stdout: bytes
    stderr: bytes

    def json(self) -> dict | None:
        try:
            value = json.loads(self.stdout.decode())
            return value if isinstance(value, dict) else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    def summary(self) -> str:
        err = self.stderr.decode(errors="replace").strip().splitlines()
        return (f"exit={self.code} stdout={self.stdout.decode(errors='replace').strip()[:600]!r} "
                f"stderr_tail={err[-6:]!r}")


def posthorn(binary: str, args: list[str], env_extra: dict[str, str] | None = None) -> Run:
    argv = [binary, "send", *args]
    env = {k: v for k, v in os.environ.items() if k != "POSTHORN_ALLOW_PRIVATE_EGRESS"}
    env.update(env_extra or {})
    try:
        run = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, env=env)
        return Run(argv, run.returncode, run.stdout, run.stderr)
    except subprocess.TimeoutExpired as expired:
        return Run(argv, None, expired.stdout or b"", expired.stderr or b"")


def first_diff(a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"first difference at byte {i}: expected {a[max(0, i - 30):i + 30]!r}, got {b[max(0, i - 30):i + 30]!r}"
    return f"lengths differ: expected {len(a)} bytes, got {len(b)} (common prefix identical)"


class Suite:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def report(self, name: str, problems: list[str]) -> None:
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems), flush=True)
        else:
            self.passed += 1
            print(f"ok  {name}", flush=True)


def expect_delivered(run: Run, recorder: Recorder, dry: bytes, *, mail_from: str, recipients: list[str],
                     hidden: list[str], tls_expected: bool = True) -> list[str]:
    problems: list[str] = []
    if run.code != 0:
        problems.append(f"expected exit 0: {run.summary()}")
    result = run.json()
    if result is None:
        problems.append(f"stdout is not one JSON object: {run.stdout[:300]!r}")
        result = {}
    if len(recorder.deliveries) != 1:
        problems.append(f"expected 1 delivery, server has {len(recorder.deliveries)}")
        return problems
    got = recorder.deliveries[0]
    if got.raw != dry:
        problems.append("delivered bytes differ from --dry-run: " + first_diff(dry, got.raw))
    if not dry.endswith(b"\r\n") or b"\n" in dry.replace(b"\r\n", b""):
        problems.append("dry-run output is not CRLF-terminated CRLF text")
    for address in hidden:
        if address.encode() in got.raw:
            problems.append(f"Bcc {address} appears in the delivered bytes")
    if got.mail_from != mail_from:
        problems.append(f"MAIL FROM {got.mail_from!r}, expected {mail_from!r}")
    if sorted(got.rcpt_tos) != sorted(recipients):
        problems.append(f"RCPT TO {got.rcpt_tos}, expected {recipients}")
    if got.login != USER.encode():
        problems.append(f"session login {got.login!r}, expected {USER!r}")
    if sorted(result.get("accepted", [])) != sorted(recipients):
        problems.append(f"JSON accepted {result.get('accepted')}, expected {recipients}")
    if result.get("rejected") != []:
        problems.append(f"JSON rejected {result.get('rejected')}")
    envelope = result.get("envelope") or {}
    if envelope.get("from") != mail_from or envelope.get("to") != got.rcpt_tos:
        problems.append(f"JSON envelope {envelope} != server envelope ({got.mail_from}, {got.rcpt_tos})")
    if result.get("messageId") != "<fixed@example.com>":
        problems.append(f"JSON messageId {result.get('messageId')!r}")
    if result.get("size") not in (None, len(got.raw)):
        problems.append(f"JSON size {result.get('size')} != {len(got.raw)} bytes received")
    if tls_expected:
        if not result.get("tlsVersion"):
            problems.append("JSON tlsVersion missing")
        elif got.tls_version and result["tlsVersion"] != got.tls_version:
            problems.append(f"JSON tlsVersion {result['tlsVersion']!r}, server saw {got.tls_version!r}")
        if not got.tls_version:
            problems.append("server saw the DATA on a session without TLS")
    return problems


def expect_failed(run: Run, recorder: Recorder, codes: set[str], *, auth_allowed: bool) -> list[str]:
    problems: list[str] = []
    if run.code != 1:
        problems.append(f"expected exit 1: {run.summary()}")
    error = (run.json() or {}).get("error") or {}
    if error.get("code") not in codes:
        problems.append(f"expected error code in {sorted(codes)}, got {error.get('code')!r}: {run.summary()}")
    if recorder.deliveries:
        problems.append(f"{len(recorder.deliveries)} message(s) delivered")
    if not auth_allowed and recorder.logins:
        problems.append(f"the server's authenticator was called {len(recorder.logins)} time(s): "
                        "credentials reached the server")
    return problems


def expect_no_secrets(name: str, blobs: dict[str, bytes], needles: dict[str, bytes]) -> list[str]:
    return [f"{what} found in {where}" for where, blob in blobs.items()
            for what, needle in needles.items() if needle and needle in blob]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    if not os.access(binary, os.X_OK):
        print(f"not an executable: {binary}", file=sys.stderr)
        return 2
    if shutil.which("openssl") is None:
        print("the openssl command line tool is required", file=sys.stderr)
        return 2

    # Posthorn connects to the first address `localhost` resolves to (it pins one address); the
    # server listens on exactly that address. The egress allowlist opens both loopbacks.
    first = socket.getaddrinfo("localhost", None, socket.AF_UNSPEC, socket.SOCK_STREAM)[0][4][0]
    listen = first if first in ("127.0.0.1", "::1") else "127.0.0.1"

    suite = Suite()
    controllers: list[Controller] = []
    taps: list[WireTap] = []
    with tempfile.TemporaryDirectory(prefix="posthorn-aiosmtpd-") as tmp:
        work = Path(tmp)
        pki = make_pki(work)
        good = server_context(pki["good"], pki["good.key"])
        other = server_context(pki["other"], pki["other.key"])
        attachment = work / "report.bin"
        attachment.write_bytes(RNG.randbytes(5000))
        password_env = {"SMTP_PASSWORD": PASSWORD}
        needles = secret_needles(USER, PASSWORD)

        try:
            rec_starttls, rec_implicit, rec_other, rec_nostarttls = Recorder(), Recorder(), Recorder(), Recorder()
            starttls = start(rec_starttls, listen, tls_context=good, require_starttls=True,
                             auth_required=True, auth_require_tls=True)
            controllers.append(starttls)
            # LOGIN only here, so both mechanisms posthorn supports against aiosmtpd (PLAIN is
            # preferred when offered) are exercised.
            implicit = start(rec_implicit, listen, ssl_context=good, auth_required=True,
                             auth_require_tls=False, auth_exclude_mechanism=["PLAIN"])
            controllers.append(implicit)
            # TLS with a certificate the CA signed for another name and address.
            wrong_name = start(rec_other, listen, ssl_context=other, auth_required=True, auth_require_tls=False)
            controllers.append(wrong_name)
            # No STARTTLS at all, and AUTH offered in the clear: a stripped-STARTTLS server.
            no_starttls = start(rec_nostarttls, listen, auth_required=True, auth_require_tls=False)
            controllers.append(no_starttls)

            def conn(controller: Controller, security: str, *, host: str = "localhost", ca: bool = True,
                     password: bool = True) -> list[str]:
                args = ["--host", host, "--port", str(controller.port), "--security", security, *ALLOW, *EHLO,
                        "--json", "--log-level", "trace"]
                if ca:
                    args += ["--ca-file", str(pki["ca"])]
                if password:
                    args += ["--username", USER, "--password-env", "SMTP_PASSWORD"]
                return args

            # ---- 1. STARTTLS + AUTH PLAIN, dot-stuffing, Bcc --------------------------------
            body = ("Dot-stuffing check.\n.leading dot\n..two leading dots\n.\n"
                    "a lone dot above\n...\n. space after dot\nlast line")
            message1 = ["--from", "Interop Sender <sender@example.com>", "--to", "Alice <alice@example.com>",
                        "--cc", "carol@example.net", "--bcc", "hidden@example.org",
                        "--subject", "STARTTLS interop", "--body", body,
                        "--header", "X-Interop: starttls", *IDENTITY]
            recipients1 = ["alice@example.com", "carol@example.net", "hidden@example.org"]
            dry1 = posthorn(binary, [*message1, "--dry-run"])
            rec_starttls.reset()
            run1 = posthorn(binary, [*message1, *conn(starttls, "starttls")], password_env)
            problems = [] if dry1.code == 0 else [f"dry-run failed: {dry1.summary()}"]
            for marker in (b"\r\n.leading dot\r\n", b"\r\n..two", b"\r\n.\r\n"):
                if marker not in dry1.stdout:
                    problems.append(f"dry-run lacks the line {marker!r} (dot-stuffing not exercised)")
            problems += expect_delivered(run1, rec_starttls, dry1.stdout, mail_from="sender@example.com",
                                         recipients=recipients1, hidden=["hidden@example.org"])
            mechanisms = [m for m, _, _ in rec_starttls.logins]
            if mechanisms != ["PLAIN"]:
                problems.append(f"expected one AUTH PLAIN, server saw {mechanisms}")
            suite.report("1 starttls+auth-plain: delivered bytes == dry-run (dot-stuffing, bcc envelope-only)",
                         problems)

            # ---- 6. the trace of case 1 --------------------------------------------------------
            trace = run1.stderr
            problems = []
            auth_lines = [line for line in trace.decode(errors="replace").splitlines() if "AUTH" in line]
            if not any("C: AUTH PLAIN <redacted>" in line for line in auth_lines):
                problems.append(f"no `C: AUTH PLAIN <redacted>` line in the trace; AUTH lines: {auth_lines}")
            if b"STARTTLS" not in trace or b"C: EHLO" not in trace:
                problems.append("the trace lacks the STARTTLS/EHLO transcript")
            problems += expect_no_secrets("trace", {"stderr": run1.stderr, "stdout": run1.stdout}, needles)
            suite.report("6 trace of case 1: AUTH shown as <redacted>, no password or base64 of it", problems)

            # ---- 2. implicit TLS + AUTH LOGIN, html + text + attachment, non-ASCII subject ----
            message2 = ["--from", "sender@example.com", "--to", "bob@example.com,dave@example.com",
                        "--subject", "Grüße – Überprüfung 🚀 ✓ 日本語の件名",
                        "--body", "Plain text version.\n.dot line\nÜmlaut body.",
                        "--body-format", "html",
                        "--html-body", "<p>HTML <b>version</b> – ünïcödé</p>\n<p>.dot</p>",
                        "--attach", str(attachment), *IDENTITY]
            recipients2 = ["bob@example.com", "dave@example.com"]
            dry2 = posthorn(binary, [*message2, "--dry-run"])
            rec_implicit.reset()
            run2 = posthorn(binary, [*message2, *conn(implicit, "implicit-tls")], password_env)
            problems = [] if dry2.code == 0 else [f"dry-run failed: {dry2.summary()}"]
            for marker in (b"multipart/mixed", b"multipart/alternative", b"text/plain", b"text/html",
                           b"report.bin"):
                if marker not in dry2.stdout:
                    problems.append(f"dry-run lacks {marker.decode()} (not an html+text+attachment message)")
            problems += expect_delivered(run2, rec_implicit, dry2.stdout, mail_from="sender@example.com",
                                         recipients=recipients2, hidden=[])
            mechanisms = [m for m, _, _ in rec_implicit.logins]
            if mechanisms != ["LOGIN"]:
                problems.append(f"expected one AUTH LOGIN, server saw {mechanisms}")
            suite.report("2 implicit-tls+auth-login: html+text+attachment, non-ASCII subject, bytes == dry-run",
                         problems)

            # ---- 6b. the trace of case 2 (LOGIN: two redacted continuation lines) ------------
            problems = []
            lines = run2.stderr.decode(errors="replace").splitlines()
            if not any("C: AUTH LOGIN" in line for line in lines):
                problems.append("no `C: AUTH LOGIN` line in the trace")
            if sum("C: <redacted>" in line for line in lines) != 2:
                problems.append("expected exactly two `C: <redacted>` lines (user name, password)")
            problems += expect_no_secrets("trace", {"stderr": run2.stderr, "stdout": run2.stdout}, needles)
            suite.report("6b trace of case 2: AUTH LOGIN steps shown as <redacted>, no password or base64", problems)

            # ---- 3. wrong password -------------------------------------------------------------
            small = ["--from", "sender@example.com", "--to", "alice@example.com", "--subject", "x",
                     "--body", "y", *IDENTITY]
            rec_starttls.reset()
            run3 = posthorn(binary, [*small, *conn(starttls, "starttls")], {"SMTP_PASSWORD": WRONG_PASSWORD})
            problems = expect_failed(run3, rec_starttls, {"EAUTH"}, auth_allowed=True)
            if len(rec_starttls.logins) != 1:
                problems.append(f"expected 1 login attempt, server saw {len(rec_starttls.logins)}")
            problems += expect_no_secrets("output", {"stderr": run3.stderr, "stdout": run3.stdout},
                                          secret_needles(USER, WRONG_PASSWORD))
            suite.report("3 wrong password: EAUTH, nothing delivered, password absent from trace/JSON", problems)

            # ---- 4. unknown CA ----------------------------------------------------------------
            problems = []
            for controller, recorder, security in ((starttls, rec_starttls, "starttls"),
                                                   (implicit, rec_implicit, "implicit-tls")):
                recorder.reset()
                run = posthorn(binary, [*small, *conn(controller, security, ca=False)], password_env)
                problems += [f"{security}: {p}" for p in expect_failed(run, recorder, {"ETLS"}, auth_allowed=False)]
            suite.report("4 no --ca-file (unknown CA): ETLS, nothing delivered, AUTH never reached", problems)

            # ---- 5. --accept-unverified-certs -------------------------------------------------
            problems = []
            for controller, recorder, security in ((starttls, rec_starttls, "starttls"),
                                                   (implicit, rec_implicit, "implicit-tls")):
                recorder.reset()
                run = posthorn(binary, [*small, *conn(controller, security, ca=False), "--accept-unverified-certs"],
                               password_env)
                dry = posthorn(binary, [*small, "--dry-run"]).stdout
                problems += [f"{security}: {p}" for p in expect_delivered(
                    run, recorder, dry, mail_from="sender@example.com", recipients=["alice@example.com"], hidden=[])]
            suite.report("5 --accept-unverified-certs without --ca-file: delivered", problems)

            # ---- 7. plaintext against a server that requires STARTTLS ----------------------------
            tap = WireTap(listen, starttls.port)
            taps.append(tap)
            rec_starttls.reset()
            args = conn(starttls, "plaintext")
            args[args.index("--port") + 1] = str(tap.port)
            run7 = posthorn(binary, [*small, *args], password_env)
            tap.close()
            problems = expect_failed(run7, rec_starttls, {"EAUTH", "EPROTOCOL"}, auth_allowed=False)
            if b"EHLO" not in bytes(tap.client_bytes):
                problems.append("the wire tap saw no EHLO: the capture proves nothing")
            problems += expect_no_secrets("plaintext", {"wire (client->server)": bytes(tap.client_bytes),
                                                        "stderr": run7.stderr, "stdout": run7.stdout}, needles)
            if b"AUTH" in bytes(tap.client_bytes):
                problems.append("the client sent an AUTH command in the clear")
            error7 = (run7.json() or {}).get("error") or {}
            suite.report(f"7 --security plaintext vs require_starttls: refused "
                         f"({error7.get('code')} {error7.get('responseCode')}), password never on the wire", problems)

            # ---- 8. IP-literal host: certificate checked against the IP SAN -------------------
            rec_implicit.reset()
            run8 = posthorn(binary, [*small, *conn(implicit, "implicit-tls", host=listen)], password_env)
            dry = posthorn(binary, [*small, "--dry-run"]).stdout
            suite.report(f"8 --host {listen} (IP literal), cert with IP SAN: delivered",
                         expect_delivered(run8, rec_implicit, dry, mail_from="sender@example.com",
                                          recipients=["alice@example.com"], hidden=[]))

            # ---- 9. certificate from the trusted CA but for another name / address -------------
            problems = []
            for host in ("localhost", listen):
                rec_other.reset()
                run = posthorn(binary, [*small, *conn(wrong_name, "implicit-tls", host=host)], password_env)
                problems += [f"--host {host}: {p}" for p in expect_failed(run, rec_other, {"ETLS"}, auth_allowed=False)]
            suite.report("9 trusted CA, certificate for another name/IP: ETLS for name and IP literal", problems)

            # ---- 10. STARTTLS asked, server does not offer it (downgrade) ---------------------
            tap = WireTap(listen, no_starttls.port)
            taps.append(tap)
            rec_nostarttls.reset()
            args = conn(no_starttls, "starttls")
            args[args.index("--port") + 1] = str(tap.port)
            run10 = posthorn(binary, [*small, *args], password_env)
            tap.close()
            problems = expect_failed(run10, rec_nostarttls, {"ETLS"}, auth_allowed=False)
            if b"EHLO" not in bytes(tap.client_bytes):
                problems.append("the wire tap saw no EHLO: the capture proves nothing")
            problems += expect_no_secrets("downgrade", {"wire (client->server)": bytes(tap.client_bytes)}, needles)
            if b"AUTH" in bytes(tap.client_bytes) or b"MAIL FROM" in bytes(tap.client_bytes):
                problems.append("the client went on without TLS (AUTH or MAIL sent in the clear)")
            suite.report("10 --security starttls, server without STARTTLS: ETLS, nothing sent in the clear", problems)
        finally:
            for tap in taps:
                tap.close()
            for controller in controllers:
                try:
                    controller.stop()
                except Exception as error:  # noqa: BLE001 - cleanup must go on
                    print(f"warning: stopping a server failed: {error}", file=sys.stderr)

    print(f"{suite.passed} passed, {suite.failed} failed")
    return 1 if suite.failed else 0


if __name__ == "__main__":
    sys.exit(main())
