"""End to end: a webhook flow `http.request` → `smtp.send` through a real `posthorn serve`, a local
HTTP server and aiosmtpd with STARTTLS + AUTH.

Usage:
    python3 scripts/interop/smtp_node_e2e.py PATH_TO_POSTHORN

The flow fetches a binary file over HTTP (loopback, allowlisted), then sends an email whose
recipient, subject and body come from `{{trigger.body…}}`, with high priority, a templated custom
header, a Bcc, and three attachments: one from a URL, one from base64, and one from the previous
step's bytes (`{{steps.fetch.output.body}}`). After POSTing the webhook it waits for the run and
checks, with Python's `email` package, what aiosmtpd received: the templated fields, the priority
headers, the custom header, the Bcc in the envelope but not in the headers, and byte-identical
attachments. The run history must show the step output and never the password.

The workspace has a sending domain for the From address's domain, with an RSA and an Ed25519 key
made through the API: the message must carry both signatures, and each must verify with dkimpy
against the DNS record the API shows (as DNS serves it: its 255-byte strings joined).
"""

from __future__ import annotations

import base64
import email
import email.policy
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smtp_aiosmtpd as fixture  # noqa: E402
from server_curl import Checks  # noqa: E402

ADMIN = "e2e-admin-token-0123456789abcdef012345"


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


