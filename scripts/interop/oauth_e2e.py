#!/usr/bin/env python3
"""OAuth (XOAUTH2) SMTP credentials end to end (issue #21): a real `posthorn serve`, the fake
provider and the XOAUTH2-only SMTP server of oauth_fixture.py (one process, one token table).

Usage:
    python3 scripts/interop/oauth_e2e.py PATH_TO_POSTHORN [--keep-logs]

a. The fixture starts (access tokens live 6 s, refresh tokens rotate) and `posthorn serve` with
   POSTHORN_OAUTH_PROVIDERS pointing "google" at it, on 127.0.0.1, at trace level.
b. The set-up API makes the owner (session A); signing in again gives session B. The providers
   list shows Google; `oauth/start` refuses a bearer token (403 session_required), a request
   without Origin, an unknown provider and a missing name; with the session it answers the
   authorization URL (code flow, S256, state, the callback as redirect_uri, Google's offline
   access). The consent is given
   with plain HTTP (requests), the code taken from the Location without following it, the browser's
   load of the callback page made, and `oauth/complete` answers 201 with username
   alice@example.test and auth oauth2. The same state again, a forged state, a state started in A
   and completed in B (after which A cannot use it either), a denied consent: 400 with
   oauth_state_invalid / oauth_denied, nothing saved, no code exchanged. The credential refuses
   PATCHes of host and password, its name is taken for a new sign-in, a password credential or an
   unknown id cannot be reconnected, and its connection test succeeds.
c. The credential is connected again (a fresh 6 s token), then a webhook → smtp.send flow gets 200
   calls in bursts over 12 s while the SMTP server closes idle sessions between bursts, so the
   token expires in the middle of the batch and bursts of new sessions need it: every run
   succeeds, 200 messages arrive, authenticated as alice@example.test, with exactly one refresh
   (the refresh is slowed to make a second, racing one visible) and no failed AUTH.
d. The provider revokes every token; 30 more calls in bursts past the current token's expiry:
   the credential needs reconnecting, every failed run failed once with EAUTH and the hint
   "Reconnect this credential", no other failure, exactly one refused refresh, and the connection
   test says EAUTH with the hint without asking the provider again. Connecting again repairs it.
e. No token, code or the client secret (raw, JSON-escaped, URL-encoded, base64 at any alignment,
   or just its random part) is in the data directory (database, WAL, SHM), serve's stdout or trace
   log, any API answer this script received, or any run's history.

Prints `ok NAME` / `FAIL NAME: detail` per check and `N passed, M failed`; exits 1 on any failure.
Every server listens on 127.0.0.1 only; every process started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oauth_fixture import LOOPBACK, OAuthFixture, free_port  # noqa: E402
from server_curl import Checks  # noqa: E402

OWNER = {"email": "ada@example.com", "name": "Ada Lovelace", "password": "oauth-e2e-owner-passphrase-0123"}
ACCOUNT = "alice@example.test"
ACCESS_TTL = 6
REFRESHED_TTL = 15     # what a refresh during the batch hands out: the batch then needs exactly one
BATCH = 200
BATCH_BURSTS = 12      # one a second: about twice the access token's lifetime
REVOKED_CALLS = 30
REVOKED_BURSTS = 10
IDLE_CLOSE = 0.3       # the SMTP server closes sessions idle this long, so every burst opens new ones
TOKEN_DELAY = 0.3      # each /token answer waits this long, so concurrent refreshes would overlap
FINAL = {"succeeded", "failed", "ambiguous", "cancelled"}
HINT = "Reconnect this credential"
STATE_INVALID = "oauth_state_invalid"


@dataclass
class Answer:
    status: int
    headers: dict
    text: str

    @property
    def json(self) -> dict:
        try:
            value = json.loads(self.text) if self.text else {}
        except json.JSONDecodeError:
            return {"_raw": self.text[:500]}
        return value if isinstance(value, dict) else {"_value": value}

    @property
    def code(self) -> str | None:
        error = self.json.get("error")
        return error.get("code") if isinstance(error, dict) else None

    @property
    def field(self) -> str | None:
        error = self.json.get("error")
        return error.get("field") if isinstance(error, dict) else None

    def brief(self, limit: int = 400) -> str:
        return f"{self.status} {self.text[:limit]}"


class Posthorn:
    """HTTP to `posthorn serve` without following redirects; every answer's body is kept (for the
    canary search), with what asked for it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.bodies: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def request(self, method: str, path: str, *, session: str | None = None, token: str | None = None,
                body: object = None, origin: bool = True, timeout: float = 60) -> Answer:
        headers = {"Accept": "application/json"}
        if session:
            headers["Cookie"] = f"posthorn_session={session}"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if origin:
            headers["Origin"] = self.base
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        response = requests.request(method, self.base + path, data=data, headers=headers, timeout=timeout,
                                    allow_redirects=False)
        answer = Answer(response.status_code, dict(response.headers), response.content.decode("utf-8", errors="replace"))
        with self.lock:
            self.bodies.append((f"{method} {urllib.parse.urlsplit(path).path}", answer.text))
        return answer

    def session_of(self, answer: Answer) -> str | None:
        match = re.search(r"posthorn_session=([^;,\s]+)", answer.headers.get("Set-Cookie", ""))
        return match.group(1) if match else None


