"""Webhook load benchmark for the flow engine: how many runs per second `posthorn serve` accepts
(202 after the run is persisted) and completes, and the webhook acknowledgement latency.

Usage (normally through bench/run-flows):
    python3 bench/flows/webhook_load.py PATH_TO_POSTHORN [--seconds 10] [--connections 32]

Starts `posthorn serve` on a fresh data directory on 127.0.0.1, creates a workspace and a webhook
flow with one `debug.echo` step whose parameters are templated from the webhook body, then drives
POST /hooks/<id> with wrk (keep-alive, fixed JSON body) for the given time after a short warm-up.
When wrk stops, it waits for the queue to drain and counts runs in the database by status: every
accepted request must have become exactly one succeeded run. Prints one markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ADMIN = "bench-admin-token-0123456789abcdef0123"
TARGET_RATE = 2000
TARGET_P99_MS = 20.0
N8N_RATE = 220  # n8n's documented executions/s for one instance on 2 vCPUs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def start_server(binary: str, data_dir: Path, port: int, log: Path, extra: list[str] | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
    env["POSTHORN_ADMIN_TOKEN"] = ADMIN
    process = subprocess.Popen([binary, "serve", "--data-dir", str(data_dir), "--port", str(port), "--metrics-port", "0",
                                *(extra or [])],
                               stdout=subprocess.DEVNULL, stderr=open(log, "ab"), env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if call(base, "GET", "/healthz")[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"posthorn serve did not start: {log.read_text()[-2000:]}")


def webhook_flow(base: str) -> tuple[str, str]:
    status, created = call(base, "POST", "/api/v1/workspaces", ADMIN, {"name": "bench"})
    assert status == 201, created
    token = created["token"]
    flow = {"name": "bench", "trigger": {"type": "webhook"},
            "steps": [{"id": "echo", "type": "debug.echo",
                       "parameters": {"message": "Hello {{trigger.body.name}}", "n": "{{trigger.body.n}}"}}]}
    status, made = call(base, "POST", "/api/v1/flows", token, flow)
    assert status == 201, made
    return token, made["trigger"]["webhookId"]


def wrk(url: str, seconds: float, connections: int, work: Path) -> dict:
    script = work / "post.lua"
    script.write_text('wrk.method = "POST"\nwrk.body = \'{"name":"Ada","n":42}\'\n'
                      'wrk.headers["Content-Type"] = "application/json"\n')
    run = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 60)
    out = run.stdout
    match = re.search(r"(\d+) requests in", out)
    if match is None:
        raise SystemExit(f"wrk failed: {out}{run.stderr}")
    requests = int(match.group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"requests": requests, "non2xx": non2xx, "errors": errors, "p50": percentile("50"),
            "p99": percentile("99"), "raw": out}


def drain(database: Path, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
            counts = dict(db.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
            span = db.execute("SELECT MIN(created_at), MAX(finished_at) FROM runs").fetchone()
        if counts.get("queued", 0) + counts.get("running", 0) == 0 or time.monotonic() > deadline:
            return {"counts": counts, "span_ms": (span[1] or 0) - (span[0] or 0)}
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("posthorn")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve-arg", action="append", default=[], help="an extra `posthorn serve` argument (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="posthorn-flows-bench-") as tmp:
        work = Path(tmp)
        port = free_port()
        server = start_server(args.posthorn, work / "data", port, work / "server.log", args.serve_arg)
        base = f"http://127.0.0.1:{port}"
        try:
            _, hook = webhook_flow(base)
            url = f"{base}/hooks/{hook}"
            warm = wrk(url, 2, args.connections, work)
            drain(work / "data" / "posthorn.sqlite")
            measured = wrk(url, args.seconds, args.connections, work)
            settled = drain(work / "data" / "posthorn.sqlite")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        accepted = measured["requests"] - measured["non2xx"]
        total_accepted = accepted + warm["requests"] - warm["non2xx"]
        counts = settled["counts"]
        succeeded = counts.get("succeeded", 0)
        all_runs = sum(counts.values())
        rate = accepted / args.seconds
        completed_rate = all_runs / (settled["span_ms"] / 1000) if settled["span_ms"] else 0
        # wrk stops counting with requests still in flight: the server may have stored up to one run
        # per connection more than wrk saw acknowledged, per wrk run.
        in_flight = 2 * args.connections
        ok = (total_accepted <= all_runs <= total_accepted + in_flight and succeeded == all_runs
              and measured["errors"] == 0)
        print(f"machine: nproc={os.cpu_count()}; posthorn {args.posthorn}; wrk -t1 -c{args.connections} "
              f"-d{args.seconds:g}s after a 2 s warm-up; flow: webhook → debug.echo (templated)")
        print()
        print("| measure | result | target | vs n8n (220/s) |")
        print("|---|---|---|---|")
        print(f"| webhook runs accepted (202) per second | {rate:,.0f} | ≥ {TARGET_RATE:,} | {rate / N8N_RATE:.1f}× |")
        print(f"| runs completed per second (first accepted → last finished) | {completed_rate:,.0f} | ≥ {TARGET_RATE:,} | "
              f"{completed_rate / N8N_RATE:.1f}× |")
        print(f"| acknowledgement latency p50 / p99 | {measured['p50']:.2f} / {measured['p99']:.2f} ms | p99 < {TARGET_P99_MS:g} ms | |")
        print(f"| acknowledged by wrk / stored / succeeded | {total_accepted:,} / {all_runs:,} / {succeeded:,} | "
              f"stored = succeeded, ≥ acknowledged (+ ≤ {in_flight} in flight when wrk stopped) | |")
        print(f"| non-2xx / socket errors | {measured['non2xx']} / {measured['errors']} | 0 / 0 | |")
        print()
        print("every accepted run completed" if ok else f"MISMATCH: {counts}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
