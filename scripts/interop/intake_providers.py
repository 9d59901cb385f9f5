"""End to end: the bounce intake's provider webhooks (SendGrid, Mailgun, Postmark, Amazon SES via
SNS) through a real `posthorn serve`, with every payload written and signed by an independent
implementation — Python's `cryptography` package and `hmac` — from the providers' documented
formats.

Usage:
    python3 scripts/interop/intake_providers.py PATH_TO_POSTHORN [--no-netns]

A webhook flow sends two messages through aiosmtpd (STARTTLS + AUTH, as in smtp_node_e2e.py):
run A to sg@, mg@, pm@ and ses@example.com (the hard bounces), run B to the addresses of the
complaint and transient tests. The credential's intake is configured through the API: a P-256
verification key for SendGrid, an HMAC signing key for Mailgun, basic-auth credentials for
Postmark, a topic for SES. `serve` gets `--trust-sns-certificate` with a self-signed RSA-2048
certificate made here, and SNS messages carry the SigningCertURL Amazon would use.

For each provider: a valid event is answered 200 and lands on the step's `delivery` (and on the
suppression list when it is a hard bounce or a complaint); a forged, unsigned, tampered, stale or
replayed one is refused with the contract's status and error code, and then the delivery of both
runs and the suppression list must be exactly what they were before. A transient bounce is
recorded without suppressing. A credential id used as the intake id, an unknown intake id or
provider is 404; a provider that is not (or no longer) configured is 403.

A valid SNS SubscriptionConfirmation makes the server GET its SubscribeURL (sns.…amazonaws.com).
So that this request — or anything else — cannot leave the machine, the script re-runs itself in
a private network namespace holding only loopback (`unshare -rn`), where the lookup fails at once
and the server answers 502 `confirmation_failed`. `--no-netns` (or no `unshare`) runs in place.

Prints `ok  NAME` or `FAIL NAME: detail` per check, then `N checks passed, M failed`; exits 1 on any
failure.
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smtp_aiosmtpd as fixture  # noqa: E402
from server_curl import Checks  # noqa: E402

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import NameOID
except ImportError:  # pragma: no cover
    print("cryptography is not installed: apt-get install python3-cryptography "
          "(or pip install --break-system-packages cryptography)", file=sys.stderr)
    sys.exit(2)

ADMIN = "intake-admin-token-0123456789abcdef0123"
NETNS_MARK = "INTAKE_PROVIDERS_NETNS"
TOPIC = "arn:aws:sns:us-east-1:123456789012:bounces"
OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:someone-else"
SNS_CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"
EVIL_CERT_URL = "https://evil.example.com/cert.pem"
MAILGUN_KEY = "key-mg-7f3c9a1e5b2d8c4f6a0e9d7b3c1a5f8e"
POSTMARK_USER = "postmark-hook"
POSTMARK_PASSWORD = "pm-Secr3t:with colon"
RNG = random.Random(20260612)

RUN_A = ["sg@example.com", "mg@example.com", "pm@example.com", "ses@example.com"]
RUN_B = ["sg-spam@example.com", "mg-soft@example.com", "mg-spam@example.com", "pm-spam@example.com",
         "ses-spam@example.com", "ses-soft@example.com"]


# ------------------------------------------------------------------------------------------------
# Isolation: a private network namespace with only loopback
# ------------------------------------------------------------------------------------------------


def isolate() -> int | None:
    """Re-runs this script under `unshare -rn`; returns its exit code, or None to run here."""
    if os.environ.get(NETNS_MARK) or "--no-netns" in sys.argv or not shutil.which("unshare"):
        return None
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        print(f"note: no private network namespace ({probe.stderr.decode(errors='replace').strip()}); running in place")
        return None
    env = dict(os.environ, **{NETNS_MARK: "1"})
    return subprocess.run(["unshare", "-rn", sys.executable, *sys.argv], env=env).returncode


def loopback_up() -> None:
    """Brings `lo` up (a new network namespace starts with it down), with SIOCGIFFLAGS/SIOCSIFFLAGS."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH", fcntl.ioctl(sock, 0x8913, request)[:18])[1]
        if not flags & 1:
            fcntl.ioctl(sock, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))


# ------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------


