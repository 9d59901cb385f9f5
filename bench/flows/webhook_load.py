"""Webhook load benchmark for the flow engine: how many runs per second `posthorn serve` accepts
(202 after the run is persisted) and completes, and the webhook acknowledgement latency.

Usage (normally through bench/run-flows):
    python3 bench/flows/webhook_load.py PATH_TO_POSTHORN [--seconds 10] [--connections 32]

Starts `posthorn serve` on a fresh data directory on 127.0.0.1, creates a workspace and a webhook
flow with one `debug.echo` step whose parameters are templated from the webhook body, then drives
POST /hooks/<id> with wrk (keep-alive, fixed JSON body) for the given time after a short warm-up.
When wrk stops, it waits for the queue to drain and counts runs in the database by status: every
accepted request must have become exactly one succeeded run. Prints one markdown table.

With `--compare`, measures side by side in one run: SQLite (the embedded default), PostgreSQL with
one instance, and PostgreSQL with three instances sharing the database (a throwaway cluster on
127.0.0.1; the connections split evenly over the instances, one wrk per instance at once).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "interop"))

ADMIN = "bench-admin-token-0123456789abcdef0123"
TARGET_RATE = 2000
TARGET_P99_MS = 20.0
N8N_RATE = 220  # n8n's documented executions/s for one instance on 2 vCPUs
WARMUP_SECONDS = 2
# The JSON body every webhook request carries (wrk sends it compact, as below).
BODY: dict = {"name": "Ada", "n": 42}
ECHO_STEPS: list[dict] = [{"id": "echo", "type": "debug.echo",
                           "parameters": {"message": "Hello {{trigger.body.name}}", "n": "{{trigger.body.n}}"}}]


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


def start_server(binary: str, data_dir: Path, port: int, log: Path, extra: list[str] | None = None,
                 env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
    env["POSTHORN_ADMIN_TOKEN"] = ADMIN
    env.update(env_extra or {})
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


def stop_servers(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to every server at once (in-flight requests finish), then SIGKILL what is left after 30 s."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def create_workspace(base: str, name: str = "bench") -> str:
    """A new workspace through the admin API; returns its token."""
    status, created = call(base, "POST", "/api/v1/workspaces", ADMIN, {"name": name})
    assert status == 201, created
    return created["token"]


def create_webhook_flow(base: str, token: str, steps: list[dict], name: str = "bench") -> str:
    """A webhook-triggered flow with these steps; returns its webhook id (POST /hooks/<id>)."""
    status, made = call(base, "POST", "/api/v1/flows", token, {"name": name, "trigger": {"type": "webhook"}, "steps": steps})
    assert status == 201, made
    return made["trigger"]["webhookId"]


def webhook_flow(base: str) -> tuple[str, str]:
    """A workspace and a webhook flow with one templated `debug.echo` step: (token, webhook id)."""
    token = create_workspace(base)
    return token, create_webhook_flow(base, token, ECHO_STEPS)


def wrk(url: str, seconds: float, connections: int, work: Path) -> dict:
    """`wrk -t1 -cN -dSs --latency` POSTing ``BODY``: requests, non-2xx, socket errors, p50/p99 in ms."""
    script = work / "post.lua"
    body = json.dumps(BODY, separators=(",", ":"))
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
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


def drain_postgres(cluster, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        done = cluster.run(str(cluster.bin / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "posthorn", "-d", "posthorn",
                           "-At", "-F", "\t", "-c",
                           "SELECT status, COUNT(*), MIN(created_at), MAX(finished_at) FROM runs GROUP BY status")
        rows = [line.split("\t") for line in done.stdout.splitlines() if line]
        counts = {row[0]: int(row[1]) for row in rows}
        first = min((int(row[2]) for row in rows), default=0)
        last = max((int(row[3]) for row in rows if row[3]), default=0)
        if counts.get("queued", 0) + counts.get("running", 0) == 0 or time.monotonic() > deadline:
            return {"counts": counts, "span_ms": last - first}
        time.sleep(0.2)


def wrk_all(urls: list[str], seconds: float, connections: int, work: Path) -> dict:
    """One wrk per URL at once, the connections split evenly; requests summed, the worst p99."""
    if len(urls) == 1:
        return wrk(urls[0], seconds, connections, work)
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
        parts = list(pool.map(lambda pair: wrk(pair[1], seconds, max(1, connections // len(urls)), work / f"w{pair[0]}"),
                              enumerate(urls)))
    return {"requests": sum(p["requests"] for p in parts), "non2xx": sum(p["non2xx"] for p in parts),
            "errors": sum(p["errors"] for p in parts), "p50": max(p["p50"] for p in parts),
            "p99": max(p["p99"] for p in parts), "raw": "\n".join(p["raw"] for p in parts)}


def measure(binary: str, seconds: int, connections: int, serve_args: list[str], backend: str, instances: int) -> dict:
    """One configuration: its servers started, warmed up, measured, drained and stopped."""
    with tempfile.TemporaryDirectory(prefix="posthorn-flows-bench-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o711)
        for n in range(instances):
            (work / f"w{n}").mkdir()
        cluster = None
        servers: list[subprocess.Popen] = []
        try:
            extra = list(serve_args)
            if backend == "postgres":
                from postgres_serve import Cluster
                (work / "pg").mkdir()
                cluster = Cluster(work / "pg")
                cluster.init()
                cluster.start()
                made = cluster.sql("CREATE DATABASE posthorn TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
                if made.returncode != 0:
                    raise SystemExit(made.stderr)
                extra += ["--database", cluster.url("posthorn")]
            ports = [free_port() for _ in range(instances)]
            for n in range(instances):
                key = {"POSTHORN_MASTER_KEY_FILE": str(work / "data0" / "master.key")} if n > 0 else {}
                servers.append(start_server(binary, work / f"data{n}", ports[n], work / f"server{n}.log", extra, key))
            base = f"http://127.0.0.1:{ports[0]}"
            _, hook = webhook_flow(base)
            urls = [f"http://127.0.0.1:{port}/hooks/{hook}" for port in ports]

            def settle() -> dict:
                return drain_postgres(cluster) if cluster is not None else drain(work / "data0" / "posthorn.sqlite")

            warm = wrk_all(urls, WARMUP_SECONDS, connections, work)
            settle()
            measured = wrk_all(urls, seconds, connections, work)
            settled = settle()
        finally:
            stop_servers(servers)
            if cluster is not None:
                cluster.stop()
        accepted = measured["requests"] - measured["non2xx"]
        total_accepted = accepted + warm["requests"] - warm["non2xx"]
        counts = settled["counts"]
        all_runs = sum(counts.values())
        # wrk stops counting with requests still in flight: the server may have stored up to one run
        # per connection more than wrk saw acknowledged, per wrk run.
        in_flight = 2 * connections
        return {
            "name": "SQLite" if backend == "sqlite" else f"PostgreSQL, {instances} instance{'s' if instances > 1 else ''}",
            "rate": accepted / seconds,
            "completed_rate": all_runs / (settled["span_ms"] / 1000) if settled["span_ms"] else 0,
            "p50": measured["p50"], "p99": measured["p99"], "accepted": total_accepted, "stored": all_runs,
            "succeeded": counts.get("succeeded", 0), "non2xx": measured["non2xx"], "errors": measured["errors"],
            "ok": total_accepted <= all_runs <= total_accepted + in_flight and counts.get("succeeded", 0) == all_runs
            and measured["errors"] == 0,
            "counts": counts,
        }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("posthorn")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve-arg", action="append", default=[], help="an extra `posthorn serve` argument (repeatable)")
    parser.add_argument("--compare", action="store_true", help="SQLite, PostgreSQL × 1 and PostgreSQL × 3, side by side")
    args = parser.parse_args()
    configurations = [("sqlite", 1), ("postgres", 1), ("postgres", 3)] if args.compare else [("sqlite", 1)]
    results = [measure(args.posthorn, args.seconds, args.connections, args.serve_arg, backend, instances)
               for backend, instances in configurations]
    print(f"machine: nproc={os.cpu_count()}; posthorn {args.posthorn}; wrk -t1 -c{args.connections} (split over the instances) "
          f"-d{args.seconds:g}s after a {WARMUP_SECONDS} s warm-up; flow: webhook → debug.echo (templated)")
    print()
    print("| database | accepted (202)/s | completed/s | ack p50 / p99 | vs n8n (220/s) | acknowledged / stored / succeeded | non-2xx / errors |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['rate']:,.0f} | {r['completed_rate']:,.0f} | {r['p50']:.2f} / {r['p99']:.2f} ms | "
              f"{r['rate'] / N8N_RATE:.1f}× | {r['accepted']:,} / {r['stored']:,} / {r['succeeded']:,} | {r['non2xx']} / {r['errors']} |")
    print()
    print(f"targets (SQLite, one instance): ≥ {TARGET_RATE:,} accepted/s, ack p99 < {TARGET_P99_MS:g} ms")
    bad = [r for r in results if not r["ok"]]
    print("every accepted run completed" if not bad else f"MISMATCH: {[(r['name'], r['counts']) for r in bad]}")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