class Serve:
    """One `posthorn serve` with the providers file, on loopback, logging at trace into files; on
    PostgreSQL (`database`) with a shared key file for oauth_instances.py."""

    def __init__(self, binary: str, work: Path, providers_file: str, port: int, *, name: str = "serve",
                 database: str | None = None, key_file: Path | None = None, metrics_port: int = 0) -> None:
        self.port = port
        self.metrics_port = metrics_port
        self.base = f"http://{LOOPBACK}:{port}"
        self.data_dir = work / ("data" if name == "serve" else f"data-{name}")
        self.stdout_path = work / f"{name}.stdout"
        self.stderr_path = work / f"{name}.stderr"
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        env["POSTHORN_OAUTH_PROVIDERS"] = providers_file
        if key_file is not None:
            env["POSTHORN_MASTER_KEY_FILE"] = str(key_file)
        arguments = [binary, "serve", "--data-dir", str(self.data_dir), "--host", LOOPBACK, "--port", str(port),
                     "--public-url", self.base, "--allow-private-egress", f"{LOOPBACK}/32", "--log-level", "trace",
                     "--metrics-port", str(metrics_port)]
        if database is not None:
            arguments += ["--database", database]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(arguments, stdout=out, stderr=err, env=env)

    def wait_ready(self, timeout: float = 60, path: str = "/healthz") -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if requests.get(self.base + path, timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def banner(self, pattern: str, timeout: float = 10) -> re.Match | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.stdout_path.read_text(errors="replace")
            if match := re.search(pattern, text):
                return match
            time.sleep(0.05)
        return None

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# MARK: - Canaries


def forms(secret: str) -> dict[str, bytes]:
    """The ways a secret could be written down: as it is, JSON-escaped (`/` as `\\/` too),
    URL-encoded, base64 and base64url at each of the three alignments (the part that depends on
    the secret only, so it is found inside a longer encoded line such as XOAUTH2's), and its random
    part alone (whatever escaping the rest got)."""
    raw = secret.encode()
    found = {"raw": raw, "JSON-escaped": json.dumps(secret)[1:-1].replace("/", "\\/").encode(),
             "URL-encoded": urllib.parse.quote(secret, safe="").encode()}
    if match := re.search(r"CANARY-[A-Z]+-(.+)$", secret):
        found["random part"] = match.group(1).encode()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)[4:-4]
        found[f"base64@{shift}"] = encoded
        found[f"base64url@{shift}"] = encoded.replace(b"+", b"-").replace(b"/", b"_")
    return {name: needle for name, needle in found.items() if len(needle) >= 16}


def leaks(secrets_by_name: dict[str, str], haystacks: dict[str, bytes]) -> list[str]:
    found = []
    for name, secret in secrets_by_name.items():
        for form, needle in forms(secret).items():
            for where, blob in haystacks.items():
                if needle in blob:
                    found.append(f"{name} ({form}) in {where}")
    return found