def request(base: str, method: str, path: str, *, token: str | None = None, json_body: object = None,
            data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
    """One request to the server; answers (status, the JSON body or {}, the body's text)."""
    if json_body is not None:
        data = json.dumps(json_body).encode()
    req = urllib.request.Request(base + path, method=method, data=data)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if json_body is not None:
        req.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, text = response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode(errors="replace")
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError:
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {"_": parsed}, text


def error_code(body: dict) -> str | None:
    error = body.get("error")
    return error.get("code") if isinstance(error, dict) else None


# ------------------------------------------------------------------------------------------------
# Keys and certificates (cryptography)
# ------------------------------------------------------------------------------------------------


def self_signed(common_name: str) -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


def spki_b64(public_key) -> str:
    return base64.b64encode(public_key.public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)).decode()


def random_token(length: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    return "".join(RNG.choice(alphabet) for _ in range(length))


def iso(moment: float) -> str:
    stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


# ------------------------------------------------------------------------------------------------
# Provider payloads
# ------------------------------------------------------------------------------------------------


def sendgrid_event(event: str, email: str, message_id: str, **extra) -> dict:
    body = {"email": email, "event": event, "smtp-id": message_id, "sg_event_id": random_token(22),
            "sg_message_id": random_token(22) + ".filter0001", "timestamp": int(time.time()), "category": []}
    if event == "bounce":
        body.update({"status": "5.1.1", "type": "bounce", "bounce_classification": "Invalid Address",
                     "reason": "550 5.1.1 The email account that you tried to reach does not exist"})
    body.update(extra)
    return body


def sendgrid_request(events: list[dict], key: ec.EllipticCurvePrivateKey | None, *, age: int = 0) -> tuple[bytes, dict]:
    """The body and the two headers SendGrid's Signed Event Webhook sends: an ECDSA P-256/SHA-256
    signature (DER, base64) over the timestamp's digits followed by the raw body."""
    body = json.dumps(events).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        stamp = str(int(time.time()) - age)
        signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers["X-Twilio-Email-Event-Webhook-Signature"] = base64.b64encode(signature).decode()
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = stamp
    return body, headers


def mailgun_request(signing_key: str, *, recipient: str, message_id: str, event: str = "failed",
                    severity: str = "permanent", code: int = 550, enhanced: str = "5.1.1", age: int = 0) -> tuple[bytes, dict]:
    """A Mailgun webhook body: `signature` = hex HMAC-SHA256(key, timestamp + token)."""
    stamp = str(int(time.time()) - age)
    token = random_token(50)
    digest = hmac.new(signing_key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    data: dict = {
        "id": random_token(22), "timestamp": time.time() - age, "event": event, "recipient": recipient,
        "recipient-domain": recipient.split("@")[1], "log-level": "error" if event == "failed" else "info",
        "message": {"headers": {"message-id": message_id.strip("<>"), "from": "mailer@example.com",
                                "to": recipient, "subject": "Intake test"}},
    }
    if event == "failed":
        data["severity"] = severity
        data["reason"] = "bounce" if severity == "permanent" else "generic"
        data["delivery-status"] = {
            "code": code, "enhanced-code": enhanced, "attempt-no": 1,
            "message": f"{enhanced} " + ("The email account that you tried to reach does not exist." if severity == "permanent"
                                         else "The email account that you tried to reach is over quota."),
            "description": ""}
    body = {"signature": {"timestamp": stamp, "token": token, "signature": digest}, "event-data": data}
    return json.dumps(body).encode(), {"Content-Type": "application/json"}


def postmark_request(record: dict, auth: tuple[str, str] | None) -> tuple[bytes, dict]:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return json.dumps(record).encode(), headers


def postmark_bounce(record_id: int, email: str, message_id: str) -> dict:
    return {"RecordType": "Bounce", "ID": record_id, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "MessageStream": "outbound",
            "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": email, "From": "mailer@example.com", "BouncedAt": iso(time.time()), "Inactive": True,
            "CanActivate": True, "Subject": "Intake test", "Metadata": {"posthorn-message-id": message_id}}


def postmark_complaint(record_id: int, email: str, message_id: str) -> dict:
    return {"RecordType": "SpamComplaint", "ID": record_id, "Type": "SpamComplaint", "TypeCode": 512,
            "Name": "Spam complaint", "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", "MessageStream": "outbound",
            "Description": "The subscriber explicitly marked this message as spam.", "Details": "Test spam complaint details",
            "Email": email, "From": "mailer@example.com", "BouncedAt": iso(time.time()), "Inactive": True,
            "CanActivate": False, "Subject": "Intake test", "Metadata": {"posthorn-message-id": message_id}}


def ses_mail(message_id: str, recipients: list[str]) -> dict:
    return {"timestamp": iso(time.time() - 30), "source": "mailer@example.com",
            "messageId": "0100018f" + random_token(8, "0123456789abcdef") + "-" + random_token(36, "0123456789abcdef-"),
            "destination": recipients, "headersTruncated": False,
            "commonHeaders": {"from": ["mailer@example.com"], "to": recipients, "messageId": message_id,
                              "subject": "Intake test"}}


def ses_bounce(message_id: str, address: str, *, bounce_type: str = "Permanent", status: str = "5.1.1",
               diagnostic: str = "smtp; 550 5.1.1 user unknown") -> str:
    notification = {
        "notificationType": "Bounce", "mail": ses_mail(message_id, [address]),
        "bounce": {"bounceType": bounce_type, "bounceSubType": "General", "feedbackId": random_token(40),
                   "timestamp": iso(time.time()), "reportingMTA": "dsn; a8-1.smtp-out.amazonses.com",
                   "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": status,
                                          "diagnosticCode": diagnostic}]}}
    return json.dumps(notification)


