"""End-to-end check of `posthorn serve`, driven by curl, with aiosmtpd as the SMTP fixture.

Usage:
    python3 scripts/interop/server_curl.py PATH_TO_POSTHORN

Starts `posthorn serve` exactly as README's main command does (embedded defaults), on a fresh
data directory and a free loopback port, with `--allow-private-egress 127.0.0.1` so it may reach
the fixture. Then, with curl only: /healthz; the admin token printed on first start creates a
workspace; a credential round trip (POST, GET, list, PATCH without password, DELETE); "test
connection" against aiosmtpd with STARTTLS + AUTH (the CA is given as the credential's
caCertificate) reports the TLS version and succeeds; a wrong password reports EAUTH with its hint;
port 25 is refused. Finally SIGTERM stops the server cleanly and the password (raw, base64,
JSON-escaped) appears nowhere: not in the data directory, the server's trace log, or any response.

Prints `ok  NAME` or `FAIL NAME: reasons` per check; exits 1 on any failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smtp_aiosmtpd as fixture  # noqa: E402  (certificates, aiosmtpd recorder, free ports)

PASSWORD = fixture.PASSWORD


class Checks:
    """Counts and prints `ok NAME` / `FAIL NAME: detail` lines (shared with smtp_node_e2e.py)."""

    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0

    def check(self, name: str, ok: bool, detail: object = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}")


def curl(base: str, method: str, path: str, token: str | None = None, body: dict | None = None,
         responses: list[str] | None = None) -> tuple[int, dict]:
    argv = ["curl", "-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}", "--max-time", "40", base + path]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    run = subprocess.run(argv, input=json.dumps(body).encode() if body is not None else None,
                         capture_output=True, timeout=60)
    text = run.stdout.decode()
    payload, _, status = text.rpartition("\n")
    if responses is not None:
        responses.append(payload)
    try:
        parsed = json.loads(payload) if payload else {}
    except json.JSONDecodeError:
        parsed = {"_raw": payload}
    return int(status or 0), parsed


def main() -> int:
    binary = sys.argv[1]
    checks = Checks()
    responses: list[str] = []
    with tempfile.TemporaryDirectory(prefix="posthorn-server-") as tmp:
        tmp_path = Path(tmp)
        pki = fixture.make_pki(tmp_path)
        recorder = fixture.Recorder()
        smtp = fixture.start(recorder, "127.0.0.1",
                             tls_context=fixture.server_context(pki["good"], pki["good.key"]),
                             require_starttls=True, auth_required=True, auth_require_tls=True)
        port = fixture.free_port("127.0.0.1")
        data_dir = tmp_path / "posthorn-data"
        log_path = tmp_path / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                [binary, "serve", "--data-dir", str(data_dir), "--port", str(port),
                 "--allow-private-egress", "127.0.0.1", "--log-level", "trace"],
                stdout=subprocess.PIPE, stderr=log, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            banner = []
            deadline = time.monotonic() + 60
            admin = None
            while time.monotonic() < deadline and admin is None:
                line = server.stdout.readline().decode()
                if not line:
                    break
                banner.append(line)
                if line.startswith("Admin API token"):
                    admin = line.rsplit(" ", 1)[1].strip()
            checks.check("first start prints the admin token once", admin is not None and admin.startswith("ph_"),
                         "".join(banner))
            for _ in range(100):
                status, body = curl(base, "GET", "/healthz")
                if status == 200:
                    break
                time.sleep(0.1)
            checks.check("/healthz answers", status == 200 and body.get("status") == "ok", f"{status} {body}")
            key_file = data_dir / "master.key"
            checks.check("master key file is mode 0600",
                         key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600,
                         oct(key_file.stat().st_mode) if key_file.exists() else "missing")

            status, created = curl(base, "POST", "/api/v1/workspaces", admin, {"name": "Interop"}, responses)
            token = created.get("token", "")
            checks.check("admin creates a workspace and gets its token", status == 201 and token.startswith("ph_"),
                         f"{status} {created}")

            credential = {"type": "smtp", "name": "aiosmtpd", "host": "localhost", "port": smtp.port,
                          "security": "starttls", "username": fixture.USER, "password": PASSWORD,
                          "caCertificate": pki["ca"].read_text(), "clientIdentifier": "client.example.com"}
            status, made = curl(base, "POST", "/api/v1/credentials", token, credential, responses)
            cid = made.get("id", "")
            checks.check("POST credential: 201, hasPassword, no password",
                         status == 201 and made.get("hasPassword") is True and "password" not in made,
                         f"{status} {made}")
            status, got = curl(base, "GET", f"/api/v1/credentials/{cid}", token, None, responses)
            checks.check("GET credential round trip", status == 200 and got.get("port") == smtp.port
                         and got.get("username") == fixture.USER, f"{status} {got}")
            status, listed = curl(base, "GET", "/api/v1/credentials", token, None, responses)
            checks.check("list holds it", status == 200 and [c["id"] for c in listed.get("credentials", [])] == [cid],
                         f"{status} {listed}")
            status, patched = curl(base, "PATCH", f"/api/v1/credentials/{cid}", token, {"name": "aiosmtpd fixture"},
                                   responses)
            checks.check("PATCH without password keeps it", status == 200 and patched.get("hasPassword") is True
                         and patched.get("name") == "aiosmtpd fixture", f"{status} {patched}")

            status, tested = curl(base, "POST", f"/api/v1/credentials/{cid}/test", token, None, responses)
            checks.check("test connection succeeds over STARTTLS and reports the TLS version",
                         status == 200 and tested.get("ok") is True
                         and tested.get("tlsVersion") in ("TLSv1.2", "TLSv1.3"), f"{status} {tested}")
            checks.check("test connection authenticated and sent no mail",
                         any(login[1] == fixture.USER.encode() for login in recorder.logins)
                         and not recorder.deliveries, f"logins={len(recorder.logins)} mails={len(recorder.deliveries)}")

            wrong = dict(credential, name="wrong password", password=fixture.WRONG_PASSWORD)
            _, bad = curl(base, "POST", "/api/v1/credentials", token, wrong, responses)
            status, failed = curl(base, "POST", f"/api/v1/credentials/{bad.get('id', '')}/test", token, None, responses)
            error = failed.get("error") or {}
            checks.check("a wrong password reports EAUTH with the App Password hint",
                         status == 200 and failed.get("ok") is False and error.get("code") == "EAUTH"
                         and "App Password" in (error.get("hint") or ""), f"{status} {failed}")

            status, refused = curl(base, "POST", "/api/v1/credentials", token, dict(credential, name="p25", port=25),
                                   responses)
            checks.check("port 25 is refused with 422 naming the field",
                         status == 422 and refused.get("error", {}).get("field") == "port"
                         and refused["error"].get("message") == "Port 25 is not allowed", f"{status} {refused}")

            status, _ = curl(base, "DELETE", f"/api/v1/credentials/{cid}", token, None, responses)
            status_after, _ = curl(base, "GET", f"/api/v1/credentials/{cid}", token, None, responses)
            checks.check("DELETE then GET is 404", status == 204 and status_after == 404, f"{status} {status_after}")
            status, _ = curl(base, "GET", "/api/v1/credentials", None)
            checks.check("no token is 401", status == 401, str(status))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                code = server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                code = None
            smtp.stop()
        checks.check("SIGTERM stops the server cleanly", code == 0, f"exit {code}")

        needles = {"raw": PASSWORD.encode(), "json": json.dumps(PASSWORD)[1:-1].encode(),
                   **{k: v for k, v in fixture.secret_needles(fixture.USER, PASSWORD).items() if "user)" not in k}}
        blobs = {"server log": log_path.read_bytes(), "responses": "\n".join(responses).encode()}
        for path in data_dir.rglob("*"):
            if path.is_file():
                blobs[f"data/{path.name}"] = path.read_bytes()
        leaks = [f"{what} in {where}" for where, blob in blobs.items() for what, needle in needles.items()
                 if needle in blob]
        checks.check("the password appears nowhere (data dir, trace log, responses)", not leaks, "; ".join(leaks))
        checks.check("the trace log has the SMTP session", b"EHLO" in log_path.read_bytes(), "no EHLO in log")

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
