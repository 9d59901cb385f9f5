"""Three `posthorn serve` instances on one PostgreSQL database, under load and under faults.

Usage:
    python3 scripts/interop/multi_instance.py PATH_TO_POSTHORN [CALLS]

1. An embedded installation (SQLite) gets a workspace, an SMTP credential (aiosmtpd, STARTTLS +
   AUTH), a webhook flow ending in smtp.send, a cron flow due every minute, and a few runs; then
   `posthorn db copy` moves it to a throwaway PostgreSQL database and verifies the counts.
2. Three instances start on that database with the installation's master key (leases of 4 s,
   renewed every second). The copied history and the copied flow answer through them.
3. CALLS webhook calls (default 3,000), each with its own Idempotency-Key and recipient, are spread
   over the three by 24 senders; a call that fails or times out is retried with the same key on the
   next instance — a real sender's retry. A third of the way in, instance 1 is SIGKILLed; two thirds
   in, instance 2 is SIGSTOPped for twice its lease, then resumed.
4. Checked: every acknowledged call has one run, and each run ends in a final state; every
   succeeded run's Message-ID reached aiosmtpd exactly once; no recipient got two emails unless its
   run is `ambiguous`; the takeover and refused-stale-write counters are above zero; the cron flow
   fired once per due time; a webhook retried with one key through two instances made one run and
   one email; a flow deleted through one instance is gone from another's webhooks within a second;
   a run made through one instance reaches a live listener (`/api/v1/events`) on another.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from email.parser import BytesHeaderParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smtp_aiosmtpd as fixture  # noqa: E402
from postgres_serve import ADMIN, Cluster, stop, wait_ready  # noqa: E402
from server_curl import Checks  # noqa: E402
from smtp_node_e2e import call  # noqa: E402

LEASE = 4
FINAL = {"succeeded", "failed", "ambiguous", "cancelled"}


class SlowRecorder(fixture.Recorder):
    """Takes 20 ms per message, so that sends are under way whenever an instance is stopped."""

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def start_instance(binary: str, data_dir: Path, url: str | None, port: int, metrics_port: int, key_file: Path | None, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
    env["POSTHORN_ADMIN_TOKEN"] = ADMIN
    if key_file is not None:
        env["POSTHORN_MASTER_KEY_FILE"] = str(key_file)
    command = [binary, "serve", "--data-dir", str(data_dir), "--port", str(port), "--metrics-port", str(metrics_port),
               "--allow-private-egress", "127.0.0.1", "--lease-seconds", str(LEASE), "--lease-renewal-seconds", "1",
               "--shutdown-grace-seconds", "5", "--log-level", os.environ.get("MULTI_LOG_LEVEL", "info")]
    if url is not None:
        command += ["--database", url]
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=out, env=env)


def hook(base: str, webhook_id: str, body: bytes, key: str, timeout: float) -> tuple[int, dict, dict]:
    request = urllib.request.Request(f"{base}/hooks/{webhook_id}", method="POST", data=body)
    request.add_header("Content-Type", "application/json")
    request.add_header("Idempotency-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


def metric(metrics_port: int, name: str) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return -1
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def delivered_to(recorder: fixture.Recorder) -> set[str]:
    with recorder.lock:
        return {rcpt for delivery in recorder.deliveries for rcpt in delivery.rcpt_tos}


def psql(cluster: Cluster, statement: str) -> list[list[str]]:
    done = cluster.run(str(cluster.bin / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "posthorn", "-d", "posthorn",
                       "-At", "-F", "\t", "-c", statement)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def main() -> int:
    binary = sys.argv[1]
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    checks = Checks()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="posthorn-multi-") as tmp:
        tmp_path = Path(tmp)
        os.chmod(tmp_path, 0o711)
        pg_root = tmp_path / "pg"
        pg_root.mkdir()
        cluster = Cluster(pg_root)
        cluster.init()
        cluster.start()
        servers: list[subprocess.Popen | None] = []
        smtp = None
        rows: list[list[str]] = []
        recorder = SlowRecorder()
        try:
            checks.check("a database with C collation is made",
                         cluster.sql("CREATE DATABASE posthorn TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'").returncode == 0)
            url = cluster.url("posthorn")
            pki = fixture.make_pki(tmp_path)
            smtp = fixture.start(recorder, "127.0.0.1", tls_context=fixture.server_context(pki["good"], pki["good.key"]),
                                 require_starttls=True, auth_required=True, auth_require_tls=True)

            # 1. An embedded installation, moved to PostgreSQL.
            embedded = tmp_path / "embedded"
            port = fixture.free_port("127.0.0.1")
            base = f"http://127.0.0.1:{port}"
            log = tmp_path / "embedded.log"
            server = start_instance(binary, embedded, None, port, fixture.free_port("127.0.0.1"), None, log)
            servers.append(server)
            checks.check("the embedded server starts", wait_ready(base, server), log.read_text()[-2000:])
            _, created, _ = call(base, "POST", "/api/v1/workspaces", ADMIN, {"name": "multi"})
            token = created.get("token", "")
            _, credential, text = call(base, "POST", "/api/v1/credentials", token, {
                "name": "aiosmtpd", "host": "localhost", "port": smtp.port, "security": "starttls",
                "username": fixture.USER, "password": fixture.PASSWORD, "caCertificate": pki["ca"].read_text()})
            checks.check("a credential is stored", "id" in credential, text)

            def email_flow(name: str) -> dict:
                status, flow, text = call(base, "POST", "/api/v1/flows", token, {
                    "name": name, "trigger": {"type": "webhook"},
                    "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                        "credential": credential.get("id", ""), "from": "mailer@example.com", "to": "{{trigger.body.email}}",
                        "subject": "Order {{trigger.body.i}}", "body": "Hi {{trigger.body.email}}"}}]})
                checks.check(f"the webhook flow {name} is created", status == 201, text)
                return flow

            load_flow = email_flow("load")
            spare_flow = email_flow("spare")
            status, cron_flow, text = call(base, "POST", "/api/v1/flows", token, {
                "name": "every minute", "trigger": {"type": "cron", "expression": "* * * * *", "timeZone": "UTC"},
                "steps": [{"id": "echo", "type": "debug.echo", "parameters": {"at": "{{trigger.body.scheduledFor}}"}}]})
            checks.check("a cron flow is created", status == 201, text)
            load_hook = load_flow.get("trigger", {}).get("webhookId", "")
            early = []
            for i in range(3):
                status, accepted, _ = hook(base, load_hook, json.dumps({"email": f"early{i}@example.com", "i": i}).encode(), f"early-{i}", 30)
                early.append(accepted.get("runId", ""))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(recorder.deliveries) < 3:
                time.sleep(0.1)
            checks.check("the embedded installation sends", len(recorder.deliveries) == 3, len(recorder.deliveries))
            stop(server)
            servers.clear()

            copied = subprocess.run([binary, "db", "copy", "--from", f"sqlite:{embedded}", "--to", url], capture_output=True, text=True, timeout=120)
            checks.check("posthorn db copy moves the installation and verifies every count",
                         copied.returncode == 0 and "every count verified" in copied.stdout, copied.stdout[-1500:] + copied.stderr[-1500:])

            # 2. Three instances on PostgreSQL, the embedded installation's key shared.
            key_file = embedded / "master.key"
            ports = [fixture.free_port("127.0.0.1") for _ in range(3)]
            metrics_ports = [fixture.free_port("127.0.0.1") for _ in range(3)]
            bases = [f"http://127.0.0.1:{p}" for p in ports]
            logs = [tmp_path / f"instance{n}.log" for n in range(3)]
            servers = [start_instance(binary, tmp_path / f"data{n}", url, ports[n], metrics_ports[n], key_file, logs[n]) for n in range(3)]
            checks.check("three instances start on one database",
                         all(wait_ready(bases[n], servers[n]) for n in range(3)), [log.read_text()[-1000:] for log in logs])
            status, run, _ = call(bases[2], "GET", f"/api/v1/runs/{early[0]}", token)
            checks.check("the copied history is there, through any instance", status == 200 and run.get("status") == "succeeded", run)

            # A webhook retried with one key through two instances: one run, one email.
            body = json.dumps({"email": "twice@example.com", "i": -1}).encode()
            first = hook(bases[1], load_hook, body, "retry-twice", 30)
            second = hook(bases[2], load_hook, body, "retry-twice", 30)
            checks.check("the same Idempotency-Key through two instances answers with one run, the second replayed",
                         first[0] == 202 and second[0] == 202 and first[1].get("runId") == second[1].get("runId")
                         and second[2].get("Idempotent-Replayed") == "true", (first, second))

            # A live listener on instance 0 sees a run made through instance 2.
            seen: list[str] = []
            listening = threading.Event()

            def listen() -> None:
                request = urllib.request.Request(f"{bases[0]}/api/v1/events", headers={"Authorization": f"Bearer {token}"})
                try:
                    with urllib.request.urlopen(request, timeout=15) as stream:
                        listening.set()
                        for line in stream:
                            seen.append(line.decode())
                            if any("live@example" in s or "spare" in s for s in seen) and len(seen) > 50:
                                return
                except OSError:
                    return

            listener = threading.Thread(target=listen, daemon=True)
            listener.start()
            listening.wait(10)
            time.sleep(0.5)
            spare_hook = spare_flow.get("trigger", {}).get("webhookId", "")
            live = hook(bases[2], spare_hook, json.dumps({"email": "live@example.com", "i": -2}).encode(), "live", 30)
            live_id = live[1].get("runId", "")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(live_id in s and "succeeded" in s for s in seen):
                time.sleep(0.1)
            checks.check("a live listener on one instance hears of a run made and finished through another",
                         bool(live_id) and any(live_id in s and "succeeded" in s for s in seen), seen[-5:])

            # 3. Load, with faults.
            acknowledged: dict[int, str] = {}
            retries = [0]
            lock = threading.Lock()
            alive = [True, True, True]

            def send(i: int) -> None:
                body = json.dumps({"email": f"user{i}@example.com", "i": i}).encode()
                instance = i % 3
                for attempt in range(40):
                    target = (instance + attempt) % 3
                    if not alive[target]:
                        continue
                    try:
                        status, accepted, _ = hook(bases[target], load_hook, body, f"load-{i}", 2)
                        if status == 202:
                            with lock:
                                acknowledged[i] = accepted["runId"]
                            return
                    except OSError:
                        pass
                    with lock:
                        retries[0] += 1
                    time.sleep(0.05)

            with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
                futures = [pool.submit(send, i) for i in range(calls)]
                killed = stopped = False
                for done, _ in enumerate(concurrent.futures.as_completed(futures)):
                    if not killed and done >= calls // 3:
                        servers[1].send_signal(signal.SIGKILL)
                        servers[1].wait()
                        alive[1] = False
                        killed = True
                    if not stopped and done >= 2 * calls // 3:
                        stopped = True
                        servers[2].send_signal(signal.SIGSTOP)
                        # Senders find it silent and retry elsewhere; its leases expire meanwhile.
                        threading.Timer(2 * LEASE, lambda: servers[2].send_signal(signal.SIGCONT)).start()
            time.sleep(0.1)
            checks.check("every webhook call was acknowledged (retried on another instance when one failed)",
                         len(acknowledged) == calls, f"{len(acknowledged)} of {calls}, {retries[0]} retries")

            # 4. Everything ends; nothing lost, nothing sent twice.
            load_id = load_flow.get("id", "")
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                rows = psql(cluster, f"SELECT id, status, steps FROM runs WHERE flow_id = '{load_id}'")
                if all(row[1] in FINAL for row in rows) and len(rows) >= calls:
                    break
                time.sleep(0.5)
            status_of = {row[0]: row[1] for row in rows}
            checks.check("one run per key: the flow has exactly the runs acknowledged (+4 before the load)",
                         len(rows) == calls + 4 and set(acknowledged.values()) <= set(status_of), len(rows))
            unfinished = [run_id for run_id in acknowledged.values() if status_of.get(run_id) not in FINAL]
            checks.check("every acknowledged run ends in a final state", not unfinished, unfinished[:5])
            counts: dict[str, int] = {}
            for row in rows:
                counts[row[1]] = counts.get(row[1], 0) + 1

            delivered: dict[str, list[str]] = {}
            for delivery in list(recorder.deliveries):
                headers = BytesHeaderParser().parsebytes(delivery.raw)
                for rcpt in delivery.rcpt_tos:
                    delivered.setdefault(rcpt, []).append(headers.get("Message-ID", ""))
            twice = []
            missing = []
            for row in rows:
                run_id, status, steps = row
                recipient = None
                message_id = None
                for step in json.loads(steps):
                    parameters = step.get("parameters") or {}
                    recipient = parameters.get("to", recipient)
                    message_id = (step.get("output") or {}).get("messageId", message_id)
                if recipient is None:
                    continue
                got = delivered.get(recipient, [])
                if status == "succeeded" and got != [message_id]:
                    missing.append((run_id, recipient, message_id, got))
                if status != "ambiguous" and len(got) > 1:
                    twice.append((run_id, recipient, got))
            checks.check("each succeeded run's Message-ID reached aiosmtpd exactly once", not missing, missing[:3])
            for run_id, *_ in (missing + twice)[:2]:
                print(f"--- {run_id}:", next(row[2] for row in rows if row[0] == run_id))
                for n, log in enumerate(logs):
                    for line in log.read_text(errors="replace").splitlines():
                        if run_id in line:
                            print(f"instance {n}: {line[:300]}")
            checks.check("no recipient got two emails unless its run is ambiguous", not twice, twice[:3])
            checks.check("one email for the key retried through two instances", len(delivered.get("twice@example.com", [])) == 1,
                         delivered.get("twice@example.com"))

            time.sleep(2 * 1.2)
            taken = [metric(metrics_ports[n], "posthorn_runs_taken_over_total") for n in (0, 2)]
            refused = [metric(metrics_ports[n], "posthorn_run_writes_refused_total") for n in (0, 2)]
            checks.check("runs were taken over from the killed and the frozen instance (posthorn_runs_taken_over_total > 0)",
                         sum(t for t in taken if t > 0) > 0, taken)
            checks.check("the frozen instance's late writes were refused (posthorn_run_writes_refused_total > 0)",
                         refused[1] > 0, refused)
            checks.check("the frozen instance is ready again after it was resumed",
                         call(bases[2], "GET", "/readyz")[0] == 200)

            # Flow edits reach every instance's webhook cache within a second.
            status, _, _ = call(bases[0], "GET", f"/hooks/{spare_hook}")
            hook(bases[2], spare_hook, json.dumps({"email": "warm@example.com", "i": -3}).encode(), "warm", 30)
            status, _, text = call(bases[0], "DELETE", f"/api/v1/flows/{spare_flow.get('id', '')}", token)
            time.sleep(1)
            gone = hook(bases[2], spare_hook, json.dumps({"email": "late@example.com", "i": -4}).encode(), "late", 30)
            checks.check("a flow deleted through one instance is gone from another's webhooks within a second",
                         status == 204 and gone[0] == 404, (status, gone[0]))

            # The cron flow: once per due time across three instances.
            cron_id = cron_flow.get("id", "")
            deadline = time.monotonic() + 70
            fires: list[list[str]] = []
            while time.monotonic() < deadline:
                fires = psql(cluster, f"SELECT trigger FROM runs WHERE flow_id = '{cron_id}'")
                if fires:
                    break
                time.sleep(1)
            due_times = [json.loads(f[0]).get("body", {}).get("scheduledFor") for f in fires]
            checks.check("the cron flow fired, once per due time", bool(due_times) and len(due_times) == len(set(due_times)), due_times)

            for n in (0, 2):
                servers[n].send_signal(signal.SIGTERM)
            exits = [servers[n].wait(timeout=60) for n in (0, 2)]
            checks.check("the surviving instances stop cleanly on SIGTERM", exits == [0, 0], exits)
            servers = []

            # Key rotation with every instance stopped (docs/DEPLOY.md), then an instance with the
            # rotated key file sends through the re-sealed credential.
            old_key = key_file.read_text()
            env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
            rotated = subprocess.run([binary, "key", "rotate", "--data-dir", str(embedded), "--database", url],
                                     capture_output=True, text=True, env=env, timeout=120)
            checks.check("posthorn key rotate re-seals the secrets in PostgreSQL and rewrites the shared key file",
                         rotated.returncode == 0 and key_file.read_text() != old_key, rotated.stdout[-500:] + rotated.stderr[-500:])
            servers = [start_instance(binary, tmp_path / "data0", url, ports[0], metrics_ports[0], key_file, logs[0])]
            ready = wait_ready(bases[0], servers[0])
            after = hook(bases[0], load_hook, json.dumps({"email": "rotated@example.com", "i": -5}).encode(), "rotated", 30)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "rotated@example.com" not in delivered_to(recorder):
                time.sleep(0.1)
            checks.check("after the rotation an instance with the new key file sends through the re-sealed credential",
                         ready and after[0] == 202 and "rotated@example.com" in delivered_to(recorder), after)
            stop(servers[0])
            servers = []
            print(f"runs: {counts}; retries: {retries[0]}; taken over: {taken}; refused: {refused}; "
                  f"deliveries: {len(recorder.deliveries)}; cron due times: {len(due_times)}")
        finally:
            for server in servers:
                if server is not None and server.poll() is None:
                    server.send_signal(signal.SIGCONT)
                    stop(server)
            if smtp is not None:
                smtp.stop()
            cluster.stop()
            shutil.rmtree(pg_root, ignore_errors=True)
            if checks.failed and os.environ.get("MULTI_KEEP_LOGS"):
                kept = Path(os.environ["MULTI_KEEP_LOGS"]) / time.strftime("%H%M%S")
                kept.mkdir(parents=True, exist_ok=True)
                for log in tmp_path.glob("*.log"):
                    shutil.copy(log, kept / log.name)
                (kept / "runs.json").write_text(json.dumps(rows))
                (kept / "deliveries.txt").write_text("\n".join(
                    f"{d.rcpt_tos} {BytesHeaderParser().parsebytes(d.raw).get('Message-ID')}" for d in recorder.deliveries))
                print(f"logs kept in {kept}")
    print(f"{checks.passed} passed, {checks.failed} failed ({time.monotonic() - began:.0f} s)")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