def check_metrics(checks, port: int, forbidden: list[str]) -> None:
    """Scrapes /metrics (its own listener) and parses it with prometheus-client's text parser: the
    counts this run caused are there, and no label value holds an address, id or secret."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    samples = {}
    labels_seen = []
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
                labels_seen += list(sample.labels.values())
        parsed = True
    except ValueError as error:
        parsed = False
        checks.check("/metrics parses with prometheus-client's parser", False, error)
    if parsed:
        checks.check("/metrics parses with prometheus-client's parser", True)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    checks.check("/metrics counts the webhook's 202", value("posthorn_webhook_requests_total", status="2xx") >= 1,
                 [k for k in samples if "webhook" in k[0]])
    checks.check("/metrics counts the succeeded run", value("posthorn_runs_finished_total", status="succeeded") >= 1
                 and value("posthorn_runs", status="succeeded") >= 1, [k for k in samples if k[0].startswith("posthorn_runs")])
    checks.check("/metrics counts the accepted send and both fetches",
                 value("posthorn_smtp_sends_total", outcome="2xx") == 1 and value("posthorn_http_fetches_total", outcome="2xx") == 2,
                 [(k, v) for k, v in samples.items() if "sends" in k[0] or "fetches" in k[0]])
    checks.check("/metrics has step durations and the SMTP pool's connections",
                 value("posthorn_step_duration_seconds_count", type="smtp.send", outcome="succeeded") == 1
                 and ("posthorn_smtp_pool_connections", (("state", "idle"),)) in samples,
                 sorted({k[0] for k in samples}))
    checks.check("/metrics has the process basics", value("process_resident_memory_bytes") > 0 and value("process_open_fds") > 0)
    leaked = [needle for needle in forbidden if needle and any(needle in label for label in labels_seen)]
    checks.check("no /metrics label holds an address, id or secret", not leaked and len(set(labels_seen)) < 60, leaked)


def main() -> int:
    binary = sys.argv[1]
    checks = Checks()
    rng = random.Random(7)
    report = bytes(rng.randrange(256) for _ in range(70_000))
    logo = bytes(rng.randrange(256) for _ in range(5_000))
    inline_text = "Grüße aus Köln\n".encode()
    hits: list[str] = []

    class Files(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            content = {"/files/report.pdf": (report, "application/pdf"), "/files/logo.png": (logo, "image/png")}.get(self.path)
            if content is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content[1])
            self.send_header("Content-Length", str(len(content[0])))
            self.end_headers()
            self.wfile.write(content[0])

        def log_message(self, *args) -> None:
            pass

    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    files_base = f"http://127.0.0.1:{files.server_address[1]}"

    run_text = ""
    with tempfile.TemporaryDirectory(prefix="posthorn-e2e-") as tmp:
        tmp_path = Path(tmp)
        pki = fixture.make_pki(tmp_path)
        recorder = fixture.Recorder()
        smtp = fixture.start(recorder, "127.0.0.1", tls_context=fixture.server_context(pki["good"], pki["good.key"]),
                             require_starttls=True, auth_required=True, auth_require_tls=True)
        port = fixture.free_port("127.0.0.1")
        metrics_port = fixture.free_port("127.0.0.1")
        log_path = tmp_path / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        env["POSTHORN_ADMIN_TOKEN"] = ADMIN
        with open(log_path, "wb") as log:
            server = subprocess.Popen([binary, "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port),
                                       "--allow-private-egress", "127.0.0.1", "--log-level", "trace",
                                       "--metrics-port", str(metrics_port)],
                                      stdout=subprocess.DEVNULL, stderr=log, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if call(base, "GET", "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            _, created, _ = call(base, "POST", "/api/v1/workspaces", ADMIN, {"name": "e2e"})
            token = created["token"]
            _, credential, _ = call(base, "POST", "/api/v1/credentials", token, {
                "name": "aiosmtpd", "host": "localhost", "port": smtp.port, "security": "starttls",
                "username": fixture.USER, "password": fixture.PASSWORD, "caCertificate": pki["ca"].read_text(),
                "clientIdentifier": "client.example.com"})
            records: dict[str, bytes] = {}
            for selector, algorithm in (("e2e-rsa", "rsa-sha256"), ("e2e-ed", "ed25519-sha256")):
                status, domain, text = call(base, "POST", "/api/v1/domains", token,
                                            {"domain": "example.com", "selector": selector, "algorithm": algorithm})
                checks.check(f"a {algorithm} key for example.com is made through the API", status == 201, text)
                for key in domain.get("keys", []):
                    records[key["dnsRecord"]["name"] + "."] = "".join(key["dnsRecord"]["strings"]).encode()
            flow = {
                "name": "welcome", "trigger": {"type": "webhook"},
                "steps": [
                    {"id": "fetch", "type": "http.request", "parameters": {"url": f"{files_base}/files/logo.png"}},
                    {"id": "send", "type": "smtp.send", "parameters": {
                        "credential": credential["id"], "from": "Posthorn <mailer@example.com>",
                        "to": "{{trigger.body.name}} <{{trigger.body.email}}>", "bcc": "audit@example.com",
                        "subject": "Welcome, {{trigger.body.name}}!", "body": "Hello {{trigger.body.name}}, your plan is {{trigger.body.plan}}.",
                        "priority": "high", "headers": [{"name": "X-Campaign", "value": "{{trigger.body.campaign}}"},
                                                         {"name": "X-Customer-Plan", "value": "{{trigger.body.plan}}"}],
                        "attachments": [
                            {"source": "url", "url": f"{files_base}/files/report.pdf"},
                            {"source": "base64", "content": base64.b64encode(inline_text).decode(), "filename": "note.txt"},
                            {"source": "buffer", "content": "{{steps.fetch.output.body}}", "filename": "logo.png"},
                        ]}},
                ]}
            status, made, text = call(base, "POST", "/api/v1/flows", token, flow)
            checks.check("the flow is created", status == 201, text)
            hook = made.get("trigger", {}).get("webhookId", "")
            status, accepted, text = call(base, "POST", f"/hooks/{hook}", None,
                                          {"name": "Ada Lovelace", "email": "ada@example.com", "plan": "Pro", "campaign": "launch-7"})
            checks.check("the webhook answers 202 with a run id", status == 202 and "runId" in accepted, text)
            run_id = accepted.get("runId", "")
            run: dict = {}
            for _ in range(300):
                _, run, run_text = call(base, "GET", f"/api/v1/runs/{run_id}", token)
                if run.get("status") in ("succeeded", "failed", "ambiguous"):
                    break
                time.sleep(0.1)
            checks.check("the run succeeded", run.get("status") == "succeeded", run)
            steps = {step.get("id") or step.get("stepId"): step for step in run.get("steps", [])}
            send_output = (steps.get("send") or {}).get("output") or {}
            checks.check("the run history shows the send step's output", bool(send_output.get("messageId")), steps.get("send"))
            checks.check("the output names the two signatures: example.com with e2e-rsa and e2e-ed",
                         [(d.get("domain"), d.get("selector"), d.get("algorithm")) for d in send_output.get("dkim", [])]
                         == [("example.com", "e2e-rsa", "rsa-sha256"), ("example.com", "e2e-ed", "ed25519-sha256")],
                         send_output.get("dkim"))
            checks.check("the run history never shows the password",
                         fixture.PASSWORD not in run_text and json.dumps(fixture.PASSWORD)[1:-1] not in run_text)
            check_metrics(checks, metrics_port, forbidden=[
                run_id, hook, credential["id"], made.get("id", ""), token, "ada@example.com", "audit@example.com",
                "mailer@example.com", "localhost", str(smtp.port), fixture.USER, fixture.PASSWORD, ADMIN])
            # A bounce for Ada, piped to `posthorn bounce ingest` as a mailbox would: matched to this
            # step by the Message-ID, recorded on it, and Ada suppressed, so the next send leaves
            # her out of the envelope (the Bcc still gets it) and says so.
            message_id = send_output.get("messageId", "")
            # The author's bounce notifications: an email.bounced flow mailing a second mailbox.
            status, notifier, text = call(base, "POST", "/api/v1/flows", token, {
                "name": "tell the author", "trigger": {"type": "email.bounced"},
                "steps": [{"id": "notify", "type": "smtp.send", "parameters": {
                    "credential": credential["id"], "from": "Posthorn <mailer@example.com>", "to": "author@example.com",
                    "subject": "Bounced: {{trigger.body.recipient}}",
                    "body": "{{trigger.body.recipient}} bounced ({{trigger.body.code}}): {{trigger.body.reason}}. Run {{trigger.body.runId}}, step {{trigger.body.stepId}}: {{trigger.body.subject}}"}}]})
            checks.check("an email.bounced flow is created", status == 201 and notifier.get("trigger", {}).get("type") == "email.bounced", text)
            notifier_id = notifier.get("id", "")
            recorder_before_bounce = len(recorder.deliveries)
            dsn = (
                "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
                "--b\r\nContent-Type: text/plain\r\n\r\nUser unknown.\r\n"
                "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
                "Final-Recipient: rfc822; ada@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
                f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\n\r\n--b--\r\n").encode()
            ingested = subprocess.run([binary, "bounce", "ingest", "--data-dir", str(tmp_path / "data")], input=dsn,
                                      capture_output=True, env=env, timeout=60)
            try:
                outcome = json.loads(ingested.stdout or b"{}")
            except ValueError:
                outcome = {}
            checks.check("posthorn bounce ingest matches the DSN to the send step and suppresses Ada",
                         ingested.returncode == 0 and outcome.get("matched") and outcome.get("runId") == run_id
                         and outcome.get("stepId") == "send" and outcome.get("suppressed") == ["ada@example.com"],
                         (ingested.returncode, outcome, ingested.stderr[-300:]))
            _, bounced_run, _ = call(base, "GET", f"/api/v1/runs/{run_id}", token)
            delivery = next((step.get("delivery") for step in bounced_run.get("steps", []) if step.get("id") == "send"), None)
            checks.check("the original step shows the bounce (delivery: bounced, 5.1.1)",
                         bool(delivery) and delivery[0].get("status") == "bounced" and delivery[0].get("code") == "5.1.1", delivery)
            notified: dict = {}
            for _ in range(300):
                _, notified_runs, _ = call(base, "GET", f"/api/v1/runs?flowId={notifier_id}", token)
                items = notified_runs.get("items", [])
                if items and items[0].get("status") in ("succeeded", "failed", "ambiguous"):
                    notified = items[0]
                    break
                time.sleep(0.1)
            checks.check("the bounce started the email.bounced flow once (startedRuns), and its run succeeded",
                         len(outcome.get("startedRuns", [])) == 1 and notified.get("status") == "succeeded"
                         and notified.get("id") == outcome["startedRuns"][0] and notified.get("triggerKind") == "email.bounced",
                         (outcome.get("startedRuns"), notified))
            author_mail = [d for d in recorder.deliveries[recorder_before_bounce:] if d.rcpt_tos == ["author@example.com"]]
            author_message = email.message_from_bytes(author_mail[0].raw, policy=email.policy.default) if author_mail else None
            author_text = author_message.get_body(preferencelist=("plain",)).get_content() if author_message else ""
            checks.check("the author's mailbox got the notification naming the recipient, the reason, the run, the step and the subject",
                         author_message is not None and author_message["Subject"] == "Bounced: ada@example.com"
                         and "550 5.1.1 User unknown" in author_text and run_id in author_text and "step send" in author_text
                         and "Welcome, Ada Lovelace!" in author_text, author_text)
            _, listed, _ = call(base, "GET", "/api/v1/suppressions", token)
            checks.check("GET /api/v1/suppressions lists Ada as a bounce",
                         [(item.get("address"), item.get("reason")) for item in listed.get("items", [])] == [("ada@example.com", "bounce")], listed)
            recorder_before = len(recorder.deliveries)
            status, again, text = call(base, "POST", f"/hooks/{hook}", None,
                                       {"name": "Ada Lovelace", "email": "ada@example.com", "plan": "Pro", "campaign": "launch-8"})
            second: dict = {}
            for _ in range(300):
                _, second, _ = call(base, "GET", f"/api/v1/runs/{again.get('runId')}", token)
                if second.get("status") in ("succeeded", "failed", "ambiguous"):
                    break
                time.sleep(0.1)
            second_output = next((step.get("output") or {} for step in second.get("steps", []) if step.get("id") == "send"), {})
            rejected = [(item.get("address"), item.get("code")) for item in second_output.get("rejected", [])]
            checks.check("a second send leaves suppressed Ada out of the envelope and reports her as suppressed; the Bcc still gets it",
                         second.get("status") == "succeeded" and rejected == [("ada@example.com", "suppressed")]
                         and len(recorder.deliveries) == recorder_before + 1 and recorder.deliveries[-1].rcpt_tos == ["audit@example.com"],
                         (second.get("status"), rejected, [d.rcpt_tos for d in recorder.deliveries[recorder_before:]]))
            # The notification bounces too: recorded on its step, and no further run — no loop.
            _, notified_run, _ = call(base, "GET", f"/api/v1/runs/{notified.get('id')}", token)
            notify_id = next((step.get("output") or {} for step in notified_run.get("steps", []) if step.get("id") == "notify"), {}).get("messageId", "")
            author_dsn = dsn.replace(b"ada@example.com", b"author@example.com").replace(message_id.encode(), notify_id.encode())
            ingested = subprocess.run([binary, "bounce", "ingest", "--data-dir", str(tmp_path / "data")], input=author_dsn,
                                      capture_output=True, env=env, timeout=60)
            try:
                loop = json.loads(ingested.stdout or b"{}")
            except ValueError:
                loop = {}
            time.sleep(1)
            _, notified_runs, _ = call(base, "GET", f"/api/v1/runs?flowId={notifier_id}", token)
            checks.check("the author's notification bouncing too is recorded on its step and starts no further run",
                         bool(notify_id) and loop.get("matched") and loop.get("runId") == notified.get("id") and loop.get("startedRuns") == []
                         and len(notified_runs.get("items", [])) == 1, (notify_id, loop, len(notified_runs.get("items", []))))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            smtp.stop()
            files.shutdown()

        delivered = recorder.deliveries[0] if recorder.deliveries else None
        checks.check("aiosmtpd received one message over TLS", delivered is not None and delivered.tls_version is not None,
                     recorder.deliveries)
        if delivered:
            message = email.message_from_bytes(delivered.raw, policy=email.policy.default)
            checks.check("templated subject", message["Subject"] == "Welcome, Ada Lovelace!", message["Subject"])
            checks.check("templated recipient", message["To"] == "Ada Lovelace <ada@example.com>", message["To"])
            checks.check("priority headers", message["X-Priority"] == "1 (Highest)" and str(message["Importance"]).lower() == "high",
                         (message["X-Priority"], message["Importance"]))
            checks.check("templated custom headers", message["X-Campaign"] == "launch-7" and message["X-Customer-Plan"] == "Pro",
                         (message["X-Campaign"], message["X-Customer-Plan"]))
            checks.check("Bcc in the envelope, not in the headers",
                         "audit@example.com" in delivered.rcpt_tos and message["Bcc"] is None, delivered.rcpt_tos)
            body = message.get_body(preferencelist=("plain",))
            checks.check("templated body", body is not None and "Hello Ada Lovelace, your plan is Pro." in body.get_content(),
                         body.get_content() if body else None)
            parts = {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
            try:
                import dkim
            except ImportError as error:
                checks.check("dkimpy is installed (pip install dkimpy pynacl)", False, str(error))
            else:
                def dnsfunc(name, timeout=5):  # noqa: ARG001
                    return records.get(name.decode() if isinstance(name, bytes) else name)
                signer = dkim.DKIM(delivered.raw)
                results = []
                for index in range(2):
                    try:
                        results.append(bool(signer.verify(idx=index, dnsfunc=dnsfunc)))
                    except Exception as error:  # noqa: BLE001
                        results.append(repr(error))
                checks.check("both DKIM signatures verify with dkimpy against the records the API shows",
                             results == [True, True] and len(records) == 2, results)
                tampered = delivered.raw.replace(b"Welcome, Ada", b"Welcome, Eve", 1)
                checks.check("… and fail once the subject is changed",
                             not any(dkim.DKIM(tampered).verify(idx=i, dnsfunc=dnsfunc) for i in range(2)))
            checks.check("URL attachment byte-identical", parts.get("report.pdf") == report, list(parts))
            checks.check("base64 attachment byte-identical", parts.get("note.txt") == inline_text, list(parts))
            checks.check("buffer attachment (previous step's bytes) byte-identical", parts.get("logo.png") == logo, list(parts))
        checks.check("the file server saw exactly one request per file per run (two runs)",
                     sorted(hits) == ["/files/logo.png"] * 2 + ["/files/report.pdf"] * 2, hits)
        log_text = log_path.read_bytes()
        needles = {k: v for k, v in fixture.secret_needles(fixture.USER, fixture.PASSWORD).items() if "user)" not in k}
        needles["json"] = json.dumps(fixture.PASSWORD)[1:-1].encode()
        leaks = [name for name, needle in needles.items() if needle in log_text or needle in run_text.encode()]
        checks.check("the password (raw, base64, AUTH PLAIN, JSON) is in neither the trace log nor the run history",
                     not leaks, leaks)

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
