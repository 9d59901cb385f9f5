#!/usr/bin/env python3
"""The web app's Step 1 in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium) against a real `posthorn serve` and a real aiosmtpd SMTP
fixture (STARTTLS + AUTH, a test CA made with openssl at run time).

Usage:
    python3 scripts/checks/webapp_browser.py PATH_TO_POSTHORN [--screenshots]

Follows the issue's "Must show" literally, one `ok NAME` / `FAIL NAME: detail` line per claim:

1. The set-up link creates the first account; the user menu at the bottom of the sidebar opens
   Credentials; the + on the SMTP Server tile opens "Connect your email"; the Gmail quick setting
   shows its hint and fills server, port and security; pointed at the loopback fixture (STARTTLS,
   username, password, the fixture's CA in ADVANCED), Test connection shows the TLS version; Save
   credential closes the dialog and the credential is listed under the tile.
2. A wrong password: Test connection shows EAUTH with the App Password hint.
3. Port 25 is refused at the field ("Port 25 is not allowed") and nothing is sent.
4. The whole dialog with the keyboard only (no click after the page is opened): open, pick the
   quick setting, fill, test, save; focus stays in the dialog and is always visible; Esc closes it
   and gives the focus back to the button that opened it.
5. A member (invited, accepting in a second browser) sees names only, and the API itself answers
   403 `admin_required` to show, test, edit and delete (fetch() from the member's page, and urllib
   with the member's cookie and a same-origin Origin).
6. Another workspace's credentials are invisible: each workspace's page lists only its own.
7. Security: the cookie's flags (raw Set-Cookie and the browser's cookie jar); cross-origin and
   cross-site POSTs (form and fetch with credentials, from another loopback origin) change nothing;
   signed-out, made-up, expired and idle session ids are refused; six wrong passwords show the
   "too many attempts" message with a wait; the set-up link works once; the canary passwords
   (SMTP and account) appear in no DOM, no page source, no network response (CDP
   Network.getResponseBody for every response), not in the server's trace log and not in the data
   directory (database, WAL, raw and base64); nor are session ids and the one-time set-up and
   invitation tokens in the log or the database; every route answers with the CSP; the console has
   no CSP violation and no error (the only failed loads expected: the 401 of the signed-out session
   check, the 401/429s of the throttling test, the 403s of the member's own probes).
8. With --screenshots only: the Credentials page and the dialog (and the other states the front
   end keeps pictures of) in light and dark, 1280x800 and 390x844, into docs/screenshots/ under
   the names already there.

A missing chromium, chromedriver or selenium is a failure, never a skip. Every server this starts
listens on 127.0.0.1 only. Prints `N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "interop"))
from server_curl import Checks  # noqa: E402  (ok/FAIL lines)
import smtp_aiosmtpd as fixture  # noqa: E402  (test PKI, aiosmtpd recorder, free ports)

LOOPBACK = "127.0.0.1"
PUBLIC = REPO / "Sources" / "WebApp" / "Public"
SCREENSHOTS = REPO / "docs" / "screenshots"
ADMIN_TOKEN = "webapp-browser-admin-token-0123456789abcdef"

# Canaries: each carries a random core of its own, so finding that core anywhere is a leak.
SMTP_PASSWORD = f"Canary-smtp-{secrets.token_hex(6)}-pä$$ \"w0rd"
WRONG_SMTP_PASSWORD = f"Canary-wrong-{secrets.token_hex(6)}-nöpe"
OWNER_PASSWORD = f"Canary-owner-{secrets.token_hex(6)}-passphrase"
MEMBER_PASSWORD = f"Canary-member-{secrets.token_hex(6)}-passphrase"
OWNER = {"name": "Ada Lovelace", "email": "ada@example.com"}
MEMBER = {"name": "Grace Hopper", "email": "grace@example.com"}
SMTP_USER = fixture.USER

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGES = ["/", "/signin", "/setup", "/invite", "/settings/credentials", "/settings/tokens", "/settings/members", "/settings/suppressions",
         "/flows", "/flows/fl_example", "/runs", "/runs/run_example"]

try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException, TimeoutException,
                                            WebDriverException)
    from selenium.webdriver.chrome.options import Options as ChromeOptions
    from selenium.webdriver.chrome.service import Service as ChromeService
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - CI installs it; a missing one must fail, not skip
    webdriver = None


def find_browser() -> tuple[str | None, str | None]:
    chromium = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
    driver = next((p for p in (shutil.which("chromedriver"), "/usr/lib/chromium/chromedriver",
                               "/usr/bin/chromedriver") if p and os.access(p, os.X_OK)), None)
    return chromium, driver


def browser_or_fail() -> tuple[str, str] | None:
    """Chromium and chromedriver, or None after printing the failed check that says what is missing
    (a browser check without a browser fails; it never skips)."""
    chromium, chromedriver = find_browser()
    problems = []
    if webdriver is None:
        problems.append("selenium is not installed (python3 -m pip install selenium)")
    if chromium is None:
        problems.append("no chromium (apt-get install chromium)")
    if chromedriver is None:
        problems.append("no chromedriver (apt-get install chromium-driver)")
    if problems:
        print(f"FAIL browser available: {'; '.join(problems)}")
        print("0 passed, 1 failed")
        return None
    return chromium, chromedriver


# MARK: - Canaries

def needles(secret: str) -> dict[str, bytes]:
    """The forms of a secret that must never show up: raw, JSON-escaped, URL-encoded, base64, the
    SMTP AUTH encodings, and its random core alone."""
    raw = secret.encode()
    forms = {
        "raw": raw,
        "json": json.dumps(secret)[1:-1].encode(),
        "json (utf-8)": json.dumps(secret, ensure_ascii=False)[1:-1].encode(),
        "url-encoded": urllib.parse.quote(secret, safe="").encode(),
        "form-encoded": urllib.parse.quote_plus(secret).encode(),
        "base64": base64.b64encode(raw),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "random core": secret.split("-")[2].encode(),
    }
    for name, value in fixture.secret_needles(SMTP_USER, secret).items():
        if "user)" not in name:  # base64 of the user name alone is no secret
            forms[name] = value
    return forms


CANARIES = {"SMTP password": SMTP_PASSWORD, "wrong SMTP password": WRONG_SMTP_PASSWORD,
            "owner's password": OWNER_PASSWORD, "member's password": MEMBER_PASSWORD}


def leaks_in(blobs: dict[str, bytes]) -> list[str]:
    found = []
    for canary, secret in CANARIES.items():
        for form, needle in needles(secret).items():
            for where, blob in blobs.items():
                if needle in blob:
                    found.append(f"{canary} ({form}) in {where}")
    return found


# MARK: - The SMTP fixture

class Recorder(fixture.Recorder):
    """aiosmtpd's handler and authenticator, accepting this run's canary password."""

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, fixture.LoginPassword):
            return fixture.AuthResult(success=False, handled=False)
        with self.lock:
            self.logins.append((mechanism, auth_data.login, auth_data.password))
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        # handled=False: with the default a failed login gets no reply at all.
        return fixture.AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


# MARK: - HTTP without a browser

@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    text: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def headers_named(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def json(self) -> dict:
        try:
            value = json.loads(self.text) if self.text else {}
        except json.JSONDecodeError:
            return {"_raw": self.text}
        return value if isinstance(value, dict) else {"_value": value}

    @property
    def code(self) -> str | None:
        return (self.json.get("error") or {}).get("code")


class Client:
    """Plain HTTP to Posthorn (http.client: no redirects followed, every Set-Cookie kept). Every
    answer's body is kept for the canary search."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.origin = f"http://{LOOPBACK}:{port}"
        self.bodies: list[tuple[str, str]] = []
        self.sessions: set[str] = set()  # every session id handed out, for the leak search

    def request(self, method: str, path: str, *, body: object = None, session: str | None = None,
                origin: str | None = "self", workspace: str | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=40)
        all_headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if session is not None:
            all_headers["Cookie"] = f"posthorn_session={session}"
        if origin is not None:
            all_headers["Origin"] = self.origin if origin == "self" else origin
        if workspace:
            all_headers["X-Workspace-Id"] = workspace
        all_headers.update(headers or {})
        try:
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            answer = Answer(response.status, response.getheaders(), text)
        finally:
            connection.close()
        self.bodies.append((f"{method} {path}", text))
        return answer

    def sign_in(self, email: str, password: str) -> tuple[Answer, str | None]:
        answer = self.request("POST", "/api/v1/session", body={"email": email, "password": password})
        for cookie in answer.headers_named("Set-Cookie"):
            match = re.match(r"posthorn_session=([^;]*)", cookie)
            if match and match.group(1):
                self.sessions.add(match.group(1))
                return answer, match.group(1)
        return answer, None


# MARK: - posthorn serve

