"""The rate-limit gate in real time: a credential limited to 2 messages a second, 12 webhook sends
through a real `posthorn serve` to aiosmtpd (STARTTLS + AUTH) — every one delivered, never more
than 2 accepted within any second, runs seen `waiting` with their resume time and reason — and a
provider's throttling reply (421 4.7.0) that backs the credential off for every send, each
waiting run saying until when.

Usage:
    python3 scripts/checks/rate_limits.py PATH_TO_POSTHORN
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "interop"))
import smtp_aiosmtpd as fixture  # noqa: E402
from server_curl import Checks  # noqa: E402

ADMIN = "rate-admin-token-0123456789abcdef0123456"
SENDS = 12
PER_SECOND = 2


class TimedRecorder(fixture.Recorder):
    """Records when each message was accepted; until `throttle_until` (monotonic) answers every
    MAIL command with 421 4.7.0, as Gmail throttles a sender for a while."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted_at: list[float] = []
        self.throttle_until = 0.0
        self.throttled = 0
        self.guard = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:  # noqa: N802
        with self.guard:
            if time.monotonic() < self.throttle_until:
                self.throttled += 1
                return "421 4.7.0 Try again later, closing connection. (rate limit)"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        with self.guard:
            self.accepted_at.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
            return response.status, json.loads(text or "{}"), text
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text or "{}"), text


def busiest_second(times: list[float]) -> int:
    """The most acceptances inside any one-second window."""
    most, first = 0, 0
    for index, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, index - first + 1)
    return most


