"""Sending limits in the web app, in headless Chromium against a real `posthorn serve`:

1. Connect your email → the Gmail quick setting fills Gmail's published limit (500 a day) in
   ADVANCED; "Use Google Workspace limits" switches to 2,000 recipients a day; a limit of 0 is
   refused at its field before anything is sent; the saved credential holds the limits (API).
2. Editing the credential shows its limits; clearing them all removes them (`limits: null`).
3. A run held by the limit: the run view says why it waits and when it resumes, the run list's
   status filter has Waiting and its row says until when.
4. Suppressions (Settings → Suppressions): the empty list, an address added by hand (a bad one refused
   at its field), a send through the API that leaves it out of the envelope (the step output lists
   it as suppressed), removed with confirmation.
5. A bounce on the step: a flow sends through aiosmtpd, its DSN is piped to `posthorn bounce
   ingest`, and the run view shows the recipient bounced with the status and diagnostic.
6. With --screenshots: docs/screenshots/dialog-limits-*, run-waiting-*, suppressions-* and
   run-bounced-* (light, dark, desktop, phone).
7. No CSP violation or error in the console.

Usage:
    python3 scripts/checks/limits_browser.py PATH_TO_POSTHORN [--screenshots]

Shares the server and browser helpers of webapp_browser.py; a missing chromium, chromedriver or
selenium is a failure, never a skip. The server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webapp_browser as wb  # noqa: E402
from webapp_browser import LOOPBACK, REPO, SCREENSHOTS  # noqa: E402

if wb.webdriver is not None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

OWNER = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "limits-owner-passphrase-0123"}


class LimitsCheck(wb.WebAppCheck):
    def api(self, method: str, path: str, body: object = None) -> wb.Answer:
        return self.client.request(method, path, body=body, session=self.session)

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

    def limit_values(self, dialog) -> dict:
        return self.a.driver.execute_script(
            "const d = arguments[0]; const v = (id) => d.querySelector('#' + id).value;"
            "return {perSecond: v('cd-limit-second'), perMinute: v('cd-limit-minute'), perHour: v('cd-limit-hour'),"
            " perDay: v('cd-limit-day'), counts: v('cd-limit-counts')}", dialog)

    def open_advanced(self, dialog) -> None:
        a = self.a
        advanced = dialog.find_element(By.CSS_SELECTOR, "[data-advanced]")
        if not advanced.get_attribute("open"):
            dialog.find_element(By.XPATH, ".//summary[normalize-space(.)='Advanced']").click()
        a.wait(lambda: a.field("Per day", dialog).is_displayed(), "the limits in Advanced")

    # ---- 1. Connect your email with limits ---------------------------------------------------------

    def step_connect(self) -> None:
        a = self.a
        a.at("credentials")
        a.get("/settings/credentials")
        a.wait(lambda: a.heading() == "Credentials", "the Credentials page")
        a.wait_credentials_listed()
        dialog = self.open_dialog_with_plus(a)
        a.choose("Gmail / Google Workspace", dialog)
        self.open_advanced(dialog)
        filled = self.limit_values(dialog)
        self.check("1. the Gmail quick setting fills Gmail's published limit: 500 messages a day",
                   filled == {"perSecond": "", "perMinute": "", "perHour": "", "perDay": "500", "counts": "messages"}, filled)
        suggestions = a.texts("[data-limit-suggestions] button", dialog)
        self.check("1. the provider's limits are offered by name", suggestions == ["Use Gmail limits", "Use Google Workspace limits"], suggestions)
        a.button("Use Google Workspace limits", dialog).click()
        workspace = self.limit_values(dialog)
        self.check("1. “Use Google Workspace limits” switches to 2,000 recipients a day",
                   workspace["perDay"] == "2000" and workspace["counts"] == "recipients", workspace)

        a.fill(a.field("Name to identify this connection", dialog), "Team Gmail")
        a.fill(a.field("Username", dialog), "team@example.com")
        a.fill(a.field("Password", dialog), "app-password-0123")
        minute = a.field("Per minute", dialog)
        a.fill(minute, "0")
        before = json.loads(self.api("GET", "/api/v1/credentials").text)["credentials"]
        a.button("Save credential", dialog).click()
        message = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.ID, minute.get_attribute("aria-describedby").split()[-1]).text)
                         if minute.get_attribute("aria-invalid") == "true" else None, "the error at Per minute")
        after = json.loads(self.api("GET", "/api/v1/credentials").text)["credentials"]
        self.check("1. a limit of 0 is refused at its field, in words, and nothing is saved",
                   "whole number from 1 to 10,000,000" in message and len(after) == len(before), message)
        a.fill(minute, "")
        if self.screenshots:
            a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); document.activeElement.blur()",
                                    dialog.find_element(By.CSS_SELECTOR, "[data-limits] .limits__grid"))
            self.shots(a, "dialog-limits", [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")])
        a.button("Save credential", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close after saving")
        items = json.loads(self.api("GET", "/api/v1/credentials").text)["credentials"]
        saved = next((item for item in items if item["name"] == "Team Gmail"), {})
        self.credential = saved
        self.check("1. the saved credential holds the limits (API): 2,000 recipients a day",
                   saved.get("limits") == {"perSecond": None, "perMinute": None, "perHour": None, "perDay": 2000, "counts": "recipients"},
                   saved.get("limits"))

    # ---- 2. Editing ---------------------------------------------------------------------------------

    def step_edit(self) -> None:
        a = self.a
        a.at("edit")
        a.get("/settings/credentials")
        a.wait(lambda: a.heading() == "Credentials", "the Credentials page")
        a.wait_credentials_listed()
        row = a.driver.find_element(By.XPATH, "//li[.//*[normalize-space(.)='Team Gmail']]")
        row.find_element(By.XPATH, ".//button[contains(@aria-label, 'Edit') or normalize-space(.)='Edit']").click()
        dialog = a.wait(a.dialog, "the edit dialog")
        a.wait(lambda: dialog.find_element(By.CSS_SELECTOR, "[data-advanced]").get_attribute("open"), "Advanced open for a credential with limits")
        shown = self.limit_values(dialog)
        self.check("2. editing shows the stored limits (Advanced opens by itself)",
                   shown["perDay"] == "2000" and shown["counts"] == "recipients", shown)
        a.fill(a.field("Per day", dialog), "")
        a.button("Save credential", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close after saving")
        stored = json.loads(self.api("GET", f"/api/v1/credentials/{self.credential['id']}").text)
        self.check("2. clearing every limit removes them (limits: null), the password kept",
                   stored.get("limits") is None and stored.get("hasPassword") is True, stored.get("limits"))

    # ---- 3. A waiting run ---------------------------------------------------------------------------

    def step_waiting_run(self) -> None:
        a = self.a
        a.at("waiting run")
        closed = wb.fixture.free_port(LOOPBACK)
        made = self.api("POST", "/api/v1/credentials", {
            "name": "One a day", "host": LOOPBACK, "port": closed, "security": "starttls", "limits": {"perDay": 1}})
        credential = json.loads(made.text)
        flow = json.loads(self.api("POST", "/api/v1/flows", {
            "name": "Daily report", "trigger": {"type": "manual"}, "enabled": True, "retry": {"maxAttempts": 1},
            "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                "credential": credential.get("id", ""), "from": "reports@example.com", "to": "team@example.com",
                "subject": "Report", "body": "Numbers"}}]}).text)
        first = json.loads(self.api("POST", f"/api/v1/flows/{flow.get('id')}/runs", {}).text).get("runId")
        run: dict = {}
        for _ in range(200):
            run = json.loads(self.api("GET", f"/api/v1/runs/{first}").text)
            if run.get("status") not in ("queued", "running"):
                break
            time.sleep(0.1)
        self.check("3. the day's one send is spent (it failed: nothing listens there)", run.get("status") == "failed", run.get("status"))
        answer = json.loads(self.api("POST", f"/api/v1/flows/{flow.get('id')}/runs", {}).text)
        second = answer.get("runId")
        for _ in range(200):
            run = json.loads(self.api("GET", f"/api/v1/runs/{second}").text)
            if run.get("status") == "waiting":
                break
            time.sleep(0.1)
        self.check("3. the next run waits (API: waiting, waitingUntil about a day ahead, the reason)",
                   run.get("status") == "waiting" and run.get("waitingUntil") and "1 message per day" in (run.get("waitingReason") or ""), run)
        a.get(f"/runs/{second}")
        callout = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.CSS_SELECTOR, "[data-waiting]")), "the waiting callout")
        text = callout.text
        badge = a.text_of(".run__status .badge")
        self.check("3. the run view says Waiting, why (the credential's limit) and when it resumes",
                   badge == "Waiting" and "1 message per day" in text and "Resumes" in text, {"badge": badge, "callout": text})
        if self.screenshots:
            self.shots(a, "run-waiting", [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")])
        a.get("/runs")
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, f"[data-run='{second}']"), "the run in the list")
        select = a.driver.find_element(By.CSS_SELECTOR, "select[id]")
        options = [o.text for o in Select(select).options]
        row = a.text_of(f"[data-run='{second}']")
        self.check("3. the run list filters by Waiting, and the row says until when",
                   "Waiting" in options and "until" in row, {"options": options, "row": row})

    # ---- 4. Suppressions -------------------------------------------------------------------------

    def step_suppressions(self) -> None:
        a = self.a
        a.at("suppressions")
        a.get("/settings/suppressions")
        a.wait(lambda: a.heading() == "Suppressions", "the Suppressions page")
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".empty__title, table"), "the list")
        tabs = a.texts("nav[aria-label] a, .tabs a")
        self.check("4. Settings has a Suppressions tab, and the empty list says what it is for",
                   "Suppressions" in tabs and a.text_of(".empty__title") == "No suppressed addresses", tabs)
        a.button("Suppress an address").click()
        dialog = a.wait(a.dialog, "the dialog")
        field = a.field("Email address", dialog)
        a.fill(field, "Ada <ada@example.com>")
        a.button("Suppress", dialog).click()
        message = a.wait(lambda: field.get_attribute("aria-invalid") == "true" and a.text_of(".field__error", dialog), "the error at the field")
        self.check("4. a display name with the address is refused at the field", "one email address" in message, message)
        a.fill(field, "Ada@Example.com")
        a.fill(a.field("Note (optional)", dialog), "Asked for nothing more")
        a.button("Suppress", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close")
        row = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.CSS_SELECTOR, "tr[data-address='Ada@example.com']")), "the row")
        self.check("4. the address is listed (domain lower-cased), by hand, with the note", "Added by hand" in row.text and "Asked for nothing more" in row.text, row.text)
        if self.screenshots:
            self.shots(a, "suppressions", [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")])

        flow = json.loads(self.api("POST", "/api/v1/flows", {
            "name": "Newsletter", "trigger": {"type": "manual"}, "enabled": True, "retry": {"maxAttempts": 1},
            "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                "credential": self.credential.get("id", ""), "from": "news@example.com", "to": "ada@example.com", "subject": "News", "body": "Hi"}}]}).text)
        run_id = json.loads(self.api("POST", f"/api/v1/flows/{flow.get('id')}/runs", {}).text).get("runId")
        run: dict = {}
        for _ in range(200):
            run = json.loads(self.api("GET", f"/api/v1/runs/{run_id}").text)
            if run.get("status") not in ("queued", "running", "waiting"):
                break
            time.sleep(0.1)
        error = (run.get("error") or {})
        self.check("4. a send to the suppressed address alone fails for good before connecting, naming the list",
                   run.get("status") == "failed" and error.get("code") == "EENVELOPE" and "suppression list" in error.get("message", ""), error)

        row.find_element(By.XPATH, ".//button[normalize-space(.)='Remove']").click()
        confirm = a.wait(a.dialog, "the confirmation")
        a.button("Remove from the list", confirm).click()
        a.wait(lambda: a.dialog() is None and a.driver.find_elements(By.CSS_SELECTOR, ".empty__title"), "the empty list again")
        listed = json.loads(self.api("GET", "/api/v1/suppressions").text).get("items")
        self.check("4. Remove (confirmed) sends to the address again: the list is empty (API too)", listed == [], listed)

    # ---- 5. A bounce shown on its step ---------------------------------------------------------

    def step_bounce(self) -> None:
        a = self.a
        a.at("bounce")
        recorder = wb.fixture.Recorder()
        smtp = wb.fixture.start(recorder, LOOPBACK)
        try:
            credential = json.loads(self.api("POST", "/api/v1/credentials", {
                "name": "Loopback relay", "host": LOOPBACK, "port": smtp.port, "security": "plaintext"}).text)
            flow = json.loads(self.api("POST", "/api/v1/flows", {
                "name": "Welcome", "trigger": {"type": "manual"}, "enabled": True, "retry": {"maxAttempts": 1},
                "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                    "credential": credential.get("id", ""), "from": "team@example.com", "to": "bob@example.net", "subject": "Welcome", "body": "Hi"}}]}).text)
            run_id = json.loads(self.api("POST", f"/api/v1/flows/{flow.get('id')}/runs", {}).text).get("runId")
            run: dict = {}
            for _ in range(200):
                run = json.loads(self.api("GET", f"/api/v1/runs/{run_id}").text)
                if run.get("status") not in ("queued", "running", "waiting"):
                    break
                time.sleep(0.1)
        finally:
            smtp.stop()
        message_id = ((run.get("steps") or [{}])[0].get("output") or {}).get("messageId", "")
        self.check("5. the welcome email is sent (aiosmtpd got it)", run.get("status") == "succeeded" and len(recorder.deliveries) == 1, run.get("status"))
        dsn = ("From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nNo.\r\n"
               "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
               "Final-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
               "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown\r\n\r\n"
               f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\n\r\n--b--\r\n").encode()
        ingested = subprocess.run([self.binary, "bounce", "ingest", "--data-dir", str(self.server.data_dir)], input=dsn,
                                  capture_output=True, timeout=60)
        try:
            outcome = json.loads(ingested.stdout or b"{}")
        except ValueError:
            outcome = {}
        self.check("5. posthorn bounce ingest matches the DSN to the step", ingested.returncode == 0 and outcome.get("matched") is True,
                   (ingested.returncode, ingested.stdout[:300], ingested.stderr[-300:]))
        a.get(f"/runs/{run_id}")
        reports = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.CSS_SELECTOR, "[data-delivery]")), "the delivery reports")
        text = reports.text
        self.check("5. the run view shows the recipient bounced, with the status and the server's words",
                   "Bounced" in text and "bob@example.net" in text and "5.1.1" in text and "User unknown" in text, text)
        if self.screenshots:
            a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", reports)
            self.shots(a, "run-bounced", [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")])

    # ---- 7. Console ---------------------------------------------------------------------------------

    def step_console(self) -> None:
        a = self.a
        a.harvest()
        csp, errors = [], []
        for step, entry in a.console:
            message = entry.get("message", "")
            if "Content Security Policy" in message or "Content-Security-Policy" in message:
                csp.append(f"{step}: {message}")
            elif entry.get("level") == "SEVERE" and not (step == "sign in" and "/api/v1/session" in message and " 401" in message) \
                    and not (("/api/v1/credentials" in message or "/api/v1/suppressions" in message) and " 422" in message):
                errors.append(f"{step}: {message}")
        self.check("7. no CSP violation in the console", not csp, csp)
        self.check("7. no error in the console (besides the sign-in page's signed-out check)", not errors, errors)

    def run(self) -> int:
        started = time.monotonic()
        try:
            self.server = wb.Server(self.binary, self.work)
        except RuntimeError as error:
            self.check("posthorn serve starts", False, error)
            print(f"{self.checks.passed} passed, {self.checks.failed} failed")
            return 1
        self.client = wb.Client(self.server.port)
        self.session = ""
        self.credential = {}
        try:
            try:
                self.a = self.browser("owner")
            except WebDriverException as error:
                self.a = None
                self.check("headless Chromium starts under chromedriver", False, str(error).splitlines()[0])
            steps = [] if self.a is None else [
                ("sign in", self.sign_in),
                ("1. connect with limits", self.step_connect),
                ("2. edit", self.step_edit),
                ("3. a waiting run", self.step_waiting_run),
                ("4. suppressions", self.step_suppressions),
                ("5. a bounce on its step", self.step_bounce),
                ("7. console", self.step_console),
            ]
            for name, body in steps:
                self.guarded(name, body)
        finally:
            for browser in self.browsers:
                browser.quit()
            code = self.server.stop()
        self.check("posthorn serve stops cleanly on SIGTERM", code == 0, f"exit {code}")
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
    parser.add_argument("--screenshots", action="store_true", help="also write docs/screenshots/dialog-limits-*, run-waiting-* and suppressions-*")
    args = parser.parse_args()
    found = wb.browser_or_fail()
    if found is None:
        return 1
    chromium, chromedriver = found
    with tempfile.TemporaryDirectory(prefix="posthorn-limits-") as tmp:
        return LimitsCheck(args.posthorn, Path(tmp), chromium, chromedriver, args.screenshots).run()


if __name__ == "__main__":
    sys.exit(main())
