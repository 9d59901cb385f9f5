#!/usr/bin/env python3
"""Flow Studio, part 2 (issue #15) in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium) against a real `posthorn serve` and a real aiosmtpd SMTP
fixture (STARTTLS + AUTH, a test CA made with openssl at run time).

Usage:
    python3 scripts/checks/studio2_browser.py PATH_TO_POSTHORN [--screenshots]

Follows the issue's "Must show" literally, one `ok NAME` / `FAIL NAME: detail` line per claim:

1. Variables: the test body typed in the studio is saved with the flow as its `sampleBody`; `{{`
   in To offers `trigger.body.email` from that sample (with the step above's output, `run.id` and
   `now`, and nothing of the step below); ↓, ↑ and Enter insert `{{trigger.body.email}}`. A
   reference to a later step (and to an unknown step, and an unknown field of the sample) is
   flagged at its field as it is typed, before saving — and the server, at save, agrees. A flow
   without a sample body is offered its last run's trigger body.
2. Preview: for a test body, the step's Preview tab shows the rendered subject and HTML (read
   inside its `<iframe sandbox="">`), the text alternative and the attachment by name and size,
   says there is no run to take upstream outputs from; a CRLF in a variable is flagged with
   "Header value contains forbidden characters" and the spec's advice; nothing reaches the
   fixture and no run exists. An attachment URL the egress guard refuses shows there too.
3. The bytes of the preview's header block (its Copy button, read from the clipboard) equal the
   header block the fixture receives from the run that follows, except Date and Message-ID (which
   the preview pins and shows) and the MIME boundary strings (which derive from the Message-ID);
   the next preview says its upstream outputs come from that run.
4. Cron at a glance: a bad expression is refused at the field with the server's words; a good one
   shows five times that match the server's next fires, and its plain-language reading; every
   reading came from POST /api/v1/cron/preview.
5. Scale: a flow of 100 steps (the API's maximum) opens with all 100 cards interactive in under
   1 s (navigation start to the first free task after the cards are drawn, measured in the page,
   median of 3); the canvas zooms. A history of 1,001 runs on /runs is sized for all its rows from
   the first page; End draws the oldest run, and a scroll to the middle draws the rows there, each
   in under 1 s (every one of 3 fresh pages, in the page's clock), asking for the rows by offset; a
   flick from the newest run to the oldest (one viewport a frame) shows placeholders for under 1 s
   at a time with at most 200 rows in the document. A made-up history of 1,000,000 runs (fetch
   answered in the page) is laid out scaled under the browsers' height limit, and End and the
   middle land on the right runs. (10,000 runs: `bench/webapp-scale`, docs/PERFORMANCE.md.)
6. With --screenshots: the variables popup, the preview panel (and its HTML frame), the schedule
   panel and /runs, in light and dark, 1280x800 and 390x844, into docs/screenshots/; and /runs with
   rows still loading (placeholders), light desktop and dark phone.
7. No CSP violation and no console error (the failed loads expected: the sign-in page's 401, the
   cron preview's 422 for a bad expression).

Shares the server, fixture and browser helpers of webapp_browser.py and studio_browser.py. A
missing chromium, chromedriver or selenium is a failure, never a skip. Every server this starts
listens on 127.0.0.1 only. Prints `N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import studio_browser as sb  # noqa: E402  (the studio's browser and check: sign-in, panels, runs)
import webapp_browser as wb  # noqa: E402  (server, fixture, browser, ok/FAIL lines)
from webapp_browser import LOOPBACK, REPO, SCREENSHOTS  # noqa: E402

if wb.webdriver is not None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

RECIPIENT = "grace@example.net"
SAMPLE = {"email": RECIPIENT, "name": "Grace"}
CRLF_SAMPLE = {"email": RECIPIENT, "name": "Grace\r\nBcc: mallory@example.net"}
ATTACHMENT = b"Welcome aboard!\n"
HTML_BODY = ('<h1 style="color: #a15c07">Welcome</h1><p>Hello <b>{{trigger.body.name}}</b>, welcome.</p>'
             '<p><img src="https://example.com/logo.png" alt="Posthorn logo" width="120" height="40"></p>'
             '<p><a href="https://example.com/start">Get started</a></p>')
LATER_REFERENCE = "{{steps.audit.output.message}}"
SCALE_RUNS = 1000
OPEN_TARGET_MS = 1000

# Installed before a page's own scripts (CDP Page.addScriptToEvaluateOnNewDocument): marks, in the
# page's clock (0 = navigation start), the first frame with `want` cards on the canvas, and the
# first task after it — the moment the page can take a click.
READY_PROBE = """
(() => {
  const want = %d;
  const tick = () => {
    if (document.querySelectorAll(".canvas .node-card__main").length >= want) {
      window.__cardsAt = performance.now();
      setTimeout(() => { window.__readyAt = performance.now(); }, 0);
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

# A long run history (/runs), in the page's own clock. The list is sized for every run from its
# first page and asks for the rows wherever the viewport lands (by offset), drawing placeholders
# until they come. RUNS_VIEW tells what the viewport shows: rows, placeholders, the last position.
RUNS_VIEW = """
window.__runsView = () => {
  const list = document.querySelector(".run-list");
  let placeholders = 0, rows = 0, last = 0;
  for (const li of list.querySelectorAll(".run-row")) {
    const box = li.getBoundingClientRect();
    if (box.bottom <= 0 || box.top >= innerHeight) continue;
    if (li.classList.contains("run-row--placeholder")) placeholders += 1;
    else rows += 1;
    last = Math.max(last, Number(li.getAttribute("aria-posinset") || 0));
  }
  return { placeholders, rows, last, drawn: list.querySelectorAll(".run-row[data-run]").length, inDocument: list.children.length };
};
window.__runsRequests = () => performance.getEntriesByType("resource").filter((e) => /\\/api\\/v1\\/runs\\?/.test(e.name)).map((e) => e.name.replace(/^.*\\?/, ""));
performance.setResourceTimingBufferSize(100000);
"""

# "end": End pressed (the driver's key, noted at keydown) until the oldest run's row is drawn in the
# viewport with no placeholder left there (Chrome scrolls there smoothly: the pages asked for on the
# way are counted too). Installed before the key, collected after it; `requests`: those after the key.
END_INSTALL = RUNS_VIEW + """
const oldest = arguments[0];
const p = window.__endProbe = { keyAt: null, bottomAt: null, doneAt: null, frames: 0, placeholderFrames: 0, worst: 0, before: window.__runsRequests().length };
addEventListener("keydown", (e) => { if (e.key === "End" && p.keyAt === null) p.keyAt = performance.now(); }, { capture: true });
let last = null;
const tick = () => {
  const now = performance.now();
  if (p.keyAt !== null) {
    if (last !== null) p.worst = Math.max(p.worst, now - last);
    last = now;
    p.frames += 1;
    const v = window.__runsView();
    if (v.placeholders) p.placeholderFrames += 1;
    if (p.bottomAt === null && scrollY + innerHeight >= document.documentElement.scrollHeight - 1) p.bottomAt = now;
    const row = document.querySelector(`.run-list [data-run="${oldest}"]`);
    const box = row && row.getBoundingClientRect();
    if (box && box.top < innerHeight && box.bottom > 0 && !v.placeholders) { p.doneAt = now; return; }
  }
  if (performance.now() > 120000) return;
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""
END_COLLECT = """
const done = arguments[arguments.length - 1];
const started = performance.now();
const wait = () => {
  const p = window.__endProbe;
  if (p.doneAt !== null) return done({ ms: p.doneAt - p.keyAt, scrolledMs: p.bottomAt === null ? null : p.bottomAt - p.keyAt, frames: p.frames, placeholderFrames: p.placeholderFrames, worstFrameMs: p.worst, requests: window.__runsRequests().slice(p.before) });
  if (performance.now() - started > 60000) return done({ timeout: true, keyAt: p.keyAt, view: window.__runsView() });
  setTimeout(wait, 5);
};
wait();
"""

# "middle": the viewport put on the middle run (one scroll, as a drag of the scroll bar would) until
# every row it shows is drawn.
MIDDLE = RUNS_VIEW + """
const [position] = arguments;
const done = arguments[arguments.length - 1];
const list = document.querySelector(".run-list");
const rowHeight = list.querySelector(".run-row").getBoundingClientRect().height;
const y = scrollY + list.getBoundingClientRect().top + list.clientTop + (position - 1) * rowHeight;
let frames = 0, placeholderFrames = 0;
const before = window.__runsRequests().length;
const started = performance.now();
scrollTo(0, y);
const tick = () => {
  const now = performance.now();
  frames += 1;
  const v = window.__runsView();
  if (v.placeholders) placeholderFrames += 1;
  const first = [...list.querySelectorAll(".run-row[data-run]")].find((li) => li.getBoundingClientRect().bottom > 0);
  const at = first ? Number(first.getAttribute("aria-posinset")) : 0;
  if (!v.placeholders && v.rows && Math.abs(at - position) <= 1) return done({ ms: now - started, frames, placeholderFrames, firstPosition: at, requests: window.__runsRequests().slice(before) });
  if (now - started > 60000) return done({ timeout: true, view: v });
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""

# "flick": from the top, one viewport height further every frame (about 50,000 px/s at 60 frames a
# second) to the bottom. A frame that shows a placeholder is counted, and so is the longest stretch
# of such frames (from the first frame that showed one to the next that showed none).
FLICK = RUNS_VIEW + """
const [oldest] = arguments;
const done = arguments[arguments.length - 1];
const root = document.documentElement;
scrollTo(0, 0);
let frames = 0, placeholderFrames = 0, stretchFrom = null, longest = 0, worst = 0, most = 0, inDocument = 0, started = null, last = null;
const tick = () => {
  const now = performance.now();
  if (started === null) started = now;
  if (last !== null) worst = Math.max(worst, now - last);
  last = now;
  frames += 1;
  const v = window.__runsView();
  most = Math.max(most, v.drawn);
  inDocument = Math.max(inDocument, v.inDocument);
  if (v.placeholders) {
    placeholderFrames += 1;
    if (stretchFrom === null) stretchFrom = now;
  } else if (stretchFrom !== null) {
    longest = Math.max(longest, now - stretchFrom);
    stretchFrom = null;
  }
  const atBottom = scrollY + innerHeight >= root.scrollHeight - 1;
  if (atBottom && !v.placeholders && document.querySelector(`.run-list [data-run="${oldest}"]`)) {
    return done({ ms: now - started, frames, placeholderFrames, longestPlaceholderMs: longest, worstFrameMs: worst, mostRowsDrawn: most, mostChildren: inDocument, requests: window.__runsRequests().length });
  }
  if (now - started > 120000) return done({ timeout: true, frames, view: v });
  scrollBy(0, innerHeight);
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""

def measure_open(browser: sb.StudioBrowser, path: str, cards: int, rounds: int = 3) -> list[dict]:
    """Opens `path` `rounds` times from scratch; for each: ms from navigation start to the cards drawn
    and to the page free for input (READY_PROBE), in the page's own clock."""
    probe = browser.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": READY_PROBE % cards})
    found = []
    try:
        for _ in range(rounds):
            browser.get("/flows")  # somewhere else first: each round is a full navigation to the studio
            browser.wait(lambda: browser.heading() == "Flows", "the Flows page")
            browser.driver.get(browser.base + path)
            browser.wait(lambda: browser.driver.execute_script("return window.__readyAt || 0"), f"{cards} cards on the canvas", timeout=30)
            found.append(browser.driver.execute_script(
                "const nav = performance.getEntriesByType('navigation')[0];"
                "return {cards: Math.round(window.__cardsAt), ready: Math.round(window.__readyAt),"
                " response: nav ? Math.round(nav.responseEnd) : null, domContentLoaded: nav ? Math.round(nav.domContentLoadedEventEnd) : null}"))
    finally:
        browser.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": probe["identifier"]})
    return found


# A history of `total` runs made up in the page: GET /api/v1/runs?offset= is answered by a stand-in
# for fetch (installed before the page's scripts) after `delay` ms, with runs numbered from the
# newest (run_synthetic0000000) to the oldest; everything else goes to the server.
SYNTHETIC = """
(() => {
  const total = %d, delay = %d;
  const real = window.fetch.bind(window);
  const base = Date.parse("2026-12-01T00:00:00Z");
  window.fetch = (input, init) => {
    const url = new URL(typeof input === "string" ? input : input.url, location.href);
    if (url.pathname !== "/api/v1/runs" || !url.searchParams.has("offset")) return real(input, init);
    const offset = Number(url.searchParams.get("offset")), limit = Number(url.searchParams.get("limit"));
    const items = [];
    for (let i = offset; i < Math.min(total, offset + limit); i += 1) {
      const at = new Date(base - i * 1000).toISOString();
      const failed = i %% 7 === 3;
      items.push({ id: "run_synthetic" + String(i).padStart(7, "0"), flowId: "fl_synthetic", status: failed ? "failed" : "succeeded",
        triggerKind: "manual", error: failed ? { code: "ETEST", message: "Made up" } : null, createdAt: at, startedAt: at, finishedAt: at });
    }
    const body = JSON.stringify({ items, next: null, total });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(new Response(body, { status: 200, headers: { "Content-Type": "application/json" } })), delay);
      init?.signal?.addEventListener("abort", () => { clearTimeout(timer); reject(new DOMException("The request was aborted.", "AbortError")); });
    });
  };
})();
"""
SYNTHETIC_RUNS = 1_000_000

# Holds every page of runs asked for by offset after the first for `delay` ms (a screenshot of the
# placeholders); the first page (offset=0) goes through at once.
HOLD_PAGES = """
(() => {
  const delay = %d;
  const real = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = new URL(typeof input === "string" ? input : input.url, location.href);
    if (url.pathname !== "/api/v1/runs" || !Number(url.searchParams.get("offset"))) return real(input, init);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(real(input, init)), delay);
      init?.signal?.addEventListener("abort", () => { clearTimeout(timer); reject(new DOMException("The request was aborted.", "AbortError")); });
    });
  };
})();
"""

# The scaled list: End, then the middle (half of the list's scroll range), each until no placeholder shows.
SYNTHETIC_PROBE = RUNS_VIEW + """
const [what] = arguments;
const done = arguments[arguments.length - 1];
const list = document.querySelector(".run-list");
const started = performance.now();
let most = 0;
if (what === "middle") {
  const top = scrollY + list.getBoundingClientRect().top + list.clientTop;
  scrollTo(0, top + (list.clientHeight - innerHeight) / 2);
}
const tick = () => {
  const now = performance.now();
  const v = window.__runsView();
  most = Math.max(most, v.drawn);
  const rows = [...list.querySelectorAll(".run-row[data-run]")].filter((li) => { const b = li.getBoundingClientRect(); return b.bottom > 0 && b.top < innerHeight; });
  if (!v.placeholders && rows.length && (what !== "end" || scrollY + innerHeight >= document.documentElement.scrollHeight - 1)) {
    const first = rows[0], lastRow = rows[rows.length - 1];
    return done({ ms: now - started, first: Number(first.getAttribute("aria-posinset")), last: Number(lastRow.getAttribute("aria-posinset")),
      setSize: Number(lastRow.getAttribute("aria-setsize")), lastId: lastRow.dataset.run, mostRowsDrawn: most, placeholders: v.placeholders,
      lastBottom: lastRow.getBoundingClientRect().bottom, listBottom: list.getBoundingClientRect().bottom });
  }
  if (now - started > 30000) return done({ timeout: true, view: v });
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"""


def measure_synthetic(browser: sb.StudioBrowser, total: int, delay_ms: int = 30) -> dict:
    """/runs with a made-up history of `total` runs (SYNTHETIC): the list's height and whether it is
    scaled, End (the last run drawn, at the bottom) and the middle."""
    probe = browser.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SYNTHETIC % (total, delay_ms)})
    try:
        browser.get("/flows")
        browser.wait(lambda: browser.heading() == "Flows", "the Flows page")
        browser.get("/runs")
        browser.wait(lambda: browser.driver.find_elements(By.CSS_SELECTOR, ".run-list .run-row[data-run^='run_synthetic']"), "the made-up runs")
        shape = browser.driver.execute_script(
            "const list = document.querySelector('.run-list');"
            "return {height: Math.round(list.getBoundingClientRect().height), scaled: list.classList.contains('run-list--scaled'),"
            " total: Number(list.dataset.total)}")
        browser.driver.execute_script("document.activeElement?.blur?.()")
        browser.driver.execute_script(END_INSTALL, f"run_synthetic{total - 1:07d}")
        browser.keys(Keys.END)
        browser.driver.set_script_timeout(40)
        key = browser.driver.execute_async_script(END_COLLECT)
        end = browser.driver.execute_async_script(SYNTHETIC_PROBE, "end")
        middle = browser.driver.execute_async_script(SYNTHETIC_PROBE, "middle")
        browser.driver.set_script_timeout(30)
    finally:
        browser.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": probe["identifier"]})
    return {**shape, "endMs": round(key.get("ms", -1), 1), "endLast": end.get("last"), "endSetSize": end.get("setSize"), "endId": end.get("lastId"),
            "endPlaceholders": end.get("placeholders", end.get("timeout")),
            "endAtListBottom": end.get("lastBottom") is not None and abs(end["lastBottom"] - end["listBottom"]) <= 2,
            "middleFirst": middle.get("first"), "middleMs": round(middle.get("ms", -1), 1), "middlePlaceholders": middle.get("placeholders", middle.get("timeout")),
            "mostRowsDrawn": max(end.get("mostRowsDrawn", 0), middle.get("mostRowsDrawn", 0))}


def open_runs(browser: sb.StudioBrowser) -> dict:
    """Opens /runs from scratch until its first rows are drawn; what the list looks like then."""
    browser.get("/flows")
    browser.wait(lambda: browser.heading() == "Flows", "the Flows page")
    browser.get("/runs")
    browser.wait(lambda: browser.driver.find_elements(By.CSS_SELECTOR, ".run-list .run-row[data-run]"), "the first page of runs")
    browser.driver.execute_script("document.activeElement?.blur?.()")  # End goes to the page, not to the filter
    return browser.driver.execute_script(
        "const list = document.querySelector('.run-list'); const row = list.querySelector('.run-row[data-run]');"
        "return {total: Number(list.dataset.total), height: list.getBoundingClientRect().height, rowHeight: row.getBoundingClientRect().height,"
        " newest: row.dataset.run, drawn: list.querySelectorAll('.run-row[data-run]').length}")


def measure_end(browser: sb.StudioBrowser, oldest: str) -> dict:
    """A fresh /runs, then End: ms from the key to the oldest run drawn (END_INSTALL, END_COLLECT)."""
    opened = open_runs(browser)
    browser.driver.execute_script(END_INSTALL, oldest)
    browser.keys(Keys.END)
    browser.driver.set_script_timeout(100)
    found = browser.driver.execute_async_script(END_COLLECT)
    browser.driver.set_script_timeout(30)
    return {**found, "opened": opened}


def measure_middle(browser: sb.StudioBrowser, position: int) -> dict:
    """A fresh /runs, then the viewport put on run number `position`: ms until its rows are drawn."""
    opened = open_runs(browser)
    browser.driver.set_script_timeout(100)
    found = browser.driver.execute_async_script(MIDDLE, position)
    browser.driver.set_script_timeout(30)
    return {**found, "opened": opened}


def measure_flick(browser: sb.StudioBrowser, oldest: str) -> dict:
    """A fresh /runs flicked from the top to the bottom, one viewport a frame (FLICK); then back to
    the top, where the newest run must be again."""
    opened = open_runs(browser)
    browser.driver.set_script_timeout(150)
    found = browser.driver.execute_async_script(FLICK, oldest)
    browser.driver.set_script_timeout(30)
    browser.driver.execute_script("window.scrollTo(0, 0)")
    browser.wait(lambda: browser.driver.execute_script(
        "const r = document.querySelector('.run-list .run-row[data-run]'); return r && r.getBoundingClientRect().top < innerHeight && r.dataset.run") == opened["newest"],
        "the newest run again at the top")
    return {**found, "backToTop": True}


def measure_history(browser: sb.StudioBrowser, total: int, oldest: str, rounds: int = 3) -> dict:
    """The history of `total` runs: End (`rounds` times), the middle (`rounds` times), a flick.
    Milliseconds as medians and maxima; the requests each made."""
    ends = [measure_end(browser, oldest) for _ in range(rounds)]
    middles = [measure_middle(browser, total // 2) for _ in range(rounds)]
    flick = measure_flick(browser, oldest)
    r1 = lambda v: round(v, 1) if isinstance(v, float) else v  # noqa: E731
    summary = lambda found: {"ms": [r1(f.get("ms")) for f in found], "medianMs": r1(statistics.median(f.get("ms", 10**6) for f in found)),  # noqa: E731
                             "maxMs": r1(max(f.get("ms", 10**6) for f in found)), "timeouts": sum(1 for f in found if f.get("timeout")),
                             "placeholderFrames": [f.get("placeholderFrames") for f in found], "requests": [f.get("requests") for f in found],
                             "scrolledMs": [r1(f.get("scrolledMs")) for f in found if "scrolledMs" in f]}
    opened = ends[0]["opened"]
    return {"total": opened["total"], "listHeight": r1(opened["height"]), "rowHeight": r1(opened["rowHeight"]),
            "end": summary(ends), "middle": summary(middles), "flick": {k: r1(v) for k, v in flick.items()}}


def seed_runs(client: wb.Client, session: str, flow_id: str, count: int, threads: int = 8) -> float:
    """`count` runs of a flow through POST /api/v1/flows/{id}/runs (the server executes each), with
    `threads` keep-alive connections; waits until none is queued or running. Returns seconds."""
    import http.client
    started = time.monotonic()
    errors: list[str] = []
    headers = {"Content-Type": "application/json", "Cookie": f"posthorn_session={session}", "Origin": client.origin}

    def worker(k: int) -> None:
        connection = http.client.HTTPConnection(LOOPBACK, client.port, timeout=60)
        for i in range(k, count, threads):
            connection.request("POST", f"/api/v1/flows/{flow_id}/runs", body=json.dumps({"n": i}), headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            if answer.status != 202:
                errors.append(f"{answer.status} {body[:120]!r}")
        connection.close()

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} runs refused, e.g. {errors[0]}")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        busy = [client.request("GET", f"/api/v1/runs?status={s}&limit=1", session=session).json.get("items") for s in ("queued", "running")]
        if not any(busy):
            break
        time.sleep(0.2)
    return time.monotonic() - started


def count_runs(client: wb.Client, session: str) -> int:
    """How many runs the workspace has (`total`, from a page by offset)."""
    return int(client.request("GET", "/api/v1/runs?offset=0&limit=1", session=session).json.get("total", 0))


def oldest_run(client: wb.Client, session: str) -> str:
    total = count_runs(client, session)
    return client.request("GET", f"/api/v1/runs?offset={max(0, total - 1)}&limit=1", session=session).json["items"][-1]["id"]


def header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    return raw[: end + 4] if end >= 0 else raw


def pinned_out(block: bytes) -> bytes:
    """The header block with what a preview pins (Date, Message-ID) and the MIME boundaries (which
    follow the Message-ID) replaced by placeholders."""
    block = re.sub(rb"(?m)^Date: [^\r\n]*(\r\n[ \t][^\r\n]*)*", b"Date: <pinned>", block)
    block = re.sub(rb"(?mi)^Message-ID: [^\r\n]*(\r\n[ \t][^\r\n]*)*", b"Message-ID: <pinned>", block)
    for boundary in set(re.findall(rb'boundary="([^"]+)"', block)):
        block = block.replace(boundary, b"<boundary>")
    return block


def first_difference(a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"at byte {i}: {a[max(0, i - 40):i + 40]!r} vs {b[max(0, i - 40):i + 40]!r}"
    return f"lengths {len(a)} vs {len(b)}"


class Studio2Check(sb.StudioCheck):
    # The sign-in page's session check (401); the cron preview refusing an expression as it is typed (422).
    EXPECTED_FAILED_LOADS = {"sign in": {("/api/v1/session", 401)}, "cron: bad expression": {("/api/v1/cron/preview", 422)},
                             "cron: good expression": {("/api/v1/cron/preview", 422)}, "screenshots": {("/api/v1/cron/preview", 422)}}

    # ---- Finding things --------------------------------------------------------------------------

    def step_card(self, a: sb.StudioBrowser, index: int):
        return a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger) .node-card__main")[index]

    def open_step(self, a: sb.StudioBrowser, index: int, title: str) -> None:
        card = self.step_card(a, index)
        a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
        card.click()
        a.wait(lambda: a.panel_title() == title, f"the panel of step {index + 1}")

    def tab(self, a: sb.StudioBrowser, name: str):
        return a.panel().find_element(By.XPATH, f".//button[@role='tab'][normalize-space(.)='{name}']")

    def options(self, a: sb.StudioBrowser) -> list[dict]:
        return a.driver.execute_script(
            "return [...document.querySelectorAll('.varpop [role=option]')].map((o) => ({id: o.id, path: o.querySelector('.varpop__path').textContent,"
            " detail: (o.querySelector('.varpop__detail') || {}).textContent || '', selected: o.getAttribute('aria-selected')}))")

    def flags(self, a: sb.StudioBrowser, control) -> str:
        found = a.driver.find_elements(By.ID, f"{control.get_attribute('id')}-vars")
        return found[0].text.strip() if found else ""

    def preview_text(self, a: sb.StudioBrowser, css: str) -> str:
        """textContent (not innerText: the header block's CRLFs stay as they are)."""
        return a.driver.execute_script("const el = document.querySelector(arguments[0]); return el ? el.textContent : ''", css) or ""

    def wait_preview(self, a: sb.StudioBrowser, what: str) -> None:
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".studio__panel .preview")
               and not a.driver.find_elements(By.CSS_SELECTOR, ".studio__panel .preview__slot [aria-busy='true']"), what, timeout=20)

    def preview_again(self, a: sb.StudioBrowser) -> None:
        a.driver.execute_script("document.querySelectorAll('.studio__panel .preview').forEach((p) => p.remove())")
        a.button("Preview again", a.panel()).click()

    def runs_of(self, flow_id: str) -> list[dict]:
        return self.api("GET", f"/api/v1/runs?flowId={flow_id}&limit=50").json.get("items") or []

    # ---- Set-up: a credential and a flow through the API -------------------------------------------

    def step_setup(self) -> None:
        made = self.api("POST", "/api/v1/credentials", {
            "type": "smtp", "name": "Loopback fixture", "host": LOOPBACK, "port": self.smtp.port, "security": "starttls",
            "username": wb.SMTP_USER, "password": wb.SMTP_PASSWORD, "caCertificate": self.ca_pem})
        self.credential_id = made.json.get("id", "")
        flow = self.api("POST", "/api/v1/flows", {
            "name": "Welcome with a preview", "enabled": False, "trigger": {"type": "manual"},
            "steps": [
                {"id": "greet", "type": "debug.echo", "parameters": {"message": "Hi {{trigger.body.name}}"}},
                {"id": "send_email", "type": "smtp.send", "parameters": {
                    "credential": self.credential_id, "from": "Posthorn <news@example.com>", "subject": "Welcome, {{trigger.body.name}}",
                    "bodyFormat": "html", "body": "Hello {{trigger.body.name}}, welcome.", "htmlBody": HTML_BODY,
                    "headers": [{"name": "X-Campaign", "value": "spring-{{trigger.body.name}}"}],
                    "attachments": [{"source": "base64", "filename": "welcome.txt", "content": base64.b64encode(ATTACHMENT).decode()}]}},
                {"id": "audit", "type": "debug.echo", "parameters": {"message": "sent {{steps.send_email.output.messageId}}"}},
            ]})
        self.flow_id = flow.json.get("id", "")
        self.check("set-up: a credential for the fixture and a three-step draft (echo, Send SMTP Email without To, echo) through the API",
                   made.status == 201 and flow.status == 201 and flow.json.get("sampleBody") is None,
                   {"credential": made.status, "flow": flow.status, "body": flow.text[:300]})

    # ---- 1. Variables ----------------------------------------------------------------------------------

    def step_variables(self) -> None:
        a = self.a
        a.at("variables: sample body")
        a.get(f"/flows/{self.flow_id}")
        a.wait(lambda: len(a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card__main")) == 4, "the canvas")
        empty = a.field("Test body (JSON)").get_attribute("value")
        self.set_test_body(a, SAMPLE)
        dirty = "Unsaved changes" in a.status_line()
        a.press(Keys.CONTROL, "s")
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the save")
        stored = self.flow(self.flow_id).get("sampleBody")
        self.check("1. the test body is the flow's sample body: empty for a new flow, an unsaved change when typed, saved with the flow (sampleBody)",
                   empty == "" and dirty and stored == SAMPLE, {"before": empty, "dirty": dirty, "stored": stored})

        a.at("variables: picker")
        self.open_step(a, 1, "Send SMTP Email")
        to = a.param("To", a.panel())
        to.click()
        to.send_keys("{{")
        a.wait(lambda: self.options(a), "the variables list")
        offered = self.options(a)
        paths = [o["path"] for o in offered]
        email = next((o for o in offered if o["path"] == "trigger.body.email"), {})
        active = to.get_attribute("aria-activedescendant")
        self.check("1. `{{` in To opens the variables: trigger.body.email (from the sample, showing its value), the step above's output, run.id and now — "
                   "nothing of the step below",
                   RECIPIENT in email.get("detail", "") and "trigger.body.name" in paths and "steps.greet.output.message" in paths
                   and "run.id" in paths and "now" in paths and not any(p.startswith(("steps.audit", "steps.send_email")) for p in paths)
                   and to.get_attribute("aria-expanded") == "true" and active == offered[0]["id"] and offered[0]["path"] == "trigger.body.email",
                   {"offered": paths, "email": email, "active": active})
        to.send_keys(Keys.ARROW_DOWN)
        down = next((o["path"] for o in self.options(a) if o["id"] == to.get_attribute("aria-activedescendant")), None)
        to.send_keys(Keys.ARROW_UP)
        up = next((o["path"] for o in self.options(a) if o["id"] == to.get_attribute("aria-activedescendant")), None)
        to.send_keys(Keys.ENTER)
        a.wait(lambda: not a.driver.find_elements(By.CSS_SELECTOR, ".varpop"), "the list to close")
        self.check("1. ↓ and ↑ move through the list, Enter inserts {{trigger.body.email}} into To (and the list closes)",
                   down == "trigger.body.name" and up == "trigger.body.email" and to.get_attribute("value") == "{{trigger.body.email}}"
                   and to.get_attribute("aria-expanded") == "false",
                   {"after ↓": down, "after ↑": up, "To": to.get_attribute("value")})

        a.at("variables: filter")
        subject = a.param("Subject", a.panel())
        subject.click()
        subject.send_keys(Keys.END, " — {{now")
        a.wait(lambda: self.options(a), "the filtered list")
        filtered = [o["path"] for o in self.options(a)]
        subject.send_keys(Keys.ESCAPE)
        closed = not a.driver.find_elements(By.CSS_SELECTOR, ".varpop")
        still = a.panel_title() == "Send SMTP Email"
        a.fill(subject, "Welcome, {{trigger.body.name}}")
        self.check("1. typing after `{{` filters the list ({{now → now); Esc closes it and leaves the panel open",
                   filtered == ["now"] and closed and still, {"filtered": filtered, "closed": closed})

        a.at("variables: flags")
        subject.send_keys(Keys.END, f" {LATER_REFERENCE}")
        a.wait(lambda: "does not come earlier" in self.flags(a, subject), "the flag at Subject")
        later = self.flags(a, subject)
        unsaved = "Unsaved changes" in a.status_line()
        stored = ((self.flow(self.flow_id).get("steps") or [{}, {}])[1].get("parameters") or {}).get("subject")
        self.check("1. a reference to a later step ({{steps.audit.output.message}} in Subject) is flagged at the field as it is typed, before saving",
                   "refers to step audit, which does not come earlier in the flow" in later and unsaved and LATER_REFERENCE not in (stored or ""),
                   {"flag": later, "unsaved": unsaved, "stored subject": stored})
        subject.send_keys(" {{steps.nosuch.output.id}} {{trigger.body.emial}}")
        a.wait(lambda: "emial" in self.flags(a, subject), "the other flags")
        more = self.flags(a, subject)
        self.check("1. so are an unknown step and a field the sample body does not have",
                   "refers to step nosuch, which is not in this flow" in more and "The sample body has no emial" in more, more)
        a.fill(subject, f"Welcome, {{{{trigger.body.name}}}} {LATER_REFERENCE}")
        a.press(Keys.CONTROL, "s")
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the draft's save")
        problems = [p.get("message", "") for p in self.flow(self.flow_id).get("problems") or []]
        self.check("1. the server agrees at save: the draft's problem names the later step",
                   any("refers to step audit, which does not come earlier in the flow" in p for p in problems), problems)
        a.fill(a.param("Subject", a.panel()), "Welcome, {{trigger.body.name}}")
        a.wait(lambda: not self.flags(a, a.param("Subject", a.panel())), "the flag to go")
        a.press(Keys.CONTROL, "s")
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the save")
        stored = self.flow(self.flow_id)
        self.check("1. fixed, the flag goes and the flow saves without problems (To {{trigger.body.email}})",
                   not stored.get("problems") and stored["steps"][1]["parameters"].get("to") == "{{trigger.body.email}}", stored.get("problems"))

    # ---- 2. Preview ------------------------------------------------------------------------------------

    def step_preview(self) -> None:
        a = self.a
        a.at("preview")
        before = len(self.recorder.deliveries)
        settings = self.tab(a, "Settings")
        settings.send_keys(Keys.ARROW_RIGHT)  # the tabs by keyboard: → selects Preview
        self.wait_preview(a, "the preview")
        preview_tab = self.tab(a, "Preview")
        keyboard = preview_tab.get_attribute("aria-selected") == "true" and a.driver.switch_to.active_element == preview_tab
        subject = a.text_of(".studio__panel .email-preview__subject")
        frame = a.driver.find_element(By.CSS_SELECTOR, ".studio__panel iframe.email-frame")
        sandbox = frame.get_attribute("sandbox")
        a.driver.switch_to.frame(frame)
        a.wait(lambda: a.driver.execute_script("return document.readyState === 'complete' && !!document.querySelector('h1')"), "the email in its frame")
        inside = a.driver.execute_script(
            "const h1 = document.querySelector('h1') || {};"
            "return {text: document.body.innerText, h1: h1.textContent, h1Color: h1.nodeType ? getComputedStyle(h1).color : null,"
            " bold: (document.querySelector('b') || {}).textContent,"
            " images: [...document.images].map((i) => ({complete: i.complete, width: i.naturalWidth})),"
            " anchor: (document.querySelector('a') || {}).textContent, origin: String(window.origin), url: location.pathname}")
        a.driver.switch_to.default_content()
        text = self.preview_text(a, ".studio__panel .email-preview__text")
        attachment = a.text_of(".studio__panel .attachment")
        upstream = a.text_of(".studio__panel .preview__note")
        left = a.text_of(".studio__panel .email-preview__left")
        self.check("2. Preview (reached with → from Settings) shows the rendered subject \"Welcome, Grace\" and the HTML body in an "
                   "<iframe sandbox=\"\"> (no scripts, an opaque origin): Welcome, Hello Grace, its inline CSS applied, the remote image not loaded",
                   keyboard and subject == "Welcome, Grace" and sandbox == "" and inside.get("h1") == "Welcome" and inside.get("bold") == "Grace"
                   and inside.get("h1Color") == "rgb(161, 92, 7)" and inside.get("images") == [{"complete": True, "width": 0}]
                   and "Hello Grace, welcome." in inside.get("text", "") and inside.get("url", "").startswith("/preview-frames/")
                   and inside.get("anchor") == "Get started" and inside.get("origin") == "null" and "Remote images" in left,
                   {"keyboard": keyboard, "subject": subject, "sandbox": sandbox, "inside": inside, "not shown": left})
        self.check("2. … the text alternative, the attachment with its name and size, and that no run stands in for the steps above",
                   text == "Hello Grace, welcome." and "welcome.txt" in attachment and f"{len(ATTACHMENT)} bytes" in attachment
                   and "no run yet" in upstream,
                   {"text": text, "attachment": attachment, "upstream": upstream})

        a.at("preview: crlf")
        self.set_test_body(a, CRLF_SAMPLE)
        stale = a.text_of(".studio__panel .preview__stale")
        self.preview_again(a)
        self.wait_preview(a, "the CRLF preview")
        a.wait(lambda: a.text_of(".studio__panel .preview__error"), "the error")
        error = a.text_of(".studio__panel .preview__error")
        self.check("2. a CRLF in a variable (the test body's name into Subject) is flagged by the preview: \"Header value contains forbidden "
                   "characters\" with the spec's advice (the page first said the preview was stale)",
                   "Header value contains forbidden characters" in error and "Strip newlines from the input variable before passing it to the node." in error
                   and "EMESSAGE" in error and "changed" in stale,
                   {"error": error, "stale": stale})
        time.sleep(0.3)
        runs = self.runs_of(self.flow_id)
        self.check("2. the previews sent nothing and created no run: the fixture is empty, the flow has no run",
                   len(self.recorder.deliveries) == before == 0 and runs == [], {"delivered": len(self.recorder.deliveries), "runs": runs})

    def step_refused_url(self) -> None:
        a = self.a
        a.at("preview: refused url")
        made = self.api("POST", "/api/v1/flows", {"name": "Report with a link", "enabled": False, "trigger": {"type": "manual"}, "steps": [
            {"id": "send_report", "type": "smtp.send", "parameters": {
                "credential": self.credential_id, "from": "news@example.com", "to": RECIPIENT, "subject": "Report", "body": "Attached.",
                "attachments": [{"source": "url", "url": "http://169.254.169.254/latest/meta-data"}]}}]})
        flow_id = made.json.get("id", "")
        a.get(f"/flows/{flow_id}")
        a.wait(lambda: len(a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card__main")) == 2, "the canvas")
        self.open_step(a, 0, "Send SMTP Email")
        self.tab(a, "Preview").click()
        self.wait_preview(a, "the preview")
        a.wait(lambda: a.text_of(".studio__panel .preview__error"), "the error")
        error = a.text_of(".studio__panel .preview__error")
        self.check("2. a URL attachment is fetched through the same guard: a refused address (169.254.169.254) shows in the preview (EPOLICY), no run",
                   "EPOLICY" in error and "attachments[0].url" in error and "refused" in error and not self.runs_of(flow_id), error)
        a.get(f"/flows/{self.flow_id}")
        a.wait(lambda: len(a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card__main")) == 4, "the first flow again")
        self.open_step(a, 1, "Send SMTP Email")
        self.tab(a, "Preview").click()
        self.wait_preview(a, "the first flow's preview")

    # ---- 3. Header bytes: the preview against the real send ----------------------------------------------

    def step_header_bytes(self) -> None:
        a = self.a
        a.at("header bytes")
        self.set_test_body(a, SAMPLE)
        self.preview_again(a)
        self.wait_preview(a, "the preview")
        shown = self.preview_text(a, ".studio__panel .email-preview__headers")
        a.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": self.server.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        a.button("Copy headers", a.panel()).click()
        copied = a.driver.execute_async_script("const done = arguments[0]; navigator.clipboard.readText().then(done, (e) => done('ERROR ' + e))")
        pinned_id = a.text_of(".studio__panel .email-preview__head .copyable__value")
        pinned_date = a.driver.execute_script(
            "const dt = [...document.querySelectorAll('.email-preview__head dt')].find((d) => d.textContent === 'Date'); return dt ? dt.nextElementSibling.textContent : ''")
        block = copied.encode()
        self.check("3. the preview pins and shows its Date and Message-ID (the same as in its header block); Copy copies the block exactly",
                   copied == shown and f"\r\nMessage-ID: {pinned_id}\r\n" in copied and copied.startswith(f"Date: {pinned_date}\r\n") and copied.endswith("\r\n\r\n"),
                   {"copied == shown": copied == shown, "Message-ID": pinned_id, "Date": pinned_date, "block": copied[:300]})

        before = len(self.recorder.deliveries)
        run_id = self.run_and_wait(a, lambda: a.button("Run").click())
        a.wait(lambda: len(self.recorder.deliveries) > before, "the fixture to hold the message", timeout=10)
        received = header_block(self.recorder.deliveries[before].raw)
        same = pinned_out(block) == pinned_out(received)
        self.check("3. the bytes of the preview's headers equal those the fixture receives from the run that follows, but for Date and Message-ID "
                   "(pinned by the preview) and the MIME boundary strings (which derive from the Message-ID)",
                   same and a.run_status() == "Succeeded" and block != received,
                   {"run": a.run_status(), "difference": None if same else first_difference(pinned_out(block), pinned_out(received)),
                    "preview": block.decode(errors="replace"), "received": received.decode(errors="replace")})

        a.at("header bytes: upstream")
        self.open_step(a, 1, "Send SMTP Email")
        self.tab(a, "Preview").click()
        self.wait_preview(a, "the preview after the run")
        upstream = a.text_of(".studio__panel .preview__note")
        linked = a.driver.execute_script("const l = document.querySelector('.studio__panel .preview__note a[data-run]'); return l ? l.dataset.run : ''")
        self.check("3. the next preview says its upstream outputs come from the last run, naming that run",
                   "come from the last run" in upstream and linked == run_id, {"note": upstream, "run": run_id})
        self.tab(a, "Settings").click()

    # ---- 4. Cron at a glance -------------------------------------------------------------------------

    def cron_field(self, a: sb.StudioBrowser):
        label = a.panel().find_element(By.XPATH, ".//label[starts-with(normalize-space(.), 'Cron expression')]")
        return a.driver.find_element(By.ID, label.get_attribute("for"))

    def cron_requests(self, a: sb.StudioBrowser) -> list[dict]:
        a.harvest()
        return [r for r in a.requests.values() if r.get("url", "").endswith("/api/v1/cron/preview") and r.get("method") == "POST"]

    def step_cron(self) -> None:
        a = self.a
        a.at("cron: bad expression")
        asked_before = len(self.cron_requests(a))
        a.driver.find_element(By.CSS_SELECTOR, "[data-card='trigger']").click()
        a.wait(lambda: a.panel_title() == "Trigger", "the trigger panel")
        a.choose("Schedule", a.panel())
        expression = self.cron_field(a)
        a.fill(expression, "61 8 * * *")
        a.wait(lambda: a.field_error(self.cron_field(a)), "the refusal at the field")
        shown = a.field_error(self.cron_field(a))
        server = self.api("POST", "/api/v1/cron/preview", {"expression": "61 8 * * *", "timeZone": "UTC"})
        times = a.driver.find_elements(By.CSS_SELECTOR, ".studio__panel .schedule time")
        self.check("4. a bad cron expression is refused at the field, in the server's words (422 naming expression), no times shown",
                   server.status == 422 and server.json["error"].get("field") == "expression" and shown == server.json["error"]["message"] and not times,
                   {"at the field": shown, "server": server.text[:200]})

        a.at("cron: good expression")
        a.fill(self.cron_field(a), "0 8 * * MON-FRI")
        Select(a.driver.find_element(By.ID, a.panel().find_element(By.XPATH, ".//label[normalize-space(.)='Time zone']").get_attribute("for"))).select_by_value("Europe/Madrid")
        a.wait(lambda: not a.field_error(self.cron_field(a)) and len(a.driver.find_elements(By.CSS_SELECTOR, ".studio__panel .schedule time")) == 5
               and "Madrid" in a.text_of(".studio__panel .schedule__reading"), "five times for Europe/Madrid")
        shown = a.driver.execute_script(
            "return {at: [...document.querySelectorAll('.studio__panel .schedule time')].map((t) => t.getAttribute('datetime')),"
            " text: [...document.querySelectorAll('.studio__panel .schedule__time')].map((t) => t.innerText),"
            " reading: (document.querySelector('.studio__panel [data-description]') || {}).textContent}")
        server = self.api("POST", "/api/v1/cron/preview", {"expression": "0 8 * * MON-FRI", "timeZone": "Europe/Madrid"}).json
        fires = server.get("next") or []
        walls = [f"{f['local'][11:16]}" for f in fires]
        asked = self.cron_requests(a)[asked_before:]
        self.check("4. a good one (0 8 * * MON-FRI, Europe/Madrid) shows five times that match the server's next fires, at 08:00 wall time, and its "
                   "reading (\"every weekday at 08:00, Europe/Madrid\")",
                   shown["at"] == [f["at"] for f in fires] and len(fires) == 5 and all(w in t and "08:00" in t for w, t in zip(walls, shown["text"]))
                   and shown["reading"] == server.get("description") == "every weekday at 08:00, Europe/Madrid",
                   {"shown": shown, "server": server})
        self.check(f"4. every reading came from the server: {len(asked)} POST /api/v1/cron/preview as it was typed, no cron in the page",
                   len(asked) >= 2 and all(r.get("status") in (200, 422) for r in asked), [(r.get("status"), r.get("step")) for r in asked])
        a.choose("Manual", a.panel())
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the flow as saved again")

    # ---- 5. Scale --------------------------------------------------------------------------------------

    def step_scale(self) -> None:
        a = self.a
        a.at("scale: 100 steps")
        steps = [{"id": f"s{i}", "type": "debug.echo", "parameters": {"message": f"Step {i} for {{{{trigger.body.name}}}}"}} for i in range(1, 101)]
        made = self.api("POST", "/api/v1/flows", {"name": "One hundred steps", "enabled": False, "trigger": {"type": "manual"}, "steps": steps})
        flow_id = made.json.get("id", "")
        found = measure_open(a, f"/flows/{flow_id}", 101)
        ready = [f["ready"] for f in found]
        self.scale_numbers = {"open": found}
        self.check(f"5. a flow of 100 steps (the API's maximum) opens with every card interactive in {statistics.median(ready)} ms "
                   f"(median of {len(ready)}: {ready} ms; target {OPEN_TARGET_MS} ms)",
                   made.status == 201 and max(ready) < OPEN_TARGET_MS, found)

        a.at("scale: zoom")
        column = ".studio__main"
        tall = a.driver.execute_script(f"return document.querySelector('{column}').scrollHeight")
        a.button("Zoom out").click()
        a.button("Zoom out").click()
        zoomed = a.driver.execute_script(f"return document.querySelector('{column}').scrollHeight")
        level = a.text_of(".canvas__zoom-level")
        last = self.step_card(a, 99)
        a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", last)
        last.click()
        a.wait(lambda: a.panel_title() == "Echo", "the last step's panel")
        step_id = a.field("Step id", a.panel()).get_attribute("value")
        a.button("Zoom 50%: back to 100%").click()
        self.check(f"5. the canvas scrolls and zooms: at 50% the column is {zoomed} px tall instead of {tall} px; the 100th card opens its step",
                   level == "50%" and zoomed < tall * 0.6 and step_id == "s100", {"level": level, "tall": tall, "zoomed": zoomed, "step": step_id})

        a.at("scale: history")
        bulk = self.api("POST", "/api/v1/flows", {"name": "Bulk runs", "enabled": True, "trigger": {"type": "manual"},
                                                  "steps": [{"id": "echo", "type": "debug.echo", "parameters": {"n": "{{trigger.body.n}}"}}]})
        self.bulk_id = bulk.json.get("id", "")
        seconds = seed_runs(self.client, self.session, self.bulk_id, SCALE_RUNS)
        total = count_runs(self.client, self.session)
        oldest = oldest_run(self.client, self.session)
        result = measure_history(a, total, oldest)
        self.scale_numbers["history"] = {**result, "runs": total, "seeded in s": round(seconds, 1)}
        end, middle, flick = result["end"], result["middle"], result["flick"]
        sized = result["total"] == total and abs(result["listHeight"] - total * result["rowHeight"]) <= 4
        self.check(f"5. the history of {total} runs is sized for all of them from its first page ({result['listHeight']} px = {total} rows "
                   f"of {result['rowHeight']} px)", sized, {k: result[k] for k in ("total", "listHeight", "rowHeight")})
        # End asks for the last rows by their offset at once (no walk through the pages before them).
        reach = lambda q: int(dict(urllib.parse.parse_qsl(q)).get("offset", -10**6)) + int(dict(urllib.parse.parse_qsl(q)).get("limit", 0))  # noqa: E731
        by_offset = all(any(reach(q) >= total for q in reqs or []) for reqs in end["requests"])
        few = all(1 <= len(reqs or []) <= 4 for reqs in end["requests"])
        self.check(f"5. End on /runs draws the oldest of {total} runs in {end['medianMs']} ms (median of {len(end['ms'])}: {end['ms']} ms; "
                   f"target {OPEN_TARGET_MS} ms), asking for the last rows by offset (after the key: {end['requests'][0]})",
                   not end["timeouts"] and end["maxMs"] < OPEN_TARGET_MS and by_offset and few, end)
        self.check(f"5. the middle of the history (run {total // 2}) is drawn {middle['medianMs']} ms after the scroll that lands there "
                   f"(median of {len(middle['ms'])}: {middle['ms']} ms; target {OPEN_TARGET_MS} ms), one page asked for by offset ({middle['requests'][0]})",
                   not middle["timeouts"] and middle["maxMs"] < OPEN_TARGET_MS and all(1 <= len(r or []) <= 2 for r in middle["requests"]), middle)
        self.check(f"5. a flick from the newest run to the oldest (one viewport a frame, {flick.get('frames')} frames): "
                   f"{flick.get('placeholderFrames')} frames showed placeholders, for at most {flick.get('longestPlaceholderMs')} ms "
                   f"(target {OPEN_TARGET_MS} ms); at most {flick.get('mostRowsDrawn')} rows in the document; back at the top, the newest run",
                   not flick.get("timeout") and flick.get("longestPlaceholderMs", 10**6) < OPEN_TARGET_MS
                   and flick.get("mostRowsDrawn", 10**6) <= 200 and flick.get("backToTop"), flick)

        a.at("scale: live")
        self.live_insert(a, total)

        a.at("scale: a million runs")
        found = measure_synthetic(a, SYNTHETIC_RUNS)
        self.scale_numbers["synthetic"] = found
        self.check(f"5. a history of {SYNTHETIC_RUNS:,} runs (answers made up in the page) fits the browser: the list is "
                   f"{found.get('height')} px, scaled (a browser lays out 33.5 million px at most); End shows run "
                   f"{found.get('endLast'):,} of {found.get('endSetSize'):,} ({found.get('endId')}) in {found.get('endMs')} ms; the middle "
                   f"shows run {found.get('middleFirst'):,}; at most {found.get('mostRowsDrawn')} rows drawn",
                   found.get("scaled") and found.get("height", 10**9) <= 12_000_000 + 1000
                   and found.get("endLast") == SYNTHETIC_RUNS and found.get("endSetSize") == SYNTHETIC_RUNS
                   and found.get("endId") == f"run_synthetic{SYNTHETIC_RUNS - 1:07d}" and not found.get("endPlaceholders") and found.get("endAtListBottom")
                   and abs(found.get("middleFirst", 0) - SYNTHETIC_RUNS // 2) <= 50 and not found.get("middlePlaceholders")
                   and found.get("mostRowsDrawn", 10**6) <= 200, found)

    def live_insert(self, a: sb.StudioBrowser, total: int) -> None:
        """Live events in a long history: two runs made while someone reads the middle of /runs are
        counted (aria-setsize, the list's height) and the rows on screen stay where they are; back at
        the top, the two are the first rows."""
        open_runs(a)
        a.driver.execute_script(MIDDLE.replace("const done = arguments[arguments.length - 1];", "const done = () => {};"), total // 2)
        a.wait(lambda: a.driver.execute_script("return window.__runsView().placeholders === 0 && window.__runsView().rows > 0"), "the middle drawn")
        seen = "const rows = [...document.querySelectorAll('.run-list .run-row[data-run]')].filter((li) => li.getBoundingClientRect().top >= 0);" \
               "const r = rows[0]; return {id: r.dataset.run, top: Math.round(r.getBoundingClientRect().top), at: Number(r.getAttribute('aria-posinset'))," \
               " size: Number(r.getAttribute('aria-setsize')), total: Number(document.querySelector('.run-list').dataset.total)}"
        before = a.driver.execute_script(seen)
        answers = [self.api("POST", f"/api/v1/flows/{self.bulk_id}/runs", {"n": -k}) for k in (1, 2)]
        made = [r.json.get("runId") for r in answers]
        try:
            a.wait(lambda: a.driver.execute_script("return Number(document.querySelector('.run-list').dataset.total)") == before["total"] + 2, "the two runs counted", timeout=10)
        except Exception:  # noqa: BLE001 - reported below
            pass
        time.sleep(0.3)
        after = a.driver.execute_script(seen)
        a.driver.execute_script("window.scrollTo(0, 0)")
        try:
            a.wait(lambda: a.driver.execute_script("return [...document.querySelectorAll('.run-list .run-row[data-run]')].slice(0, 2).map((r) => r.dataset.run)") == made[::-1], "the new runs at the top", timeout=10)
        except Exception:  # noqa: BLE001 - reported below
            pass
        top = a.driver.execute_script("return [...document.querySelectorAll('.run-list .run-row[data-run]')].slice(0, 3).map((r) => [r.dataset.run, r.getAttribute('aria-posinset')])")
        self.check(f"5. two runs made while the middle of /runs is read: counted ({before['total']} → {after['total']} runs, aria-setsize {after['size']}), "
                   f"the row on screen stays put (run {after['id']} at {after['top']} px, now number {after['at']}); at the top, the two new runs first",
                   after["total"] == after["size"] == before["total"] + 2 and after["id"] == before["id"] and abs(after["top"] - before["top"]) <= 1
                   and after["at"] == before["at"] + 2 and [r[0] for r in top[:2]] == made[::-1],
                   {"before": before, "after": after, "made": [(r.status, r.json) for r in answers], "top": top})

    def step_offer(self) -> None:
        """A flow without a sample body (the bulk flow: runs, no sampleBody) is offered its last run's trigger body."""
        a = self.a
        a.at("sample body: offer")
        newest = self.runs_of(self.bulk_id)[0]["id"]
        body = self.api("GET", f"/api/v1/runs/{newest}").json.get("trigger", {}).get("body")
        a.get(f"/flows/{self.bulk_id}")
        a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".test-body__offer:not([hidden]) .callout"), "the offer")
        offer = a.text_of(".test-body__offer")
        a.button("Use it as the sample body").click()
        filled = json.loads(a.field("Test body (JSON)").get_attribute("value") or "null")
        a.press(Keys.CONTROL, "s")
        a.wait(lambda: "Unsaved changes" not in a.status_line(), "the save")
        stored = self.flow(self.bulk_id).get("sampleBody")
        self.check("1. a flow without a sample body is offered its last run's trigger body; one click fills the test body, and it saves as the sample body",
                   "no sample body yet" in offer and filled == body == stored and isinstance(body, dict),
                   {"offer": offer, "filled": filled, "last run's body": body, "stored": stored})

    # ---- 6. Screenshots --------------------------------------------------------------------------------

    def step_screenshots(self) -> None:
        a = self.a
        a.at("screenshots")
        for theme, device in [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")]:
            a.get(f"/flows/{self.flow_id}")
            a.wait(lambda: len(a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card__main")) == 4, "the canvas")
            self.prepare(a, theme, device)
            self.open_step(a, 1, "Send SMTP Email")
            to = a.param("To", a.panel())
            a.driver.execute_script("arguments[0].closest('.field').scrollIntoView({block: 'start'})", to)  # below the tabs (scroll-padding)
            a.fill(to, "")
            to.send_keys("{{")
            a.wait(lambda: self.options(a), "the variables list")
            to.send_keys(Keys.ARROW_DOWN)
            self.shots(a, "studio-variables", [(theme, device)])
            to.send_keys(Keys.ESCAPE)
            a.fill(to, "{{trigger.body.email}}")
            self.tab(a, "Preview").click()
            self.wait_preview(a, "the preview")
            a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".studio__panel iframe.email-frame"), "the frame")
            time.sleep(0.3)
            self.shots(a, "studio-preview", [(theme, device)])
            a.driver.execute_script("document.querySelector('.studio__panel .email-preview__html').scrollIntoView({block: 'start'})")
            self.shots(a, "studio-preview-html", [(theme, device)])
            a.get(f"/flows/{self.flow_id}")  # the page asks before leaving unsaved work: there is none
            a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, "[data-card='trigger']"), "the canvas")
            self.prepare(a, theme, device)
            a.driver.find_element(By.CSS_SELECTOR, "[data-card='trigger']").click()
            a.wait(lambda: a.panel_title() == "Trigger", "the trigger panel")
            a.choose("Schedule", a.panel())
            a.fill(self.cron_field(a), "0 8 * * MON-FRI")
            Select(a.driver.find_element(By.ID, a.panel().find_element(By.XPATH, ".//label[normalize-space(.)='Time zone']").get_attribute("for"))).select_by_value("Europe/Madrid")
            a.wait(lambda: len(a.driver.find_elements(By.CSS_SELECTOR, ".studio__panel .schedule time")) == 5 and "Madrid" in a.text_of(".studio__panel .schedule__reading"), "the schedule")
            a.driver.execute_script("document.querySelector('.studio__panel .schedule').scrollIntoView({block: 'end'})")
            self.shots(a, "studio-cron", [(theme, device)])
            a.choose("Manual", a.panel())
            a.viewport(1280, 800)
        self.screenshots_runs()

    def screenshots_runs(self) -> None:
        """/runs with its 1,000-odd runs: the top of the history, and the end of its first page with the
        rows after it on their way (the page's fetch of runs by offset held for 20 s: placeholders)."""
        a = self.a
        for theme, device in [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")]:
            self.prepare(a, theme, device)
            a.get("/runs")
            a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".run-list .run-row[data-run]"), "the runs")
            self.shots(a, "runs", [(theme, device)])
        probe = a.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD_PAGES % 20000})
        try:
            for theme, device in [("light", "desktop"), ("dark", "phone")]:
                self.prepare(a, theme, device)
                a.get("/runs")
                a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".run-list .run-row[data-run]"), "the runs")
                # The first page (50 runs) is in; a little above its end, the rows after it are on their way.
                a.driver.execute_script("const list = document.querySelector('.run-list'); const row = list.querySelector('.run-row');"
                                        "scrollTo(0, scrollY + list.getBoundingClientRect().top + 44 * row.getBoundingClientRect().height)")
                a.wait(lambda: a.driver.find_elements(By.CSS_SELECTOR, ".run-list .run-row--placeholder"), "placeholders")
                self.shots(a, "runs-loading", [(theme, device)])
        finally:
            a.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": probe["identifier"]})
            a.get("/flows")

    # ---- Running it all --------------------------------------------------------------------------------

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
        self.flow_id = self.credential_id = self.bulk_id = ""
        self.scale_numbers: dict = {}
        try:
            try:
                self.a = self.browser("owner")
            except WebDriverException as error:
                self.a = None
                self.check("headless Chromium starts under chromedriver", False, str(error).splitlines()[0])
            steps = [] if self.a is None else [
                ("sign in", self.sign_in),
                ("set-up", self.step_setup),
                ("1. variables", self.step_variables),
                ("2. preview", self.step_preview),
                ("2. preview: refused url", self.step_refused_url),
                ("3. header bytes", self.step_header_bytes),
                ("4. cron at a glance", self.step_cron),
                ("5. scale", self.step_scale),
                ("1. sample body offered", self.step_offer),
            ]
            if self.screenshots:
                steps.append(("6. screenshots", self.step_screenshots))
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
        if self.scale_numbers:
            print(f"scale: {json.dumps(self.scale_numbers)}")
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

    chromium, chromedriver = wb.find_browser()
    problems = []
    if wb.webdriver is None:
        problems.append("selenium is not installed (python3 -m pip install selenium)")
    if chromium is None:
        problems.append("no chromium (apt-get install chromium)")
    if chromedriver is None:
        problems.append("no chromedriver (apt-get install chromium-driver)")
    if problems:
        print(f"FAIL browser available: {'; '.join(problems)}")
        print("0 passed, 1 failed")
        return 1
    with tempfile.TemporaryDirectory(prefix="posthorn-studio2-") as tmp:
        return Studio2Check(args.posthorn, Path(tmp), chromium, chromedriver, args.screenshots).run()


if __name__ == "__main__":
    sys.exit(main())
