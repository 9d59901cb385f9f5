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
6. Bounces and complaints (Credentials → a credential's Bounces, opened with the keyboard): the
   intake id is in no page before the dialog opens; the mailbox address shown is GET …/intake's
   `raw` path on this origin, and the four providers (with their webhook URLs) start "Not set
   up". Mailgun's signing key, saved, turns its badge to "Set up" with a toast that shows above
   the dialog (API: configured) and is in no DOM, no response and not in GET …/intake; a bad
   SendGrid verification key is refused at its field (aria-invalid, the server's 422 words) and
   nothing is set up; Remove (confirmed) turns Mailgun back to "Not set up"; New addresses
   (confirmed) shows another address, and the old one answers 404. After each redraw the focus
   stays in the dialog (on the provider's summary, or New addresses); Esc gives it back to Bounces.
7. Delivery reports: "Ask for delivery reports" (Connect dialog, Advanced) is checked for a new
   credential (the one saved in 1 has `deliveryNotifications: true`); unchecked in Edit, the API
   stores false, and Edit opens again with Advanced open and the box unchecked.
8. Flow Studio: a new flow's trigger set to "Email bounced" lists `{{trigger.body.recipient}}`
   (and the rest of what the run gets) with a callout, the canvas card names it; saved, the API
   has trigger.type `email.bounced` and the Flows list says "Email bounced".
9. With --screenshots: docs/screenshots/dialog-limits-*, run-waiting-*, suppressions-*,
   run-bounced-* and intake-dialog-* (light, dark, desktop, phone), and
   trigger-email-bounced-* (light, dark, desktop).
10. No CSP violation or error in the console.

Usage:
    python3 scripts/checks/limits_browser.py PATH_TO_POSTHORN [--screenshots]

Shares the server and browser helpers of webapp_browser.py; a missing chromium, chromedriver or
selenium is a failure, never a skip. The server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
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
    from selenium.webdriver.common.keys import Keys
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

    # ---- 6. Bounces and complaints --------------------------------------------------------------

    def intake(self) -> wb.Answer:
        return self.api("GET", f"/api/v1/credentials/{self.credential.get('id', '')}/intake")

    def dialogs(self) -> list:
        return self.a.driver.find_elements(By.CSS_SELECTOR, "dialog[open]")

    def intake_dialog(self):
        """The Bounces and complaints dialog (a confirmation may be open above it)."""
        return self.a.driver.find_element(
            By.XPATH, "//dialog[@open][.//*[contains(@class, 'dialog__title')][normalize-space(.)='Bounces and complaints']]")

    def intake_state(self) -> dict:
        """What the dialog shows: the mailbox address and, per provider, its badge, webhook URL and whether it is open."""
        return self.a.driver.execute_script("""
            const d = [...document.querySelectorAll('dialog[open]')].find((x) => x.querySelector('.intake'));
            if (!d) return null;
            const raw = d.querySelector('.intake__section .copyable__value');
            return {
              raw: raw ? raw.textContent : null,
              providers: [...d.querySelectorAll('details.intake__provider')].map((x) => ({
                name: x.querySelector('summary .section__title').textContent,
                badge: (x.querySelector('summary .badge') || {}).textContent || '',
                url: (x.querySelector('.copyable__value') || {}).textContent || '',
                open: x.open})),
            };""")

    def provider(self, name: str):
        """A provider's disclosure, opened."""
        a = self.a
        details = self.intake_dialog().find_element(By.XPATH, f".//details[.//summary//*[normalize-space(.)='{name}']]")
        if not details.get_attribute("open"):
            details.find_element(By.TAG_NAME, "summary").click()
        a.wait(lambda: details.find_element(By.TAG_NAME, "form").is_displayed(), f"{name}'s form")
        return details

    def toast(self) -> dict | None:
        """The newest toast: its words, whether it is what shows at its middle (not under the modal
        dialog and its backdrop) and whether it is in a live region that is not inert."""
        return self.a.driver.execute_script("""
            const all = document.querySelectorAll('.toast');
            const t = all[all.length - 1];
            if (!t) return null;
            const r = t.getBoundingClientRect();
            const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            const region = t.closest('[aria-live]');
            return {text: t.querySelector('.toast__text').textContent, onTop: !!at && t.contains(at),
                    live: !!region && !region.closest('[inert]') && !!region.closest('dialog:modal')};""")

    def provider_open(self, name: str) -> bool:
        state = self.intake_state() or {}
        return any(p["name"] == name and p["open"] for p in state.get("providers", []))

    def badge_of(self, name: str) -> str:
        state = self.intake_state() or {}
        return next((p["badge"] for p in state.get("providers", []) if p["name"] == name), "")

    def focus_in_intake_dialog(self) -> str | None:
        """The focused element's tag and text when it is in the Bounces and complaints dialog (None when the focus fell out)."""
        return self.a.driver.execute_script(
            "const d = [...document.querySelectorAll('dialog[open]')].find((x) => x.querySelector('.intake'));"
            "const e = document.activeElement;"
            "const text = (e.matches('summary') ? e.querySelector('.section__title') : e).textContent;"
            "return d && d.contains(e) && e !== d ? e.tagName.toLowerCase() + ': ' + text.replace(/\\s+/g, ' ').trim() : null")

    def step_intake(self) -> None:
        a = self.a
        a.at("bounces and complaints")
        name = self.credential.get("name", "Team Gmail")
        a.get("/settings/credentials")
        a.wait(lambda: a.heading() == "Credentials", "the Credentials page")
        a.wait_credentials_listed()
        a.settle()
        first = self.intake()
        intake_id = first.json.get("intakeId", "")
        seen = [body for step, _, body in a.bodies if step == a.step]
        self.check("6. before the dialog opens, the intake id is in neither the page nor any answer it loaded",
                   first.status == 200 and intake_id.startswith("bin_") and intake_id not in a.driver.execute_script("return document.documentElement.outerHTML")
                   and seen and not any(intake_id.encode() in body for body in seen), {"intake": first.text[:200], "answers": len(seen)})

        button = a.button(f"Bounces and complaints of {name}")
        a.driver.execute_script("arguments[0].focus()", button)
        a.keys(Keys.ENTER)
        dialog = a.wait(lambda: self.intake_dialog(), "the Bounces and complaints dialog")
        a.wait(lambda: (self.intake_state() or {}).get("raw"), "the intake addresses")
        state = self.intake_state()
        intake = self.intake().json
        providers = intake.get("providers") or {}
        base = self.server.base
        subtitle = a.text_of(".dialog__subtitle", dialog)
        self.check("6. Bounces (Enter on the row's button) opens “Bounces and complaints” for the credential; the mailbox address is "
                   "GET …/intake's raw path on this origin",
                   subtitle == name and state["raw"] == base + (providers.get("raw") or {}).get("path", "?") and intake.get("intakeId") == intake_id
                   and f"/hooks/deliverability/{intake_id}/raw" in state["raw"], {"subtitle": subtitle, "shown": state["raw"], "api": providers.get("raw")})
        want = [("Amazon SES", "ses"), ("SendGrid", "sendgrid"), ("Mailgun", "mailgun"), ("Postmark", "postmark")]
        shown = [(p["name"], p["badge"], p["url"]) for p in state["providers"]]
        self.check("6. one disclosure per provider (Amazon SES, SendGrid, Mailgun, Postmark), each with its webhook URL and “Not set up”",
                   shown == [(label, "Not set up", base + providers.get(key, {}).get("path", "?")) for label, key in want], shown)

        a.at("bounces: mailgun")
        key = f"mailgun-signing-{secrets.token_hex(12)}"
        mailgun = self.provider("Mailgun")
        a.fill(a.field("HTTP webhook signing key", mailgun), key)
        a.button("Save keys", mailgun).click()
        a.wait(lambda: self.badge_of("Mailgun") == "Set up", "Mailgun set up")
        toast = a.wait(lambda: self.toast(), "the toast")
        stored = self.intake()
        self.check("6. Mailgun's signing key, saved: its badge says “Set up”, a toast says so (seen: above the dialog's backdrop, in a live region), "
                   "the API has mailgun configured",
                   toast == {"text": "Mailgun keys saved", "onTop": True, "live": True} and (stored.json.get("providers") or {}).get("mailgun", {}).get("configured") is True,
                   {"toast": toast, "api": stored.text[:300]})
        focus = self.focus_in_intake_dialog()
        self.check("6. after the save the focus is on Mailgun's summary (the dialog drew again; Mailgun stays open)",
                   focus == "summary: Mailgun" and self.badge_of("Mailgun") == "Set up" and self.provider_open("Mailgun"), focus or a.active())
        a.settle()
        dom = a.driver.execute_script("return document.documentElement.outerHTML")
        answers = [url for step, url, body in a.bodies if key.encode() in body]
        self.check("6. the signing key is in no DOM, no answer the page got and not in GET …/intake",
                   key not in dom and key not in a.driver.page_source and not answers and key not in stored.text, answers)
        if self.screenshots:
            self.provider("Mailgun")
            a.driver.execute_script("document.activeElement.blur(); arguments[0].scrollTop = 0",
                                    self.intake_dialog().find_element(By.CSS_SELECTOR, ".dialog__body"))
            self.shots(a, "intake-dialog", [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")])

        a.at("bounces: sendgrid")
        sendgrid = self.provider("SendGrid")
        area = a.field("Verification key", sendgrid)
        a.fill(area, "not a key")
        a.button("Save keys", sendgrid).click()
        message = a.wait(lambda: area.get_attribute("aria-invalid") == "true" and a.quietly(lambda: a.driver.find_element(By.ID, f"{area.get_attribute('id')}-error").text),
                         "the error at Verification key")
        server = self.api("PUT", f"/api/v1/credentials/{self.credential.get('id', '')}/intake/sendgrid", {"verificationKey": "not a key"})
        after = self.intake().json.get("providers") or {}
        self.check("6. a bad SendGrid key is refused at the Verification key field (aria-invalid, the server's words: 422 naming verificationKey); nothing set up",
                   server.status == 422 and (server.json.get("error") or {}).get("field") == "verificationKey"
                   and message == server.json["error"].get("message") and f"{area.get_attribute('id')}-error" in (area.get_attribute("aria-describedby") or "").split()
                   and after.get("sendgrid", {}).get("configured") is False and self.badge_of("SendGrid") == "Not set up",
                   {"shown": message, "server": server.text[:200], "api": after.get("sendgrid")})

        a.at("bounces: remove mailgun")
        mailgun = self.provider("Mailgun")
        a.button("Remove", mailgun).click()
        a.wait(lambda: len(self.dialogs()) == 2, "the confirmation")
        confirm = self.dialogs()[-1]
        title = a.text_of(".dialog__title", confirm)
        a.button("Remove", confirm).click()
        a.wait(lambda: len(self.dialogs()) == 1 and self.badge_of("Mailgun") == "Not set up", "Mailgun not set up")
        after = self.intake().json.get("providers") or {}
        self.check("6. Remove, confirmed (“Remove the Mailgun keys?”), turns Mailgun back to “Not set up” (API too)",
                   title == "Remove the Mailgun keys?" and after.get("mailgun", {}).get("configured") is False, {"title": title, "api": after.get("mailgun")})
        focus = self.focus_in_intake_dialog()
        self.check("6. after the confirmation the focus is on Mailgun's summary, not on the page", focus == "summary: Mailgun", focus or a.active())

        a.at("bounces: new addresses")
        old = self.intake_state()["raw"]
        a.button("New addresses", self.intake_dialog()).click()
        a.wait(lambda: len(self.dialogs()) == 2, "the confirmation")
        confirm = self.dialogs()[-1]
        title = a.text_of(".dialog__title", confirm)
        a.button("Make new addresses", confirm).click()
        a.wait(lambda: len(self.dialogs()) == 1 and (self.intake_state() or {}).get("raw") not in (None, old), "the new address")
        now = self.intake().json
        shown = self.intake_state()["raw"]
        bounce = b"From: someone@example.net\r\nSubject: Hello\r\n\r\nNot a bounce.\r\n"
        to_old = self.client.request("POST", f"/hooks/deliverability/{intake_id}/raw", body=bounce, origin=None, headers={"Content-Type": "message/rfc822"})
        to_new = self.client.request("POST", f"/hooks/deliverability/{now.get('intakeId', '')}/raw", body=bounce, origin=None, headers={"Content-Type": "message/rfc822"})
        self.check("6. New addresses, confirmed, shows another address (GET …/intake's new raw path)",
                   title == "Make new intake addresses?" and now.get("intakeId") not in (None, intake_id) and shown == base + (now.get("providers") or {}).get("raw", {}).get("path", "?"),
                   {"title": title, "shown": shown, "api": now.get("providers", {}).get("raw")})
        self.check("6. the old address answers 404 (the new one takes messages: 422 not_a_bounce for this one)",
                   to_old.status == 404 and to_new.status == 422 and to_new.code == "not_a_bounce", (to_old.status, to_old.text[:160], to_new.status, to_new.text[:160]))
        focus = self.focus_in_intake_dialog()
        self.check("6. after New addresses the focus is back on its button", focus == "button: New addresses", focus or a.active())
        a.keys(Keys.ESCAPE)
        a.wait(lambda: not self.dialogs(), "the dialog to close")
        self.check("6. Esc closes it and gives the focus back to Bounces",
                   a.driver.execute_script("return document.activeElement.getAttribute('aria-label')") == f"Bounces and complaints of {name}", a.active())

    # ---- 7. Delivery reports ---------------------------------------------------------------------

    def edit_dialog(self, name: str):
        a = self.a
        row = a.driver.find_element(By.XPATH, f"//li[.//*[normalize-space(.)='{name}']]")
        row.find_element(By.XPATH, ".//button[contains(@aria-label, 'Edit') or normalize-space(.)='Edit']").click()
        return a.wait(a.dialog, "the edit dialog")

    def step_delivery_reports(self) -> None:
        a = self.a
        a.at("delivery reports")
        name = self.credential.get("name", "Team Gmail")
        a.get("/settings/credentials")
        a.wait(lambda: a.heading() == "Credentials", "the Credentials page")
        a.wait_credentials_listed()
        dialog = self.open_dialog_with_plus(a)
        self.open_advanced(dialog)
        box = a.field("Ask for delivery reports", dialog)
        fresh = {"id": box.get_attribute("id"), "checked": box.is_selected(), "shown": box.is_displayed()}
        a.keys(Keys.ESCAPE)
        a.wait(lambda: a.dialog() is None, "the dialog to close")
        stored = self.api("GET", f"/api/v1/credentials/{self.credential.get('id', '')}").json
        self.check("7. “Ask for delivery reports” (Advanced) is checked for a new credential; the one saved in 1 has deliveryNotifications: true",
                   fresh == {"id": "cd-dsn", "checked": True, "shown": True} and stored.get("deliveryNotifications") is True,
                   {"new": fresh, "stored": stored.get("deliveryNotifications")})

        dialog = self.edit_dialog(name)
        self.open_advanced(dialog)
        before = a.field("Ask for delivery reports", dialog).is_selected()
        a.choose("Ask for delivery reports", dialog)
        a.button("Save credential", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close after saving")
        stored = self.api("GET", f"/api/v1/credentials/{self.credential.get('id', '')}").json
        self.check("7. unchecked in Edit and saved: the API has deliveryNotifications: false (the password kept)",
                   before is True and stored.get("deliveryNotifications") is False and stored.get("hasPassword") is True,
                   {"before": before, "stored": stored.get("deliveryNotifications")})

        a.wait_credentials_listed()
        dialog = self.edit_dialog(name)
        opened = a.wait(lambda: dialog.find_element(By.CSS_SELECTOR, "[data-advanced]").get_attribute("open") is not None, "Advanced open")
        box = a.field("Ask for delivery reports", dialog)
        self.check("7. Edit again: Advanced is open by itself and the box is unchecked",
                   opened and box.is_displayed() and not box.is_selected(), {"checked": box.is_selected()})
        a.keys(Keys.ESCAPE)
        a.wait(lambda: a.dialog() is None, "the dialog to close")

    # ---- 8. An email.bounced trigger -----------------------------------------------------------

    def step_bounced_trigger(self) -> None:
        a = self.a
        a.at("email.bounced trigger")
        a.get("/flows")
        a.wait(lambda: a.heading() == "Flows" and a.driver.find_elements(By.XPATH, "//main//button[normalize-space(.)='New flow']"), "the Flows page")
        a.driver.find_element(By.XPATH, "//main//button[normalize-space(.)='New flow']").click()
        a.wait(lambda: a.path().startswith("/flows/fl") and a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card"), "the new flow's canvas")
        flow_id = urllib.parse.unquote(a.path().split("/")[2])
        a.driver.find_element(By.CSS_SELECTOR, "[data-card='trigger']").click()
        a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.ID, "studio-panel-title").text) == "Trigger", "the trigger panel")
        panel = a.driver.find_element(By.CSS_SELECTOR, ".studio__panel")
        a.choose("Email bounced", panel)
        fields = a.wait(lambda: a.texts(".studio__panel .event-fields dt"), "what the run gets")
        callout = a.text_of(".studio__panel .trigger-form__section .callout")
        card = a.text_of("[data-card='trigger'] .node-card__label")
        self.check("8. “Email bounced” in the trigger panel: a callout, and what the run gets ({{trigger.body.recipient}}, reason, code …); the card names it",
                   {"{{trigger.body.recipient}}", "{{trigger.body.reason}}", "{{trigger.body.code}}", "{{trigger.body.subject}}"} <= set(fields)
                   and "bounces" in callout and card == "Email bounced", {"fields": fields, "callout": callout[:120], "card": card})
        a.button("Save (unsaved changes)").click()
        a.wait(lambda: "Unsaved changes" not in a.text_of(".studio__status"), "the save")
        stored = self.api("GET", f"/api/v1/flows/{flow_id}").json
        self.check("8. saved: GET /api/v1/flows/{id} has trigger.type email.bounced",
                   (stored.get("trigger") or {}).get("type") == "email.bounced" and "Saved" in a.text_of(".studio__status"),
                   {"trigger": stored.get("trigger"), "status": a.text_of(".studio__status")})
        if self.screenshots:
            a.driver.execute_script("document.activeElement.blur(); document.querySelector('.studio__panel input:checked').closest('.radio').scrollIntoView({block: 'start'})")
            self.shots(a, "trigger-email-bounced", [("light", "desktop"), ("dark", "desktop")])
        a.get("/flows")
        row = a.wait(lambda: a.texts(f"tr[data-flow='{flow_id}'] td[data-label='Trigger']"), "the flow in the list")
        self.check("8. the Flows list says “Email bounced” for it", row == ["Email bounced"], row)

    # ---- 10. Console ---------------------------------------------------------------------------------

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
        self.check("10. no CSP violation in the console", not csp, csp)
        self.check("10. no error in the console (besides the sign-in page's signed-out check)", not errors, errors)

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
                ("6. bounces and complaints", self.step_intake),
                ("7. delivery reports", self.step_delivery_reports),
                ("8. an email.bounced trigger", self.step_bounced_trigger),
                ("10. console", self.step_console),
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
    parser.add_argument("--screenshots", action="store_true", help="also write docs/screenshots/dialog-limits-*, run-waiting-*, suppressions-*, run-bounced-*, intake-dialog-* and trigger-email-bounced-*")
    args = parser.parse_args()
    found = wb.browser_or_fail()
    if found is None:
        return 1
    chromium, chromedriver = found
    with tempfile.TemporaryDirectory(prefix="posthorn-limits-") as tmp:
        return LimitsCheck(args.posthorn, Path(tmp), chromium, chromedriver, args.screenshots).run()


if __name__ == "__main__":
    sys.exit(main())