class Server:
    def __init__(self, binary: str, work: Path) -> None:
        self.port = fixture.free_port(LOOPBACK)
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.data_dir = work / "data"
        self.stdout_path = work / "serve.stdout"
        self.stderr_path = work / "serve.stderr"
        self.banner: list[str] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        env["POSTHORN_ADMIN_TOKEN"] = ADMIN_TOKEN
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [binary, "serve", "--data-dir", str(self.data_dir), "--host", LOOPBACK, "--port", str(self.port),
                 "--allow-private-egress", LOOPBACK, "--metrics-port", "0", "--log-level", "trace"],
                stdout=subprocess.PIPE, stderr=stderr, env=env)
        self._drain = threading.Thread(target=self._read_stdout, daemon=True)
        self._drain.start()
        client = Client(self.port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"posthorn serve exited with {self.process.returncode}: {self.log_tail(10)}")
            try:
                if client.request("GET", "/healthz", origin=None).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError(f"posthorn serve did not answer /healthz in 60 s: {self.log_tail(10)}")

    def _read_stdout(self) -> None:
        with open(self.stdout_path, "wb") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                self.banner.append(line.decode(errors="replace"))

    def banner_line(self, pattern: str, timeout: float = 10) -> re.Match | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.banner):
                if match := re.search(pattern, line):
                    return match
            time.sleep(0.05)
        return None

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        self._drain.join(timeout=5)
        return code

    def log_tail(self, lines: int) -> str:
        try:
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# MARK: - Another origin, for the cross-site requests

EVIL_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>prize</title></head>
<body>
<h1>You won a prize</h1>
<form id="f" method="POST" action="TARGET/api/v1/tokens" enctype="text/plain">
  <input type="hidden" name='{"name":"evil-form","x":"' value='"}'>
</form>
<pre id="out"></pre>
<script>
const target = "TARGET";
const out = document.getElementById("out");
const say = (line) => (out.textContent += line + "\\n");
(async () => {
  const calls = [
    ["/api/v1/tokens", { name: "evil-fetch" }],
    ["/api/v1/credentials", { type: "smtp", name: "evil-fetch", host: "smtp.evil.example", port: 587, security: "starttls" }],
  ];
  for (const [path, body] of calls) {
    // A "simple" request: no preflight, so it reaches the server with whatever cookie the browser sends.
    try {
      const r = await fetch(target + path, { method: "POST", credentials: "include", mode: "no-cors",
        headers: { "Content-Type": "text/plain" }, body: JSON.stringify(body) });
      say(path + " no-cors: " + r.type);
    } catch (e) { say(path + " no-cors: " + e); }
    // A JSON request: the preflight has to be answered first.
    try {
      const r = await fetch(target + path, { method: "POST", credentials: "include",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      say(path + " cors: " + r.status);
    } catch (e) { say(path + " cors: " + e); }
  }
  document.title = "fetched";
})();
</script>
</body></html>
"""


class EvilSite:
    def __init__(self, target: str) -> None:
        page = EVIL_PAGE.replace("TARGET", target).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# MARK: - The browser

ACTIVE_JS = """
const el = document.activeElement;
const dialog = document.querySelector("dialog[open]");
const clean = (s) => (s || "").replace(/\\s+/g, " ").trim();
function name(el) {
  if (!el || el === document.body) return "";
  if (el.labels && el.labels.length) return clean(el.labels[0].textContent);
  if (el.getAttribute("aria-label")) return clean(el.getAttribute("aria-label"));
  return clean(el.textContent);
}
function ring(node) {
  if (!node) return false;
  const s = getComputedStyle(node);
  const color = s.outlineColor.replace(/\\s/g, "");
  return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 1 && color !== "transparent" && !/rgba\\(\\d+,\\d+,\\d+,0\\)/.test(color);
}
let visible = false;
if (el && el !== document.body && el.matches(":focus-visible")) {
  // A chip's radio is transparent: its ring is drawn on the span next to it.
  visible = ring(el) || (el.closest(".chip") ? ring(el.nextElementSibling) : false);
}
return {
  tag: el ? el.tagName.toLowerCase() : "", id: (el && el.id) || "", type: (el && el.type) || "", name: name(el),
  value: el && el.type === "radio" ? el.value : null, checked: el && "checked" in el ? el.checked : null,
  visible, body: !el || el === document.body, inDialog: !!(dialog && dialog.contains(el)), dialogOpen: !!dialog,
};
"""


def compact(path: Path) -> None:
    """With Pillow installed, stores a screenshot as a 256-colour palette PNG (a quarter of the
    size, no visible loss on flat UI); without it, as Chromium wrote it."""
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ")"


@dataclass
class Browser:
    """One headless Chromium, with everything it saw kept for the end: every response body
    (CDP), a DOM snapshot after each step, and the console."""

    label: str
    base: str
    chromium: str
    chromedriver: str
    step: str = "start"
    requests: dict[str, dict] = field(default_factory=dict)
    bodies: list[tuple[str, str, bytes]] = field(default_factory=list)
    unreadable: list[tuple[str, str, int]] = field(default_factory=list)
    doms: list[tuple[str, str]] = field(default_factory=list)
    console: list[tuple[str, dict]] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        options = ChromeOptions()
        options.binary_location = self.chromium
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,800", "--lang=en-US", "--no-first-run", "--no-default-browser-check",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-default-apps", "--password-store=basic", "--disable-extensions",
                         "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        options.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
        self.driver = webdriver.Chrome(service=ChromeService(self.chromedriver), options=options)
        self.driver.set_page_load_timeout(30)
        self.driver.set_script_timeout(30)
        self.viewport(1280, 800)

    # ---- Recording ------------------------------------------------------------------------

    def harvest(self) -> None:
        """Reads the performance log (and every finished response's body, while the page that
        loaded it is still there), a DOM snapshot and the console."""
        d = self.driver
        finished = []
        for entry in d.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            method, params = message.get("method", ""), message.get("params", {})
            rid = params.get("requestId")
            if not rid:
                continue
            record = self.requests.setdefault(rid, {"step": self.step, "seen": time.monotonic()})
            if method == "Network.requestWillBeSent":
                record.update(method=params["request"]["method"], url=params["request"]["url"], type=params.get("type"))
                if params.get("redirectResponse"):
                    record.setdefault("redirects", []).append(params["redirectResponse"]["status"])
            elif method == "Network.requestWillBeSentExtraInfo":
                headers = {k.lower(): v for k, v in params.get("headers", {}).items()}
                record["cookie"] = headers.get("cookie", "")
            elif method == "Network.responseReceived":
                response = params["response"]
                record.update(status=response["status"], url=response["url"], type=params.get("type"),
                              headers={k.lower(): v for k, v in response.get("headers", {}).items()})
            elif method == "Network.loadingFinished":
                record["done"] = True
                finished.append(rid)
            elif method == "Network.loadingFailed":
                record["done"] = True
        for rid in finished:
            record = self.requests[rid]
            try:
                got = d.execute_cdp_cmd("Network.getResponseBody", {"requestId": rid})
                body = base64.b64decode(got["body"]) if got.get("base64Encoded") else got["body"].encode()
                self.bodies.append((self.step, record.get("url", "?"), body))
            except WebDriverException:
                self.unreadable.append((record.get("method", "?"), record.get("url", "?"), record.get("status", 0), self.step))
        try:
            self.doms.append((self.step, d.execute_script("return document.documentElement.outerHTML")))
            self.doms.append((self.step + " (page source)", d.page_source))
        except WebDriverException:
            pass
        for entry in d.get_log("browser"):
            self.console.append((self.step, entry))
        self.sessions.update(c["value"] for c in d.get_cookies() if c["name"] == "posthorn_session" and c["value"])

    def at(self, step: str) -> None:
        """Starts a step: what came before is recorded under the previous one."""
        self.harvest()
        self.step = step

    def settle(self, timeout: float = 3) -> None:
        """Harvests until no request to Posthorn is in flight, so no answer arrives between the last
        harvest and a navigation (which takes the bodies away). An event stream (EventSource) never
        ends: it is not waited for."""
        deadline = time.monotonic() + timeout
        while True:
            self.harvest()
            busy = [r for r in self.requests.values() if r.get("url", "").startswith(self.base) and not r.get("done")
                    and r.get("type") != "EventSource" and time.monotonic() - r["seen"] < 15]
            if not busy or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def get(self, path_or_url: str) -> None:
        self.settle()  # bodies are gone once the page is
        self.driver.get(path_or_url if path_or_url.startswith("http") else self.base + path_or_url)

    def requests_since(self, step: str) -> list[dict]:
        self.harvest()
        return [r for r in self.requests.values() if r.get("step") == step and "url" in r]

    # ---- Finding things as a person does ----------------------------------------------------

    def wait(self, condition: Callable, what: str, timeout: float = 20):
        try:
            # The page re-renders lists (after a save, a switch): an element can go stale while read.
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(lambda d: condition())
        except TimeoutException:
            raise TimeoutException(f"{self.label}: timed out waiting for {what} (at {self.driver.current_url})") from None

    def quietly(self, fn: Callable):
        try:
            return fn()
        except WebDriverException:
            return None

    def heading(self) -> str:
        return self.quietly(lambda: self.driver.find_element(By.TAG_NAME, "h1").text) or ""

    def path(self) -> str:
        return urllib.parse.urlsplit(self.driver.current_url).path

    def dialog(self):
        found = self.driver.find_elements(By.CSS_SELECTOR, "dialog[open]")
        return found[0] if found else None

    def field(self, label: str, scope=None):
        scope = scope or self.driver
        lab = scope.find_element(By.XPATH, f".//label[normalize-space(.)={xpath_literal(label)}]")
        return self.driver.find_element(By.ID, lab.get_attribute("for"))

    def button(self, text: str, scope=None):
        scope = scope or self.driver
        literal = xpath_literal(text)
        return scope.find_element(By.XPATH, f".//button[normalize-space(.)={literal} or @aria-label={literal}]")

    def choose(self, label: str, scope=None) -> None:
        """Clicks a radio button or checkbox where a person does: on its label."""
        scope = scope or self.driver
        scope.find_element(By.XPATH, f".//label[normalize-space(.)={xpath_literal(label)}]").click()

    def link(self, text: str, scope=None):
        scope = scope or self.driver
        return scope.find_element(By.XPATH, f".//a[normalize-space(.)={xpath_literal(text)}]")

    def fill(self, element, text: str) -> None:
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.DELETE)
        if text:
            element.send_keys(text)

    def texts(self, css: str, scope=None) -> list[str]:
        """The rendered text of each match, read in one go (a re-render cannot make one stale)."""
        return self.driver.execute_script(
            "return [...(arguments[1] || document).querySelectorAll(arguments[0])].map((e) => e.innerText.trim())", css, scope)

    def text_of(self, css: str, scope=None) -> str:
        return " ".join(self.texts(css, scope))

    def credential_names(self) -> list[str]:
        return self.texts("section.tile .item__title")

    def wait_credentials_listed(self) -> list[str]:
        """The tile's list once loaded (items or the empty state, not the skeleton)."""
        self.wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, "section.tile .item-list, section.tile .empty")
                  and not self.driver.find_elements(By.CSS_SELECTOR, "section.tile [aria-busy='true']"),
                  "the credential list")
        return self.credential_names()

    def cookie(self) -> dict | None:
        return next((c for c in self.driver.get_cookies() if c["name"] == "posthorn_session"), None)

    # ---- Keyboard ---------------------------------------------------------------------------

    def keys(self, *keys: str) -> None:
        ActionChains(self.driver).send_keys(*keys).perform()

    def shift_tab(self) -> None:
        ActionChains(self.driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()

    def select_all_and_type(self, text: str) -> None:
        ActionChains(self.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
        self.keys(Keys.DELETE)
        if text:
            self.keys(text)

    def active(self) -> dict:
        return self.driver.execute_script(ACTIVE_JS)

    # ---- Looks ------------------------------------------------------------------------------

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})

    def shoot(self, name: str, theme: str, device: str) -> None:
        width, height, mobile = (1280, 800, False) if device == "desktop" else (390, 844, True)
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": theme}, {"name": "prefers-reduced-motion", "value": "reduce"}]})
        self.viewport(width, height, mobile)
        time.sleep(0.35)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}-{theme}-{device}.png"
        self.driver.save_screenshot(str(path))
        compact(path)
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        self.viewport(1280, 800)
        time.sleep(0.1)

    def quit(self) -> None:
        try:
            self.driver.quit()
        except WebDriverException:
            pass