def ses_complaint(message_id: str, address: str) -> str:
    notification = {
        "notificationType": "Complaint", "mail": ses_mail(message_id, [address]),
        "complaint": {"complainedRecipients": [{"emailAddress": address}], "timestamp": iso(time.time()),
                      "feedbackId": random_token(40), "complaintFeedbackType": "abuse", "userAgent": "ExampleCorp Feedback Loop"}}
    return json.dumps(notification)


SNS_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SNS_SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def sns_canonical(message: dict) -> bytes:
    """AWS's string to sign: `Key\\nValue\\n` for each signed key present, in this order."""
    keys = SNS_NOTIFICATION_KEYS if message["Type"] == "Notification" else SNS_SUBSCRIPTION_KEYS
    return "".join(f"{key}\n{message[key]}\n" for key in keys if key in message).encode()


def sns_sign(message: dict, key: rsa.RSAPrivateKey) -> dict:
    digest = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(key.sign(sns_canonical(message), padding.PKCS1v15(), digest)).decode()
    return message


def sns_notification(inner: str, key: rsa.RSAPrivateKey, *, version: str = "1", topic: str = TOPIC,
                     subject: str | None = None, age: float = 0, cert_url: str = SNS_CERT_URL) -> dict:
    message = {"Type": "Notification", "MessageId": f"{random_token(8, '0123456789abcdef')}-{random_token(4, '0123456789abcdef')}"
               f"-5c5b-a2f4-{random_token(12, '0123456789abcdef')}", "TopicArn": topic, "Message": inner,
               "Timestamp": iso(time.time() - age), "SignatureVersion": version, "SigningCertURL": cert_url,
               "UnsubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:{random_token(36)}"}
    if subject is not None:
        message["Subject"] = subject
    return sns_sign(message, key)


def sns_subscription(key: rsa.RSAPrivateKey, *, version: str = "1") -> dict:
    token = random_token(64, "0123456789abcdef")
    message = {"Type": "SubscriptionConfirmation", "MessageId": f"{random_token(8, '0123456789abcdef')}-sub0-4c1b-9d1e-{random_token(12, '0123456789abcdef')}",
               "Token": token, "TopicArn": TOPIC,
               "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
               "SubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={token}",
               "Timestamp": iso(time.time()), "SignatureVersion": version, "SigningCertURL": SNS_CERT_URL}
    return sns_sign(message, key)


def sns_request(message: dict) -> tuple[bytes, dict]:
    headers = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": message["Type"],
               "x-amz-sns-message-id": message["MessageId"], "x-amz-sns-topic-arn": message["TopicArn"],
               "User-Agent": "Amazon Simple Notification Service Agent"}
    return json.dumps(message).encode(), headers


RAW_DSN = (
    "From: MAILER-DAEMON@mx.example.net\r\nTo: mailer@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
    "--b\r\nContent-Type: text/plain\r\n\r\nUser unknown.\r\n"
    "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
    "Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
    "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\n\r\n--b--\r\n")


# ------------------------------------------------------------------------------------------------
# The test
# ------------------------------------------------------------------------------------------------


