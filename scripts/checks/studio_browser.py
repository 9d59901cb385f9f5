#!/usr/bin/env python3
"""Flow Studio (the spec's Steps 2 and 3) in a real browser: headless Chromium (Debian's
`chromium` and `chromium-driver`, driven by selenium) against a real `posthorn serve` and a real
aiosmtpd SMTP fixture (STARTTLS + AUTH, a test CA made with openssl at run time).

Usage:
    python3 scripts/checks/studio_browser.py PATH_TO_POSTHORN [--screenshots]

Follows the issue's "Must show" literally, one `ok NAME` / `FAIL NAME: detail` line per claim:

1. New flow → Ctrl+K → `smtp` → Enter: Send SMTP Email is on the canvas and in the right panel;
   Credential → "+ Add new credential" opens "Connect your email"; filled for the fixture
   (loopback, STARTTLS, its CA in ADVANCED), Save credential selects it in the dropdown; To
   `{{trigger.body.email}}`, a templated subject, an HTML body (Body format html) and a custom
   header; Rename; Save; Run with a test body: the run shows Succeeded with the Message-ID, and the bytes
   the fixture received have that Message-ID, the To, the rendered Subject, the custom header and
   the HTML part.
2. The same flow as a webhook: the curl example from the trigger panel (taken with its copy
   button from the clipboard) really runs with subprocess, and the run appears in the run list
   live — no reload, no refetch of the list: the server-sent event brought it. Eight full loads of
   the studio in a row all load (the pages left in the back/forward cache hold no event stream,
   which would use up the browser's six connections to the server), and a page restored by Back
   is live again.
3. A CRLF in a variable (the test body's "\\r\\n" into Subject) fails the run with "Header value
   contains forbidden characters", and nothing reaches the fixture.
4. A reserved custom header name (Bcc) is flagged at its field as it is typed, and at save (the
   server's problem, at that field); removing it leaves the flow as saved.
5. A draft with a missing To saves while disabled, with the problem at the To field; Enabled is
   refused (the switch stays off, the problem at the field) — and all of it, with the palette, the
   form and Run, by keyboard alone (no click after the page is open).
6. A stale second tab: save in one, then save in the other: "changed elsewhere — reload".
7. No CSP violation and no console error anywhere (the only failed loads expected: the 401 of the
   sign-in page's session check, the 422s of saves refused for problems, the 409 of the stale tab).
8. With --screenshots: the flows list, the canvas with the palette open, the right panel with the
   Send SMTP Email form and a finished run, in light and dark, 1280x800 and 390x844, into
   docs/screenshots/ under the names already there.

Shares the server, fixture and browser helpers of webapp_browser.py. A missing chromium,
chromedriver or selenium is a failure, never a skip. Every server this starts listens on
127.0.0.1 only. Prints `N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webapp_browser as wb  # noqa: E402  (server, fixture, browser, ok/FAIL lines)
from webapp_browser import LOOPBACK, REPO, SCREENSHOTS, xpath_literal  # noqa: E402

if wb.webdriver is not None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

OWNER = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "studio-owner-passphrase-0123"}
CREDENTIAL = "Loopback fixture"
FLOW_NAME = "Welcome email"
SECOND_TAB_SUBJECT = "Welcome to Posthorn, {{trigger.body.name}}!"
RECIPIENT = "grace@example.net"
SUBJECT = "Welcome aboard, {{trigger.body.name}}!"
TEXT_BODY = "Hello {{trigger.body.name}}, welcome."
HTML_BODY = "<p>Hello <b>{{trigger.body.name}}</b>, welcome.</p>"
HEADER = ("X-Campaign", "spring-{{trigger.body.name}}")


class StudioBrowser(wb.Browser):
    """webapp_browser's Browser, with what the studio's pages need."""

    # ---- Finding things in the studio ---------------------------------------------------------

    def param(self, label: str, scope=None):
        """A node form's control by its visible label ("To", "Subject"; a required one shows " *")."""
        scope = scope or self.driver
        lab = scope.find_element(By.XPATH, f".//label[.//*[@data-label-text][normalize-space(.)={xpath_literal(label)}]]")
        return self.driver.find_element(By.ID, lab.get_attribute("for"))

    def panel(self):
        return self.driver.find_element(By.CSS_SELECTOR, ".studio__panel")

    def panel_title(self) -> str:
        return self.quietly(lambda: self.driver.find_element(By.ID, "studio-panel-title").text) or ""

    def field_error(self, control) -> str:
        """The message put at a control's field (form.js: `#<id>-error`)."""
        found = self.driver.find_elements(By.ID, f"{control.get_attribute('id')}-error")
        return found[0].text.strip() if found else ""

    def status_line(self) -> str:
        return self.text_of(".studio__status")

    def alert_text(self) -> str:
        return self.text_of(".studio__alert")

    def run_rows(self) -> list[dict]:
        return self.driver.execute_script(
            "return [...document.querySelectorAll('.studio__runs .run-row[data-run]')].map((r) => ({id: r.dataset.run, text: r.innerText}))")

    def run_status(self) -> str:
        return self.text_of(".studio__panel .run__status")

    def press(self, *keys: str) -> None:
        """A chord: modifiers held while the last key is pressed (Ctrl+K, Ctrl+Enter)."""
        chain = ActionChains(self.driver)
        for key in keys[:-1]:
            chain.key_down(key)
        chain.send_keys(keys[-1])
        for key in reversed(keys[:-1]):
            chain.key_up(key)
        chain.perform()

    def type_text(self, text: str) -> None:
        """Types into the focused control (selenium's send_keys turns "\\n" into Enter)."""
        ActionChains(self.driver).send_keys(text).perform()