# MARK: - The check

class WebAppCheck:
    def __init__(self, binary: str, work: Path, chromium: str, chromedriver: str, screenshots: bool) -> None:
        self.checks = Checks()
        self.work = work
        self.binary = binary
        self.chromium = chromium
        self.chromedriver = chromedriver
        self.screenshots = screenshots
        self.browsers: list[Browser] = []
        self.ids: dict[str, str] = {}  # credential and workspace ids found along the way

    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        self.checks.check(name, bool(ok), detail)
        return bool(ok)

    def guarded(self, name: str, body: Callable[[], None]) -> None:
        try:
            body()
        except Exception as error:  # noqa: BLE001 - one failed group must not stop the others
            detail = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            self.check(name, False, detail)

    def browser(self, label: str) -> Browser:
        browser = Browser(label, self.server.base, self.chromium, self.chromedriver)
        self.browsers.append(browser)
        return browser

    def shots(self, browser: Browser, name: str, variants: list[tuple[str, str]]) -> None:
        if not self.screenshots:
            return
        browser.driver.execute_script("document.querySelectorAll('.toast').forEach((t) => t.remove())")
        for theme, device in variants:
            browser.shoot(name, theme, device)

    def owner_session(self) -> str:
        return self.a.cookie()["value"]

    # ---- 1. Set-up link → Credentials → Connect your email → save ----------------------------

    def step_setup(self) -> None:
        a = self.a
        a.at("setup page")
        a.get(self.setup_link)
        a.wait(lambda: a.heading() == "Set up Posthorn" and a.driver.find_elements(By.XPATH, "//label[normalize-space(.)='Your name']"),
               "the set-up form")
        a.field("Your name").send_keys(OWNER["name"])
        a.field("Email").send_keys(OWNER["email"])
        a.field("Password").send_keys(OWNER_PASSWORD)
        a.button("Create account").click()
        a.wait(lambda: a.path() == "/settings/credentials" and a.heading() == "Credentials", "the Credentials page after set-up")
        cookie = a.cookie()
        self.check("1. the set-up link creates the first account and signs it in (Credentials page, session cookie)",
                   cookie is not None and a.heading() == "Credentials", a.driver.current_url)
        status = self.client.request("GET", "/api/v1/session", session=cookie["value"]).json
        workspaces = status.get("workspaces") or [{}]
        self.ids["default"] = workspaces[0].get("id", "")
        self.check("1. the first account is the owner and an admin of the first workspace",
                   status.get("user", {}).get("isOwner") is True and workspaces[0].get("role") == "admin", status)

    def step_menu_to_credentials(self) -> None:
        a = self.a
        a.at("user menu")
        a.link("Flows").click()
        a.wait(lambda: a.path() == "/flows" and a.heading() == "Flows", "the Flows page")
        menu = a.driver.find_element(By.CSS_SELECTOR, "button[aria-label^='Account and workspace']")
        sidebar = a.driver.find_element(By.CSS_SELECTOR, "aside")
        geometry = a.driver.execute_script(
            "const [m, s] = [arguments[0].getBoundingClientRect(), arguments[1].getBoundingClientRect()];"
            "return {menuBottom: m.bottom, menuLeft: m.left, sideBottom: s.bottom, sideRight: s.right, inside: arguments[1].contains(arguments[0])};",
            menu, sidebar)
        at_bottom = geometry["inside"] and geometry["sideBottom"] - geometry["menuBottom"] < 48 and geometry["menuLeft"] < geometry["sideRight"]
        menu.click()
        panel = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.ID, menu.get_attribute("aria-controls"))).is_displayed()
                       and a.driver.find_element(By.ID, menu.get_attribute("aria-controls")), "the user menu to open")
        a.link("Credentials", panel).click()
        a.wait(lambda: a.path() == "/settings/credentials" and a.heading() == "Credentials", "Credentials from the user menu")
        self.check("1. the user menu at the bottom of the left sidebar opens Credentials",
                   at_bottom and a.path() == "/settings/credentials", geometry)
        a.get("/settings/oauth")
        a.wait(lambda: a.path() == "/settings/credentials" and a.heading() == "Credentials", "/settings/oauth to land on Credentials")
        self.check("1. the spec's address /settings/oauth lands on Credentials", a.path() == "/settings/credentials", a.driver.current_url)
        a.wait_credentials_listed()

    def open_dialog_with_plus(self, browser: Browser):
        tile = browser.driver.find_element(By.XPATH, "//section[.//h2[normalize-space(.)='SMTP Server']]")
        plus = browser.button("Add an SMTP Server credential", tile)
        plus.click()
        dialog = browser.wait(browser.dialog, "the dialog to open")
        browser.wait(lambda: browser.driver.find_elements(By.CSS_SELECTOR, "dialog[open] [data-presets] input[type=radio]"),
                     "the quick settings")
        return dialog

    def step_connect(self) -> None:
        a = self.a
        a.at("connect dialog")
        dialog = self.open_dialog_with_plus(a)
        title = dialog.find_element(By.CSS_SELECTOR, ".dialog__title").text
        self.check("1. the + on the SMTP Server tile opens \"Connect your email\"", title == "Connect your email", title)
        if self.screenshots:
            self.shots(a, "dialog", [("light", "desktop")])

        a.at("gmail quick setting")
        a.choose("Gmail / Google Workspace", dialog)
        hint = a.wait(lambda: a.quietly(lambda: dialog.find_element(By.CSS_SELECTOR, "[data-preset-hint]")).is_displayed()
                      and dialog.find_element(By.CSS_SELECTOR, "[data-preset-hint]"), "the provider hint")
        host, port = a.field("Server address", dialog), a.field("Port", dialog)
        starttls = a.field("Require encrypted connection (port 587)", dialog)
        hint_text = hint.text
        self.check("1. Gmail quick setting: the provider hint is shown (App Password, 2FA)",
                   "Gmail / Google Workspace" in hint_text and "App Password" in hint_text and "2FA" in hint_text, hint_text)
        filled = (host.get_attribute("value"), port.get_attribute("value"), starttls.is_selected())
        self.check("1. Gmail quick setting fills server smtp.gmail.com, port 587, STARTTLS",
                   filled == ("smtp.gmail.com", "587", True), filled)
        self.shots(a, "dialog-gmail", [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")])

        a.at("pointed at the fixture")
        a.fill(a.field("Name to identify this connection", dialog), "Loopback aiosmtpd")
        a.fill(host, LOOPBACK)
        a.fill(port, str(self.smtp.port))
        a.choose("Require encrypted connection (port 587)", dialog)
        a.fill(a.field("Username", dialog), SMTP_USER)
        a.fill(a.field("Password", dialog), SMTP_PASSWORD)
        dialog.find_element(By.XPATH, ".//summary[normalize-space(.)='Advanced']").click()
        ca_fields = dialog.find_elements(By.XPATH, ".//label[normalize-space(.)='Custom CA certificate']")
        if ca_fields:
            ca = a.field("Custom CA certificate", dialog)
            a.wait(ca.is_displayed, "the CA field")
            a.fill(ca, self.ca_pem)
        else:
            a.choose("Accept unverified certificates", dialog)
        self.check("1. ADVANCED has a custom CA field and the fixture's CA goes there",
                   bool(ca_fields), "no 'Custom CA certificate' field: ticked 'Accept unverified certificates'")

        logins_before = len(self.recorder.logins)
        a.button("Test connection", dialog).click()
        result = a.wait(lambda: a.quietly(lambda: dialog.find_element(By.CSS_SELECTOR, "[data-test-result] .callout--success, [data-test-result] .callout--danger")),
                        "the test result", timeout=40)
        text = result.text
        tls = re.search(r"TLSv1\.[23]", text)
        self.check("1. Test connection succeeds and shows the TLS version",
                   "callout--success" in result.get_attribute("class") and tls is not None, text)
        self.check("1. the test signed in to the fixture and sent no mail",
                   any(login[1] == SMTP_USER.encode() for login in self.recorder.logins[logins_before:]) and not self.recorder.deliveries,
                   f"logins={self.recorder.logins[logins_before:]} mails={len(self.recorder.deliveries)}")
        self.shots(a, "dialog-test-passed", [("dark", "desktop")])

        a.at("save credential")
        a.button("Save credential", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close")
        a.wait(lambda: "Loopback aiosmtpd" in a.credential_names(), "the credential under the tile")
        row = a.driver.find_element(By.XPATH, "//section[.//h2[normalize-space(.)='SMTP Server']]//li[.//*[normalize-space(.)='Loopback aiosmtpd']]")
        self.check("1. Save credential closes the dialog and the credential appears under the SMTP Server tile",
                   a.dialog() is None and f"{LOOPBACK}:{self.smtp.port}" in row.text, row.text)
        listed = self.client.request("GET", "/api/v1/credentials", session=self.owner_session()).json.get("credentials", [])
        stored = next((c for c in listed if c.get("name") == "Loopback aiosmtpd"), {})
        self.ids["loopback"] = stored.get("id", "")
        self.check("1. the stored credential: host, port, STARTTLS, the CA, a password (never the password itself)",
                   stored.get("host") == LOOPBACK and stored.get("port") == self.smtp.port and stored.get("security") == "starttls"
                   and stored.get("hasPassword") is True and "BEGIN CERTIFICATE" in (stored.get("caCertificate") or "")
                   and "password" not in stored, stored)

        a.at("row test")
        a.button("Test Loopback aiosmtpd", row).click()
        a.wait(lambda: "Test passed" in row.text, "the row's test to pass", timeout=40)
        self.check("1. the row's Test button tests the stored credential: Test passed with the TLS version",
                   re.search(r"Test passed · TLSv1\.[23]", row.text) is not None, row.text)

    # ---- 2 and 3. Wrong password; port 25 ----------------------------------------------------

    def step_wrong_password_and_port_25(self) -> None:
        a = self.a
        a.at("wrong password")
        a.button("Connect your email").click()
        dialog = a.wait(a.dialog, "the dialog (header button)")
        a.fill(a.field("Name to identify this connection", dialog), "Wrong password")
        a.fill(a.field("Server address", dialog), LOOPBACK)
        a.fill(a.field("Port", dialog), str(self.smtp.port))
        a.fill(a.field("Username", dialog), SMTP_USER)
        a.fill(a.field("Password", dialog), WRONG_SMTP_PASSWORD)
        dialog.find_element(By.XPATH, ".//summary[normalize-space(.)='Advanced']").click()
        a.fill(a.field("Custom CA certificate", dialog), self.ca_pem)
        a.button("Test connection", dialog).click()
        result = a.wait(lambda: a.quietly(lambda: dialog.find_element(By.CSS_SELECTOR, "[data-test-result] .callout--success, [data-test-result] .callout--danger")),
                        "the test result", timeout=40)
        text = result.text
        self.check("2. a wrong password: Test connection shows EAUTH with the App Password hint",
                   "callout--danger" in result.get_attribute("class") and "EAUTH" in text and "App Password" in text, text)
        focus = a.active()
        self.check("2. after EAUTH the focus is on the password field", focus["id"] == "cd-password", focus)
        self.shots(a, "dialog-test-failed", [("light", "desktop")])

        a.at("port 25")
        port = a.field("Port", dialog)
        a.fill(port, "25")
        error = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.ID, "cd-port-error")), "the port's field error")
        at_field = (error.text, port.get_attribute("aria-invalid"), "cd-port-error" in (port.get_attribute("aria-describedby") or ""))
        self.check("3. port 25 is refused at the field as it is typed: \"Port 25 is not allowed\"",
                   "Port 25 is not allowed" in at_field[0] and at_field[1] == "true" and at_field[2], at_field)
        before = len(self.client.request("GET", "/api/v1/credentials", session=self.owner_session()).json.get("credentials", []))
        a.button("Save credential", dialog).click()
        time.sleep(0.5)
        sent = [r for r in a.requests_since("port 25") if r.get("method") == "POST" and "/api/v1/credentials" in r.get("url", "")]
        after = len(self.client.request("GET", "/api/v1/credentials", session=self.owner_session()).json.get("credentials", []))
        still = a.dialog() is not None and "Port 25 is not allowed" in a.text_of("#cd-port-error")
        self.check("3. Save credential with port 25 sends nothing, keeps the dialog open with the error at the field",
                   still and not sent and before == after and a.active()["id"] == "cd-port", f"sent={sent} before={before} after={after}")
        self.shots(a, "dialog-field-error", [("light", "desktop")])
        a.button("Cancel", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close (Cancel)")

    # ---- 4. Keyboard only --------------------------------------------------------------------

    def tab_to(self, browser: Browser, want: Callable[[dict], bool], what: str, limit: int = 40, backwards: bool = False,
               stops: list[dict] | None = None) -> dict:
        for _ in range(limit):
            browser.shift_tab() if backwards else browser.keys(Keys.TAB)
            now = browser.active()
            if stops is not None:
                stops.append(now)
            if want(now):
                return now
        raise AssertionError(f"Tab never reached {what}; last focus {browser.active()}")

    def step_keyboard(self) -> None:
        a = self.a
        a.at("keyboard: page")
        a.get("/settings/credentials")
        a.wait_credentials_listed()
        # From here on: keys only, no click.
        page_stops: list[dict] = []
        self.tab_to(a, lambda f: f["name"] == "Add an SMTP Server credential", "the tile's +", stops=page_stops)
        a.keys(Keys.ENTER)
        a.wait(lambda: a.active()["id"] == "cd-name", "the dialog to open with the focus in its first field")
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, "dialog[open] [data-presets] input[type=radio]"), "the quick settings")
        self.check("4. keyboard: Tab reaches the tile's + and Enter opens the dialog with the focus in its first field",
                   a.active()["id"] == "cd-name" and a.active()["inDialog"], a.active())
        unseen = [f"{s['tag']}#{s['id']} {s['name']!r}" for s in page_stops if not s["visible"]]
        self.check("4. keyboard: every Tab stop on the page shows a visible focus ring", not unseen, unseen)

        a.at("keyboard: focus trap")
        trap: list[dict] = []
        for _ in range(45):
            a.keys(Keys.TAB)
            trap.append(a.active())
        for _ in range(45):
            a.shift_tab()
            trap.append(a.active())
        escaped = [f"{s['tag']}#{s['id']} {s['name']!r}" for s in trap if not s["inDialog"]]
        distinct = {(s["id"], s["name"]) for s in trap}
        self.check("4. keyboard: 45 Tabs and 45 Shift+Tabs keep the focus inside the dialog (it cycles)",
                   not escaped and len(distinct) >= 10, f"outside: {escaped[:6]}; stops seen: {len(distinct)}")
        unseen = sorted({f"{s['tag']}#{s['id']} {s['name']!r}" for s in trap if s["inDialog"] and not s["visible"]})
        self.check("4. keyboard: every Tab stop in the dialog shows a visible focus ring", not unseen, unseen)

        a.at("keyboard: fill")
        self.tab_to(a, lambda f: f["id"] == "cd-name", "the name field")
        a.shift_tab()  # into the quick settings (one Tab stop for the group)
        for _ in range(8):
            now = a.active()
            if now["type"] != "radio":
                break
            if now["value"] == "gmail":
                if not now["checked"]:
                    a.keys(Keys.SPACE)
                break
            a.keys(Keys.ARROW_RIGHT)
        host = a.driver.find_element(By.ID, "cd-host").get_attribute("value")
        self.check("4. keyboard: Shift+Tab and the arrow keys pick the Gmail quick setting",
                   a.active()["value"] == "gmail" and a.active()["checked"] and host == "smtp.gmail.com", (a.active(), host))

        self.tab_to(a, lambda f: f["name"] == "Name to identify this connection", "the name")
        a.select_all_and_type("Keyboard aiosmtpd")
        self.tab_to(a, lambda f: f["name"] == "Server address", "Server address")
        a.select_all_and_type(LOOPBACK)
        self.tab_to(a, lambda f: f["name"] == "Port", "Port")
        a.select_all_and_type(str(self.smtp.port))
        self.tab_to(a, lambda f: f["name"] == "Username", "Username")
        a.select_all_and_type(SMTP_USER)
        self.tab_to(a, lambda f: f["name"] == "Password", "Password")
        a.select_all_and_type(SMTP_PASSWORD)
        toggle = self.tab_to(a, lambda f: f["name"] in ("Show password", "Hide password"), "the show/hide button", limit=1)
        a.keys(Keys.SPACE)
        shown = (a.driver.find_element(By.ID, "cd-password").get_attribute("type"), a.active()["name"])
        a.keys(Keys.SPACE)
        hidden = (a.driver.find_element(By.ID, "cd-password").get_attribute("type"), a.active()["name"])
        self.check("4. keyboard: Space on the button after the password shows it, Space again hides it",
                   toggle["name"] == "Show password" and shown == ("text", "Hide password") and hidden == ("password", "Show password"),
                   (toggle["name"], shown, hidden))
        radio = self.tab_to(a, lambda f: f["type"] == "radio" and f["id"].startswith("cd-sec-"), "the security options")
        a.keys(Keys.ARROW_DOWN)
        moved = a.active()
        a.keys(Keys.ARROW_UP)
        back = a.active()
        port_kept = a.driver.find_element(By.ID, "cd-port").get_attribute("value")
        self.check("4. keyboard: the arrow keys move through the security options; back on STARTTLS, the typed port stays",
                   radio["value"] == "starttls" and moved["value"] == "plaintext" and moved["checked"]
                   and back["value"] == "starttls" and back["checked"] and port_kept == str(self.smtp.port),
                   (radio, moved, back, port_kept))
        self.tab_to(a, lambda f: f["tag"] == "summary", "ADVANCED")
        a.keys(Keys.ENTER)
        self.tab_to(a, lambda f: f["name"] == "Custom CA certificate", "the CA field")
        a.keys(self.ca_pem)
        ca_value = a.driver.find_element(By.ID, "cd-ca").get_attribute("value")
        self.check("4. keyboard: Enter opens ADVANCED and the CA is typed into its field",
                   ca_value.strip() == self.ca_pem.strip(), f"{len(ca_value)} characters typed")

        a.at("keyboard: test")
        self.tab_to(a, lambda f: f["name"] == "Test connection", "Test connection")
        a.keys(Keys.ENTER)
        result = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.CSS_SELECTOR, "dialog[open] [data-test-result] .callout--success, dialog[open] [data-test-result] .callout--danger")),
                        "the test result", timeout=40)
        after_test = a.active()
        self.check("4. keyboard: Enter on Test connection shows the TLS version",
                   "callout--success" in result.get_attribute("class") and re.search(r"TLSv1\.[23]", result.text), result.text)
        self.check("4. keyboard: after the test the focus is still in the dialog (on Test connection)",
                   after_test["inDialog"] and after_test["name"] == "Test connection", after_test)

        a.at("keyboard: save")
        self.tab_to(a, lambda f: f["name"] == "Save credential", "Save credential")
        a.keys(Keys.ENTER)
        a.wait(lambda: a.dialog() is None, "the dialog to close after Enter on Save credential")
        a.wait(lambda: "Keyboard aiosmtpd" in a.credential_names(), "the keyboard credential under the tile")
        a.wait(lambda: a.active()["name"] == "Add an SMTP Server credential", "the focus back on the tile's +", timeout=5)
        self.check("4. keyboard: Enter on Save credential saves, closes the dialog, lists the credential, focus back on the +",
                   "Keyboard aiosmtpd" in a.credential_names() and a.active()["name"] == "Add an SMTP Server credential", a.active())

        a.at("keyboard: escape")
        a.keys(Keys.ENTER)
        a.wait(lambda: a.dialog() is not None and a.active()["inDialog"], "the dialog to open again")
        a.keys("typed, then abandoned")
        a.keys(Keys.ESCAPE)
        a.wait(lambda: a.dialog() is None, "Esc to close the dialog", timeout=5)
        focus = a.active()
        self.check("4. keyboard: Esc closes the dialog and returns the focus to the + that opened it (focus visible)",
                   focus["name"] == "Add an SMTP Server credential" and focus["visible"], focus)
        listed = self.client.request("GET", "/api/v1/credentials", session=self.owner_session()).json.get("credentials", [])
        self.ids["keyboard"] = next((c["id"] for c in listed if c.get("name") == "Keyboard aiosmtpd"), "")
        self.check("4. keyboard: the stored credential is the one typed (fixture host and port, STARTTLS, CA)",
                   any(c.get("name") == "Keyboard aiosmtpd" and c.get("port") == self.smtp.port and c.get("security") == "starttls"
                       and c.get("hasPassword") and "BEGIN CERTIFICATE" in (c.get("caCertificate") or "") for c in listed),
                   listed)

        if self.screenshots:
            a.get("/settings/credentials")
            a.wait_credentials_listed()
            self.shots(a, "credentials", [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")])

    # ---- 5. A member -------------------------------------------------------------------------

    def step_member(self) -> None:
        owner = self.owner_session()
        invite = self.client.request("POST", "/api/v1/invites", body={"role": "member", "email": MEMBER["email"]},
                                     session=owner, workspace=self.ids["default"])
        url = invite.json.get("url", "")
        self.invite_token = url.partition("#")[2]
        self.check("5. the admin's session creates an invitation link /invite#inv_…",
                   invite.status == 201 and url.startswith("/invite#inv_"), f"{invite.status} {invite.json}")
        b = self.b = self.browser("member")
        b.at("member: invite")
        b.get(url)
        b.wait(lambda: b.heading().startswith("Join") and b.driver.find_elements(By.XPATH, "//label[normalize-space(.)='Your name']"),
               "the invitation form")
        self.check("5. the invitation page names the workspace and the role",
                   b.heading() == "Join default" and "as a member" in b.text_of(".auth__lead"), (b.heading(), b.text_of(".auth__lead")))
        email = b.field("Email")
        if email.get_attribute("value") != MEMBER["email"]:
            b.fill(email, MEMBER["email"])
        b.field("Your name").send_keys(MEMBER["name"])
        b.field("Password").send_keys(MEMBER_PASSWORD)
        b.button("Create account and join").click()
        b.wait(lambda: b.path() == "/settings/credentials" and b.heading() == "Credentials", "the member's Credentials page")

        b.at("member: credentials page")
        names = b.wait_credentials_listed()
        tile = b.driver.find_element(By.XPATH, "//section[.//h2[normalize-space(.)='SMTP Server']]")
        buttons = [e.get_attribute("aria-label") or e.text for e in tile.find_elements(By.TAG_NAME, "button")
                   if not (e.get_attribute("aria-label") or "").startswith("Copy")]
        header_actions = b.driver.find_elements(By.XPATH, "//button[normalize-space(.)='Connect your email']")
        text = tile.text
        self.check("5. a member sees the credentials by name only: no host, port, user, test status, no Add/Test/Edit/Delete",
                   sorted(names) == ["Keyboard aiosmtpd", "Loopback aiosmtpd"] and not buttons and not header_actions
                   and LOOPBACK not in text and SMTP_USER not in text and "STARTTLS" not in text and "Test passed" not in text
                   and "Only workspace admins" in text, {"names": names, "buttons": buttons, "text": text})

        b.at("member: API probes")
        probe = b.driver.execute_async_script("""
            const [id, done] = [arguments[0], arguments[arguments.length - 1]];
            const headers = { "Content-Type": "application/json", "X-Workspace-Id": localStorage.getItem("posthorn.workspaceId") };
            const calls = [["GET", "/api/v1/credentials"], ["GET", `/api/v1/credentials/${id}`], ["POST", `/api/v1/credentials/${id}/test`],
                           ["PATCH", `/api/v1/credentials/${id}`, { name: "renamed by a member" }], ["DELETE", `/api/v1/credentials/${id}`]];
            (async () => {
              const out = [];
              for (const [method, path, body] of calls) {
                const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
                let data = null;
                try { data = await r.json(); } catch {}
                out.push({ method, path, status: r.status, code: data && data.error ? data.error.code : null, data });
              }
              return out;
            })().then(done, (e) => done(String(e)));
        """, self.ids["loopback"])
        b.console.extend((b.step + " (expected 403s)", e) for e in b.driver.get_log("browser"))  # the probes' own 403s
        listing = probe[0]["data"] if isinstance(probe, list) else {}
        keys = {k for c in (listing or {}).get("credentials", []) for k in c}
        self.check("5. a member's list from the API holds only id, type and name",
                   keys and keys <= {"id", "type", "name"}, listing)
        refused = [(p["method"], p["status"], p["code"]) for p in probe[1:]] if isinstance(probe, list) else probe
        self.check("5. fetch() from the member's page: show, test, edit and delete are each 403 admin_required",
                   isinstance(probe, list) and all(p["status"] == 403 and p["code"] == "admin_required" for p in probe[1:]), refused)
        member = b.cookie()["value"]
        cid = self.ids["keyboard"]
        answers = [(m, self.client.request(m, p, session=member, body=body))
                   for m, p, body in [("GET", f"/api/v1/credentials/{cid}", None), ("POST", f"/api/v1/credentials/{cid}/test", None),
                                      ("PATCH", f"/api/v1/credentials/{cid}", {"name": "renamed by a member"}),
                                      ("DELETE", f"/api/v1/credentials/{cid}", None),
                                      ("POST", "/api/v1/credentials/test", {"type": "smtp", "host": LOOPBACK, "port": self.smtp.port,
                                                                            "security": "starttls"}),
                                      ("POST", "/api/v1/credentials", {"type": "smtp", "name": "member's", "host": LOOPBACK,
                                                                       "port": self.smtp.port, "security": "starttls"})]]
        self.check("5. urllib with the member's cookie and a same-origin Origin: show, test, edit, delete, test-a-form and create are 403 admin_required",
                   all(a.status == 403 and a.code == "admin_required" for _, a in answers), [(m, a.status, a.code) for m, a in answers])
        listed = self.client.request("GET", "/api/v1/credentials", session=owner).json.get("credentials", [])
        self.check("5. after the member's attempts both credentials are unchanged",
                   sorted(c["name"] for c in listed) == ["Keyboard aiosmtpd", "Loopback aiosmtpd"], [c.get("name") for c in listed])

    # ---- 6. Workspaces -----------------------------------------------------------------------

    def open_user_menu(self, browser: Browser):
        menu = browser.driver.find_element(By.CSS_SELECTOR, "button[aria-label^='Account and workspace']")
        menu.click()
        return browser.wait(lambda: browser.quietly(lambda: browser.driver.find_element(By.ID, menu.get_attribute("aria-controls"))).is_displayed()
                            and browser.driver.find_element(By.ID, menu.get_attribute("aria-controls")), "the user menu")

    def step_workspaces(self) -> None:
        a = self.a
        a.at("workspaces: create")
        a.get("/settings/credentials")
        a.wait_credentials_listed()
        panel = self.open_user_menu(a)
        a.button("New workspace", panel).click()
        dialog = a.wait(a.dialog, "the New workspace dialog")
        a.field("Workspace name", dialog).send_keys("Second team")
        a.button("Create workspace", dialog).click()
        a.wait(lambda: a.dialog() is None and "Second team" in a.text_of(".user-menu__ws"), "the switch to Second team")
        names = a.wait_credentials_listed()
        empty = a.text_of("section.tile .empty")
        self.check("6. the owner creates a second workspace from the user menu and lands in it: no credentials there",
                   names == [] and "No SMTP credentials yet" in empty, (names, empty))
        session = self.client.request("GET", "/api/v1/session", session=self.owner_session()).json
        self.ids["second"] = next((w["id"] for w in session.get("workspaces", []) if w["name"] == "Second team"), "")
        made = self.client.request("POST", "/api/v1/credentials", session=self.owner_session(), workspace=self.ids["second"],
                                   body={"type": "smtp", "name": "Second team relay", "host": LOOPBACK, "port": self.smtp.port,
                                         "security": "starttls", "username": "second@example.com", "password": SMTP_PASSWORD,
                                         "caCertificate": self.ca_pem})
        self.ids["second-cred"] = made.json.get("id", "")
        a.at("workspaces: second")
        a.get("/settings/credentials")
        second = a.wait_credentials_listed()
        self.check("6. the second workspace's page lists only its own credential",
                   made.status == 201 and second == ["Second team relay"], (made.status, made.json, second))

        a.at("workspaces: switch")
        panel = self.open_user_menu(a)
        if self.screenshots:
            self.shots(a, "user-menu", [("light", "desktop")])
        panel.find_element(By.XPATH, ".//button[contains(@class, 'menu__item')][.//span[normalize-space(.)='default']]").click()
        a.wait(lambda: "default" == a.text_of(".user-menu__ws"), "the switch back to default")
        a.wait(lambda: a.credential_names() and "Second team relay" not in a.credential_names(), "default's list")
        first = a.wait_credentials_listed()
        self.check("6. switched back in the user menu, the default workspace lists only its own",
                   sorted(first) == ["Keyboard aiosmtpd", "Loopback aiosmtpd"], first)
        owner = self.owner_session()
        cross = self.client.request("GET", f"/api/v1/credentials/{self.ids['second-cred']}", session=owner, workspace=self.ids["default"])
        outsider = self.client.request("GET", "/api/v1/credentials", session=self.b.cookie()["value"], workspace=self.ids["second"])
        self.check("6. the API agrees: another workspace's credential id is 404; a non-member naming that workspace is 404",
                   cross.status == 404 and outsider.status == 404 and outsider.code == "workspace_not_found",
                   (cross.status, cross.code, outsider.status, outsider.code))

    # ---- 7. Security -------------------------------------------------------------------------

    def step_cookie_flags(self) -> None:
        answer, session = self.client.sign_in(OWNER["email"], OWNER_PASSWORD)
        raw = answer.headers_named("Set-Cookie")
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in (raw[0] if raw else "").split(";")[1:]}
        self.check("7. raw sign-in: Set-Cookie posthorn_session is HttpOnly, SameSite=Strict, Path=/ (no Secure on http)",
                   answer.status == 200 and session and "httponly" in attributes and attributes.get("samesite", "").lower() == "samesite=strict"
                   and attributes.get("path") == "Path=/" and "secure" not in attributes, raw)
        self.client.request("DELETE", "/api/v1/session", session=session)
        cookie = self.a.cookie() or {}
        self.check("7. the browser's cookie jar: httpOnly, sameSite Strict, path /, not readable by the page's script",
                   cookie.get("httpOnly") is True and cookie.get("sameSite") == "Strict" and cookie.get("path") == "/"
                   and "posthorn_session" not in (self.a.driver.execute_script("return document.cookie") or ""), cookie)

    def step_cross_site(self) -> None:
        a = self.a
        owner = self.owner_session()
        count = lambda: (len(self.client.request("GET", "/api/v1/tokens", session=owner, workspace=self.ids["default"]).json.get("items", [])),
                         len(self.client.request("GET", "/api/v1/credentials", session=owner, workspace=self.ids["default"]).json.get("credentials", [])))
        before = count()
        evil = EvilSite(self.server.base)
        seen: dict[str, list] = {}
        try:
            for host, label in [(LOOPBACK, "another origin on the same site"), ("localhost", "another site")]:
                step = f"evil: {host}"
                a.at(step)
                a.get(f"http://{host}:{evil.port}/prize")
                a.wait(lambda: a.driver.title == "fetched", f"the page on {host} to finish its fetches")
                out = a.driver.find_element(By.ID, "out").text
                a.driver.execute_script("document.getElementById('f').submit()")
                a.wait(lambda: a.driver.current_url.startswith(self.server.base), "the form POST to land on Posthorn")
                time.sleep(0.3)
                hits = [(r.get("method"), urllib.parse.urlsplit(r["url"]).path, r.get("status"), "posthorn_session" in r.get("cookie", ""))
                        for r in a.requests_since(step) if r["url"].startswith(self.server.base) and r.get("method") in ("POST", "OPTIONS")]
                seen[label] = [out, hits]
        finally:
            evil.stop()
        after = count()
        # A POST that the browser sent has a status; the JSON fetch's POST never leaves the browser
        # because its preflight (OPTIONS) gets no CORS answer.
        def sent(label: str) -> list[tuple]:
            return [h for h in seen.get(label, ["", []])[1] if h[0] == "POST" and h[2] is not None]

        def preflight_only(label: str) -> bool:
            hits = seen.get(label, ["", []])[1]
            return all(any(h[0] == "OPTIONS" and h[1] == path and h[2] not in range(200, 300) for h in hits)
                       for path in ("/api/v1/tokens", "/api/v1/credentials"))

        same_site, cross_site = sent("another origin on the same site"), sent("another site")
        self.check("7. POSTs from another origin on the same site (127.0.0.1:other port; a form and a no-cors fetch with "
                   "credentials) carry the cookie and are refused 403 by the Origin check",
                   len(same_site) >= 3 and all(h[2] == 403 and h[3] for h in same_site), seen.get("another origin on the same site"))
        self.check("7. POSTs from another site (localhost:other port) go without the SameSite=Strict cookie: 401",
                   len(cross_site) >= 3 and all(h[2] == 401 and not h[3] for h in cross_site), seen.get("another site"))
        self.check("7. a JSON fetch with credentials from either never gets past its preflight (no CORS answer)",
                   preflight_only("another origin on the same site") and preflight_only("another site"), seen)
        self.check("7. the cross-origin and cross-site POSTs changed nothing (tokens and credentials counted through the API)",
                   before == after, f"before={before} after={after}")
        a.at("tokens page")
        a.get("/settings/tokens")
        a.wait(lambda: a.heading() == "API tokens" and (a.driver.find_elements(By.CSS_SELECTOR, "table, .empty")), "the tokens page")
        self.check("7. the API tokens page lists no token made by the other origins", "evil" not in a.text_of("main"), a.text_of("main"))
        self.shots(a, "tokens", [("light", "desktop"), ("dark", "desktop")])

    def step_stolen_sessions(self) -> None:
        c = self.client
        # Signed out.
        _, ended = c.sign_in(OWNER["email"], OWNER_PASSWORD)
        alive = c.request("GET", "/api/v1/session", session=ended).status
        out = c.request("DELETE", "/api/v1/session", session=ended).status
        again = c.request("GET", "/api/v1/session", session=ended)
        change = c.request("POST", "/api/v1/tokens", session=ended, workspace=self.ids["default"], body={"name": "after sign-out"})
        self.check("7. a signed-out session id is refused (401 session_ended), also for a change",
                   alive == 200 and out == 204 and again.status == 401 and again.code == "session_ended" and change.status == 401,
                   (alive, out, again.status, again.code, change.status, change.code))
        # Made up.
        made_up = "ses_" + secrets.token_urlsafe(32)
        answers = [c.request("GET", "/api/v1/session", session=made_up), c.request("GET", "/api/v1/credentials", session=made_up),
                   c.request("POST", "/api/v1/tokens", session=made_up, body={"name": "made up"})]
        self.check("7. a made-up session id is refused (401)", all(x.status == 401 for x in answers), [(x.status, x.code) for x in answers])
        # Expired (absolute limit) and idle, by ageing the rows in the database the server uses.
        now_ms = int(time.time() * 1000)
        results = {}
        for kind, column, value in [("expired", "expires_at", now_ms - 1000), ("idle for 25 hours", "last_seen_at", now_ms - 25 * 3600 * 1000)]:
            _, sid = c.sign_in(OWNER["email"], OWNER_PASSWORD)
            first = c.request("GET", "/api/v1/credentials", session=sid).status
            with sqlite3.connect(self.server.data_dir / "posthorn.sqlite", timeout=10) as db:
                changed = db.execute(f"UPDATE sessions SET {column} = ? WHERE id_hash = ?",
                                     (value, hashlib.sha256(sid.encode()).hexdigest())).rowcount
            then = c.request("GET", "/api/v1/credentials", session=sid)
            results[kind] = (first, changed, then.status, then.code)
        self.check("7. an expired session id and one idle for 25 hours are refused (401 session_ended)",
                   all(r[0] == 200 and r[1] == 1 and r[2] == 401 and r[3] == "session_ended" for r in results.values()), results)
        # In the browser: a made-up cookie is no session.
        b = self.b
        b.at("made-up cookie")
        b.driver.delete_all_cookies()
        b.driver.add_cookie({"name": "posthorn_session", "value": "ses_" + secrets.token_urlsafe(32), "path": "/",
                             "httpOnly": True, "sameSite": "Strict"})
        b.get("/settings/credentials")
        b.wait(lambda: b.path() == "/signin" and b.heading() == "Sign in to Posthorn", "the sign-in page")
        self.check("7. in the browser, a made-up session cookie leads to the sign-in page",
                   b.path() == "/signin" and not b.credential_names(), b.driver.current_url)
        if self.screenshots:
            b.wait(lambda: b.driver.find_elements(By.XPATH, "//label[normalize-space(.)='Email']"), "the sign-in form")
            self.shots(b, "signin", [("light", "desktop"), ("dark", "phone")])

    def step_throttle(self) -> None:
        b = self.b
        b.at("throttle")
        email = b.field("Email")
        b.fill(email, MEMBER["email"])
        messages = []
        for attempt in range(1, 7):
            b.fill(b.field("Password"), f"not-the-password-{attempt}")
            submit = b.driver.find_element(By.XPATH, "//form//button[@type='submit']")
            submit.click()
            b.wait(lambda: submit.get_attribute("aria-busy") is None and b.text_of("[data-form-alert]"), f"the answer to attempt {attempt}", timeout=30)
            messages.append(b.text_of("[data-form-alert]"))
            if attempt < 6:
                b.wait(lambda: not submit.get_attribute("disabled"), "the button again")
        last = messages[-1]
        self.check("7. six wrong passwords: the sign-in page says too many attempts, with the wait",
                   all("incorrect" in m for m in messages[:5]) and re.search(r"Too many sign-in attempts\. Try again in \d+ (minutes?|seconds?)", last)
                   and b.driver.find_element(By.XPATH, "//form//button[@type='submit']").get_attribute("disabled") is not None,
                   messages)
        right = self.client.request("POST", "/api/v1/session", body={"email": MEMBER["email"], "password": MEMBER_PASSWORD})
        self.check("7. while throttled, even the right password is 429 too_many_attempts with Retry-After",
                   right.status == 429 and right.code == "too_many_attempts" and (right.header("Retry-After") or "").isdigit(),
                   (right.status, right.code, right.header("Retry-After")))

    def step_setup_once(self) -> None:
        b = self.b
        b.at("setup link again")
        b.get(self.setup_link)
        b.wait(lambda: b.heading() in ("Posthorn is already set up", "Set up Posthorn") and b.text_of(".auth__card"), "the set-up page")
        b.wait(lambda: b.heading() == "Posthorn is already set up", "the already-set-up page", timeout=5)
        text = b.text_of(".auth__card")
        token = urllib.parse.unquote(urllib.parse.urlsplit(self.setup_link).fragment)
        api = self.client.request("POST", "/api/v1/setup", body={"token": token, "email": "eve@example.com", "name": "Eve",
                                                                 "password": "another-long-password"})
        self.check("7. the set-up link works once: a second visit says it no longer works; the API answers 403 invalid_setup_token",
                   "no longer works" in text and not b.driver.find_elements(By.XPATH, "//label[normalize-space(.)='Password']")
                   and api.status == 403 and api.code == "invalid_setup_token", (text, api.status, api.code))

    def step_csp(self) -> None:
        routes = list(PAGES)
        for path in sorted(PUBLIC.rglob("*")):
            if path.is_file() and path.name != "index.html":
                routes.append("/" + str(path.relative_to(PUBLIC)))
        index = self.client.request("GET", "/", origin=None).text
        routes += sorted(set(re.findall(r'(?:href|src)="(/assets/[^"]+\?v=[0-9a-f]+)"', index)))
        routes += ["/settings/oauth", "/assets/not-there.js"]
        missing = []
        for route in routes:
            answer = self.client.request("GET", route, origin=None)
            headers = {k.lower(): v for k, v in answer.headers}
            wanted = {"content-security-policy": CSP, "x-content-type-options": "nosniff", "x-frame-options": "DENY",
                      "referrer-policy": "same-origin"}
            wrong = [k for k, v in wanted.items() if headers.get(k) != v]
            expected_status = 302 if route == "/settings/oauth" else 404 if "not-there" in route else 200
            if wrong or answer.status != expected_status:
                missing.append(f"{route}: {answer.status} {wrong}")
        self.check(f"7. every route of the web app ({len(routes)}: pages, assets, the redirect, a missing asset) carries the CSP and the other headers",
                   not missing, missing)
        documents = [(r["url"], r.get("headers", {}).get("content-security-policy")) for b in self.browsers for r in b.requests.values()
                     if r.get("type") == "Document" and r.get("url", "").startswith(self.server.base) and r.get("status") == 200]
        self.check(f"7. every page the browsers loaded ({len(documents)}) came with the CSP",
                   documents and all(csp == CSP for _, csp in documents), [d for d in documents if d[1] != CSP])

    def step_console(self) -> None:
        for browser in self.browsers:
            browser.harvest()
        allowed = {("/api/v1/session", 401)}
        csp, errors, expected = [], [], []
        for browser in self.browsers:
            for step, entry in browser.console:
                message = entry.get("message", "")
                if "Content Security Policy" in message or "Content-Security-Policy" in message:
                    csp.append(f"{browser.label}/{step}: {message}")
                    continue
                if entry.get("level") != "SEVERE" or step.startswith("evil"):
                    continue  # the other origins' pages log their own failures
                match = re.match(r"(\S+) - Failed to load resource: the server responded with a status of (\d+)", message)
                if match:
                    path, status = urllib.parse.urlsplit(match.group(1)).path, int(match.group(2))
                    if (path, status) in allowed or (step == "throttle" and path == "/api/v1/session" and status in (401, 429)) \
                            or (step.endswith("(expected 403s)") and status == 403):
                        expected.append((path, status))
                        continue
                errors.append(f"{browser.label}/{step}: {message}")
        self.check("7. no CSP violation in the console", not csp, csp)
        self.check(f"7. no error in the console (besides {len(expected)} expected failed loads: the signed-out session check, "
                   "the throttling test, the member's 403 probes)", not errors, errors)

    def step_canaries_live(self) -> None:
        for browser in self.browsers:
            browser.harvest()
        doms = {f"{b.label} DOM at '{step}'": html.encode() for b in self.browsers for step, html in b.doms}
        leaks = leaks_in(doms)
        count = sum(1 for b in self.browsers for _ in b.doms)
        self.check(f"7. no canary password in any DOM or page source ({count} snapshots, one after each step)", not leaks, leaks[:8])
        bodies = {f"{b.label} response {url} at '{step}'": body for b in self.browsers for step, url, body in b.bodies}
        bodies.update({f"urllib {what}": text.encode() for what, text in self.client.bodies})
        leaks = leaks_in(bodies)
        api_read = {urllib.parse.urlsplit(url).path for b in self.browsers for _, url, _ in b.bodies if "/api/v1/" in url}
        wanted = {"/api/v1/session", "/api/v1/setup", "/api/v1/credentials", "/api/v1/credentials/test", "/api/v1/invites/accept"}
        api_unread = [u for b in self.browsers for u in b.unreadable
                      if "/api/v1/" in u[1] and u[2] not in (204, 0) and u[0] not in ("OPTIONS", "HEAD")]
        read = sum(1 for b in self.browsers for _ in b.bodies)
        self.check(f"7. no canary password in any network response ({read} browser bodies via CDP, {len(self.client.bodies)} urllib answers)",
                   not leaks and not api_unread and wanted <= api_read,
                   {"leaks": leaks[:8], "API bodies CDP could not read": api_unread, "API answers never read": wanted - api_read})
        self.scan_data_dir("while serving (WAL present)")

    def scan_data_dir(self, when: str) -> None:
        blobs = {}
        for path in sorted(self.server.data_dir.rglob("*")):
            if path.is_file():
                blobs[path.name] = path.read_bytes()
        leaks = leaks_in(blobs)
        self.check(f"7. no canary password in the data directory {when}: {', '.join(blobs)} (raw and base64)",
                   blobs and not leaks, leaks[:8])

    def step_tokens_nowhere(self) -> None:
        """Session ids, the set-up token and the invitation token are secrets too: the trace log and
        the data directory (hashes only) must not hold them; no body or DOM may show a session id."""
        sessions = set(self.client.sessions)
        for browser in self.browsers:
            sessions |= browser.sessions
        one_time = {"set-up token": urllib.parse.unquote(urllib.parse.urlsplit(self.setup_link).fragment),
                    "invitation token": getattr(self, "invite_token", "")}
        stored = {"trace log": self.server.stderr_path.read_bytes(),
                  **{f"data/{p.name}": p.read_bytes() for p in self.server.data_dir.rglob("*") if p.is_file()}}
        shown = {f"{b.label} body {url}": body for b in self.browsers for _, url, body in b.bodies}
        shown.update({f"{b.label} DOM at '{step}'": html.encode() for b in self.browsers for step, html in b.doms})
        shown.update({f"urllib {what}": text.encode() for what, text in self.client.bodies})
        found = [f"session id in {where}" for sid in sessions for where, blob in {**stored, **shown}.items() if sid.encode() in blob]
        found += [f"{name} in {where}" for name, value in one_time.items() if value for where, blob in stored.items()
                  if value.encode() in blob]
        self.check(f"7. no session id ({len(sessions)} seen), set-up token or invitation token in the trace log or the data "
                   "directory; no session id in any response body or DOM",
                   len(sessions) >= 4 and all(one_time.values()) and not found, found[:8] or (len(sessions), one_time))

    def step_canaries_logs(self) -> None:
        logs = {"stdout": self.server.stdout_path.read_bytes(), "stderr (trace)": self.server.stderr_path.read_bytes()}
        leaks = leaks_in(logs)
        traced = b"AUTH" in logs["stderr (trace)"] and b"EHLO" in logs["stderr (trace)"]
        self.check(f"7. no canary password in the server's trace log ({len(logs['stderr (trace)']) // 1024} KiB, with the SMTP sessions)",
                   traced and not leaks, leaks[:8] if leaks else "the trace log has no SMTP session: is it at trace level?")

    # ---- Running it all ---------------------------------------------------------------------

    def run(self) -> int:
        started = time.monotonic()
        pki = fixture.make_pki(self.work)
        self.ca_pem = pki["ca"].read_text()
        self.recorder = Recorder()
        self.smtp = fixture.start(self.recorder, LOOPBACK, tls_context=fixture.server_context(pki["good"], pki["good.key"]),
                                  require_starttls=True, auth_required=True, auth_require_tls=True)
        try:
            self.server = Server(self.binary, self.work)
        except RuntimeError as error:
            self.smtp.stop()
            self.check("posthorn serve starts", False, error)
            print(f"{self.checks.passed} passed, {self.checks.failed} failed")
            return 1
        self.client = Client(self.server.port)
        self.b = None
        try:
            link = self.server.banner_line(r"Set up the first account \(one-time link\): (\S+)")
            opened = self.server.banner_line(r"Open Posthorn: (\S+)")
            self.setup_link = link.group(1) if link else ""
            self.check("the banner prints the Posthorn address and the one-time set-up link",
                       link and opened and opened.group(1) == self.server.base + "/" and "/setup#setup_" in self.setup_link,
                       "".join(self.server.banner))
            planted = leaks_in({"a planted copy": f"xx{SMTP_PASSWORD}xx".encode(),
                                "a planted base64 copy": base64.b64encode(OWNER_PASSWORD.encode())})
            self.check("the canary search finds planted copies (self-test)", len(planted) >= 2, planted)
            try:
                self.a = self.browser("owner")
            except WebDriverException as error:
                self.a = None
                self.check("headless Chromium starts under chromedriver", False, str(error).splitlines()[0])
            steps = [] if self.a is None else [
                ("1. set-up", self.step_setup),
                ("1. user menu → Credentials", self.step_menu_to_credentials),
                ("1. Connect your email", self.step_connect),
                ("2./3. wrong password and port 25", self.step_wrong_password_and_port_25),
                ("4. keyboard only", self.step_keyboard),
                ("5. member", self.step_member),
                ("6. workspaces", self.step_workspaces),
                ("7. cookie flags", self.step_cookie_flags),
                ("7. cross-site POST", self.step_cross_site),
                ("7. stolen session ids", self.step_stolen_sessions),
                ("7. throttled sign-in", self.step_throttle),
                ("7. set-up link once", self.step_setup_once),
                ("7. CSP headers", self.step_csp),
                ("7. console", self.step_console),
                ("7. canaries (browser, network, data directory)", self.step_canaries_live),
                ("7. session ids and one-time tokens", self.step_tokens_nowhere),
            ]
            needs_member = {self.step_workspaces, self.step_stolen_sessions, self.step_throttle, self.step_setup_once}
            for name, body in steps:
                if body in needs_member and self.b is None:
                    self.check(name, False, "needs the member's browser, which did not start")
                    continue
                self.guarded(name, body)
        finally:
            for browser in self.browsers:
                browser.quit()
            code = self.server.stop()
            self.smtp.stop()
        self.check("posthorn serve stops cleanly on SIGTERM", code == 0, f"exit {code}")
        self.guarded("7. canaries (data directory after stop)", lambda: self.scan_data_dir("after stop"))
        self.guarded("7. canaries (logs)", self.step_canaries_logs)
        if self.checks.failed:
            print("--- last lines of the server's log ---")
            print(self.server.log_tail(20))
        if self.screenshots:
            print(f"screenshots written to {SCREENSHOTS.relative_to(REPO)}/")
        print(f"took {time.monotonic() - started:.0f} s")
        print(f"{self.checks.passed} passed, {self.checks.failed} failed")
        return 1 if self.checks.failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("posthorn", help="path to the posthorn binary (its Posthorn_*.resources beside it)")
    parser.add_argument("--screenshots", action="store_true", help="also write docs/screenshots/*.png")
    args = parser.parse_args()

    found = browser_or_fail()
    if found is None:
        return 1
    chromium, chromedriver = found
    with tempfile.TemporaryDirectory(prefix="posthorn-webapp-") as tmp:
        return WebAppCheck(args.posthorn, Path(tmp), chromium, chromedriver, args.screenshots).run()


if __name__ == "__main__":
    sys.exit(main())
