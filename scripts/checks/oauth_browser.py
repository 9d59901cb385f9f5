#!/usr/bin/env python3
"""Sign in with Google (OAuth 2.0, XOAUTH2) in a real browser: headless Chromium (Debian's
`chromium` and `chromium-driver`, driven by selenium) against a real `posthorn serve` whose
"Google" is the fake provider and XOAUTH2-only aiosmtpd of scripts/interop/oauth_fixture.py
(configured through POSTHORN_OAUTH_PROVIDERS, exactly as an operator would).

Usage:
    python3 scripts/checks/oauth_browser.py PATH_TO_POSTHORN [--screenshots DIR]

One `ok NAME` / `FAIL NAME: detail` line per claim:

1. Credentials → + (SMTP Server) → the Gmail / Google Workspace quick setting offers "Sign in with
   Google" (GET /api/v1/credentials/oauth/providers lists it), with "or use an App Password" and
   the password form still there; signing in without a name puts the message at the Name field
   and nothing starts.
2. With a name: the browser goes to the provider's consent page (the authorize URL is reached as
   `localhost`, another site than Posthorn's 127.0.0.1, so the way back is a cross-site navigation
   like Google's: the SameSite=Strict cookie is not on it), Allow → back on Credentials with the
   new credential selected (marked, focused), "Signed in with Google", alice@example.test, the
   toast "Connected alice@example.test"; the address keeps neither code nor state; the API has it
   as `auth: oauth2` with that username and no password; the provider saw one code exchange.
3. The row's Test: "Test passed", the fixture accepted an XOAUTH2 login.
4. The callback page while the completion is in flight: "Connecting your account…", the query
   already gone from the address.
5. Denied consent → Credentials with the message in the oauth-error alert (role=alert), no
   credential. 6. A forged state (/settings/oauth/callback?code=x&state=forged) → the same, no
   code exchange. 7. Back from the provider without a Posthorn session → the sign-in page says why
   nothing was connected (no code in its address); after signing in, Credentials says it again.
8. Editing the OAuth credential offers no server, port, security, TLS, username or password
   fields; a new name is saved.
9. Tokens revoked at the provider: Test fails with EAUTH and the hint "Reconnect this credential";
   the list shows "Needs reconnect" and a Reconnect button, which signs in again and brings the
   credential back (selected, badge gone, Test passes).
10. Settings → Sign-in providers (the owner's tab; the server runs without Microsoft in the
   providers file): Google "Set by the server's environment" (the providers file counts) with its
   client id and no form, Microsoft "Not set up" with the form; the redirect URI shown is the
   server's. A client id with a space → the server's message at Client ID, what was typed kept.
   Microsoft's client set (ms-client) → "Set here", the secret field empty; Credentials → + →
   Microsoft 365 offers "Sign in with Microsoft"; Remove (confirmed) → "Not set up", and the
   dialog has no such button. A workspace admin who is not the instance owner has no such tab, the
   page's address tells them it is the owner's, and the API answers them 403 owner_required.
11. The callback page is served as a page of the web app (200, the CSP); the console has no CSP
   violation and no error but the expected 400s of the refused completions, the signed-out
   session check and the refused client id; the provider's access and refresh tokens, the client
   secrets (the providers file's, and the one typed on the Sign-in providers page) and the codes
   are in no DOM, no response the browser read, not in the server's trace log nor its data files.

Screenshots (light and dark, 1280x800 and 390x844) of the dialog with the sign-in button, the
callback page, the error alert, the list with the OAuth credential and with one that needs
reconnecting, the Sign-in providers page with Microsoft's client set (and, light desktop and dark
phone, the edit dialog, the failed test with its hint and the providers page's field error), into
--screenshots DIR (default: a new temporary directory, printed at the end).

A missing chromium, chromedriver, selenium or fixture is a failure, never a skip. Every server
listens on 127.0.0.1 only; every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webapp_browser as wb  # noqa: E402
from webapp_browser import LOOPBACK, REPO  # noqa: E402

try:
    sys.path.insert(0, str(REPO / "scripts" / "interop"))
    from oauth_fixture import OAuthFixture  # noqa: E402
except ImportError as error:  # pragma: no cover - a missing fixture must fail, not skip
    OAuthFixture = None
    FIXTURE_ERROR = str(error)
except SystemExit:  # the fixture exits when aiosmtpd or cryptography is missing
    OAuthFixture = None
    FIXTURE_ERROR = "oauth_fixture.py needs aiosmtpd and cryptography"

if wb.webdriver is not None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

OWNER = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "oauth-owner-passphrase-0123"}
ACCOUNT = "alice@example.test"
NAME = "Support Gmail"
VARIANTS = [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")]
STATE_INVALID = "This sign-in is not valid"
DENIED = "Access was not granted at Google"
PROVIDERS_PAGE = "/settings/sign-in-providers"
MS_CLIENT_ID = "ms-client"
MS_SECRET = "CANARY-ms-page-secret"  # typed on the Sign-in providers page: sealed, never shown or answered
ADMIN = {"name": "Grace Hopper", "email": "grace@example.com", "password": "oauth-admin-passphrase-0123"}


class Server(wb.Server):
    """`posthorn serve` with a public URL, loopback egress and the fixture's providers file."""

    def __init__(self, binary: str, work: Path, port: int, providers_file: Path) -> None:  # noqa: D107 - same as wb.Server
        self.port = port
        self.base = f"http://{LOOPBACK}:{port}"
        self.data_dir = work / "data"
        self.stdout_path = work / "serve.stdout"
        self.stderr_path = work / "serve.stderr"
        self.banner: list[str] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        env["POSTHORN_OAUTH_PROVIDERS"] = str(providers_file)
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [binary, "serve", "--data-dir", str(self.data_dir), "--host", LOOPBACK, "--port", str(port),
                 "--public-url", self.base, "--allow-private-egress", f"{LOOPBACK}/32", "--metrics-port", "0",
                 "--log-level", "trace"],
                stdout=subprocess.PIPE, stderr=stderr, env=env)
        self._drain = threading.Thread(target=self._read_stdout, daemon=True)
        self._drain.start()
        client = wb.Client(port)
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
            self.stop()
            raise RuntimeError(f"posthorn serve did not answer /healthz in 60 s: {self.log_tail(10)}")