class StudioCheck(wb.WebAppCheck):
    # Failed loads the console may show, by step: the signed-out session check of the sign-in page
    # (401), saves refused for problems (422), the stale tab's save (409).
    EXPECTED_FAILED_LOADS = {"sign in": {("/api/v1/session", 401)}, "reserved header": {("/api/v1/flows/", 422)},
                             "keyboard: enable refused": {("/api/v1/flows/", 422)}, "stale tab": {("/api/v1/flows/", 409)}}

    def browser(self, label: str) -> StudioBrowser:
        browser = StudioBrowser(label, self.server.base, self.chromium, self.chromedriver)
        self.browsers.append(browser)
        return browser

    # ---- API, for what the page stored ------------------------------------------------------

    def api(self, method: str, path: str, body: object = None) -> wb.Answer:
        return self.client.request(method, path, body=body, session=self.session)

    def flow(self, flow_id: str) -> dict:
        return self.api("GET", f"/api/v1/flows/{flow_id}").json

    def flow_id_of(self, browser: StudioBrowser) -> str:
        match = re.match(r"^/flows/([^/]+)", browser.path())
        return urllib.parse.unquote(match.group(1)) if match else ""

    # ---- Set-up: an account and a signed-in browser ------------------------------------------

    def sign_in(self) -> None:
        link = self.server.banner_line(r"Set up the first account \(one-time link\): (\S+)")
        token = urllib.parse.unquote(urllib.parse.urlsplit(link.group(1)).fragment) if link else ""
        answer = self.client.request("POST", "/api/v1/setup", body={"token": token, **{k: OWNER[k] for k in ("email", "name", "password")}})
        self.session = next((m.group(1) for c in answer.headers_named("Set-Cookie") if (m := re.match(r"posthorn_session=([^;]+)", c))), "")
        self.check("the set-up API creates the first account (a session cookie)", answer.status == 201 and self.session, f"{answer.status} {answer.text[:200]}")
        a = self.a
        a.at("sign in")
        a.get("/signin")
        a.wait(lambda: a.heading(), "the sign-in page")
        a.driver.add_cookie({"name": "posthorn_session", "value": self.session, "path": "/", "httpOnly": True, "sameSite": "Strict"})

    # ---- 1. New flow → palette → Send SMTP Email → credential → fields → Save → Run -----------

    def step_new_flow(self) -> None:
        a = self.a
        a.at("new flow")
        a.get("/flows")
        a.wait(lambda: a.heading() == "Flows" and a.driver.find_elements(By.XPATH, "//*[contains(@class,'empty') or self::table]"), "the Flows page")
        a.driver.find_element(By.XPATH, "//main//button[normalize-space(.)='New flow']").click()
        a.wait(lambda: a.path().startswith("/flows/fl") and a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card"), "the new flow's canvas")
        self.flow_a = self.flow_id_of(a)
        created = self.flow(self.flow_a)
        self.check("1. New flow opens Flow Studio on a new disabled draft (manual trigger, no steps)",
                   created.get("enabled") is False and created.get("steps") == [] and a.heading() == created.get("name"),
                   {"heading": a.heading(), "flow": created})

        a.at("palette")
        a.press(Keys.CONTROL, "k")
        a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.CSS_SELECTOR, "dialog[open].palette")), "the palette (Ctrl+K)")
        search = a.driver.switch_to.active_element
        a.type_text("smtp")
        first = a.wait(lambda: a.texts("dialog[open] .palette__option[aria-selected='true'] .palette__label"), "the palette's options")
        self.check("1. Ctrl+K opens Browse nodes with the focus in its search box; `smtp` highlights Send SMTP Email",
                   search.get_attribute("role") == "combobox" and first == ["Send SMTP Email"], {"active": search.get_attribute("aria-label"), "first": first})
        a.keys(Keys.ENTER)
        a.wait(lambda: not a.driver.find_elements(By.CSS_SELECTOR, "dialog[open]"), "the palette to close")
        cards = a.texts(".canvas .node-card:not(.node-card--trigger) .node-card__label")
        form = a.quietly(lambda: a.panel().find_element(By.CSS_SELECTOR, "form.node-form"))
        self.check("1. Enter drops Send SMTP Email onto the canvas and opens it in the right panel",
                   cards == ["Send SMTP Email"] and a.panel_title() == "Send SMTP Email" and form is not None,
                   {"cards": cards, "panel": a.panel_title()})

        a.at("add credential")
        panel = a.panel()
        credential = a.param("Credential", panel)
        options = [o.text for o in Select(credential).options]
        Select(credential).select_by_visible_text("+ Add new credential")
        connect = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.CSS_SELECTOR, "dialog[open] .dialog__title").text and
                                                    a.driver.find_element(By.CSS_SELECTOR, "dialog[open] .dialog__title")), "Connect your email")
        self.check("1. Credential → \"+ Add new credential\" opens the Connect your email dialog inline",
                   connect.text == "Connect your email" and "+ Add new credential" in options, {"title": connect.text, "options": options})
        dialog = a.dialog()
        a.fill(a.field("Name to identify this connection", dialog), CREDENTIAL)
        a.fill(a.field("Server address", dialog), LOOPBACK)
        a.fill(a.field("Port", dialog), str(self.smtp.port))
        a.choose("Require encrypted connection (port 587)", dialog)
        a.fill(a.field("Username", dialog), wb.SMTP_USER)
        a.fill(a.field("Password", dialog), wb.SMTP_PASSWORD)
        dialog.find_element(By.XPATH, ".//summary[normalize-space(.)='Advanced']").click()
        ca = a.field("Custom CA certificate", dialog)
        a.wait(ca.is_displayed, "the CA field")
        a.fill(ca, self.ca_pem)
        a.button("Save credential", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close")
        credential = a.param("Credential", a.panel())
        chosen = Select(credential).first_selected_option.text
        stored = next((c for c in self.api("GET", "/api/v1/credentials").json.get("credentials", []) if c.get("name") == CREDENTIAL), {})
        self.credential_id = stored.get("id", "")
        self.check("1. Save credential closes the dialog; the new credential is selected in the Credential dropdown",
                   chosen == CREDENTIAL and credential.get_attribute("value") == self.credential_id and self.credential_id
                   and stored.get("port") == self.smtp.port and "BEGIN CERTIFICATE" in (stored.get("caCertificate") or ""),
                   {"selected": chosen, "value": credential.get_attribute("value"), "stored": stored})
        self.check("1. the focus is back on the Credential dropdown after the dialog",
                   a.driver.switch_to.active_element == credential, a.active())

        a.at("fill the form")
        panel = a.panel()
        a.fill(a.param("To", panel), "{{trigger.body.email}}")
        a.fill(a.param("Subject", panel), SUBJECT)
        Select(a.param("Body format", panel)).select_by_visible_text("html")
        html = a.wait(lambda: a.param("HTML body", panel) if a.param("HTML body", panel).is_displayed() else None, "HTML body to show")
        body_label = a.text_of("[data-param='body'] .field__label")
        self.check("1. Body format html shows HTML body, and Body becomes the plain-text alternative",
                   html.is_displayed() and body_label.startswith("Body (plain-text alternative)"), body_label)
        a.fill(a.param("Body (plain-text alternative)", panel), TEXT_BODY)
        a.fill(html, HTML_BODY)
        a.button("Add custom header", panel).click()
        a.fill(a.driver.switch_to.active_element, HEADER[0])
        a.fill(a.param("Custom header 1 value", panel), HEADER[1])

        a.at("rename")
        a.button("Rename flow").click()
        rename = a.wait(a.dialog, "the Rename flow dialog")
        a.fill(a.field("Flow name", rename), FLOW_NAME)
        a.keys(Keys.ENTER)
        a.wait(lambda: a.dialog() is None and a.heading() == FLOW_NAME, "the new name in the title")

        a.at("save")
        a.button("Save (unsaved changes)").click()
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the save")
        saved = self.flow(self.flow_a)
        steps = saved.get("steps") or [{}]
        p = steps[0].get("parameters", {})
        want = {"credential": self.credential_id, "to": "{{trigger.body.email}}", "subject": SUBJECT, "bodyFormat": "html",
                "body": TEXT_BODY, "htmlBody": HTML_BODY, "headers": [{"name": HEADER[0], "value": HEADER[1]}]}
        self.check("1. Save stores the new name and the step as typed (credential, To, Subject, Body format, bodies, custom header); no problems",
                   saved.get("name") == FLOW_NAME and steps[0].get("type") == "smtp.send" and all(p.get(k) == v for k, v in want.items()) and not saved.get("problems")
                   and "Saved" in a.status_line(), {"stored": p, "problems": saved.get("problems"), "status": a.status_line()})

        a.at("run")
        self.set_test_body(a, {"email": RECIPIENT, "name": "Grace"})
        before = len(self.recorder.deliveries)
        self.run_and_wait(a, lambda: a.button("Run").click())
        status = a.run_status()
        shown_id = a.text_of(".studio__panel .email-summary .copyable__value")
        run_id = urllib.parse.unquote(a.path().rsplit("/", 1)[-1])
        self.check("1. Run opens the run in the panel; it shows Succeeded with the Message-ID",
                   status == "Succeeded" and re.fullmatch(r"<[^<>@\s]+@[^<>\s]+>", shown_id or "") is not None
                   and a.path().startswith(f"/flows/{self.flow_a}/runs/"),
                   {"status": status, "message id": shown_id, "path": a.path(), "panel": a.text_of(".studio__panel")[:600]})
        self.run_a = run_id
        a.wait(lambda: len(self.recorder.deliveries) > before, "the fixture to hold the message", timeout=10)
        delivery = self.recorder.deliveries[before]
        message = email.message_from_bytes(delivery.raw, policy=email.policy.default)
        html_part = message.get_body(("html",))
        text_part = message.get_body(("plain",))
        got = {"Message-ID": message["Message-ID"], "To": message["To"], "Subject": message["Subject"], HEADER[0]: message[HEADER[0]],
               "rcpt": delivery.rcpt_tos, "tls": delivery.tls_version,
               "html": html_part.get_content().strip() if html_part else None, "text": text_part.get_content().strip() if text_part else None}
        self.check("1. the fixture received that message (STARTTLS): the Message-ID shown, To, the rendered Subject, the custom "
                   "header, the HTML part and its plain-text alternative",
                   got["Message-ID"] == shown_id and got["To"] == RECIPIENT and got["rcpt"] == [RECIPIENT]
                   and got["Subject"] == "Welcome aboard, Grace!" and got[HEADER[0]] == "spring-Grace"
                   and got["html"] == "<p>Hello <b>Grace</b>, welcome.</p>" and got["text"] == "Hello Grace, welcome."
                   and (got["tls"] or "").startswith("TLSv1."), got)

    def run_and_wait(self, a: StudioBrowser, start: Callable[[], None]) -> str:
        """Starts a run (Run, Ctrl+Enter) and waits for the panel to show that new run finished."""
        before = a.path()
        start()
        a.wait(lambda: re.search(r"/runs/run_\w+$", a.path()) and a.path() != before, "the new run in the panel", timeout=10)
        a.wait(lambda: a.run_status() in ("Succeeded", "Failed", "Ambiguous", "Cancelled"), "the run to finish", timeout=40)
        return urllib.parse.unquote(a.path().rsplit("/", 1)[-1])

    def set_test_body(self, browser: StudioBrowser, body: dict) -> None:
        area = browser.field("Test body (JSON)")
        browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", area)
        browser.fill(area, json.dumps(body, indent=2))

    # ---- 2. A webhook flow, run by curl, shows up live ----------------------------------------

    def step_webhook(self) -> None:
        a = self.a
        a.at("webhook trigger")
        a.driver.find_element(By.CSS_SELECTOR, "[data-card='trigger']").click()
        a.wait(lambda: a.panel_title() == "Trigger", "the trigger panel")
        a.choose("Webhook", a.panel())
        a.button("Save (unsaved changes)").click()
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the save")
        switch = a.driver.find_element(By.CSS_SELECTOR, "button[role='switch'][aria-label='Enabled']")
        switch.click()
        a.wait(lambda: switch.get_attribute("aria-checked") == "true" and not switch.get_attribute("aria-busy"), "Enabled")
        saved = self.flow(self.flow_a)
        self.check("1./2. the flow is saved as a webhook flow and Enabled (switch on, enabled on the server)",
                   saved.get("enabled") is True and (saved.get("trigger") or {}).get("type") == "webhook", saved.get("trigger"))

        a.at("copy curl")
        code = a.wait(lambda: a.quietly(lambda: a.panel().find_element(By.CSS_SELECTOR, "pre.code-block")), "the curl example")
        shown = code.text
        a.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": self.server.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        a.button("Copy curl example", a.panel()).click()
        copied = a.driver.execute_async_script("const done = arguments[0]; navigator.clipboard.readText().then(done, (e) => done('ERROR ' + e))")
        url = (saved.get("trigger") or {}).get("url", "")
        self.check("2. the trigger panel shows a curl example for the webhook's address; Copy puts exactly it on the clipboard",
                   copied == shown and f"{self.server.base}{url}" in shown and url.startswith("/hooks/"), {"shown": shown, "copied": copied})

        a.at("curl")
        a.driver.execute_script("window.__noReload = 'still here'")
        rows_before = {r["id"] for r in a.run_rows()}
        a.harvest()
        mark = len(a.requests)
        self.curl_command = copied
        ran = subprocess.run(["sh", "-c", copied], capture_output=True, text=True, timeout=30)
        answer = ran.stdout.strip()
        run_id = (json.loads(answer) if answer.startswith("{") else {}).get("runId", "")
        self.check("2. the copied curl command runs (sh -c) and the webhook answers with a run id",
                   ran.returncode == 0 and run_id.startswith("run_"), {"exit": ran.returncode, "stdout": answer, "stderr": ran.stderr[-300:]})
        try:
            a.wait(lambda: any(r["id"] == run_id and "Succeeded" in r["text"] for r in a.run_rows()), "the webhook's run in the list", timeout=20)
        except Exception:  # noqa: BLE001 - reported below
            pass
        row = next((r for r in a.run_rows() if r["id"] == run_id), None)
        a.harvest()
        refetched = [r["url"] for r in list(a.requests.values())[mark:] if "/api/v1/runs" in r.get("url", "") and r.get("method") == "GET"
                     and not re.search(r"/api/v1/runs/run_", r["url"])]
        kept = a.driver.execute_script("return window.__noReload")
        self.check("2. the run appears in the run list live (Webhook, then Succeeded) without a reload or a refetch of the list",
                   row is not None and "Webhook" in row["text"] and "Succeeded" in row["text"] and run_id not in rows_before
                   and kept == "still here" and not refetched,
                   {"row": row, "page kept": kept, "list refetched": refetched})

    def step_back_forward(self) -> None:
        """Full page loads (reload, the address bar, Back): each studio page left behind stays in the
        back/forward cache; its event stream must not keep one of the browser's six connections to
        the server, and a page restored from the cache must be live again."""
        a = self.a
        a.at("back/forward cache")
        took = []
        for _ in range(4):
            for path in (f"/flows/{self.flow_a}", f"/flows/{self.flow_a}/runs/{self.run_a}"):
                started = time.monotonic()
                a.driver.get(self.server.base + path)
                a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger)"), f"{path} to load", timeout=10)
                took.append(round(time.monotonic() - started, 1))
        self.check(f"2. eight full loads of the studio in a row all load (no connection held by the pages left behind): {took} s",
                   len(took) == 8 and max(took) < 5, took)
        a.driver.execute_script("window.__noReload = 'restored'")
        a.driver.get(self.server.base + "/runs")
        a.wait(lambda: a.heading() == "Runs", "the Runs page")
        a.driver.back()
        a.wait(lambda: a.driver.execute_script("return window.__noReload") == "restored", "the studio from the back/forward cache", timeout=10)
        ran = subprocess.run(["sh", "-c", self.curl_command], capture_output=True, text=True, timeout=30)
        run_id = (json.loads(ran.stdout) if ran.stdout.strip().startswith("{") else {}).get("runId", "")
        try:
            a.wait(lambda: any(r["id"] == run_id and "Succeeded" in r["text"] for r in a.run_rows()), "the run in the restored page", timeout=20)
        except Exception:  # noqa: BLE001 - reported below
            pass
        self.check("2. a studio page restored by Back (back/forward cache) is live again: a webhook run appears in its list",
                   run_id and any(r["id"] == run_id and "Succeeded" in r["text"] for r in a.run_rows()), {"run": run_id, "rows": a.run_rows()[:3]})

    # ---- 3. CRLF in a variable ----------------------------------------------------------------

    def step_crlf(self) -> None:
        a = self.a
        a.at("crlf")
        before = len(self.recorder.deliveries)
        self.set_test_body(a, {"email": RECIPIENT, "name": "Grace\r\nBcc: mallory@example.net"})
        shown = a.field("Test body (JSON)").get_attribute("value")
        self.run_and_wait(a, lambda: a.button("Run").click())
        panel = a.text_of(".studio__panel .run")
        self.check("3. a CRLF in a variable (the test body's \"\\r\\n\" into Subject) fails the run with \"Header value contains forbidden characters\" "
                   "and the spec's fix (\"Strip newlines from the input variable…\")",
                   "\\r\\n" in shown and a.run_status() == "Failed" and "Header value contains forbidden characters" in panel
                   and "Strip newlines from the input variable before passing it to the node." in panel,
                   {"status": a.run_status(), "panel": panel[:800]})
        time.sleep(0.3)
        self.check("3. nothing reached the fixture", len(self.recorder.deliveries) == before, len(self.recorder.deliveries) - before)
        # The test body is the flow's sample body, saved with it (Run saved the CRLF one): save the good one back.
        self.set_test_body(a, {"email": RECIPIENT, "name": "Grace"})
        a.press(Keys.CONTROL, "s")
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the sample body's save")

    # ---- 4. A reserved custom header ------------------------------------------------------------

    def step_reserved_header(self) -> None:
        a = self.a
        a.at("reserved header")
        a.driver.find_element(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger) .node-card__main").click()
        a.wait(lambda: a.panel_title() == "Send SMTP Email", "the step's panel")
        panel = a.panel()
        a.button("Add custom header", panel).click()
        name = a.param("Custom header 2 name", panel)
        a.fill(name, "Bcc")
        a.fill(a.param("Custom header 2 value", panel), "mallory@example.net")
        early = a.field_error(name)
        a.button("Save (unsaved changes)").click()
        a.wait(lambda: a.field_error(a.param("Custom header 2 name", a.panel())) or a.alert_text() or "Unsaved changes" not in a.status_line(), "the save")
        name = a.param("Custom header 2 name", a.panel())
        message = a.field_error(name)
        stored = self.flow(self.flow_a)
        headers = ((stored.get("steps") or [{}])[0].get("parameters") or {}).get("headers")
        self.check("4. a reserved custom header (Bcc) is flagged at its field as it is typed (\"Reserved header is not allowed\")",
                   early.startswith("Reserved header is not allowed"), early)
        self.check("4. at save the enabled flow refuses it: the server's problem is shown at that field, nothing is stored",
                   message.startswith("Reserved header is not allowed") and name.get_attribute("aria-invalid") == "true"
                   and headers == [{"name": HEADER[0], "value": HEADER[1]}] and a.driver.switch_to.active_element == name,
                   {"at the field": message, "alert": a.alert_text(), "stored": headers, "focus": a.active()})
        a.button("Remove custom header 2", a.panel()).click()
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the draft to equal the saved flow again")
        self.check("4. removing it leaves the flow as saved (enabled, no problems) and the problems alert goes",
                   not self.flow(self.flow_a).get("problems") and "Enabled" in a.status_line() and not a.alert_text(),
                   {"status": a.status_line(), "alert": a.alert_text()})

    # ---- 6. The stale second tab ----------------------------------------------------------------

    def step_stale_tab(self) -> None:
        a = self.a
        a.at("stale tab")
        first = a.driver.current_window_handle
        a.driver.switch_to.new_window("tab")
        second = a.driver.current_window_handle
        a.get(f"/flows/{self.flow_a}")
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger)"), "the flow in the second tab")
        a.driver.find_element(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger) .node-card__main").click()
        a.fill(a.param("Subject", a.wait(a.panel, "the panel")), SECOND_TAB_SUBJECT)
        a.button("Save (unsaved changes)").click()
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the second tab's save")
        a.driver.switch_to.window(first)
        a.driver.find_element(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger) .node-card__main").click()
        a.fill(a.param("Subject", a.panel()), "Hi {{trigger.body.name}}, from the first tab")
        a.button("Save (unsaved changes)").click()
        a.wait(lambda: a.alert_text(), "the conflict message")
        alert = a.alert_text()
        subject = ((self.flow(self.flow_a).get("steps") or [{}])[0].get("parameters") or {}).get("subject")
        self.check("6. a stale second tab: save in one, then in the other → \"changed elsewhere — reload\"; the first save is kept",
                   "changed elsewhere — reload" in alert and subject == SECOND_TAB_SUBJECT, {"alert": alert, "stored subject": subject})
        a.button("Reload").click()
        a.wait(lambda: not a.alert_text(), "the reload")
        a.driver.find_element(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger) .node-card__main").click()
        now = a.param("Subject", a.panel()).get_attribute("value")
        self.check("6. Reload shows the other tab's version", now == SECOND_TAB_SUBJECT, now)
        a.driver.switch_to.window(second)
        a.driver.close()
        a.driver.switch_to.window(first)

    # ---- 5. Draft with a missing To, by keyboard alone --------------------------------------------

    def tab_until(self, b: StudioBrowser, want: Callable[[dict], bool], what: str, limit: int = 60, backwards: bool = False) -> dict:
        for _ in range(limit):
            if backwards:
                b.shift_tab()
            else:
                b.keys(Keys.TAB)
            now = b.active()
            if want(now):
                return now
        raise AssertionError(f"Tab never reached {what} (last: {b.active()})")

    def step_keyboard(self) -> None:
        a = self.a
        a.at("keyboard: new flow")
        a.get("/flows")  # the page is opened; from here on, keys only
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, "main table"), "the flows table")
        stops = [self.tab_until(a, lambda e: e["name"] == "New flow" and e["tag"] == "button", "New flow")]
        flows_before = a.path()
        a.keys(Keys.ENTER)
        a.wait(lambda: a.path() != flows_before and a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card"), "the new flow")
        self.flow_b = self.flow_id_of(a)

        a.at("keyboard: palette")
        a.press(Keys.CONTROL, "k")
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, "dialog[open].palette"), "the palette")
        a.type_text("mail")
        a.wait(lambda: a.texts("dialog[open] .palette__option[aria-selected='true'] .palette__label") == ["Send SMTP Email"], "Send SMTP Email highlighted")
        a.keys(Keys.ENTER)
        a.wait(lambda: a.panel_title() == "Send SMTP Email", "the step's panel")
        focus = a.active()
        stops.append(focus)
        self.check("5. keyboard: Tab to New flow, Enter; Ctrl+K, `mail`, Enter adds Send SMTP Email with the focus on its first field",
                   focus["tag"] == "select" and focus["name"].startswith("Credential"), focus)

        a.at("keyboard: credential")
        a.keys(Keys.ARROW_DOWN)  # the first credential, on the closed select
        picked = a.driver.execute_script("return document.activeElement.selectedOptions[0]?.textContent")
        self.check("5. keyboard: ↓ on the Credential dropdown picks the credential", picked == CREDENTIAL, picked)

        a.at("keyboard: draft without To")
        a.press(Keys.CONTROL, "s")
        a.wait(lambda: "Unsaved changes" not in a.status_line() or a.alert_text(), "the draft's save")
        stored = self.flow(self.flow_b)
        problems = {p.get("field"): p.get("message") for p in stored.get("problems") or []}
        a.wait(lambda: a.field_error(a.param("To", a.panel())), "the problem at the To field", timeout=5)
        at_to = a.field_error(a.param("To", a.panel()))
        self.check("5. Ctrl+S saves the draft with a missing To while disabled; the problem is shown at the To field",
                   stored.get("enabled") is False and len(stored.get("steps") or []) == 1 and "steps[0].parameters.to" in problems
                   and at_to == problems.get("steps[0].parameters.to") and "Draft" in a.status_line(),
                   {"problems": problems, "at To": at_to, "status": a.status_line()})

        a.at("keyboard: enable refused")
        stops.append(self.tab_until(a, lambda e: e["name"] == "Enabled", "the Enabled switch", backwards=True, limit=80))
        a.keys(Keys.SPACE)
        switch = a.driver.find_element(By.CSS_SELECTOR, "button[role='switch'][aria-label='Enabled']")
        a.wait(lambda: not switch.get_attribute("aria-busy") and (a.alert_text() or a.field_error(a.param("To", a.panel()))), "the refusal")
        time.sleep(0.2)
        at_to = a.field_error(a.param("To", a.panel()))
        self.check("5. Enabled is refused: the switch stays off, the flow stays a draft, the problem is at the To field",
                   switch.get_attribute("aria-checked") == "false" and self.flow(self.flow_b).get("enabled") is False and "To" in at_to,
                   {"switch": switch.get_attribute("aria-checked"), "at To": at_to, "alert": a.alert_text(), "focus": a.active()})

        a.at("keyboard: fill To, save, enable, run")
        if not a.active()["name"].startswith("To"):
            self.tab_until(a, lambda e: e["name"].startswith("To"), "the To field")
        stops.append(a.active())
        a.type_text(RECIPIENT)
        a.press(Keys.CONTROL, "s")
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the save")
        self.tab_until(a, lambda e: e["name"] == "Enabled", "the Enabled switch", backwards=True, limit=80)
        a.keys(Keys.SPACE)
        a.wait(lambda: switch.get_attribute("aria-checked") == "true" and not switch.get_attribute("aria-busy"), "Enabled", timeout=10)
        before = len(self.recorder.deliveries)
        self.run_and_wait(a, lambda: a.press(Keys.CONTROL, Keys.ENTER))
        self.check("5. keyboard: To filled, Ctrl+S, Space on Enabled, Ctrl+Enter runs: Succeeded, the message reaches the fixture",
                   self.flow(self.flow_b).get("enabled") is True and a.run_status() == "Succeeded" and len(self.recorder.deliveries) == before + 1,
                   {"status": a.run_status(), "panel": a.text_of(".studio__panel")[:400]})
        hidden = [f"{e['tag']} {e['name'][:40]!r}" for e in stops if not e["visible"]]
        self.check(f"5. keyboard: the focus is visible at every stop ({', '.join(repr(e['name'][:20]) for e in stops)})", not hidden, hidden)

    # ---- 8. Screenshots ---------------------------------------------------------------------------

    def step_screenshots(self) -> None:
        a = self.a
        a.at("screenshots")
        variants = [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")]
        a.get("/flows")
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, "main table tbody tr"), "the flows table")
        self.shots(a, "flows-list", variants)
        for theme, device in variants:
            a.get(f"/flows/{self.flow_a}")
            a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger)"), "the canvas")
            self.prepare(a, theme, device)
            a.press(Keys.CONTROL, "k")
            a.wait(lambda: len(a.driver.find_elements(By.CSS_SELECTOR, "dialog[open].palette .palette__option")) >= 3, "the palette with every node")
            self.shots(a, "studio-palette", [(theme, device)])
            a.keys(Keys.ESCAPE)
            a.wait(lambda: not a.driver.find_elements(By.CSS_SELECTOR, "dialog[open]"), "the palette to close")
            a.driver.find_element(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger) .node-card__main").click()
            a.wait(lambda: a.panel_title() == "Send SMTP Email", "the panel")
            a.driver.execute_script("arguments[0].closest('.field').scrollIntoView({block: 'start'})", a.param("Subject", a.panel()))
            self.shots(a, "studio-panel", [(theme, device)])
            a.get(f"/flows/{self.flow_a}/runs/{self.run_a}")
            a.wait(lambda: a.run_status() == "Succeeded", "the finished run")
            self.prepare(a, theme, device)
            self.shots(a, "studio-run", [(theme, device)])
            a.viewport(1280, 800)

    def prepare(self, a: StudioBrowser, theme: str, device: str) -> None:
        """Lays the page out at the screenshot's size before acting on it (the phone layout differs)."""
        width, height, mobile = (1280, 800, False) if device == "desktop" else (390, 844, True)
        a.viewport(width, height, mobile)
        time.sleep(0.2)

    # ---- 7. Console -------------------------------------------------------------------------------

    def step_console(self) -> None:
        for browser in self.browsers:
            browser.harvest()
        csp, errors, expected = [], [], []
        allowed = self.EXPECTED_FAILED_LOADS
        for browser in self.browsers:
            for step, entry in browser.console:
                message = entry.get("message", "")
                if "Content Security Policy" in message or "Content-Security-Policy" in message:
                    csp.append(f"{browser.label}/{step}: {message}")
                    continue
                if entry.get("level") != "SEVERE":
                    continue
                match = re.match(r"(\S+) - Failed to load resource: the server responded with a status of (\d+)", message)
                if match:
                    path, status = urllib.parse.urlsplit(match.group(1)).path, int(match.group(2))
                    if any(path.startswith(prefix) and status == code for prefix, code in allowed.get(step, set())):
                        expected.append(f"{status} {path} at '{step}'")
                        continue
                errors.append(f"{browser.label}/{step}: {message}")
        self.check("7. no CSP violation in the console", not csp, csp)
        self.check(f"7. no error in the console (besides {len(expected)} expected failed loads: {', '.join(expected) or 'none'})",
                   not errors, errors)

    # ---- Running it all ---------------------------------------------------------------------------

    def run(self) -> int:
        started = time.monotonic()
        pki = wb.fixture.make_pki(self.work)
        self.ca_pem = pki["ca"].read_text()
        self.recorder = wb.Recorder()
        self.smtp = wb.fixture.start(self.recorder, LOOPBACK, tls_context=wb.fixture.server_context(pki["good"], pki["good.key"]),
                                     require_starttls=True, auth_required=True, auth_require_tls=True)
        try:
            self.server = wb.Server(self.binary, self.work)
        except RuntimeError as error:
            self.smtp.stop()
            self.check("posthorn serve starts", False, error)
            print(f"{self.checks.passed} passed, {self.checks.failed} failed")
            return 1
        self.client = wb.Client(self.server.port)
        self.session = ""
        self.flow_a = self.flow_b = self.run_a = self.curl_command = ""
        try:
            try:
                self.a = self.browser("owner")
            except WebDriverException as error:
                self.a = None
                self.check("headless Chromium starts under chromedriver", False, str(error).splitlines()[0])
            steps = [] if self.a is None else [
                ("sign in", self.sign_in),
                ("1. new flow, palette, credential, form, save, run", self.step_new_flow),
                ("2. webhook run by curl, live", self.step_webhook),
                ("2. back/forward cache", self.step_back_forward),
                ("3. CRLF in a variable", self.step_crlf),
                ("4. reserved custom header", self.step_reserved_header),
                ("6. stale second tab", self.step_stale_tab),
                ("5. draft without To, keyboard only", self.step_keyboard),
            ]
            if self.screenshots:
                steps.append(("8. screenshots", self.step_screenshots))
            steps.append(("7. console", self.step_console))
            for name, body in steps:
                self.guarded(name, body)
        finally:
            for browser in self.browsers:
                browser.quit()
            code = self.server.stop()
            self.smtp.stop()
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
    parser.add_argument("--screenshots", action="store_true", help="also write docs/screenshots/*.png")
    args = parser.parse_args()

    found = wb.browser_or_fail()
    if found is None:
        return 1
    chromium, chromedriver = found
    with tempfile.TemporaryDirectory(prefix="posthorn-studio-") as tmp:
        return StudioCheck(args.posthorn, Path(tmp), chromium, chromedriver, args.screenshots).run()


if __name__ == "__main__":
    sys.exit(main())
