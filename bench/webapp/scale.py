#!/usr/bin/env python3
"""The web app at scale (bench/webapp-scale): headless Chromium against a real `posthorn serve`.

1. A flow of 100 debug.echo steps (the API's maximum), made through the API, opened in Flow Studio
   `--rounds` times from another page: milliseconds from navigation start to every card drawn and
   to the first free task after that (the page takes a click), in the page's own clock; then a
   click on the 100th card and the time until its panel shows.
2. `--runs` runs (10,000), made through POST /api/v1/flows/{id}/runs and executed by the server,
   then /runs (scripts/checks/studio2_browser.py, measure_history), each in the page's own clock and
   each from a fresh page: "end" — End pressed, until the oldest run's row is drawn (`--rounds`
   times); "middle" — one scroll to the middle run, until the rows there are drawn (`--rounds`
   times); "flick" — one viewport height a frame from the newest run to the oldest, counting the
   frames that showed placeholders and the longest stretch of them; with the longest frame and
   the most rows in the document. For reference, the API alone: the last page by offset fetched
   in the same browser, nothing drawn.
3. A made-up history of 1,000,000 runs (the page's fetch answered in the page, 30 ms a page): the
   list's height (scaled to fit what a browser lays out), End and the middle.

Prints one JSON object and a table. Every server this starts listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "checks"))
import studio2_browser as s2  # noqa: E402  (server, sign-in, the measurements)
import webapp_browser as wb  # noqa: E402

from selenium.webdriver.common.by import By  # noqa: E402

LAST_PAGE = """
const [total, rounds] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const took = [];
  for (let i = 0; i < rounds; i += 1) {
    const started = performance.now();
    const r = await fetch(`/api/v1/runs?offset=${Math.max(0, total - 200)}&limit=200`, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    const page = await r.json();
    took.push(performance.now() - started);
    if (page.items.length !== Math.min(200, total)) return done({ error: page });
  }
  took.sort((a, b) => a - b);
  done({ medianMs: took[Math.floor(took.length / 2)], ms: took });
})();
"""


class Scale(s2.Studio2Check):
    def __init__(self, *args, runs: int, rounds: int) -> None:
        super().__init__(*args)
        self.runs, self.rounds = runs, rounds

    def measure(self) -> dict:
        a = self.a
        out: dict = {"machine": f"nproc={os.cpu_count()}, {platform.processor() or platform.machine()}, {platform.release()}", "binary": self.binary}
        steps = [{"id": f"s{i}", "type": "debug.echo", "parameters": {"message": f"Step {i} for {{{{trigger.body.name}}}}"}} for i in range(1, 101)]
        flow = self.api("POST", "/api/v1/flows", {"name": "One hundred steps", "enabled": False, "trigger": {"type": "manual"}, "steps": steps}).json
        opens = s2.measure_open(a, f"/flows/{flow['id']}", 101, rounds=self.rounds)
        last = a.driver.find_elements(By.CSS_SELECTOR, ".canvas .node-card:not(.node-card--trigger) .node-card__main")[99]
        a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", last)
        started = time.monotonic()
        last.click()
        a.wait(lambda: a.panel_title() == "Echo", "the 100th step's panel")
        out["open100"] = {"readyMs": [o["ready"] for o in opens], "cardsMs": [o["cards"] for o in opens],
                          "domContentLoadedMs": [o["domContentLoaded"] for o in opens],
                          "readyMedianMs": statistics.median(o["ready"] for o in opens), "readyMaxMs": max(o["ready"] for o in opens),
                          "click100thToPanelMs": round((time.monotonic() - started) * 1000)}

        bulk = self.api("POST", "/api/v1/flows", {"name": "Bulk runs", "enabled": True, "trigger": {"type": "manual"},
                                                  "steps": [{"id": "echo", "type": "debug.echo", "parameters": {"n": "{{trigger.body.n}}"}}]}).json
        seeded = s2.seed_runs(self.client, self.session, bulk["id"], self.runs)
        total = s2.count_runs(self.client, self.session)
        oldest = s2.oldest_run(self.client, self.session)
        out["history"] = {"runs": total, "seededInS": round(seeded, 1), **s2.measure_history(a, total, oldest, rounds=self.rounds)}
        a.get("/flows")
        a.driver.set_script_timeout(60)
        floor = a.driver.execute_async_script(LAST_PAGE, total, self.rounds)
        out["history"]["apiLastPage"] = {k: [round(x, 1) for x in v] if isinstance(v, list) else round(v, 1) for k, v in floor.items()}
        out["synthetic"] = s2.measure_synthetic(a, s2.SYNTHETIC_RUNS)
        # Pages the server failed (each is asked for again after 250 ms, which the waits then include).
        a.harvest()
        out["history"]["failedPages"] = sorted({e.get("message", "")[:160] for _, e in a.console
                                                if "/api/v1/runs?" in e.get("message", "") and "status of 5" in e.get("message", "")})
        return out

    def run(self) -> int:
        self.recorder = wb.Recorder()
        self.server = wb.Server(self.binary, self.work)
        self.client = wb.Client(self.server.port)
        self.session = ""
        try:
            self.a = self.browser("owner")
            self.sign_in()
            result = self.measure()
        finally:
            for browser in self.browsers:
                browser.quit()
            self.server.stop()
        print(json.dumps(result, indent=2))
        o, hist = result["open100"], result["history"]
        print()
        print("| measurement | result | target |")
        print("|---|---|---|")
        print(f"| open a flow of 100 steps: navigation start → all cards interactive | median {o['readyMedianMs']} ms, max {o['readyMaxMs']} ms ({o['readyMs']}) | < 1000 ms |")
        print(f"| … then a click on the 100th card → its panel | {o['click100thToPanelMs']} ms (as seen by the driver) | |")
        e, m, f, syn = hist["end"], hist["middle"], hist["flick"], result["synthetic"]
        print(f"| history of {hist['runs']} runs: End → the oldest run drawn | median {e['medianMs']} ms, max {e['maxMs']} ms ({e['ms']}) | < 1000 ms |")
        print(f"| … one scroll to the middle → its rows drawn | median {m['medianMs']} ms, max {m['maxMs']} ms ({m['ms']}) | < 1000 ms |")
        print(f"| … flick, newest to oldest, one viewport a frame | {round(f['ms'])} ms, {f['frames']} frames; {f['placeholderFrames']} showed placeholders, "
              f"longest stretch {f['longestPlaceholderMs']} ms; longest frame {f['worstFrameMs']} ms; at most {f['mostRowsDrawn']} rows drawn; {f['requests']} requests | < 1000 ms (the stretch) |")
        print(f"| the API alone: the last 200 runs by offset | median {hist['apiLastPage']['medianMs']} ms | |")
        if hist["failedPages"]:
            print(f"| pages the server failed (5xx), each asked for again | {len(hist['failedPages'])}: {hist['failedPages'][:2]} | |")
        print(f"| made-up history of {syn['total']:,} runs: list height, End → the last run drawn, the middle | {syn['height']} px"
              f"{' (scaled)' if syn['scaled'] else ''}; End {syn['endMs']} ms (run {syn['endLast']:,}); middle {syn['middleMs']} ms (run {syn['middleFirst']:,}) | |")
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("posthorn")
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    chromium, chromedriver = wb.find_browser()
    if not (chromium and chromedriver and wb.webdriver):
        print("needs chromium, chromedriver and selenium (scripts/test installs them)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="posthorn-webapp-scale-") as tmp:
        return Scale(args.posthorn, Path(tmp), chromium, chromedriver, False, runs=args.runs, rounds=args.rounds).run()


if __name__ == "__main__":
    sys.exit(main())
