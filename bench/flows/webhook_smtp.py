"""Webhook → smtp.send → Postfix's smtp-sink, end to end through `posthorn serve` under wrk: the
"webhook → smtp.send" row of `bench/run` (bench/harness.py calls ``measure``).

`posthorn serve` starts on a fresh data directory on 127.0.0.1 with the operator egress allowlist
set to 127.0.0.1 (`--allow-private-egress`: the sink is on loopback, which Posthorn refuses
otherwise). Through the API it gets a workspace, a plaintext SMTP credential for the sink, and a
webhook flow with one "Send SMTP Email" step (`smtp.send`) whose To, Subject and Body are
templated from the webhook body. wrk then POSTs webhook_load.py's JSON body to the webhook with
keep-alive connections, first for a short warm-up, then for the measured window; after each, the
database is read until no run is queued or running.

What it reports:
  * emails/s: runs that succeeded (the sink's 250 to the final dot received) with a finish time
    inside the measured wrk window, ÷ the window; next to it, messages the sink counted in the
    same window ÷ the window;
  * the webhook acknowledgement (202) p50 / p99 from wrk's latency distribution (`--latency`);
  * the peak RSS of `posthorn serve` (VmHWM).

And it checks, over warm-up and window together: the messages smtp-sink counted (its `-c`
counter, written as each "." arrives) equal the succeeded runs in the database, no run ended in
any other state, every run wrk saw acknowledged is stored (at most one per connection more: wrk
stops with requests in flight), no non-2xx answer or socket error, and one stored run's send step
names the templated recipient.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Protocol

import webhook_load as load

TARGET_RATE = 2000  # emails/s
TARGET_P99_MS = 20.0  # webhook acknowledgement p99
LOOPBACK = "127.0.0.1"
# What the templates below make of webhook_load.BODY.
EXPECTED_RECIPIENT = f"{load.BODY['name']}@example.com"


class CountingSink(Protocol):
    """An SMTP sink on 127.0.0.1 that counts the messages it received (harness.Sink)."""

    port: int

    def count(self) -> int:
        """Messages received since the sink started."""
        ...


def smtp_flow(base: str, token: str, sink_port: int) -> str:
    """A plaintext credential for the sink and a webhook flow sending one templated email per
    request; returns the webhook id."""
    status, credential = load.call(base, "POST", "/api/v1/credentials", token, {
        "name": "smtp-sink", "host": LOOPBACK, "port": sink_port, "security": "plaintext"})
    assert status == 201, credential
    step = {"id": "send", "type": "smtp.send", "parameters": {
        "credential": credential["id"], "from": "Posthorn bench <bench@example.com>",
        "to": "{{trigger.body.name}} <{{trigger.body.name}}@example.com>",
        "subject": "Hello {{trigger.body.name}}",
        "body": "Hello {{trigger.body.name}}, your number is {{trigger.body.n}}."}}
    return load.create_webhook_flow(base, token, [step], name="bench smtp")


def succeeded_between(database: Path, start_ms: int, end_ms: int) -> int:
    """Succeeded runs whose finish time falls in [start_ms, end_ms)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT COUNT(*) FROM runs WHERE status = 'succeeded' AND finished_at >= ? AND finished_at < ?",
                          (start_ms, end_ms)).fetchone()[0]


def peak_rss_kib(pid: int) -> int | None:
    """The process's peak resident set (VmHWM), in KiB; None when /proc does not say."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def sent_to(base: str, token: str) -> list[str]:
    """The accepted recipients the newest run's send step reports (its step output)."""
    _, runs = load.call(base, "GET", "/api/v1/runs?limit=1", token)
    items = runs.get("items") or [{}]
    _, run = load.call(base, "GET", f"/api/v1/runs/{items[0].get('id', '')}", token)
    for step in run.get("steps", []):
        if step.get("id") == "send":
            return (step.get("output") or {}).get("accepted") or []
    return []


def measure(binary: str, sink: CountingSink, seconds: int, connections: int,
            warmup_seconds: int = load.WARMUP_SECONDS) -> dict:
    """One measurement: server started, flow made, warmed up, measured, drained, checked, stopped.

    Returns ``ok`` (every check passed), ``problems`` (what failed), ``rate`` (succeeded runs/s
    in the window), ``sink_rate``, ``p50``/``p99`` (ms), ``rss_kib``, the raw counts, wrk's output
    and the tail of the server's log."""
    with tempfile.TemporaryDirectory(prefix="posthorn-webhook-smtp-") as tmp:
        work = Path(tmp)
        port = load.free_port()
        base = f"http://{LOOPBACK}:{port}"
        database = work / "data" / "posthorn.sqlite"
        server = load.start_server(binary, work / "data", port, work / "server.log",
                                   ["--allow-private-egress", LOOPBACK])
        try:
            token = load.create_workspace(base)
            url = f"{base}/hooks/{smtp_flow(base, token, sink.port)}"
            sink_start = sink.count()
            warm = load.wrk(url, warmup_seconds, connections, work)
            load.drain(database)
            sink_before = sink.count()
            start_ms, t0 = int(time.time() * 1000), time.monotonic()
            measured = load.wrk(url, seconds, connections, work)
            window, end_ms = time.monotonic() - t0, int(time.time() * 1000)
            sink_after = sink.count()
            settled = load.drain(database)
            time.sleep(0.05)  # the sink writes its counter as "." arrives; let the last one land
            sink_total = sink.count() - sink_start
            in_window = succeeded_between(database, start_ms, end_ms)
            recipients = sent_to(base, token)
            rss = peak_rss_kib(server.pid)
        finally:
            load.stop_servers([server])
        log_tail = (work / "server.log").read_text(errors="replace")[-2000:] if (work / "server.log").exists() else ""

    counts = settled["counts"]
    stored = sum(counts.values())
    succeeded = counts.get("succeeded", 0)
    acknowledged = sum(w["requests"] - w["non2xx"] for w in (warm, measured))
    problems = []
    if sink_total != succeeded:
        problems.append(f"smtp-sink counted {sink_total:,} messages, the database has {succeeded:,} succeeded runs")
    if succeeded != stored:
        problems.append(f"runs not succeeded: { {k: v for k, v in counts.items() if k != 'succeeded'} }")
    # wrk stops counting with requests in flight: up to one stored run per connection per wrk run
    # more than it saw acknowledged.
    if not acknowledged <= stored <= acknowledged + 2 * connections:
        problems.append(f"wrk saw {acknowledged:,} acknowledged, the database stored {stored:,} runs")
    for label, w in (("warm-up", warm), ("window", measured)):
        if w["non2xx"] or w["errors"]:
            problems.append(f"{label}: {w['non2xx']} non-2xx, {w['errors']} socket errors")
    if recipients != [EXPECTED_RECIPIENT]:
        problems.append(f"the send step reports recipients {recipients!r}, expected [{EXPECTED_RECIPIENT!r}]")
    return {
        "ok": not problems, "problems": problems,
        "rate": in_window / window, "sink_rate": (sink_after - sink_before) / window, "window_seconds": window,
        "p50": measured["p50"], "p99": measured["p99"], "rss_kib": rss,
        "accepted_rate": (measured["requests"] - measured["non2xx"]) / window,
        "acknowledged": acknowledged, "stored": stored, "succeeded": succeeded, "sink_messages": sink_total,
        "counts": counts, "drain_span_ms": settled["span_ms"], "wrk": measured["raw"], "server_log_tail": log_tail,
    }