class OAuthCheck(wb.WebAppCheck):
    def __init__(self, binary: str, work: Path, chromium: str, chromedriver: str, shots_dir: Path) -> None:
        super().__init__(binary, work, chromium, chromedriver, screenshots=True)
        self.shots_dir = shots_dir
        self.credential_id = ""

    # ---- Helpers ----------------------------------------------------------------------------

    def api(self, method: str, path: str, body: object = None) -> wb.Answer:
        return self.client.request(method, path, body=body, session=self.session)

    def credentials(self) -> list[dict]:
        return self.api("GET", "/api/v1/credentials").json.get("credentials", [])

    def stats(self) -> dict:
        return self.fixture.stats()

    def shoot(self, name: str, variants=VARIANTS, prepare=None) -> None:
        """Light/dark, desktop/phone pictures into the screenshots directory (toasts removed, the
        caret hidden by taking the focus away only when `prepare` says so)."""
        a = self.a
        d = a.driver
        for theme, device in variants:
            width, height, mobile = (1280, 800, False) if device == "desktop" else (390, 844, True)
            d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
                {"name": "prefers-color-scheme", "value": theme}, {"name": "prefers-reduced-motion", "value": "reduce"}]})
            a.viewport(width, height, mobile)
            time.sleep(0.3)
            if prepare:
                prepare()
                time.sleep(0.1)
            path = self.shots_dir / f"{name}-{theme}-{device}.png"
            d.save_screenshot(str(path))
            wb.compact(path)
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        a.viewport(1280, 800)
        time.sleep(0.1)

    def open_connect_dialog(self):
        a = self.a
        a.get("/settings/credentials")
        a.wait(lambda: a.heading() == "Credentials", "the Credentials page")
        a.wait_credentials_listed()
        return self.open_dialog_with_plus(a)

    def sign_in_button(self, dialog, provider: str = "google"):
        a = self.a
        return a.wait(lambda: a.quietly(lambda: dialog.find_element(By.CSS_SELECTOR, f"[data-testid='oauth-signin-{provider}']"))
                      if a.quietly(lambda: dialog.find_element(By.CSS_SELECTOR, f"[data-testid='oauth-signin-{provider}']").is_displayed()) else None,
                      f"the Sign in button of {provider}")

    def at_consent(self) -> None:
        a = self.a
        a.wait(lambda: a.driver.current_url.startswith(self.authorize_base) and a.driver.find_elements(By.ID, "allow"),
               "the provider's consent page", timeout=30)

    def oauth_error(self) -> str:
        a = self.a
        return a.wait(lambda: a.path() == "/settings/credentials" and a.text_of("[data-testid='oauth-error']"),
                      "the oauth-error alert on Credentials", timeout=30)

    def row(self, credential_id: str):
        return self.a.driver.find_element(By.CSS_SELECTOR, f"li[data-credential='{credential_id}']")

    # ---- Set-up -----------------------------------------------------------------------------

    def sign_in(self) -> None:
        link = self.server.banner_line(r"Set up the first account \(one-time link\): (\S+)")
        token = urllib.parse.unquote(urllib.parse.urlsplit(link.group(1)).fragment) if link else ""
        answer = self.client.request("POST", "/api/v1/setup", body={"token": token, **{k: OWNER[k] for k in ("email", "name", "password")}})
        self.session = next((m.group(1) for c in answer.headers_named("Set-Cookie") if (m := re.match(r"posthorn_session=([^;]+)", c))), "")
        self.check("the set-up API creates the first account (a session cookie)", answer.status == 201 and self.session, answer.text[:200])
        a = self.a
        a.at("sign in")
        a.get("/signin")
        a.wait(lambda: a.heading(), "the sign-in page")
        a.driver.add_cookie({"name": "posthorn_session", "value": self.session, "path": "/", "httpOnly": True, "sameSite": "Strict"})

    # ---- 1. The dialog offers Sign in with Google -----------------------------------------------

    def step_dialog(self) -> None:
        a = self.a
        a.at("dialog")
        providers = self.api("GET", "/api/v1/credentials/oauth/providers")
        listed = [p.get("id") for p in providers.json.get("providers", [])]
        self.check("1. GET /api/v1/credentials/oauth/providers lists google (the fake, from POSTHORN_OAUTH_PROVIDERS)",
                   providers.status == 200 and "google" in listed, f"{providers.status} {providers.text[:300]}")
        dialog = self.open_connect_dialog()
        before = a.driver.find_elements(By.CSS_SELECTOR, "dialog[open] [data-testid^='oauth-signin-']")
        self.check("1. before a quick setting is chosen there is no Sign in with Google",
                   not [b for b in before if b.get_attribute("data-testid") == "oauth-signin-google" and b.is_displayed()], len(before))
        a.choose("Gmail / Google Workspace", dialog)
        button = self.sign_in_button(dialog)
        section = dialog.find_element(By.CSS_SELECTOR, "[data-oauth]")
        password = a.field("Password", dialog)
        self.check("1. the Gmail quick setting shows “Sign in with Google”, “or use an App Password”, and the password form stays",
                   button.text.strip() == "Sign in with Google" and "or use an App Password" in section.text and password.is_displayed(),
                   {"button": button.text, "section": section.text})
        starts = len([r for r in a.requests_since("dialog") if "/oauth/start" in r.get("url", "")])
        a.fill(a.field("Name to identify this connection", dialog), "")
        button.click()
        name = a.field("Name to identify this connection", dialog)
        message = a.wait(lambda: a.text_of(f"#{name.get_attribute('id')}-error") if name.get_attribute("aria-invalid") == "true" else None,
                         "the message at Name")
        active = a.active()
        started = len([r for r in a.requests_since("dialog") if "/oauth/start" in r.get("url", "")]) - starts
        self.check("1. Sign in without a name: the message at the Name field (focused), nothing started",
                   "Enter a name" in message and active.get("id") == name.get_attribute("id") and started == 0 and a.dialog() is not None,
                   {"message": message, "active": active, "start requests": started})
        a.fill(name, NAME)
        a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); document.activeElement.blur()", section)
        self.shoot("oauth-dialog-signin")

    # ---- 2 and 3. Allow → back with the credential; Test -----------------------------------------

    def step_allow(self) -> None:
        a = self.a
        a.at("sign in with google")
        before = {c["id"] for c in self.credentials()}
        exchanges = self.stats().get("exchanges", 0)
        dialog = a.dialog()
        self.sign_in_button(dialog).click()
        self.at_consent()
        account = a.driver.find_element(By.ID, "email").get_attribute("value")
        self.check("2. Sign in with Google opens the provider's consent page (reached as localhost: a cross-site return)",
                   account == ACCOUNT, {"url": a.driver.current_url, "account": account})
        a.at("consent allowed")
        a.driver.find_element(By.ID, "allow").click()
        a.wait(lambda: a.path() == "/settings/credentials" and a.driver.find_elements(By.CSS_SELECTOR, "li.item--selected"),
               "Credentials with the new credential selected", timeout=30)
        time.sleep(0.2)  # the focus moves once the page is drawn
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(a.driver.current_url).query)
        created = [c for c in self.credentials() if c["id"] not in before]
        credential = created[0] if len(created) == 1 else {}
        self.credential_id = credential.get("id", "")
        self.check("2. back on Credentials at ?selected=<the new id>, no code or state in the address",
                   query.get("selected") == [self.credential_id] and "code" not in query and "state" not in query and self.credential_id,
                   {"url": a.driver.current_url, "created": created})
        selected = a.driver.find_element(By.CSS_SELECTOR, "li.item--selected")
        focused = a.driver.execute_script("return document.activeElement === arguments[0] || arguments[0].contains(document.activeElement)", selected)
        self.check("2. the new credential is the one selected (marked, aria-current, focused) and named as typed",
                   selected.get_attribute("data-credential") == self.credential_id and selected.get_attribute("aria-current") == "true"
                   and focused and NAME in selected.text, {"row": selected.text, "focused": focused})
        self.check("2. its row says “Signed in with Google” and alice@example.test",
                   "Signed in with Google" in selected.text and ACCOUNT in selected.text, selected.text)
        toasts = a.texts(".toast")
        self.check("2. the toast says “Connected alice@example.test”", f"Connected {ACCOUNT}" in toasts, toasts)
        self.check("2. the API: auth oauth2, oauth.provider google (Google), username alice@example.test, no password",
                   credential.get("auth") == "oauth2" and (credential.get("oauth") or {}).get("provider") == "google"
                   and (credential.get("oauth") or {}).get("providerName") == "Google"
                   and (credential.get("oauth") or {}).get("needsReconnect") is False
                   and credential.get("username") == ACCOUNT and credential.get("hasPassword") is False and "password" not in credential,
                   credential)
        self.check("2. the provider saw exactly one code exchange", self.stats().get("exchanges", 0) - exchanges == 1, self.stats())
        arrivals = [r for r in a.requests_since("consent allowed") if r.get("type") == "Document"
                    and urllib.parse.urlsplit(r.get("url", "")).path == "/settings/oauth/callback"]
        completions = [r for r in a.requests_since("consent allowed") if r.get("url", "").endswith("/api/v1/credentials/oauth/complete")
                       and r.get("method") == "POST"]
        self.check("2. the way back was cross-site like Google's (the callback page came without the SameSite=Strict cookie), "
                   "and the page's own POST …/oauth/complete carried it",
                   arrivals and all("posthorn_session=" not in r.get("cookie", "") for r in arrivals)
                   and completions and all("posthorn_session=" in r.get("cookie", "") for r in completions),
                   {"callback document cookies": [r.get("cookie", "")[:40] for r in arrivals],
                    "completion cookies": [bool(r.get("cookie")) for r in completions]})
        history = a.driver.execute_script("return location.href")
        self.check("2. the callback's code is kept nowhere in the page's address", "code=" not in history, history)
        a.driver.execute_script("document.activeElement.blur()")
        self.shoot("oauth-credentials", prepare=lambda: a.driver.execute_script("document.querySelectorAll('.toast').forEach((t) => t.remove())"))

        a.at("row test")
        attempts = self.stats().get("authAttempts", 0)
        row = self.row(self.credential_id)
        a.button(f"Test {NAME}", row).click()
        a.wait(lambda: "Test passed" in self.row(self.credential_id).text or self.row(self.credential_id).find_elements(By.CSS_SELECTOR, ".callout--danger"),
               "the row's test result", timeout=40)
        text = self.row(self.credential_id).text
        self.check("3. Test connection on the new credential: Test passed (XOAUTH2 at the fixture)",
                   "Test passed" in text and "Connection works" in text and self.stats().get("authAttempts", 0) > attempts,
                   {"row": text, "stats": self.stats()})

    # ---- 4. The callback page itself ---------------------------------------------------------------

    def step_callback_page(self) -> None:
        a = self.a
        a.at("callback page held")
        d = a.driver
        # Hold the completion in the browser so the page can be seen (and photographed) as it is.
        d.execute_cdp_cmd("Fetch.enable", {"patterns": [{"urlPattern": "*/api/v1/credentials/oauth/complete*", "requestStage": "Request"}]})
        try:
            a.get("/settings/oauth/callback?code=held-code&state=held-state")
            a.wait(lambda: d.find_elements(By.CSS_SELECTOR, "[data-testid='oauth-callback']") and a.heading(), "the callback page")
            heading = a.heading()
            self.check("4. the callback page says “Connecting your account…” and has already dropped the query",
                       heading == "Connecting your account…" and urllib.parse.urlsplit(d.current_url).query == ""
                       and a.path() == "/settings/oauth/callback", {"heading": heading, "url": d.current_url})
            self.shoot("oauth-callback")
        finally:
            a.get("/settings/credentials")  # leaving cancels the held request: it never reaches the server
            d.execute_cdp_cmd("Fetch.disable", {})

    # ---- 5, 6, 7. Denied, forged, signed out -------------------------------------------------------

    def step_denied(self) -> None:
        a = self.a
        a.at("consent denied")
        before = self.credentials()
        dialog = self.open_connect_dialog()
        a.choose("Gmail / Google Workspace", dialog)
        a.fill(a.field("Name to identify this connection", dialog), "Denied Gmail")
        self.sign_in_button(dialog).click()
        self.at_consent()
        a.driver.find_element(By.ID, "deny").click()
        message = self.oauth_error()
        alert = a.driver.find_element(By.CSS_SELECTOR, "[data-testid='oauth-error']")
        after = self.credentials()
        self.check("5. a denied consent ends on Credentials with the message in an alert (role=alert)",
                   DENIED in message and alert.get_attribute("role") == "alert" and "?" not in a.driver.current_url,
                   {"message": message, "url": a.driver.current_url})
        self.check("5. … and no credential was created", len(after) == len(before) and not any(c["name"] == "Denied Gmail" for c in after),
                   [c["name"] for c in after])
        self.shoot("oauth-error")
        a.get("/settings/credentials")
        a.wait_credentials_listed()
        self.check("5. the message is shown once (not again on the next visit)",
                   not a.driver.find_elements(By.CSS_SELECTOR, "[data-testid='oauth-error']"), a.text_of("[data-testid='oauth-error']"))

    def step_forged(self) -> None:
        a = self.a
        a.at("forged state")
        before = self.credentials()
        exchanges = self.stats().get("exchanges", 0)
        a.get("/settings/oauth/callback?code=x&state=forged")
        message = self.oauth_error()
        after = self.credentials()
        self.check("6. a forged state ends on Credentials with the message, no credential, no code exchange",
                   STATE_INVALID in message and len(after) == len(before) and self.stats().get("exchanges", 0) == exchanges,
                   {"message": message, "before": len(before), "after": len(after), "stats": self.stats()})

    def step_signed_out(self) -> None:
        a = self.a
        a.at("signed out callback")
        d = a.driver
        d.delete_cookie("posthorn_session")
        a.get("/settings/oauth/callback?code=signed-out-code&state=signed-out-state")
        a.wait(lambda: a.path() == "/signin" and a.driver.find_elements(By.CSS_SELECTOR, "form"), "the sign-in page", timeout=20)
        notice = a.text_of(".auth__card .callout--warning")
        self.check("7. back from the provider without a session: the sign-in page says nothing was connected, no code in its address",
                   "nothing was saved" in notice and "signed-out-code" not in d.current_url and "state" not in d.current_url,
                   {"url": d.current_url, "notice": notice})
        a.field("Email").send_keys(OWNER["email"])
        a.field("Password").send_keys(OWNER["password"])
        a.button("Sign in").click()
        message = self.oauth_error()
        self.check("7. after signing in, Credentials shows the message in the oauth-error alert",
                   "nothing was saved" in message, message)
        cookie = a.cookie()
        if cookie:
            self.session = cookie["value"]

    # ---- 8. Editing an OAuth credential ------------------------------------------------------------

    def step_edit(self) -> None:
        a = self.a
        a.at("edit oauth credential")
        a.get("/settings/credentials")
        a.wait_credentials_listed()
        a.button(f"Edit {NAME}", self.row(self.credential_id)).click()
        dialog = a.wait(lambda: (d := a.dialog()) is not None and d.text.strip() != "" and d, "the edit dialog, drawn")
        labels = a.texts("label", dialog)
        forbidden = [label for label in labels if label in ("Server address", "Port", "Username", "Password", "Accept unverified certificates",
                                                           "Minimum security level", "Custom CA certificate")
                     or label.startswith("Require encrypted") or label.startswith("Encrypted from the start")]
        summary = a.text_of("[data-testid='oauth-summary']", dialog)
        self.check("8. editing an OAuth credential shows no server, port, security, TLS, username or password field",
                   not forbidden and "Name to identify this connection" in labels and "Signed in with Google" in summary and ACCOUNT in summary,
                   {"forbidden": forbidden, "summary": summary})
        a.driver.execute_script("document.activeElement.blur()")
        self.shoot("oauth-dialog-edit", [("light", "desktop"), ("dark", "phone")])
        a.fill(a.field("Name to identify this connection", dialog), f"{NAME} (team)")
        a.button("Save credential", dialog).click()
        try:
            a.wait(lambda: a.dialog() is None, "the dialog to close", timeout=10)
        except wb.TimeoutException:
            pass
        a.settle()
        stored = next((c for c in self.credentials() if c["id"] == self.credential_id), {})
        answers = [body.decode(errors="replace")[:300] for _, url, body in a.bodies
                   if url.endswith(f"/api/v1/credentials/{self.credential_id}") and b'"error"' in body]
        self.check("8. the new name is saved from the dialog (it closes; the API has the name)",
                   a.dialog() is None and stored.get("name") == f"{NAME} (team)" and stored.get("auth") == "oauth2",
                   {"stored": stored.get("name"), "dialog errors": a.text_of("dialog[open] .field__error, dialog[open] [data-form-alert]"),
                    "PATCH answers": answers})
        if a.dialog() is not None:
            a.keys(wb.Keys.ESCAPE)
            a.wait(lambda: a.dialog() is None, "Esc to close the dialog")
        if stored.get("name") != f"{NAME} (team)":
            # Tell a refusing server from a dialog that sent too much: the smallest PATCH there is.
            answer = self.api("PATCH", f"/api/v1/credentials/{self.credential_id}", {"name": f"{NAME} (team)", "version": stored.get("version")})
            self.check("8. the API takes PATCH {name, version} for an OAuth credential", answer.status == 200, f"{answer.status} {answer.text[:300]}")

    # ---- 9. Needs reconnect -----------------------------------------------------------------------

    def step_reconnect(self) -> None:
        a = self.a
        a.at("tokens revoked")
        name = f"{NAME} (team)"
        name = next((c["name"] for c in self.credentials() if c["id"] == self.credential_id), name)
        revoked = self.fixture.revoke()
        a.get("/settings/credentials")
        a.wait_credentials_listed()
        a.button(f"Test {name}", self.row(self.credential_id)).click()
        a.wait(lambda: self.row(self.credential_id).find_elements(By.CSS_SELECTOR, ".item__detail .callout--success, .item__detail .callout--danger"),
               "the test result", timeout=40)
        text = self.row(self.credential_id).text
        self.check("9. tokens revoked at the provider: Test fails with EAUTH and the hint “Reconnect this credential”",
                   revoked > 0 and "EAUTH" in text and "Reconnect this credential" in text, text)
        a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); document.activeElement.blur()", self.row(self.credential_id))
        self.shoot("oauth-test-reconnect-hint", [("light", "desktop"), ("dark", "phone")])
        stored = next((c for c in self.credentials() if c["id"] == self.credential_id), {})
        self.check("9. the API marks it needsReconnect", (stored.get("oauth") or {}).get("needsReconnect") is True, stored.get("oauth"))

        a.at("needs reconnect")
        a.get("/settings/credentials")
        a.wait_credentials_listed()
        row = self.row(self.credential_id)
        badge = row.find_elements(By.CSS_SELECTOR, "[data-testid='oauth-needs-reconnect']")
        button = row.find_elements(By.CSS_SELECTOR, "[data-testid='oauth-reconnect']")
        self.check("9. the list shows the warning badge “Needs reconnect” and a Reconnect button",
                   badge and "Needs reconnect" in badge[0].text and button and button[0].text.strip() == "Reconnect", row.text)
        a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); document.activeElement.blur()", row)
        self.shoot("oauth-needs-reconnect")

        a.at("reconnect")
        exchanges = self.stats().get("exchanges", 0)
        count = len(self.credentials())
        self.row(self.credential_id).find_element(By.CSS_SELECTOR, "[data-testid='oauth-reconnect']").click()
        self.at_consent()
        a.driver.find_element(By.ID, "allow").click()
        a.wait(lambda: a.path() == "/settings/credentials" and a.driver.find_elements(By.CSS_SELECTOR, "li.item--selected"),
               "Credentials after reconnecting", timeout=30)
        selected = a.driver.find_element(By.CSS_SELECTOR, "li.item--selected")
        stored = next((c for c in self.credentials() if c["id"] == self.credential_id), {})
        self.check("9. Reconnect → consent → back with the same credential selected, the badge gone, no new credential",
                   selected.get_attribute("data-credential") == self.credential_id and "Needs reconnect" not in selected.text
                   and (stored.get("oauth") or {}).get("needsReconnect") is False and len(self.credentials()) == count
                   and self.stats().get("exchanges", 0) - exchanges == 1,
                   {"row": selected.text, "oauth": stored.get("oauth"), "stats": self.stats()})
        a.button(f"Test {name}", selected).click()
        a.wait(lambda: "Test passed" in self.row(self.credential_id).text or self.row(self.credential_id).find_elements(By.CSS_SELECTOR, ".callout--danger"),
               "the test after reconnecting", timeout=40)
        self.check("9. after reconnecting, Test passes again", "Test passed" in self.row(self.credential_id).text, self.row(self.credential_id).text)

    # ---- 10. Sign-in providers (the instance owner's OAuth clients) -----------------------------------

    def provider_card(self, provider: str):
        return self.a.driver.find_element(By.CSS_SELECTOR, f"section[data-provider='{provider}']")

    def provider_status(self, provider: str) -> str:
        return self.a.text_of(f"section[data-provider='{provider}'] [data-testid='oauth-client-status']")

    def offers_microsoft(self) -> tuple[bool, bool]:
        """Credentials → + → the dialog's sign-in offer: (Gmail shows Sign in with Google — the
        providers are loaded —, Microsoft 365 shows Sign in with Microsoft)."""
        a = self.a
        dialog = self.open_connect_dialog()
        a.choose("Gmail / Google Workspace", dialog)
        google = bool(self.sign_in_button(dialog, "google"))
        a.choose("Microsoft 365 / Outlook", dialog)
        time.sleep(0.2)
        shown = [b for b in dialog.find_elements(By.CSS_SELECTOR, "[data-testid='oauth-signin-microsoft']") if b.is_displayed()]
        return google, bool(shown) and shown[0].text.strip() == "Sign in with Microsoft"

    def close_dialog(self) -> None:
        a = self.a
        if a.dialog() is not None:
            a.keys(wb.Keys.ESCAPE)
            a.wait(lambda: a.dialog() is None, "Esc to close the dialog")

    def step_providers(self) -> None:
        a = self.a
        d = a.driver
        a.at("sign-in providers")
        a.get("/settings/credentials")
        a.wait(lambda: a.heading() == "Credentials", "the Credentials page")
        tabs = a.texts("nav.tabs a")
        a.link("Sign-in providers", d.find_element(By.CSS_SELECTOR, "nav.tabs")).click()
        a.wait(lambda: a.path() == PROVIDERS_PAGE and a.heading() == "Sign-in providers"
               and len(d.find_elements(By.CSS_SELECTOR, "section[data-provider]")) == 2, "the Sign-in providers page")
        current = a.text_of("nav.tabs [aria-current='page']")
        self.check("10. the owner's settings tabs have “Sign-in providers”, which opens /settings/sign-in-providers (the current tab)",
                   "Sign-in providers" in tabs and current == "Sign-in providers", {"tabs": tabs, "current": current})
        listed = self.api("GET", "/api/v1/oauth-clients")
        clients = {c.get("provider"): c for c in listed.json.get("clients", [])}
        self.check("10. GET /api/v1/oauth-clients: google from the environment (the providers file), microsoft not set up",
                   listed.status == 200 and (clients.get("google") or {}).get("source") == "environment"
                   and (clients.get("microsoft") or {}).get("source") == "none", f"{listed.status} {listed.text[:400]}")
        google = self.provider_card("google")
        self.check("10. Google: “Set by the server's environment” with its client id, read-only (no field, no Save, no Remove)",
                   self.provider_status("google") == "Set by the server's environment" and self.ready["clientId"] in google.text
                   and not google.find_elements(By.CSS_SELECTOR, "input, button[type='submit'], [data-testid^='oauth-client-remove']"),
                   google.text)
        ms = self.provider_card("microsoft")
        self.check("10. Microsoft: “Not set up”, with Client ID and Client secret (a password field, empty) and no Remove",
                   self.provider_status("microsoft") == "Not set up" and a.field("Client ID", ms).is_displayed()
                   and a.field("Client secret", ms).get_attribute("type") == "password" and a.field("Client secret", ms).get_attribute("value") == ""
                   and not ms.find_elements(By.CSS_SELECTOR, "[data-testid^='oauth-client-remove']"), ms.text)
        shown = a.text_of("[data-testid='oauth-redirect'] .copyable__value")
        self.check("10. the redirect URI shown (with a copy button) is the server's: <public URL>/settings/oauth/callback",
                   shown == listed.json.get("redirectURI") == f"{self.server.base}/settings/oauth/callback"
                   and d.find_elements(By.CSS_SELECTOR, "[data-testid='oauth-redirect'] .copy-btn"),
                   {"shown": shown, "api": listed.json.get("redirectURI")})

        a.at("sign-in providers: bad client id")
        client_id, secret = a.field("Client ID", ms), a.field("Client secret", ms)
        a.fill(client_id, "ms client")
        a.fill(secret, MS_SECRET)
        a.button("Save client", ms).click()
        message = a.wait(lambda: a.text_of(f"#{client_id.get_attribute('id')}-error") if client_id.get_attribute("aria-invalid") == "true" else None,
                         "the message at Client ID")
        answers = [r for r in a.requests_since("sign-in providers: bad client id") if r.get("url", "").endswith("/api/v1/oauth-clients/microsoft")]
        after = {c.get("provider"): c for c in self.api("GET", "/api/v1/oauth-clients").json.get("clients", [])}
        self.check("10. a client id with a space: 422 from the server, its message at Client ID (focused), what was typed kept, nothing set",
                   [r.get("status") for r in answers] == [422] and "Client ID" in message and a.active().get("id") == client_id.get_attribute("id")
                   and client_id.get_attribute("value") == "ms client" and secret.get_attribute("value") == MS_SECRET
                   and (after.get("microsoft") or {}).get("source") == "none",
                   {"message": message, "answers": [(r.get("method"), r.get("status")) for r in answers], "microsoft": after.get("microsoft")})
        a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); document.activeElement.blur()", ms)
        self.shoot("oauth-providers-error", [("light", "desktop"), ("dark", "phone")],
                   prepare=lambda: a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", self.provider_card("microsoft")))

        a.at("sign-in providers: set microsoft")
        a.fill(client_id, MS_CLIENT_ID)
        a.button("Save client", ms).click()
        a.wait(lambda: self.provider_status("microsoft") == "Set here", "Microsoft “Set here”")
        ms = self.provider_card("microsoft")
        stored = {c.get("provider"): c for c in self.api("GET", "/api/v1/oauth-clients").json.get("clients", [])}.get("microsoft") or {}
        self.check("10. Microsoft's client saved: “Set here”, Client ID ms-client, the secret field empty again, a Remove button; "
                   "the API: source settings, hasSecret",
                   a.field("Client ID", ms).get_attribute("value") == MS_CLIENT_ID and a.field("Client secret", ms).get_attribute("value") == ""
                   and ms.find_elements(By.CSS_SELECTOR, "[data-testid='oauth-client-remove-microsoft']")
                   and stored.get("source") == "settings" and stored.get("clientId") == MS_CLIENT_ID and stored.get("hasSecret") is True,
                   {"card": ms.text, "api": stored})
        toasts = a.texts(".toast")
        self.check("10. the toast says Microsoft's client is saved", any("Microsoft's client saved" in t for t in toasts), toasts)
        page = d.execute_script("return document.documentElement.outerHTML + [...document.querySelectorAll('input')].map((i) => i.value).join(' ')")
        self.check("10. the secret is nowhere on the page (no element, no field's value)", MS_SECRET not in page, "found" if MS_SECRET in page else "")
        a.driver.execute_script("document.activeElement.blur(); document.querySelectorAll('.toast').forEach((t) => t.remove())")
        # The top (the redirect URI, Google from the environment; the current tab in view on a
        # phone), then Microsoft's card as it is once set here.
        self.shoot("oauth-providers", prepare=lambda: a.driver.execute_script(
            "document.querySelector('.tabs [aria-current=page]')?.scrollIntoView({block: 'nearest', inline: 'nearest'}); window.scrollTo(0, 0)"))
        self.shoot("oauth-providers-set-here", prepare=lambda: a.driver.execute_script(
            "arguments[0].scrollIntoView({block: 'end'})", self.provider_card("microsoft")))

        a.at("sign-in providers: dialog offers microsoft")
        google_shown, ms_shown = self.offers_microsoft()
        self.check("10. Credentials → + → Microsoft 365 now offers “Sign in with Microsoft”", google_shown and ms_shown,
                   {"google": google_shown, "microsoft": ms_shown})
        self.close_dialog()

        a.at("sign-in providers: remove microsoft")
        a.get(PROVIDERS_PAGE)
        a.wait(lambda: self.provider_status("microsoft") == "Set here", "the page with Microsoft set here")
        remove = self.provider_card("microsoft").find_element(By.CSS_SELECTOR, "[data-testid='oauth-client-remove-microsoft']")
        remove.click()
        # Its text once drawn: a dialog still fading in reads as "" to WebDriver (CI saw that once).
        dialog = a.wait(lambda: (d := a.dialog()) is not None and d.text.strip() != "" and d, "the confirmation, drawn")
        text = dialog.text
        a.button("Remove client", dialog).click()
        a.wait(lambda: a.dialog() is None and self.provider_status("microsoft") == "Not set up", "Microsoft “Not set up” again")
        stored = {c.get("provider"): c for c in self.api("GET", "/api/v1/oauth-clients").json.get("clients", [])}.get("microsoft") or {}
        self.check("10. Remove asks first (credentials connected with it fail their next refresh), then Microsoft is “Not set up” (API: none)",
                   "next refresh" in text and stored.get("source") == "none" and stored.get("hasSecret") is False
                   and not self.provider_card("microsoft").find_elements(By.CSS_SELECTOR, "[data-testid^='oauth-client-remove']"),
                   {"confirm": text, "api": stored})
        google_shown, ms_shown = self.offers_microsoft()
        self.check("10. after Remove, Microsoft 365 in the dialog has no “Sign in with Microsoft” (Gmail still has Google's)",
                   google_shown and not ms_shown, {"google": google_shown, "microsoft": ms_shown})
        self.close_dialog()

    def step_providers_not_owner(self) -> None:
        invite = self.api("POST", "/api/v1/invites", {"role": "admin", "email": ADMIN["email"]})
        token = invite.json.get("url", "").partition("#")[2]
        joined = self.client.request("POST", "/api/v1/invites/accept", body={"token": token, **ADMIN})
        session = next((m.group(1) for c in joined.headers_named("Set-Cookie") if (m := re.match(r"posthorn_session=([^;]+)", c))), "")
        self.check("10. an invited workspace admin (not the instance owner) has an account and a session",
                   invite.status == 201 and joined.status in (200, 201) and session and joined.json.get("user", {}).get("isOwner") is False,
                   f"{invite.status} {joined.status} {joined.text[:200]}")
        refused = [(m, self.client.request(m, p, body=body, session=session)) for m, p, body in
                   [("GET", "/api/v1/oauth-clients", None), ("PUT", "/api/v1/oauth-clients/microsoft", {"clientId": "x", "clientSecret": "y"}),
                    ("DELETE", "/api/v1/oauth-clients/google", None)]]
        self.check("10. the API answers the admin's GET, PUT and DELETE on /api/v1/oauth-clients 403 owner_required",
                   all(r.status == 403 and r.code == "owner_required" for _, r in refused), [(m, r.status, r.code) for m, r in refused])
        b = self.b = self.browser("admin, not owner")
        b.at("not owner: tabs")
        b.get("/signin")
        b.wait(lambda: b.heading(), "the sign-in page")
        b.driver.add_cookie({"name": "posthorn_session", "value": session, "path": "/", "httpOnly": True, "sameSite": "Strict"})
        b.get("/settings/credentials")
        b.wait(lambda: b.heading() == "Credentials" and b.texts("nav.tabs a"), "the admin's Credentials page with its tabs")
        tabs = b.texts("nav.tabs a")
        self.check("10. the admin's settings tabs: API tokens and Members, but no “Sign-in providers”",
                   "API tokens" in tabs and "Members" in tabs and "Sign-in providers" not in tabs, tabs)
        b.at("not owner: page")
        b.get(PROVIDERS_PAGE)
        b.wait(lambda: b.heading() == "Sign-in providers" and b.text_of(".empty__title"), "the page's answer to a non-owner")
        calls = [r for r in b.requests_since("not owner: page") if "/api/v1/oauth-clients" in r.get("url", "")]
        self.check("10. the page's address tells the admin it is the instance owner's (no form, no call to /oauth-clients)",
                   b.text_of(".empty__title") == "Only the instance owner can see this page" and not b.driver.find_elements(By.CSS_SELECTOR, "main form")
                   and not calls, {"title": b.text_of(".empty__title"), "calls": len(calls)})
        b.harvest()

    # ---- 11. Page, console, secrets --------------------------------------------------------------

    def step_page_and_console(self) -> None:
        a = self.a
        a.harvest()
        answer = self.client.request("GET", "/settings/oauth/callback?code=a&state=b", origin=None, headers={"Accept": "text/html"})
        self.check("11. /settings/oauth/callback is a page of the web app (200, with the CSP)",
                   answer.status == 200 and answer.header("Content-Security-Policy") == wb.CSP and "tpl-connect-dialog" in answer.text,
                   f"{answer.status} {answer.header('Content-Security-Policy')}")
        csp, errors, expected = [], [], []
        for step, entry in [(f"{b.label}: {step}", entry) for b in self.browsers for step, entry in b.console]:
            message = entry.get("message", "")
            if "Content Security Policy" in message or "Content-Security-Policy" in message:
                csp.append(f"{step}: {message}")
                continue
            if entry.get("level") != "SEVERE" or not message.startswith(self.server.base):
                continue  # the provider's own pages are not ours
            match = re.match(r"(\S+) - Failed to load resource: the server responded with a status of (\d+)", message)
            if match:
                path, status = urllib.parse.urlsplit(match.group(1)).path, int(match.group(2))
                if (path, status) in {("/api/v1/session", 401), ("/api/v1/credentials/oauth/complete", 400), ("/api/v1/oauth-clients/microsoft", 422)}:
                    expected.append((path, status))
                    continue
            errors.append(f"{step}: {message}")
        self.check("11. no CSP violation in the console", not csp, csp)
        self.check(f"11. no error in the console (besides {len(expected)} expected: refused completions, the signed-out session check, the refused client id)",
                   not errors, errors)

    def step_secrets(self) -> None:
        a = self.a
        a.harvest()
        issued = self.fixture.issued()
        secrets_ = {f"{item['kind']} {item['value'][:18]}…": item["value"].encode() for item in issued if item.get("kind") in ("access", "refresh", "code")}
        secrets_["client secret"] = self.ready["clientSecret"].encode()
        secrets_["Microsoft client secret typed on Sign-in providers"] = MS_SECRET.encode()
        for b in self.browsers:
            b.harvest()
        places = {f"DOM of {b.label} at '{step}'": html.encode() for b in self.browsers for step, html in b.doms}
        # The browser necessarily fetched the callback address with the code; nothing else may hold it.
        places.update({f"response {url} to {b.label} at '{step}'": body for b in self.browsers for step, url, body in b.bodies})
        places.update({f"answer to {what}": text.encode() for what, text in self.client.bodies})
        places.update({f"data file {path.relative_to(self.server.data_dir)}": path.read_bytes() for path in self.server.data_dir.rglob("*") if path.is_file()})
        places["trace log"] = self.server.stderr_path.read_bytes()
        places["stdout"] = self.server.stdout_path.read_bytes()
        found = [f"{name} in {where}" for name, value in secrets_.items() for where, blob in places.items() if value in blob]
        kinds = sorted({item.get("kind") for item in issued})
        self.check(f"11. the provider's tokens, codes and client secrets ({len(secrets_)}: {', '.join(kinds)}, the providers file's, "
                   f"the one typed on Sign-in providers) are in no DOM ({sum(len(b.doms) for b in self.browsers)} snapshots), "
                   f"no response the browsers or the API calls read, not in the server's log nor its data files",
                   len(secrets_) >= 5 and not found, found[:8] or kinds)

    # ---- Running it all ---------------------------------------------------------------------------

    def run(self) -> int:
        started = time.monotonic()
        if OAuthFixture is None:
            self.check("the OAuth fixture (scripts/interop/oauth_fixture.py) can be imported", False, FIXTURE_ERROR)
            print(f"{self.checks.passed} passed, {self.checks.failed} failed")
            return 1
        port = wb.fixture.free_port(LOOPBACK)
        self.fixture = OAuthFixture(redirect_uri=f"http://{LOOPBACK}:{port}/settings/oauth/callback", work_dir=self.work / "fixture")
        self.server = None
        self.session = ""
        try:
            try:
                self.ready = self.fixture.start()
            except Exception as error:  # noqa: BLE001
                self.check("the OAuth fixture starts", False, error)
                return self.finish(started)
            # The consent page as another site (localhost, not 127.0.0.1): the way back to Posthorn
            # is then a cross-site navigation, as from accounts.google.com. Only the browser uses it.
            providers = json.loads(Path(self.ready["providersFile"]).read_text())
            for provider in providers:
                provider["authorizeURL"] = provider["authorizeURL"].replace(f"//{LOOPBACK}:", "//localhost:", 1)
            self.authorize_base = providers[0]["authorizeURL"]
            providers_file = self.work / "providers.json"
            providers_file.write_text(json.dumps(providers, indent=2))
            os.chmod(providers_file, 0o600)
            try:
                self.server = Server(self.binary, self.work, port, providers_file)
            except RuntimeError as error:
                self.check("posthorn serve starts (with --public-url and POSTHORN_OAUTH_PROVIDERS)", False, error)
                return self.finish(started)
            self.client = wb.Client(port)
            try:
                self.a = self.browser("owner")
            except WebDriverException as error:
                self.a = None
                self.check("headless Chromium starts under chromedriver", False, str(error).splitlines()[0])
            steps = [] if self.a is None else [
                ("sign in", self.sign_in),
                ("1. the dialog offers Sign in with Google", self.step_dialog),
                ("2./3. allow, back with the credential, test", self.step_allow),
                ("4. the callback page", self.step_callback_page),
                ("5. denied consent", self.step_denied),
                ("6. forged state", self.step_forged),
                ("7. back without a session", self.step_signed_out),
                ("8. editing an OAuth credential", self.step_edit),
                ("9. needs reconnect", self.step_reconnect),
                ("10. sign-in providers", self.step_providers),
                ("10. a workspace admin who is not the owner", self.step_providers_not_owner),
                ("11. page and console", self.step_page_and_console),
                ("11. secrets", self.step_secrets),
            ]
            needs_credential = {self.step_edit, self.step_reconnect}
            for name, body in steps:
                if body in needs_credential and not self.credential_id:
                    self.check(name, False, "needs the credential of step 2, which was not created")
                    continue
                self.guarded(name, body)
        finally:
            for browser in self.browsers:
                browser.quit()
            code = self.server.stop() if self.server else 0
            self.fixture.stop()
        if self.server:
            self.check("posthorn serve stops cleanly on SIGTERM", code == 0, f"exit {code}")
        return self.finish(started)

    def finish(self, started: float) -> int:
        if self.checks.failed and self.server:
            print("--- last lines of the server's log ---")
            print(self.server.log_tail(20))
        print(f"screenshots in {self.shots_dir}")
        print(f"took {time.monotonic() - started:.0f} s")
        print(f"{self.checks.passed} passed, {self.checks.failed} failed")
        return 1 if self.checks.failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("posthorn", help="path to the posthorn binary (its Posthorn_*.resources beside it)")
    parser.add_argument("--screenshots", type=Path, default=None, help="directory for the screenshots (default: a new temporary directory)")
    args = parser.parse_args()
    found = wb.browser_or_fail()
    if found is None:
        return 1
    chromium, chromedriver = found
    shots = args.screenshots or Path(tempfile.mkdtemp(prefix="posthorn-oauth-shots-"))
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="posthorn-oauth-") as tmp:
        return OAuthCheck(args.posthorn, Path(tmp), chromium, chromedriver, shots).run()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still stops what it started (finally)
    sys.exit(main())