def main() -> int:
    binary = sys.argv[1]
    checks = Checks()
    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    sendgrid_forger = ec.generate_private_key(ec.SECP256R1())

    with tempfile.TemporaryDirectory(prefix="posthorn-intake-") as tmp:
        tmp_path = Path(tmp)
        sns_key, sns_pem = self_signed("sns.amazonaws.com")
        evil_key, _ = self_signed("sns.amazonaws.com")
        (tmp_path / "sns.pem").write_bytes(sns_pem)
        pki = fixture.make_pki(tmp_path)
        recorder = fixture.Recorder()
        smtp = fixture.start(recorder, "127.0.0.1", tls_context=fixture.server_context(pki["good"], pki["good.key"]),
                             require_starttls=True, auth_required=True, auth_require_tls=True)
        port = fixture.free_port("127.0.0.1")
        log_path = tmp_path / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        env["POSTHORN_ADMIN_TOKEN"] = ADMIN
        with open(log_path, "wb") as log:
            server = subprocess.Popen([binary, "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port),
                                       "--allow-private-egress", "127.0.0.1", "--log-level", "debug",
                                       "--trust-sns-certificate", str(tmp_path / "sns.pem")],
                                      stdout=subprocess.DEVNULL, stderr=log, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            up = False
            for _ in range(300):
                if server.poll() is not None:
                    break
                try:
                    if request(base, "GET", "/healthz")[0] == 200:
                        up = True
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            checks.check("posthorn serve starts with --trust-sns-certificate", up,
                         log_path.read_text(errors="replace")[-800:])
            if not up:
                raise SystemExit(1)
            run_scenario(checks, base, smtp, recorder, pki["ca"].read_text(), sendgrid_key, sendgrid_forger, sns_key, evil_key)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            smtp.stop()

    print(f"{checks.passed} checks passed, {checks.failed} failed")
    return 1 if checks.failed else 0


def run_scenario(checks: Checks, base: str, smtp, recorder, ca_text: str, sendgrid_key, sendgrid_forger, sns_key, evil_key) -> None:
    _, created, _ = request(base, "POST", "/api/v1/workspaces", token=ADMIN, json_body={"name": "intake"})
    token = created["token"]
    _, credential, _ = request(base, "POST", "/api/v1/credentials", token=token, json_body={
        "name": "aiosmtpd", "host": "localhost", "port": smtp.port, "security": "starttls",
        "username": fixture.USER, "password": fixture.PASSWORD, "caCertificate": ca_text, "clientIdentifier": "client.example.com"})
    credential_id = credential["id"]
    flow = {"name": "intake", "trigger": {"type": "webhook"}, "steps": [
        {"id": "send", "type": "smtp.send", "parameters": {
            "credential": credential_id, "from": "Posthorn <mailer@example.com>", "to": "{{trigger.body.to}}",
            "subject": "Intake test {{trigger.body.tag}}", "body": "Hello, this is message {{trigger.body.tag}}."}}]}
    status, made, text = request(base, "POST", "/api/v1/flows", token=token, json_body=flow)
    checks.check("the sending flow is created", status == 201, text)
    hook = made.get("trigger", {}).get("webhookId", "")

    # 1. Two runs: A (the hard bounces) and B (complaints and transient bounces).
    runs: dict[str, str] = {}
    message_ids: dict[str, str] = {}
    for name, recipients in (("A", RUN_A), ("B", RUN_B)):
        status, accepted, text = request(base, "POST", f"/hooks/{hook}", json_body={"to": ", ".join(recipients), "tag": name})
        run: dict = {}
        for _ in range(300):
            _, run, _ = request(base, "GET", f"/api/v1/runs/{accepted.get('runId')}", token=token)
            if run.get("status") in ("succeeded", "failed", "ambiguous"):
                break
            time.sleep(0.1)
        output = next((step.get("output") or {} for step in run.get("steps", []) if step.get("id") == "send"), {})
        message_id = output.get("messageId") or ""
        checks.check(f"run {name} sends one message to {len(recipients)} recipients; its step output has the Message-ID <…@…>",
                     status == 202 and run.get("status") == "succeeded" and message_id.startswith("<")
                     and message_id.endswith(">") and "@" in message_id, (status, run.get("status"), output))
        runs[name] = accepted.get("runId", "")
        message_ids[name] = message_id
    checks.check("aiosmtpd accepted both messages for all their recipients",
                 [sorted(d.rcpt_tos) for d in recorder.deliveries] == [sorted(RUN_A), sorted(RUN_B)],
                 [d.rcpt_tos for d in recorder.deliveries])
    mid_a, mid_b = message_ids["A"], message_ids["B"]

    def state() -> str:
        """The delivery of both runs' steps and the suppression list, as one comparable string."""
        snapshot: dict = {}
        for name, run_id in runs.items():
            _, run, _ = request(base, "GET", f"/api/v1/runs/{run_id}", token=token)
            snapshot[name] = [(step.get("id"), step.get("delivery")) for step in run.get("steps", [])]
        _, listed, _ = request(base, "GET", "/api/v1/suppressions", token=token)
        snapshot["suppressions"] = listed.get("items")
        return json.dumps(snapshot, sort_keys=True)

    def delivery_of(run_name: str, address: str) -> dict | None:
        _, run, _ = request(base, "GET", f"/api/v1/runs/{runs[run_name]}", token=token)
        for step in run.get("steps", []):
            if step.get("id") == "send":
                for entry in step.get("delivery") or []:
                    if str(entry.get("recipient", "")).lower() == address:
                        return entry
        return None

    def suppressions() -> dict[str, str]:
        _, listed, _ = request(base, "GET", "/api/v1/suppressions", token=token)
        return {str(item.get("address")).lower(): item.get("reason") for item in listed.get("items", [])}

    def post(provider: str, payload: tuple[bytes, dict], intake: str | None = None) -> tuple[int, dict, str]:
        body, headers = payload
        return request(base, "POST", f"/hooks/deliverability/{intake or intake_id}/{provider}", data=body, headers=headers)

    def accepted(name: str, answer: tuple[int, dict, str], events: int = 1, matched: int = 1) -> None:
        status, body, text = answer
        checks.check(f"{name} → 200 {{events: {events}, matched: {matched}, startedRuns}}",
                     status == 200 and body.get("events") == events and body.get("matched") == matched
                     and "startedRuns" in body, (status, text[:400]))

    def refused(name: str, send, statuses: tuple[int, ...], codes: tuple[str, ...]) -> tuple[int, dict, str]:
        before = state()
        answer = send()
        status, body, text = answer
        expected = "/".join(map(str, statuses)) + " " + "/".join(codes)
        checks.check(f"{name} → {expected}", status in statuses and error_code(body) in codes, (status, text[:400]))
        after = state()
        checks.check(f"… and changed nothing (delivery of both runs, suppression list)", after == before,
                     f"before {before[:600]} after {after[:600]}")
        return answer

    def recorded(name: str, run_name: str, address: str, statuses: tuple[str, ...], code: str | None,
                 suppression: str | None) -> None:
        entry = delivery_of(run_name, address)
        checks.check(f"{name}: the step's delivery shows {'/'.join(statuses)}"
                     + (f" {code}" if code else "") + f" for {address}",
                     entry is not None and entry.get("status") in statuses and (code is None or entry.get("code") == code)
                     and bool(entry.get("at")), entry)
        listed = suppressions()
        if suppression:
            checks.check(f"{name}: {address} is suppressed (reason {suppression})", listed.get(address) == suppression, listed)
        else:
            checks.check(f"{name}: {address} is not suppressed", address not in listed, listed)

    # The intake as the API shows it before any provider is configured.
    status, intake, text = request(base, "GET", f"/api/v1/credentials/{credential_id}/intake", token=token)
    intake_id = intake.get("intakeId", "")
    providers = intake.get("providers") or {}
    checks.check("GET …/intake: a bin_ id, the raw path, every provider with its path, only raw configured",
                 status == 200 and intake_id.startswith("bin_") and intake.get("path") == f"/hooks/deliverability/{intake_id}/raw"
                 and {p: (v.get("path"), v.get("configured")) for p, v in providers.items()}
                 == {p: (f"/hooks/deliverability/{intake_id}/{p}", p == "raw") for p in ("raw", "ses", "sendgrid", "mailgun", "postmark")},
                 (status, text[:600]))
    refused("a signed SendGrid bounce to an intake whose SendGrid is not configured",
            lambda: post("sendgrid", sendgrid_request([sendgrid_event("bounce", RUN_A[0], mid_a)], sendgrid_key)),
            (403,), ("not_configured",))

    # Bad keys are refused, naming the field, and configure nothing.
    rsa_spki = spki_b64(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    p384_spki = spki_b64(ec.generate_private_key(ec.SECP384R1()).public_key())
    for label, bad in (("an RSA key", rsa_spki), ("a P-384 key", p384_spki), ("not base64 DER", "bm90IGEga2V5")):
        status, _, text = request(base, "PUT", f"/api/v1/credentials/{credential_id}/intake/sendgrid", token=token,
                                  json_body={"verificationKey": bad})
        checks.check(f"PUT sendgrid with {label} as verificationKey → 422 naming verificationKey",
                     status == 422 and "verificationKey" in text, (status, text[:300]))
    _, intake, _ = request(base, "GET", f"/api/v1/credentials/{credential_id}/intake", token=token)
    checks.check("… and SendGrid stays unconfigured",
                 ((intake.get("providers") or {}).get("sendgrid") or {}).get("configured") is False, intake)

    # Configure all four.
    settings = {"sendgrid": {"verificationKey": spki_b64(sendgrid_key.public_key())},
                "mailgun": {"signingKey": MAILGUN_KEY},
                "postmark": {"username": POSTMARK_USER, "password": POSTMARK_PASSWORD},
                "ses": {"topicArn": TOPIC}}
    answers = []
    for provider, body in settings.items():
        status, answer, text = request(base, "PUT", f"/api/v1/credentials/{credential_id}/intake/{provider}", token=token,
                                       json_body=body)
        answers.append(text)
        checks.check(f"PUT …/intake/{provider} → 200 with the intake, {provider} configured",
                     status == 200 and answer.get("intakeId") == intake_id
                     and ((answer.get("providers") or {}).get(provider) or {}).get("configured") is True, (status, text[:400]))
    status, intake, text = request(base, "GET", f"/api/v1/credentials/{credential_id}/intake", token=token)
    checks.check("GET …/intake shows all five configured and never the Mailgun key or the Postmark password",
                 status == 200 and all((v or {}).get("configured") is True for v in (intake.get("providers") or {}).values())
                 and len(intake.get("providers") or {}) == 5
                 and not any(secret in blob for secret in (MAILGUN_KEY, POSTMARK_PASSWORD) for blob in [text, *answers]),
                 (status, text[:600]))

    # 6. The credential id in place of the intake id, an unknown intake, an unknown provider: 404.
    wrong_ids = {
        "raw": (RAW_DSN.format(address=RUN_A[0], message_id=mid_a).encode(), {"Content-Type": "message/rfc822"}),
        "sendgrid": sendgrid_request([sendgrid_event("bounce", RUN_A[0], mid_a)], sendgrid_key),
        "mailgun": mailgun_request(MAILGUN_KEY, recipient=RUN_A[1], message_id=mid_a),
        "postmark": postmark_request(postmark_bounce(9001, RUN_A[2], mid_a), (POSTMARK_USER, POSTMARK_PASSWORD)),
        "ses": sns_request(sns_notification(ses_bounce(mid_a, RUN_A[3]), sns_key)),
    }
    for provider, payload in wrong_ids.items():
        refused(f"a valid {provider} request to the credential id instead of the intake id",
                lambda provider=provider, payload=payload: post(provider, payload, intake=credential_id), (404,), ("not_found",))
    unknown = "bin_" + random_token(26)
    refused("a valid SendGrid request to an unknown intake id",
            lambda: post("sendgrid", wrong_ids["sendgrid"], intake=unknown), (404,), ("not_found",))
    refused("a request to an unknown provider (sparkpost)",
            lambda: post("sparkpost", wrong_ids["sendgrid"]), (404,), ("not_found",))

    # 2. SendGrid.
    sg = RUN_A[0]
    valid_sg = sendgrid_request([sendgrid_event("bounce", sg, mid_a)], sendgrid_key)
    refused("SendGrid: a bounce signed by another P-256 key",
            lambda: post("sendgrid", sendgrid_request([sendgrid_event("bounce", sg, mid_a)], sendgrid_forger)),
            (401,), ("bad_signature",))
    refused("SendGrid: a bounce without the signature headers",
            lambda: post("sendgrid", sendgrid_request([sendgrid_event("bounce", sg, mid_a)], None)), (401,), ("bad_signature",))
    refused("SendGrid: a signed bounce whose body was changed afterwards (5.1.1 → 5.1.2)",
            lambda: post("sendgrid", (valid_sg[0].replace(b'"5.1.1"', b'"5.1.2"'), valid_sg[1])), (401,), ("bad_signature",))
    refused("SendGrid: a bounce signed 20 minutes ago",
            lambda: post("sendgrid", sendgrid_request([sendgrid_event("bounce", sg, mid_a)], sendgrid_key, age=1200)),
            (401,), ("bad_signature",))
    accepted("SendGrid: a valid signed bounce (5.1.1) for sg@", post("sendgrid", valid_sg))
    recorded("SendGrid bounce", "A", sg, ("bounced",), "5.1.1", "bounce")
    refused("SendGrid: the exact same request again", lambda: post("sendgrid", valid_sg), (409,), ("replayed",))
    accepted("SendGrid: a valid signed spamreport for sg-spam@",
             post("sendgrid", sendgrid_request([sendgrid_event("spamreport", "sg-spam@example.com", mid_b)], sendgrid_key)))
    recorded("SendGrid spamreport", "B", "sg-spam@example.com", ("complained",), None, "complaint")

    # 3. Mailgun.
    mg = RUN_A[1]
    refused("Mailgun: a failure signed with another key",
            lambda: post("mailgun", mailgun_request("key-not-the-configured-one", recipient=mg, message_id=mid_a)),
            (401,), ("bad_signature",))
    refused("Mailgun: a failure signed 20 minutes ago",
            lambda: post("mailgun", mailgun_request(MAILGUN_KEY, recipient=mg, message_id=mid_a, age=1200)),
            (401,), ("bad_signature",))
    valid_mg = mailgun_request(MAILGUN_KEY, recipient=mg, message_id=mid_a)
    accepted("Mailgun: a valid failed/permanent (5.1.1) for mg@", post("mailgun", valid_mg))
    recorded("Mailgun permanent failure", "A", mg, ("bounced",), "5.1.1", "bounce")
    refused("Mailgun: the same token again", lambda: post("mailgun", valid_mg), (409,), ("replayed",))
    accepted("Mailgun: a valid failed/temporary (452 4.2.2) for mg-soft@",
             post("mailgun", mailgun_request(MAILGUN_KEY, recipient="mg-soft@example.com", message_id=mid_b,
                                             severity="temporary", code=452, enhanced="4.2.2")))
    recorded("Mailgun temporary failure (7.)", "B", "mg-soft@example.com", ("bounced", "delayed"), "4.2.2", None)
    accepted("Mailgun: a valid complained for mg-spam@",
             post("mailgun", mailgun_request(MAILGUN_KEY, recipient="mg-spam@example.com", message_id=mid_b, event="complained")))
    recorded("Mailgun complaint", "B", "mg-spam@example.com", ("complained",), None, "complaint")

    # 4. Postmark.
    pm = RUN_A[2]
    good_auth = (POSTMARK_USER, POSTMARK_PASSWORD)
    refused("Postmark: a HardBounce with the wrong password",
            lambda: post("postmark", postmark_request(postmark_bounce(42, pm, mid_a), (POSTMARK_USER, "wrong"))),
            (401,), ("bad_signature",))
    refused("Postmark: a HardBounce without basic auth",
            lambda: post("postmark", postmark_request(postmark_bounce(42, pm, mid_a), None)), (401,), ("bad_signature",))
    valid_pm = postmark_request(postmark_bounce(42, pm, mid_a), good_auth)
    accepted("Postmark: a HardBounce for pm@ with the right basic auth", post("postmark", valid_pm))
    recorded("Postmark HardBounce", "A", pm, ("bounced",), None, "bounce")
    refused("Postmark: the same Bounce ID 42 again", lambda: post("postmark", valid_pm), (409,), ("replayed",))
    accepted("Postmark: a SpamComplaint for pm-spam@",
             post("postmark", postmark_request(postmark_complaint(43, "pm-spam@example.com", mid_b), good_auth)))
    recorded("Postmark SpamComplaint", "B", "pm-spam@example.com", ("complained",), None, "complaint")

    # 5. SES via SNS.
    ses = RUN_A[3]
    refused("SES: a bounce notification signed by a different self-signed key",
            lambda: post("ses", sns_request(sns_notification(ses_bounce(mid_a, ses), evil_key))), (401,), ("bad_signature",))

    def modified() -> tuple[int, dict, str]:
        message = sns_notification(ses_bounce(mid_a, "nobody@example.com"), sns_key)
        message["Message"] = message["Message"].replace("nobody@example.com", ses)
        return post("ses", sns_request(message))

    refused("SES: a signed notification whose Message was changed afterwards", modified, (401,), ("bad_signature",))
    refused("SES: a correctly signed notification whose SigningCertURL is https://evil.example.com/cert.pem",
            lambda: post("ses", sns_request(sns_notification(ses_bounce(mid_a, ses), sns_key, cert_url=EVIL_CERT_URL))),
            (401,), ("bad_signature",))
    refused("SES: a correctly signed notification from a topic that is not the configured one",
            lambda: post("ses", sns_request(sns_notification(ses_bounce(mid_a, ses), sns_key, topic=OTHER_TOPIC))),
            (401, 403), ("bad_signature", "not_configured"))
    refused("SES: a correctly signed notification timestamped 2 hours ago",
            lambda: post("ses", sns_request(sns_notification(ses_bounce(mid_a, ses), sns_key, age=7200))),
            (401,), ("bad_signature",))
    valid_ses = sns_request(sns_notification(ses_bounce(mid_a, ses), sns_key, version="1"))
    accepted("SES: a valid SignatureVersion 1 (SHA1) Bounce Permanent for ses@", post("ses", valid_ses))
    recorded("SES Bounce Permanent", "A", ses, ("bounced",), "5.1.1", "bounce")
    refused("SES: the same SNS MessageId again", lambda: post("ses", valid_ses), (409,), ("replayed",))
    accepted("SES: a valid SignatureVersion 2 (SHA256) Complaint, with a Subject, for ses-spam@",
             post("ses", sns_request(sns_notification(ses_complaint(mid_b, "ses-spam@example.com"), sns_key, version="2",
                                                      subject="Amazon SES Email Event Notification"))))
    recorded("SES Complaint", "B", "ses-spam@example.com", ("complained",), None, "complaint")
    accepted("SES: a valid SignatureVersion 2 Bounce Transient (5.1.1) for ses-soft@",
             post("ses", sns_request(sns_notification(ses_bounce(mid_b, "ses-soft@example.com", bounce_type="Transient"),
                                                      sns_key, version="2"))))
    recorded("SES Bounce Transient (7.)", "B", "ses-soft@example.com", ("bounced", "delayed"), "5.1.1", None)
    refused("SES: a valid SubscriptionConfirmation (its SubscribeURL unreachable here)",
            lambda: post("ses", sns_request(sns_subscription(sns_key))), (502,), ("confirmation_failed",))
    refused("SES: a SubscriptionConfirmation signed by a different key",
            lambda: post("ses", sns_request(sns_subscription(evil_key, version="2"))), (401,), ("bad_signature",))

    # 6. Removed providers answer 403; raw stays.
    for provider in settings:
        status, _, text = request(base, "DELETE", f"/api/v1/credentials/{credential_id}/intake/{provider}", token=token)
        checks.check(f"DELETE …/intake/{provider} → 200/204", status in (200, 204), (status, text[:300]))
    status, intake, text = request(base, "GET", f"/api/v1/credentials/{credential_id}/intake", token=token)
    checks.check("GET …/intake: after the DELETEs only raw is configured, same intake id",
                 status == 200 and intake.get("intakeId") == intake_id
                 and {p: (v or {}).get("configured") for p, v in (intake.get("providers") or {}).items()}
                 == {"raw": True, "ses": False, "sendgrid": False, "mailgun": False, "postmark": False}, (status, text[:600]))
    after_delete = {
        "sendgrid": sendgrid_request([sendgrid_event("bounce", "sg-spam@example.com", mid_b)], sendgrid_key),
        "mailgun": mailgun_request(MAILGUN_KEY, recipient="mg-soft@example.com", message_id=mid_b),
        "postmark": postmark_request(postmark_bounce(44, "pm-spam@example.com", mid_b), good_auth),
        "ses": sns_request(sns_notification(ses_bounce(mid_b, "ses-soft@example.com"), sns_key)),
    }
    for provider, payload in after_delete.items():
        refused(f"a valid {provider} request after its DELETE",
                lambda provider=provider, payload=payload: post(provider, payload), (403,), ("not_configured",))

    final = suppressions()
    expected = {"sg@example.com": "bounce", "mg@example.com": "bounce", "pm@example.com": "bounce", "ses@example.com": "bounce",
                "sg-spam@example.com": "complaint", "mg-spam@example.com": "complaint", "pm-spam@example.com": "complaint",
                "ses-spam@example.com": "complaint"}
    checks.check("the suppression list is exactly the four hard bounces and the four complaints", final == expected, final)


if __name__ == "__main__":
    code = isolate()
    if code is not None:
        sys.exit(code)
    if os.environ.get(NETNS_MARK):
        loopback_up()
    sys.exit(main())
