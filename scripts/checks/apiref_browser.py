#!/usr/bin/env python3
"""The web app's API reference page in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium) against a real `posthorn serve`.

Usage:
    python3 scripts/checks/apiref_browser.py PATH_TO_POSTHORN [--screenshots]

One `ok NAME` / `FAIL NAME: detail` line per claim:

1. Signed in (the set-up API), the user menu's "API reference" opens /settings/api-reference, and
   its operations are there well under a second after the click, every operation collapsed and
   nothing of their bodies built yet (lazy); the API tokens page links to it; a member (not an
   admin) has the link in the user menu too, and the page.
2. Every operation of the document the server serves at /api/v1/openapi.json appears exactly once
   (method, path, operationId), under its first tag, with its summary.
3. The filter narrows the list (by path, summary, operationId, tag) to exactly the operations the
   document says match; "/" focuses it, ↓ goes to the first match, Enter opens it, Esc goes back
   and clears; a filter matching nothing shows the empty state.
4. Deep links: loading /settings/api-reference#createFlow opens createFlow and scrolls it to the
   top of the window with the focus on it; changing the address's #fragment in the page opens
   that operation too.
5. Schemas: createFlow's request body shows FlowInput's properties; the `retry` property (a `$ref`
   to RetryInput) expands to exactly RetryInput's properties; NodeParameter's `items` (a reference
   back to NodeParameter) shows as circular instead of expanding forever; descriptions' Markdown is
   DOM (`code` spans as <code>), never HTML.
6. The curl button of listFlows puts on the clipboard the command the page shows; run by `sh -c`
   with a real API token in $POSTHORN_TOKEN it reaches the server and lists the flows (and without
   the token it is refused).
7. No console error and no CSP violation.
8. With --screenshots: docs/screenshots/api-reference-{light,dark}-{desktop,phone}.png.

Shares the server and browser helpers of webapp_browser.py. A missing chromium, chromedriver or
selenium is a failure, never a skip. The server listens on 127.0.0.1 only. Prints `N passed, M
failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webapp_browser as wb  # noqa: E402  (server, browser, ok/FAIL lines)
from webapp_browser import LOOPBACK, REPO, SCREENSHOTS  # noqa: E402

if wb.webdriver is not None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

PAGE = "/settings/api-reference"
OWNER = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "apiref-owner-passphrase-0123"}
MEMBER = {"name": "Grace Hopper", "email": "grace@example.com", "password": "apiref-member-passphrase-0123"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

ROWS_JS = """
return [...document.querySelectorAll('details.apiref-op[data-method]')].map((d) => ({
  id: d.id, method: d.dataset.method, path: d.dataset.path, operationId: d.dataset.operationId,
  tag: d.closest('section.apiref-tag')?.id || '', hidden: !!d.closest('[hidden]'), open: d.open,
  summary: d.querySelector(':scope > summary .apiref-op__title')?.textContent || '',
}));
"""


class ApiRefCheck(wb.WebAppCheck):
    # ---- Set-up --------------------------------------------------------------------------------

    def session_cookie(self, answer: wb.Answer) -> str:
        return next((m.group(1) for c in answer.headers_named("Set-Cookie") if (m := re.match(r"posthorn_session=([^;]+)", c))), "")

    def sign_in(self) -> None:
        link = self.server.banner_line(r"Set up the first account \(one-time link\): (\S+)")
        token = urllib.parse.unquote(urllib.parse.urlsplit(link.group(1)).fragment) if link else ""
        answer = self.client.request("POST", "/api/v1/setup", body={"token": token, **{k: OWNER[k] for k in ("email", "name", "password")}})
        self.session = self.session_cookie(answer)
        self.check("the set-up API creates the first account (a session cookie)", answer.status == 201 and self.session, f"{answer.status} {answer.text[:200]}")
        self.document = json.loads(self.client.request("GET", "/api/v1/openapi.json", origin=None).text)
        self.operations = [(m, p, op) for p, item in self.document["paths"].items() for m, op in item.items() if m in METHODS]
        a = self.a
        a.at("sign in")
        a.get("/signin")
        a.wait(lambda: a.heading(), "the sign-in page")
        a.driver.add_cookie({"name": "posthorn_session", "value": self.session, "path": "/", "httpOnly": True, "sameSite": "Strict"})

    def rows(self) -> list[dict]:
        return self.a.driver.execute_script(ROWS_JS)

    def open_from_menu(self, b: wb.Browser) -> float:
        b.get("/flows")
        b.wait(lambda: b.heading() == "Flows", "the Flows page")
        panel = self.open_user_menu(b)
        link = b.link("API reference", panel)
        started = time.monotonic()
        link.click()
        b.wait(lambda: b.path() == PAGE and len(b.driver.find_elements(By.CSS_SELECTOR, "details.apiref-op[data-method]")) >= len(self.operations),
               "the API reference's operations", timeout=10)
        return time.monotonic() - started

    # ---- 1. Reachable, fast, lazy ------------------------------------------------------------------

    def step_open(self) -> None:
        a = self.a
        a.at("open from the user menu")
        took = self.open_from_menu(a)
        state = a.driver.execute_script(
            "return {heading: document.querySelector('h1').textContent, open: document.querySelectorAll('details.apiref-op[open]').length,"
            " bodies: document.querySelectorAll('.apiref-op__body').length, nodes: document.querySelectorAll('.schema__node').length,"
            " elements: document.querySelectorAll('main *').length, tab: document.querySelector('.tabs [aria-current=page]')?.textContent}")
        self.check(f"1. the user menu's “API reference” opens {PAGE}, its {len(self.operations)} operations listed {took * 1000:.0f} ms after the click (under 1 s)",
                   state["heading"] == "API reference" and took < 1.0, {"took": took, **state})
        self.check(f"1. rendered lazily: every operation collapsed, no operation body or schema node built yet ({state['elements']} elements in the main area)",
                   state["open"] == 0 and state["bodies"] == 0 and state["nodes"] == 0 and state["elements"] < 3000, state)
        download = a.driver.find_element(By.XPATH, "//main//a[normalize-space(.)='Download openapi.json']")
        href, name = download.get_attribute("href"), download.get_attribute("download")
        fetched = self.client.request("GET", urllib.parse.urlsplit(href).path, origin=None)
        self.check("1. “Download openapi.json” links to the raw document (a download)",
                   href == f"{self.server.base}/api/v1/openapi.json" and name and fetched.status == 200 and json.loads(fetched.text) == self.document,
                   {"href": href, "download": name, "status": fetched.status})

        a.at("tokens page link")
        a.link("API tokens", a.driver.find_element(By.CSS_SELECTOR, "nav.tabs")).click()
        a.wait(lambda: a.path() == "/settings/tokens" and a.heading() == "API tokens", "the API tokens page")
        a.link("API reference", a.driver.find_element(By.CSS_SELECTOR, ".page-lead")).click()
        a.wait(lambda: a.path() == PAGE and a.driver.find_elements(By.CSS_SELECTOR, "details.apiref-op"), "the API reference from the tokens page")
        self.check("1. the API tokens page links to the API reference", a.path() == PAGE)

    def step_member(self) -> None:
        """A member (not an admin) sees the link in the user menu and the page."""
        a = self.a
        a.at("member")
        invite = self.client.request("POST", "/api/v1/invites", body={"role": "member"}, session=self.session)
        token = urllib.parse.unquote(invite.json.get("url", "").partition("#")[2])
        accepted = self.client.request("POST", "/api/v1/invites/accept", body={"token": token, **{k: MEMBER[k] for k in ("email", "name", "password")}})
        member = self.session_cookie(accepted)
        a.settle()
        a.driver.delete_all_cookies()
        a.driver.add_cookie({"name": "posthorn_session", "value": member, "path": "/", "httpOnly": True, "sameSite": "Strict"})
        try:
            self.open_from_menu(a)
            ok = a.heading() == "API reference" and len(self.rows()) == len(self.operations)
            self.check("1. a member (no admin) has “API reference” in the user menu and sees every operation",
                       invite.status == 201 and accepted.status == 200 and ok, {"invite": invite.status, "accept": accepted.status, "heading": a.heading()})
        finally:
            a.settle()
            a.driver.delete_all_cookies()
            a.driver.add_cookie({"name": "posthorn_session", "value": self.session, "path": "/", "httpOnly": True, "sameSite": "Strict"})

    # ---- 2. Every operation once -------------------------------------------------------------------

    def step_operations(self) -> None:
        a = self.a
        a.at("every operation")
        if a.path() != PAGE:
            self.open_from_menu(a)
        rows = self.rows()
        shown = sorted((r["method"], r["path"], r["operationId"]) for r in rows)
        wanted = sorted((m, p, op.get("operationId", "")) for m, p, op in self.operations)
        ids = [r["id"] for r in rows]
        self.check(f"2. every operation of the served document appears exactly once ({len(wanted)}: method, path, operationId)",
                   shown == wanted and len(set(ids)) == len(ids),
                   {"missing": sorted(set(wanted) - set(shown)), "extra": sorted(set(shown) - set(wanted)), "duplicates": len(ids) - len(set(ids))})
        by_id = {r["id"]: r for r in rows}
        wrong = [(m, p) for m, p, op in self.operations
                 if by_id.get(op.get("operationId"), {}).get("tag") != f"tag-{(op.get('tags') or ['other'])[0]}"
                 or by_id.get(op.get("operationId"), {}).get("summary") != op.get("summary", "")]
        self.check("2. each under its first tag, with its summary", not wrong, wrong[:5])

    # ---- 3. Filter and keyboard --------------------------------------------------------------------

    def expected_matches(self, text: str) -> list[str]:
        words = text.lower().split()
        out = []
        for method, path, op in self.operations:
            haystack = "\n".join([method, path, op.get("summary", ""), op.get("operationId", ""), *op.get("tags", [])]).lower()
            if all(w in haystack for w in words):
                out.append(op["operationId"])
        return sorted(out)

    def visible(self) -> list[str]:
        return sorted(r["id"] for r in self.rows() if not r["hidden"])

    def step_filter(self) -> None:
        a = self.a
        a.at("filter")
        a.driver.find_element(By.TAG_NAME, "h1").click()
        a.keys("/")
        filter_box = a.driver.switch_to.active_element
        focused = filter_box.get_attribute("type") == "search"
        results = {}
        for text in ["token", "/api/v1/runs", "createFlow", "webhooks", "flow run"]:
            a.select_all_and_type(text)
            want = self.expected_matches(text)
            a.quietly(lambda: a.wait(lambda: self.visible() == want, f"the filter {text!r}", timeout=3))
            results[text] = (self.visible(), want)
        narrowed = all(got == want and 0 < len(got) < len(self.operations) for got, want in results.values())
        self.check("3. “/” focuses the filter; it narrows the list to exactly the matching operations (path, summary, operationId, tag)",
                   focused and narrowed, {k: {"shown": g, "expected": w} for k, (g, w) in results.items() if g != w or not g} or focused)

        a.select_all_and_type("createFlow")
        a.keys(Keys.ARROW_DOWN)
        first = a.active()
        a.keys(Keys.ENTER)
        opened = a.wait(lambda: a.driver.execute_script("const d = document.getElementById('createFlow'); return d.open && !!d.querySelector('.apiref-op__body')"),
                        "createFlow to open with Enter", timeout=5)
        a.keys(Keys.ENTER)  # and closes again
        closed = a.wait(lambda: not a.driver.execute_script("return document.getElementById('createFlow').open"), "createFlow to close", timeout=5)
        a.keys(Keys.ESCAPE)
        back = a.active()
        a.keys(Keys.ESCAPE)
        cleared = a.driver.execute_script("return document.activeElement.value") == "" and len(self.visible()) == len(self.operations)
        self.check("3. keyboard: ↓ from the filter reaches the first match (focus visible), Enter opens and closes it, Esc returns to the filter, Esc again clears it",
                   first["tag"] == "summary" and first["visible"] and opened and closed and back["type"] == "search" and cleared,
                   {"first": first, "back": back, "cleared": cleared})

        a.select_all_and_type("no-such-operation-xyz")
        empty = a.wait(lambda: a.text_of(".apiref .empty__title"), "the empty state", timeout=5)
        a.button("Clear the filter").click()
        restored = len(self.visible()) == len(self.operations)
        self.check("3. a filter that matches nothing says so, with a button that clears it", empty == "No operation matches" and restored, empty)

    # ---- 4. Deep links ----------------------------------------------------------------------------

    def step_deep_link(self) -> None:
        a = self.a
        a.at("deep link")
        page = self.client.request("GET", PAGE, origin=None, headers={"Accept": "text/html"})
        self.check(f"4. the server serves {PAGE} as the web app (200 text/html, with the CSP)",
                   page.status == 200 and (page.header("Content-Type") or "").startswith("text/html") and page.header("Content-Security-Policy") == wb.CSP,
                   f"{page.status} {page.header('Content-Type')} {page.header('Content-Security-Policy')}")
        a.get(f"{PAGE}#createFlow")
        a.wait(lambda: a.driver.execute_script("const d = document.getElementById('createFlow'); return d && d.open && !!d.querySelector('.apiref-op__body')"),
               "#createFlow to open", timeout=10)
        time.sleep(0.1)
        where = a.driver.execute_script(
            "const d = document.getElementById('createFlow'); const r = d.getBoundingClientRect();"
            "return {top: r.top, height: innerHeight, scrollY, focused: document.activeElement === d.querySelector(':scope > summary'),"
            " others: document.querySelectorAll('details.apiref-op[open]').length}")
        self.check("4. loading …/api-reference#createFlow opens createFlow, scrolls it to the top of the window and puts the focus on it",
                   0 <= where["top"] < 160 and where["scrollY"] > 0 and where["focused"] and where["others"] == 1, where)
        a.driver.execute_script("location.hash = '#listFlows'")
        a.wait(lambda: a.driver.execute_script("return document.getElementById('listFlows').open"), "#listFlows to open", timeout=5)
        top = a.driver.execute_script("return document.getElementById('listFlows').getBoundingClientRect().top")
        self.check("4. a new #fragment in the same page (a pasted link, Back) opens that operation and scrolls to it", 0 <= top < 160, top)

    # ---- 5. Schemas -----------------------------------------------------------------------------

    def step_schemas(self) -> None:
        a = self.a
        a.at("schemas")
        schemas = self.document["components"]["schemas"]
        body = a.driver.find_element(By.CSS_SELECTOR, "#createFlow .apiref-op__body")
        request = body.find_element(By.XPATH, ".//section[.//h3[starts-with(normalize-space(.), 'Request body')]]//div[contains(@class,'schema')]")
        top = a.driver.execute_script("return [...arguments[0].querySelectorAll(':scope > .schema__list > .schema__node > .schema__head .schema__name')].map((e) => e.textContent)", request)
        self.check("5. createFlow's request body shows FlowInput's properties (its $ref resolved)", top == list(schemas["FlowInput"]["properties"]), top)

        retry = request.find_element(By.XPATH, ".//button[contains(@class,'schema__toggle')][.//span[normalize-space(.)='retry']]")
        before = retry.get_attribute("aria-expanded")
        retry.click()
        node = retry.find_element(By.XPATH, "./ancestor::li[1]")
        names = a.wait(lambda: a.driver.execute_script(
            "return [...arguments[0].querySelectorAll(':scope > .schema__list > .schema__node > .schema__head .schema__name')].map((e) => e.textContent)", node),
            "retry's properties", timeout=5)
        ref = a.driver.execute_script("return arguments[0].querySelector(':scope > .schema__head .schema__ref')?.textContent", node)
        self.check("5. the `retry` property ($ref RetryInput) expands on demand to RetryInput's properties",
                   before == "false" and retry.get_attribute("aria-expanded") == "true" and ref == "RetryInput" and names == list(schemas["RetryInput"]["properties"]),
                   {"before": before, "ref": ref, "names": names})
        a.keys(Keys.ARROW_LEFT)  # the toggle has the focus after the click
        collapsed = retry.get_attribute("aria-expanded")
        a.keys(Keys.ARROW_RIGHT)
        self.check("5. ← and → close and open a schema node from the keyboard", collapsed == "false" and retry.get_attribute("aria-expanded") == "true",
                   {"after ←": collapsed, "after →": retry.get_attribute("aria-expanded")})

        a.driver.execute_script("location.hash = '#schema-NodeParameter'")
        a.wait(lambda: a.driver.execute_script("return document.getElementById('schema-NodeParameter').open"), "NodeParameter", timeout=5)
        items = a.driver.execute_script(
            "const li = [...document.querySelectorAll('#schema-NodeParameter .schema > .schema__list > .schema__node')]"
            ".find((n) => n.querySelector(':scope > .schema__head .schema__name')?.textContent === 'items');"
            "return li && {text: li.querySelector(':scope > .schema__head').textContent, toggle: !!li.querySelector(':scope > .schema__head .schema__toggle')}")
        self.check("5. a reference back to an open schema (NodeParameter.items) is marked circular, not expanded again",
                   items and "circular" in items["text"] and not items["toggle"], items)

        code = a.driver.execute_script(
            "return [...document.querySelectorAll('#createFlow .apiref-op__desc code')].map((e) => e.textContent)")
        raw = a.driver.execute_script("return document.getElementById('createFlow').querySelector('.apiref-op__desc').textContent")
        wanted = re.findall(r"`([^`]+)`", self.document["paths"]["/api/v1/flows"]["post"]["description"])
        injected = a.driver.execute_script(
            "return document.querySelectorAll('main token, main script, main [onclick], main [style]').length"
            " + [...document.querySelectorAll('main .schema__node')].filter((li) => [...li.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())).length")
        self.check("5. descriptions' Markdown is rendered as DOM: `code` spans as <code>, no backticks left, no markup from the text",
                   code == wanted and "`" not in raw and injected == 0, {"code": code, "wanted": wanted, "injected": injected})

    # ---- 6. curl -----------------------------------------------------------------------------------

    def step_curl(self) -> None:
        a = self.a
        a.at("curl")
        created = self.client.request("POST", "/api/v1/tokens", body={"name": "apiref curl"}, session=self.session)
        token = created.json.get("token", "")
        flow = self.client.request("POST", "/api/v1/flows", session=self.session,
                                   body={"name": "Reference check", "enabled": False, "trigger": {"type": "manual"}, "steps": []})
        a.driver.execute_script("location.hash = '#listFlows'")
        op = a.wait(lambda: a.quietly(lambda: a.driver.find_element(By.CSS_SELECTOR, "#listFlows[open] .apiref-op__body")), "listFlows")
        shown = op.find_element(By.CSS_SELECTOR, "pre.apiref-curl").text
        a.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": self.server.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        a.button("Copy curl command", op).click()
        copied = a.driver.execute_async_script("const done = arguments[0]; navigator.clipboard.readText().then(done, (e) => done('ERROR ' + e))")
        self.check("6. listFlows' copy button puts the curl command the page shows on the clipboard (the page's origin, the token from $POSTHORN_TOKEN)",
                   copied == shown and f"'{self.server.base}/api/v1/flows'" in copied and 'Authorization: Bearer $POSTHORN_TOKEN' in copied,
                   {"shown": shown, "copied": copied})
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        ran = subprocess.run(["sh", "-c", copied + " -sS -w '\\n%{http_code}'"], capture_output=True, text=True, timeout=20, env={**env, "POSTHORN_TOKEN": token})
        body, _, status = ran.stdout.rpartition("\n")
        try:
            names = [f.get("name") for f in json.loads(body).get("flows", [])]
        except json.JSONDecodeError:
            names = None
        refused = subprocess.run(["sh", "-c", copied + " -s -o /dev/null -w '%{http_code}'"], capture_output=True, text=True, timeout=20, env={**env, "POSTHORN_TOKEN": "ph_not_a_token"})
        self.check("6. the copied command, run by sh -c with a real token in $POSTHORN_TOKEN, reaches the server and lists the flows (a wrong token: 401)",
                   created.status == 201 and flow.status == 201 and ran.returncode == 0 and status == "200" and names == ["Reference check"] and refused.stdout == "401",
                   {"token": created.status, "flow": flow.status, "exit": ran.returncode, "status": status, "flows": names, "stderr": ran.stderr[-300:], "wrong token": refused.stdout})

    # ---- 8. Screenshots -----------------------------------------------------------------------------

    def step_screenshots(self) -> None:
        a = self.a
        a.at("screenshots")
        for theme, device in [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")]:
            width, height, mobile = (1280, 800, False) if device == "desktop" else (390, 844, True)
            a.viewport(width, height, mobile)
            a.get(PAGE)
            a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, "details.apiref-op"), "the page")
            a.driver.execute_script("location.hash = '#createFlow'")
            a.wait(lambda: a.driver.execute_script("return document.getElementById('createFlow').open"), "createFlow")
            # The Flows tag with createFlow open under it (on a phone, createFlow itself), no focus ring.
            a.driver.execute_script("document.activeElement.blur(); document.getElementById(arguments[0]).scrollIntoView({block: 'start'})",
                                    "createFlow" if device == "phone" else "tag-flows")
            self.shots(a, "api-reference", [(theme, device)])
            a.viewport(1280, 800)

    # ---- 7. Console ---------------------------------------------------------------------------------

    def step_console(self) -> None:
        a = self.a
        a.harvest()
        csp, errors, expected = [], [], []
        for step, entry in a.console:
            message = entry.get("message", "")
            if "Content Security Policy" in message or "Content-Security-Policy" in message:
                csp.append(f"{step}: {message}")
                continue
            if entry.get("level") != "SEVERE":
                continue
            match = re.match(r"(\S+) - Failed to load resource: the server responded with a status of (\d+)", message)
            if match and step == "sign in" and urllib.parse.urlsplit(match.group(1)).path == "/api/v1/session" and match.group(2) == "401":
                expected.append("401 /api/v1/session at 'sign in'")
                continue
            errors.append(f"{step}: {message}")
        self.check("7. no CSP violation in the console", not csp, csp)
        self.check(f"7. no error in the console (besides {len(expected)} expected: the sign-in page's signed-out session check)", not errors, errors)

    # ---- Running it all -----------------------------------------------------------------------------

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
        try:
            try:
                self.a = self.browser("owner")
            except WebDriverException as error:
                self.a = None
                self.check("headless Chromium starts under chromedriver", False, str(error).splitlines()[0])
            steps = [] if self.a is None else [
                ("sign in", self.sign_in),
                ("1. user menu → API reference", self.step_open),
                ("2. every operation once", self.step_operations),
                ("3. filter and keyboard", self.step_filter),
                ("4. deep links", self.step_deep_link),
                ("5. schemas", self.step_schemas),
                ("6. curl", self.step_curl),
                ("1. a member", self.step_member),
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
    parser.add_argument("--screenshots", action="store_true", help="also write docs/screenshots/api-reference-*.png")
    args = parser.parse_args()

    found = wb.browser_or_fail()
    if found is None:
        return 1
    chromium, chromedriver = found
    with tempfile.TemporaryDirectory(prefix="posthorn-apiref-") as tmp:
        return ApiRefCheck(args.posthorn, Path(tmp), chromium, chromedriver, args.screenshots).run()


if __name__ == "__main__":
    sys.exit(main())