def data_files(directory: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            try:
                files[f"data dir {path.relative_to(directory)}"] = path.read_bytes()
            except OSError:
                pass
    return files


# MARK: - The check


class OAuthE2E:
    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        self.checks = Checks()
        self.run_texts: dict[str, str] = {}
        self.data_snapshots: dict[str, bytes] = {}

    def check(self, name: str, ok: object, detail: object = "") -> bool:
        self.checks.check(name, bool(ok), detail)
        return bool(ok)

    # ---- helpers ------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: object = None, session: str | None = None, **kwargs) -> Answer:
        return self.ph.request(method, path, session=self.session_a if session is None else session, body=body, **kwargs)

    def start_oauth(self, body: dict, session: str | None = None) -> Answer:
        return self.api("POST", "/api/v1/credentials/oauth/start", body, session)

    def consent(self, authorize_url: str, decision: str = "allow", account: str = ACCOUNT) -> tuple[Answer, dict]:
        """What the person does at the provider: the page, then Allow or Deny. Returns the decision's
        answer (302, not followed) and the Location's query."""
        page = requests.get(authorize_url, timeout=30, allow_redirects=False)
        request_id = re.search(r'name="request" value="([^"]+)"', page.text)
        if page.status_code != 200 or not request_id:
            return Answer(page.status_code, dict(page.headers), page.text), {}
        answer = requests.post(urllib.parse.urljoin(authorize_url, "/authorize/decision"), timeout=30, allow_redirects=False,
                               data={"request": request_id.group(1), "email": account, "decision": decision})
        location = answer.headers.get("Location", "")
        query = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).items()}
        query["_location"] = location
        return Answer(answer.status_code, dict(answer.headers), answer.text), query

    def connect(self, body: dict, session: str | None = None) -> tuple[Answer, Answer | None, dict]:
        """start → consent (allow) → the browser loading the callback page → complete."""
        started = self.start_oauth(body, session)
        url = started.json.get("authorizeURL", "")
        if started.status != 200 or not url:
            return started, None, {}
        _, query = self.consent(url)
        if "code" not in query:
            return started, None, query
        self.ph.request("GET", urllib.parse.urlsplit(query["_location"]).path + "?" + urllib.parse.urlsplit(query["_location"]).query,
                        session=self.session_a if session is None else session, origin=False)
        completed = self.api("POST", "/api/v1/credentials/oauth/complete", {"state": query["state"], "code": query["code"]}, session)
        return started, completed, query

    def credentials(self) -> list[dict]:
        return self.api("GET", "/api/v1/credentials").json.get("credentials", [])

    def credential(self) -> dict:
        return self.api("GET", f"/api/v1/credentials/{self.cid}").json

    def fire(self, hook: str, bursts: list[int], until: float, label: str) -> list[tuple[str, float, Answer]]:
        """Webhook calls in bursts, the bursts evenly from now to `until` (monotonic)."""
        began = time.monotonic()
        step = (until - began) / max(1, len(bursts) - 1)
        calls: list[tuple[str, float, Answer]] = []
        counter = [0]
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(bursts)) as pool:
            for index, size in enumerate(bursts):
                delay = began + index * step - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures = []
                for _ in range(size):
                    counter[0] += 1
                    n = counter[0]
                    futures.append(pool.submit(lambda n=n: (f"{label}{n}@example.test", time.monotonic(), self.ph.request(
                        "POST", f"/hooks/{hook}", body={"to": f"{label}{n}@example.test", "n": n}, origin=False, timeout=30))))
                calls += [future.result() for future in futures]
        return calls

    def wait_runs(self, run_ids: list[str], timeout: float = 180) -> dict[str, dict]:
        runs: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        pending = list(run_ids)
        while pending and time.monotonic() < deadline:
            still = []
            for run_id in pending:
                answer = self.api("GET", f"/api/v1/runs/{run_id}")
                runs[run_id] = answer.json
                self.run_texts[run_id] = answer.text
                if answer.json.get("status") not in FINAL:
                    still.append(run_id)
            pending = still
            if pending:
                time.sleep(0.5)
        return runs

    def send_step(self, run: dict) -> dict:
        return next((step for step in run.get("steps", []) if step.get("id") == "send"), {})

    def last_access(self) -> dict:
        return [item for item in self.fixture.issued() if item["kind"] == "access"][-1]

    # ---- a. start -----------------------------------------------------------------------------

    def start(self) -> bool:
        port = free_port()
        self.fixture = OAuthFixture(redirect_uri=f"http://{LOOPBACK}:{port}/settings/oauth/callback", access_ttl=ACCESS_TTL,
                                    rotate=True, work_dir=self.work / "fixture")
        self.ready = self.fixture.start()
        self.serve = Serve(self.binary, self.work, self.ready["providersFile"], port)
        self.ph = Posthorn(self.serve.base)
        return self.check("a. posthorn serve starts with POSTHORN_OAUTH_PROVIDERS pointing google at the fixture",
                          self.serve.wait_ready(), self.serve.tail())

    # ---- b. connect ---------------------------------------------------------------------------

    def sign_in(self) -> bool:
        link = self.serve.banner(r"Set up the first account \(one-time link\): (\S+)")
        token = urllib.parse.unquote(urllib.parse.urlsplit(link.group(1)).fragment) if link else ""
        made = self.ph.request("POST", "/api/v1/setup", body={"token": token, **OWNER})
        self.session_a = self.ph.session_of(made)
        again = self.ph.request("POST", "/api/v1/session", body={"email": OWNER["email"], "password": OWNER["password"]})
        self.session_b = self.ph.session_of(again)
        self.check("b. the set-up API makes the owner (session A); signing in again gives a second session B",
                   made.status == 201 and self.session_a and again.status == 200 and self.session_b
                   and self.session_a != self.session_b, (made.brief(200), again.brief(200)))
        created = self.api("POST", "/api/v1/tokens", {"name": "oauth e2e"})
        self.bearer = created.json.get("token", "")
        self.check("b. the session makes an API token", created.status == 201 and self.bearer.startswith("ph_"), created.brief())
        return bool(self.session_a and self.session_b)

    def step_connect(self) -> bool:
        providers = self.api("GET", "/api/v1/credentials/oauth/providers")
        listed = providers.json.get("providers", [])
        google = next((p for p in listed if p.get("id") == "google"), {})
        self.check("b. GET oauth/providers lists google (Google, localhost, the fixture's port, starttls), no client secret",
                   providers.status == 200 and google.get("name") == "Google" and google.get("smtpHost") == "localhost"
                   and google.get("smtpPort") == self.ready["smtpPort"] and google.get("security") == "starttls"
                   and "clientSecret" not in providers.text, providers.brief())
        by_token = self.ph.request("GET", "/api/v1/credentials/oauth/providers", token=self.bearer)
        self.check("b. … a bearer token may list them too", by_token.status == 200 and by_token.json.get("providers"), by_token.brief())

        refused = self.ph.request("POST", "/api/v1/credentials/oauth/start", token=self.bearer,
                                  body={"provider": "google", "name": "Support Gmail"})
        self.check("b. oauth/start with a bearer token: 403 session_required",
                   refused.status == 403 and refused.code == "session_required", refused.brief())
        no_origin = self.api("POST", "/api/v1/credentials/oauth/start", {"provider": "google", "name": "Support Gmail"}, origin=False)
        self.check("b. oauth/start without Origin is refused (403)", no_origin.status == 403, no_origin.brief())
        unknown = self.start_oauth({"provider": "yahoo", "name": "Support Gmail"})
        self.check("b. an unknown provider: 422 validation_failed at provider",
                   unknown.status == 422 and unknown.code == "validation_failed" and unknown.field == "provider", unknown.brief())
        nameless = self.start_oauth({"provider": "google"})
        self.check("b. no name: 422 validation_failed at name",
                   nameless.status == 422 and nameless.code == "validation_failed" and nameless.field == "name", nameless.brief())

        started = self.start_oauth({"provider": "google", "name": "Support Gmail"})
        url = started.json.get("authorizeURL", "")
        parts = urllib.parse.urlsplit(url)
        query = {k: v for k, v in urllib.parse.parse_qs(parts.query).items()}
        one = {k: v[0] for k, v in query.items() if len(v) == 1}
        self.check("b. oauth/start with the session: 200 and the fixture's authorize URL (code, client id, S256, state, "
                   "the callback as redirect_uri, the scopes, offline access)",
                   started.status == 200 and url.startswith(self.ready["providerURL"] + "/authorize?")
                   and one.get("response_type") == "code" and one.get("client_id") == self.ready["clientId"]
                   and one.get("code_challenge_method") == "S256" and len(one.get("code_challenge", "")) == 43
                   and len(one.get("state", "")) >= 16
                   and one.get("redirect_uri") == self.serve.base + "/settings/oauth/callback"
                   and one.get("scope", "").split(" ") == ["openid", "email", "https://mail.google.com/"]
                   and all(len(v) == 1 for v in query.values()), started.brief())
        self.check("b. … with Google's access_type=offline&prompt=consent (the contract: \"+ Google\"; the provider here is "
                   "the id google given by POSTHORN_OAUTH_PROVIDERS)",
                   one.get("access_type") == "offline" and one.get("prompt") == "consent", url)
        page = requests.get(url, timeout=30) if url else None
        self.check("b. the fixture shows its consent page for it (every parameter accepted)",
                   page is not None and page.status_code == 200 and "Posthorn Test wants to send email as" in page.text,
                   page.text[:300] if page is not None else None)
        decided, location = self.consent(url) if url else (None, {})
        self.check("b. Allow: 302 to <base>/settings/oauth/callback with code and the same state (not followed)",
                   decided is not None and decided.status == 302
                   and location.get("_location", "").startswith(self.serve.base + "/settings/oauth/callback?")
                   and location.get("state") == one.get("state") and location.get("code"), (decided and decided.status, location))
        callback = self.ph.request("GET", urllib.parse.urlsplit(location.get("_location", "/")).path + "?"
                                   + urllib.parse.urlsplit(location.get("_location", "/")).query, session=self.session_a, origin=False)
        self.check("b. the callback page (as the browser loads it) is the web app: 200 text/html",
                   callback.status == 200 and "text/html" in callback.headers.get("Content-Type", ""), callback.brief(200))
        before = self.fixture.stats()
        completed = self.api("POST", "/api/v1/credentials/oauth/complete", {"state": location.get("state", ""), "code": location.get("code", "")})
        made = completed.json
        self.cid = made.get("id", "")
        oauth = made.get("oauth") or {}
        self.check("b. oauth/complete: 201, the credential with username alice@example.test, auth oauth2, Google, no password, "
                   "the provider's host, port and security",
                   completed.status == 201 and made.get("username") == ACCOUNT and made.get("auth") == "oauth2"
                   and oauth.get("provider") == "google" and oauth.get("providerName") == "Google"
                   and oauth.get("needsReconnect") is False and made.get("hasPassword") is False
                   and made.get("host") == "localhost" and made.get("port") == self.ready["smtpPort"]
                   and made.get("security") == "starttls" and made.get("name") == "Support Gmail", completed.brief(800))
        after = self.fixture.stats()
        self.check("b. … after exactly one code exchange at the provider", after["exchanges"] - before["exchanges"] == 1
                   and after["exchangeFailures"] == before["exchangeFailures"], (before, after))

        again = self.api("POST", "/api/v1/credentials/oauth/complete", {"state": location.get("state", ""), "code": location.get("code", "")})
        self.check("b. completing the same state again: 400 oauth_state_invalid", again.status == 400 and again.code == STATE_INVALID,
                   again.brief())
        forged = self.api("POST", "/api/v1/credentials/oauth/complete", {"state": "forged-" + "x" * 40, "code": location.get("code", "")})
        self.check("b. a forged state: 400 oauth_state_invalid", forged.status == 400 and forged.code == STATE_INVALID, forged.brief())
        message = (again.json.get("error") or {}).get("message", "")
        self.check("b. … with the contract's words", message.startswith("This sign-in is not valid"), message)

        # Started in session A, completed from session B: refused, and A cannot use it afterwards.
        started = self.start_oauth({"provider": "google", "name": "Other mailbox"})
        _, other = self.consent(started.json.get("authorizeURL", "")) if started.status == 200 else (None, {})
        from_b = self.api("POST", "/api/v1/credentials/oauth/complete", {"state": other.get("state", ""), "code": other.get("code", "")},
                          session=self.session_b)
        from_a = self.api("POST", "/api/v1/credentials/oauth/complete", {"state": other.get("state", ""), "code": other.get("code", "")})
        self.check("b. a state started in session A and completed from session B: 400 oauth_state_invalid",
                   started.status == 200 and "code" in other and from_b.status == 400 and from_b.code == STATE_INVALID, from_b.brief())
        self.check("b. … and the state is consumed: session A then gets 400 oauth_state_invalid too",
                   from_a.status == 400 and from_a.code == STATE_INVALID, from_a.brief())

        # Deny.
        started = self.start_oauth({"provider": "google", "name": "Denied mailbox"})
        decided, denied = self.consent(started.json.get("authorizeURL", ""), "deny") if started.status == 200 else (None, {})
        refused = self.api("POST", "/api/v1/credentials/oauth/complete", {
            "state": denied.get("state", ""), "error": denied.get("error", ""), "errorDescription": "The user denied access."})
        self.check("b. Deny: the provider redirects with error=access_denied and the state; complete answers 400 oauth_denied "
                   "naming Google",
                   decided is not None and decided.status == 302 and denied.get("error") == "access_denied"
                   and refused.status == 400 and refused.code == "oauth_denied"
                   and "Google" in (refused.json.get("error") or {}).get("message", ""), refused.brief())
        names = sorted(c.get("name", "") for c in self.credentials())
        self.check("b. neither the other-session nor the denied sign-in saved a credential; no code was exchanged for them",
                   names == ["Support Gmail"] and self.fixture.stats()["exchanges"] == after["exchanges"],
                   (names, self.fixture.stats()))

        taken = self.start_oauth({"provider": "google", "name": "Support Gmail"})
        # As for POST /api/v1/credentials: a taken name is a conflict (409), not a malformed field.
        self.check("b. a name already taken: 409 conflict at name",
                   taken.status == 409 and taken.code == "conflict" and taken.field == "name", taken.brief())
        plain = self.api("POST", "/api/v1/credentials", {"name": "Password account", "host": "localhost", "port": self.ready["smtpPort"],
                                                          "security": "starttls", "username": "bob@example.test",
                                                          "password": "a-password-0123"})
        not_oauth = self.start_oauth({"credentialId": plain.json.get("id", "")})
        missing = self.start_oauth({"credentialId": "cred_abcdefghijklmnopqrst"})
        self.check("b. reconnecting a password credential or an unknown id: 422 at credentialId",
                   plain.status == 201 and not_oauth.status == 422 and not_oauth.field == "credentialId"
                   and missing.status == 422 and missing.field == "credentialId", (plain.status, not_oauth.brief(), missing.brief()))
        host = self.api("PATCH", f"/api/v1/credentials/{self.cid}", {"host": "smtp.example.com"})
        password = self.api("PATCH", f"/api/v1/credentials/{self.cid}", {"password": "nope-0123"})
        self.check("b. PATCH host or password of the OAuth credential: 422 at that field",
                   host.status == 422 and host.field == "host" and password.status == 422 and password.field == "password",
                   (host.brief(), password.brief()))
        listed = next((c for c in self.credentials() if c.get("id") == self.cid), {})
        self.check("b. the list shows it as oauth2, Google", listed.get("auth") == "oauth2"
                   and (listed.get("oauth") or {}).get("provider") == "google", listed)
        tested = self.api("POST", f"/api/v1/credentials/{self.cid}/test")
        self.check("b. test connection of the OAuth credential: ok over TLS",
                   tested.status == 200 and tested.json.get("ok") is True and tested.json.get("tlsVersion") in ("TLSv1.2", "TLSv1.3"),
                   tested.brief())
        return bool(self.cid)

    # ---- c. sends across an expiry ------------------------------------------------------------

    def step_expiry(self) -> None:
        flow = self.api("POST", "/api/v1/flows", {
            "name": "oauth mail", "trigger": {"type": "webhook"}, "retry": {"maxAttempts": 3, "initialDelayMs": 200, "maxDelayMs": 1000},
            "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                "credential": self.cid, "from": ACCOUNT, "to": "{{trigger.body.to}}",
                "subject": "Message {{trigger.body.n}}", "body": "Hello {{trigger.body.to}}"}}]})
        self.hook = flow.json.get("trigger", {}).get("webhookId", "")
        self.check("c. a webhook → smtp.send flow with the credential", flow.status == 201 and self.hook, flow.brief())

        # A fresh token (6 s) right before the batch: connect again.
        started, completed, _ = self.connect({"credentialId": self.cid})
        fresh = self.last_access()
        self.check("c. connecting the credential again (reconnect): 200, the same credential",
                   completed is not None and completed.status == 200 and completed.json.get("id") == self.cid
                   and (completed.json.get("oauth") or {}).get("needsReconnect") is False,
                   completed.brief() if completed else started.brief())
        self.fixture.configure(accessTTL=REFRESHED_TTL, smtpIdleTimeout=IDLE_CLOSE, tokenDelay=TOKEN_DELAY)
        expires_at = time.monotonic() + (fresh["at"] + fresh["expiresIn"] - time.time())
        before = self.fixture.stats()
        sizes = [BATCH // BATCH_BURSTS + (1 if i < BATCH % BATCH_BURSTS else 0) for i in range(BATCH_BURSTS)]
        calls = self.fire(self.hook, sizes, time.monotonic() + 2 * ACCESS_TTL - 1, "batch")
        accepted = [answer.json.get("runId", "") for _, _, answer in calls if answer.status == 202]
        first, last = calls[0][1], calls[-1][1]
        self.check(f"c. {BATCH} webhook calls answered 202 in {BATCH_BURSTS} bursts over {last - first:.1f} s, "
                   "the token's expiry inside",
                   len(accepted) == BATCH and first < expires_at < last,
                   ([a.brief(200) for _, _, a in calls if a.status != 202][:3], first - expires_at, last - expires_at))
        runs = self.wait_runs(accepted)
        statuses: dict[str, int] = {}
        for run in runs.values():
            statuses[run.get("status", "?")] = statuses.get(run.get("status", "?"), 0) + 1
        failures = [(run_id, (run.get("error") or {}).get("code"), (run.get("error") or {}).get("message"))
                    for run_id, run in runs.items() if run.get("status") != "succeeded"]
        self.check(f"c. all {BATCH} runs succeeded", statuses == {"succeeded": BATCH}, (statuses, failures[:5]))
        time.sleep(0.5)
        after = self.fixture.stats()
        batch_mail = [m for m in self.fixture.messages() if any(r.startswith("batch") for r in m["rcptTos"])]
        self.check(f"c. the fixture received {BATCH} messages, each once, every one authenticated as {ACCOUNT}",
                   after["messages"] - before["messages"] == BATCH
                   and sorted(r for m in batch_mail for r in m["rcptTos"]) == sorted(f"batch{n}@example.test" for n in range(1, BATCH + 1))
                   and {m["authUser"] for m in batch_mail} == {ACCOUNT}, (after["messages"] - before["messages"], len(batch_mail)))
        self.check("c. exactly one refresh across the expiry (single flight), none refused",
                   after["refreshes"] - before["refreshes"] == 1 and after["refreshFailures"] == before["refreshFailures"],
                   {k: after[k] - before[k] for k in after})
        self.check("c. no AUTH was refused: the token was renewed before it expired",
                   after["authFailures"] == before["authFailures"] and after["authAttempts"] > before["authAttempts"] + 1,
                   {k: after[k] - before[k] for k in after})
        self.check("c. the credential does not need reconnecting",
                   (self.credential().get("oauth") or {}).get("needsReconnect") is False, self.credential().get("oauth"))

    # ---- d. revoked ---------------------------------------------------------------------------

    def step_revoked(self) -> None:
        current = self.last_access()
        expires_at = time.monotonic() + (current["at"] + current["expiresIn"] - time.time())
        before = self.fixture.stats()
        self.fixture.revoke()
        until = max(time.monotonic() + 6, expires_at + 2)
        sizes = [REVOKED_CALLS // REVOKED_BURSTS + (1 if i < REVOKED_CALLS % REVOKED_BURSTS else 0) for i in range(REVOKED_BURSTS)]
        calls = self.fire(self.hook, sizes, until, "revoked")
        accepted = [answer.json.get("runId", "") for _, _, answer in calls if answer.status == 202]
        self.check(f"d. the provider revoked every token; {REVOKED_CALLS} more calls answered 202, spread past the "
                   "current token's expiry", len(accepted) == REVOKED_CALLS and calls[-1][1] > expires_at,
                   (len(accepted), calls[-1][1] - expires_at))
        runs = self.wait_runs(accepted)
        statuses: dict[str, int] = {}
        for run in runs.values():
            statuses[run.get("status", "?")] = statuses.get(run.get("status", "?"), 0) + 1
        self.check("d. every run is final: succeeded (a pooled session still good) or failed, nothing ambiguous",
                   set(statuses) <= {"succeeded", "failed"} and sum(statuses.values()) == REVOKED_CALLS, statuses)
        failed = {run_id: run for run_id, run in runs.items() if run.get("status") == "failed"}
        wrong = []
        for run_id, run in failed.items():
            step = self.send_step(run)
            error = step.get("error") or {}
            hint = (error.get("details") or {}).get("hint") if isinstance(error.get("details"), dict) else None
            if not (error.get("code") == "EAUTH" and (run.get("error") or {}).get("code") == "EAUTH" and hint and HINT in hint
                    and step.get("attempts") == 1 and step.get("status") == "failed"):
                wrong.append({"run": run_id, "runError": run.get("error"), "stepError": error, "attempts": step.get("attempts"),
                              "stepStatus": step.get("status")})
        self.check(f"d. runs failed after the revoke ({len(failed)} of {REVOKED_CALLS}); each with step error EAUTH, "
                   f"details.hint \"{HINT}…\", one attempt", failed and not wrong, wrong[:3] if wrong else statuses)
        retried = [run_id for run_id, run in runs.items() if self.send_step(run).get("attempts") != 1]
        self.check("d. no run was attempted more than once", not retried,
                   [(r, self.send_step(runs[r]).get("attempts")) for r in retried[:5]])
        credential = self.credential()
        self.check("d. the credential's oauth.needsReconnect is true", (credential.get("oauth") or {}).get("needsReconnect") is True,
                   credential.get("oauth"))
        after = self.fixture.stats()
        self.check("d. exactly one refresh was tried and refused (invalid_grant), none succeeded",
                   after["refreshFailures"] - before["refreshFailures"] == 1 and after["refreshes"] == before["refreshes"],
                   {k: after[k] - before[k] for k in after})
        tested = self.api("POST", f"/api/v1/credentials/{self.cid}/test")
        error = tested.json.get("error") or {}
        self.check("d. test connection now: ok false, EAUTH, the hint \"Reconnect this credential\"",
                   tested.status == 200 and tested.json.get("ok") is False and error.get("code") == "EAUTH"
                   and HINT in (error.get("hint") or ""), tested.brief())
        time.sleep(2)
        later = self.fixture.stats()
        self.check("d. nothing asks the provider again until the user reconnects (test included)",
                   later["refreshFailures"] == after["refreshFailures"] and later["tokenRequests"] == after["tokenRequests"],
                   {k: later[k] - after[k] for k in later})

        # Connecting again repairs it.
        self.fixture.configure(accessTTL=3600)
        started, completed, _ = self.connect({"credentialId": self.cid})
        self.check("d. reconnecting: 200, needsReconnect false again",
                   completed is not None and completed.status == 200
                   and (completed.json.get("oauth") or {}).get("needsReconnect") is False,
                   completed.brief() if completed else started.brief())
        tested = self.api("POST", f"/api/v1/credentials/{self.cid}/test")
        self.check("d. … its test connection succeeds", tested.json.get("ok") is True, tested.brief())
        sent = self.ph.request("POST", f"/hooks/{self.hook}", body={"to": "after@example.test", "n": 0}, origin=False)
        run = self.wait_runs([sent.json.get("runId", "")]).get(sent.json.get("runId", ""), {})
        self.check("d. … and a send through it succeeds", run.get("status") == "succeeded", run.get("error"))

    # ---- e. canaries --------------------------------------------------------------------------

    def step_canaries(self, stopped: bool) -> None:
        issued = self.fixture.issued()
        secrets_by_name = {f"{item['kind']} #{n}": item["value"] for n, item in enumerate(issued)}
        secrets_by_name["client secret"] = self.ready["clientSecret"]
        kinds = sorted({item["kind"] for item in issued})
        self.check("e. the fixture handed out codes, access, refresh and ID tokens",
                   kinds == ["access", "code", "id_token", "refresh"], kinds)
        sample = issued[0]["value"] if issued else self.ready["clientSecret"]
        planted = leaks({"planted": sample},
                        {"a planted JSON copy": json.dumps({"x": sample}).replace("/", "\\/").encode(),
                         "a planted XOAUTH2 line": base64.b64encode(f"user={ACCOUNT}\x01auth=Bearer {sample}\x01\x01".encode())})
        self.check("e. the canary search finds planted copies (self-test)", len({p.split(" in ")[1] for p in planted}) == 2, planted)
        haystacks: dict[str, bytes] = dict(self.data_snapshots)
        if stopped:
            haystacks.update({f"{k} (after stop)": v for k, v in data_files(self.serve.data_dir).items()})
        haystacks["serve stdout"] = self.serve.stdout_path.read_bytes()
        haystacks["serve stderr (trace)"] = self.serve.stderr_path.read_bytes()
        with self.ph.lock:
            bodies = list(self.ph.bodies)
        haystacks["API answers"] = "\n".join(text for _, text in bodies).encode()
        haystacks["run histories"] = "\n".join(self.run_texts.values()).encode()
        names = [k for k in haystacks if k.startswith("data dir")]
        self.check("e. the data directory has the database, its WAL and SHM",
                   any(n.endswith(".sqlite") or n.endswith(".db") or "sqlite" in n for n in names), names)
        found = leaks(secrets_by_name, haystacks)
        where = sorted({f.split(" in ", 1)[1] for f in found})
        self.check(f"e. none of {len(secrets_by_name)} tokens, codes and the client secret is in the data directory, serve's "
                   f"output ({len(haystacks['serve stderr (trace)']) // 1024} KiB of trace), {len(bodies)} API answers or "
                   f"{len(self.run_texts)} run histories", not found, (where, found[:8]))
        if found:
            self.report_leaks(found, secrets_by_name, haystacks)

    def report_leaks(self, found: list[str], secrets_by_name: dict[str, str], haystacks: dict[str, bytes]) -> None:
        """A line of context for the first few, so the report can quote them."""
        shown = 0
        for entry in found:
            name, rest = entry.split(" (", 1)
            form, where = rest.split(") in ", 1)
            needle = forms(secrets_by_name[name]).get(form, b"")
            blob = haystacks.get(where, b"")
            at = blob.find(needle)
            if at >= 0:
                start = blob.rfind(b"\n", 0, at) + 1
                end = blob.find(b"\n", at)
                print(f"     {entry}: …{blob[max(start, at - 300):end if end >= 0 else at + 300][:700].decode(errors='replace')}…")
                shown += 1
            if shown >= 6:
                break

    # ---- the whole --------------------------------------------------------------------------------

    def run(self) -> int:
        started = False
        try:
            started = self.start()
            if started and self.sign_in() and self.step_connect():
                self.step_expiry()
                self.step_revoked()
        except Exception as error:  # noqa: BLE001  (a crash of this script is a failure too)
            import traceback
            traceback.print_exc()
            self.check("the check ran to its end", False, repr(error))
        finally:
            if hasattr(self, "serve"):
                self.data_snapshots = data_files(self.serve.data_dir)  # the WAL and SHM while serving
            code = self.serve.stop() if hasattr(self, "serve") else None
            if hasattr(self, "serve"):
                self.check("posthorn serve stops on SIGTERM with status 0", code == 0, (code, self.serve.tail()))
        try:
            if started:
                self.step_canaries(stopped=True)
        finally:
            if hasattr(self, "fixture"):
                self.fixture.stop()
        print(f"{self.checks.passed} passed, {self.checks.failed} failed")
        return 1 if self.checks.failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description="OAuth (XOAUTH2) credentials end to end against posthorn serve")
    parser.add_argument("binary")
    parser.add_argument("--keep-logs", action="store_true", help="keep the working directory (serve's logs, data, fixture)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="posthorn-oauth-e2e-"))

    def timed_out(*_):
        raise TimeoutError("the check ran longer than 15 minutes")
    signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(900)
    try:
        status = OAuthE2E(args.binary, work).run()
    finally:
        signal.alarm(0)
        if args.keep_logs:
            print(f"logs kept in {work} (serve.stdout, serve.stderr, data/, fixture/)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