def parse_time(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def main() -> int:
    binary = sys.argv[1]
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="posthorn-rate-") as tmp:
        tmp_path = Path(tmp)
        pki = fixture.make_pki(tmp_path)
        recorder = TimedRecorder()
        smtp = fixture.start(recorder, "127.0.0.1", tls_context=fixture.server_context(pki["good"], pki["good.key"]),
                             require_starttls=True, auth_required=True, auth_require_tls=True)
        port = fixture.free_port("127.0.0.1")
        metrics_port = fixture.free_port("127.0.0.1")
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        env["POSTHORN_ADMIN_TOKEN"] = ADMIN
        server = subprocess.Popen([binary, "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port),
                                   "--allow-private-egress", "127.0.0.1", "--metrics-port", str(metrics_port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if call(base, "GET", "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            token = call(base, "POST", "/api/v1/workspaces", ADMIN, {"name": "rate"})[1]["token"]
            status, credential, text = call(base, "POST", "/api/v1/credentials", token, {
                "name": "limited", "host": "localhost", "port": smtp.port, "security": "starttls",
                "username": fixture.USER, "password": fixture.PASSWORD, "caCertificate": pki["ca"].read_text(),
                "limits": {"perSecond": PER_SECOND}})
            checks.check("a credential limited to 2 messages a second is stored, and shows its limits",
                         status == 201 and credential.get("limits") == {"perSecond": 2, "perMinute": None, "perHour": None,
                                                                       "perDay": None, "counts": "messages"}, text)
            status, refused, text = call(base, "POST", "/api/v1/credentials", token, {
                "name": "bad limits", "host": "smtp.example.com", "limits": {"perMinute": 0}})
            checks.check("a limit of 0 is refused, naming the field and the rule",
                         status == 422 and refused.get("error", {}).get("field") == "limits.perMinute"
                         and "whole number from 1" in refused.get("error", {}).get("message", ""), text)
            flow = {"name": "digest", "trigger": {"type": "webhook"}, "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                "credential": credential["id"], "from": "mailer@example.com", "to": "{{trigger.body.email}}",
                "subject": "Digest {{trigger.body.n}}", "body": "Hello"}}]}
            status, made, text = call(base, "POST", "/api/v1/flows", token, flow)
            checks.check("the flow is created", status == 201, text)
            hook = made["trigger"]["webhookId"]

            started = time.monotonic()
            run_ids = []
            for n in range(SENDS):
                status, accepted, _ = call(base, "POST", f"/hooks/{hook}", None, {"email": f"r{n}@example.net", "n": n})
                run_ids.append(accepted.get("runId"))
            checks.check(f"{SENDS} webhooks accepted (202)", all(run_ids))
            waiting_seen: list[dict] = []
            runs: dict = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                _, page, _ = call(base, "GET", "/api/v1/runs?limit=50", token)
                runs = {item["id"]: item for item in page.get("items", [])}
                waiting_seen += [item for item in runs.values() if item.get("status") == "waiting"]
                if all(runs.get(run_id, {}).get("status") == "succeeded" for run_id in run_ids):
                    break
                if any(runs.get(run_id, {}).get("status") in ("failed", "ambiguous", "cancelled") for run_id in run_ids):
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            checks.check(f"all {SENDS} runs succeeded — none failed because of the limit",
                         all(runs.get(run_id, {}).get("status") == "succeeded" for run_id in run_ids),
                         {k: v.get("status") for k, v in runs.items()})
            checks.check(f"aiosmtpd accepted {SENDS} messages", len(recorder.accepted_at) == SENDS, len(recorder.accepted_at))
            most = busiest_second(recorder.accepted_at)
            checks.check(f"never more than {PER_SECOND} accepted within any second (busiest: {most})", most <= PER_SECOND,
                         [round(t - recorder.accepted_at[0], 3) for t in recorder.accepted_at])
            span = recorder.accepted_at[-1] - recorder.accepted_at[0] if recorder.accepted_at else 0
            checks.check(f"so {SENDS} took at least {SENDS // PER_SECOND - 1} s ({span:.2f} s from first to last; {elapsed:.2f} s in all)",
                         span >= SENDS // PER_SECOND - 1)
            sample = waiting_seen[0] if waiting_seen else {}
            checks.check("runs were seen waiting, each with when it resumes and why",
                         bool(waiting_seen) and all(item.get("waitingUntil") and "2 messages per second" in (item.get("waitingReason") or "")
                                                    for item in waiting_seen), sample)
            status, waiting_page, text = call(base, "GET", "/api/v1/runs?status=waiting", token)
            checks.check("GET /api/v1/runs?status=waiting answers 200", status == 200, text)
            finished = call(base, "GET", f"/api/v1/runs/{run_ids[-1]}", token)[1]
            checks.check("a run that waited ends succeeded with one attempt, and no longer shows a wait",
                         finished.get("status") == "succeeded" and finished["steps"][0]["attempts"] == 1
                         and finished.get("waitingUntil") is None and finished.get("waitingReason") is None, finished)

            # The provider throttles for the next 5 seconds: MAIL is answered 421 4.7.0.
            recorder.throttle_until = time.monotonic() + 5
            throttled_ids = [call(base, "POST", f"/hooks/{hook}", None, {"email": f"t{n}@example.net", "n": n})[1].get("runId")
                             for n in range(3)]
            before = time.time()
            deadline = time.monotonic() + 20
            states: dict = {}
            while time.monotonic() < deadline:
                states = {run_id: call(base, "GET", f"/api/v1/runs/{run_id}", token)[1] for run_id in throttled_ids}
                # The sends given a turn before the reply came wait for the back-off once their turn comes.
                if all(state.get("status") == "waiting" and (parse_time(state.get("waitingUntil")) or 0) - before >= 50
                       for state in states.values()) and recorder.throttled >= 1:
                    break
                time.sleep(0.1)
            untils = [parse_time(state.get("waitingUntil")) for state in states.values()]
            checks.check("after a 421 4.7.0 every send of the credential waits (the back-off holds them all)",
                         all(state.get("status") == "waiting" for state in states.values()) and recorder.throttled >= 1,
                         {k: (v.get("status"), v.get("waitingReason")) for k, v in states.items()})
            checks.check("… about a minute (the first back-off is 60 s), each run saying until when — those given a turn before the reply included",
                         all(u is not None and 50 <= u - before <= 70 for u in untils), [u - before if u else None for u in untils])
            reasons = [state.get("waitingReason") or "" for state in states.values()]
            checks.check("the throttled run quotes the provider's reply; the others name the back-off",
                         any("421" in reason and "throttling" in reason for reason in reasons)
                         and all("slow down" in reason or "throttling" in reason for reason in reasons), reasons)
            cancelled = [call(base, "POST", f"/api/v1/runs/{run_id}/cancel", token) for run_id in throttled_ids]
            checks.check("a waiting run is cancelled at once (200, cancelled)",
                         all(status == 200 and body.get("status") == "cancelled" for status, body, _ in cancelled),
                         [(status, body.get("status")) for status, body, _ in cancelled])

            metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
            waited = [line for line in metrics.splitlines() if line.startswith('posthorn_runs_waited_total{limit="perSecond"}')]
            checks.check("/metrics counts the waits per limit, and the throttling replies",
                         bool(waited) and float(waited[0].split()[-1]) >= 1
                         and any(line.startswith('posthorn_runs_waited_total{limit="backoff"}') for line in metrics.splitlines())
                         and 'posthorn_smtp_sends_total{outcome="throttled"}' in metrics, waited)
            checks.check("/metrics has a waiting gauge", 'posthorn_runs{status="waiting"}' in metrics)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            smtp.stop()
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
