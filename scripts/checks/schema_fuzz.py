"""API contract fuzzing: schemathesis against a live `posthorn serve`, every operation, bounded in time.

Usage:
    python3 scripts/checks/schema_fuzz.py [PATH_TO_POSTHORN]      (default .build/debug/posthorn)

Environment:
    POSTHORN_FUZZ_SECONDS   the whole check's time budget (default 180): schemathesis gets what the
                            set-up leaves (2 to 8 s, most of it bcrypt), less 12 s for the report
    POSTHORN_FUZZ_SEED      schemathesis's --seed (default 20250301), so a failure reproduces
    POSTHORN_FUZZ_WORKERS   schemathesis's --workers (default 4)
    POSTHORN_FUZZ_REQUEST_TIMEOUT  seconds per request (default 20; a connection test answers
                            within 15 s per step, and in the namespace every connect fails at once)
    POSTHORN_FUZZ_KEEP      a directory to keep the server log, schemathesis's output and reports in

Needs root (`unshare -n`), `ip`, and schemathesis (`python3 -m pip install schemathesis`).

The script re-executes itself under `unshare -n` (a new network namespace holding only a loopback
interface, brought up with `ip link set lo up`), so nothing the fuzzer invents — credential hosts,
public IP literals, `http.request` URLs, connection tests — can leave the machine: every outbound
connect fails locally (EDNS/ECONNECTION at once, EPOLICY for private ranges).

In there: `posthorn serve` on a fresh data directory and a free port with `POSTHORN_ADMIN_TOKEN`
set, the default workspace's token and the one-time setup link read from its banner; then, through
the API, a webhook flow (no secret; a debug.echo step, then an http.request to an unresolvable host
with a one-hour retry delay, so its runs stay queued waiting for a retry and can be cancelled) and
an SMTP credential with a known password.

People (the set-up, before the fuzzer; every step checked, those below printed as `set-up: …`):
  - `POST /api/v1/setup` with the banner's token makes the instance owner (a known email and
    password): 201, a `Session` the document's schema accepts, an HttpOnly SameSite=Strict cookie;
    the same token again is 403 `invalid_setup_token`; `GET /api/v1/setup` then says
    `{"needed": false}`. The set-up does this itself, rather than letting the fuzzer's first valid
    body win it, because it must end with a known owner before the first fuzzed request (sign-in,
    the cookie-authenticated operations, invites accepted as the owner), because any account ends
    setup (an invite accepted by a fuzzed `POST /api/v1/invites/accept` would make the setup link
    useless, and 4 workers run the operations in no fixed order), and because one 2xx per
    instance is all the operation can give. So `POST /api/v1/setup` is exempt from the 2xx rule
    below (`EXEMPT_FROM_2XX`, printed with the reason); the fuzzer still sends it the real, spent
    token in every valid body (403: it works once);
  - demoting or removing the only admin (the owner) is 409 `last_admin` (the fuzzer never gets
    there: the hooks keep the owner an admin);
  - through invites made with the workspace token and accepted with new accounts: a `member`
    (for the role-based 403s), two members for `PATCH /api/v1/members/{userId}`, four for the
    removal pool of `DELETE /api/v1/members/{userId}`; each keeps the session cookie its accept set;
  - two invites for `POST /api/v1/invites/preview` (one open, one for an address; previewing does
    not use them up);
  - a session signed in and out again (then 401 `session_ended`), reused by sign-outs.
Sign-in throttling (5 failures per account and address, 20 per address, 50 per account in 15
minutes) counts the fuzzer's sign-ins as 127.0.0.1; the hooks make their own calls from 127.0.0.2
and cap the failures they let through (see there), so valid sign-ins keep succeeding all run.

Then `schemathesis run` on the served document (`GET /api/v1/openapi.json`, saved to a file:
loaded from its URL, schemathesis would leave out the operation serving it) with every phase
(examples, coverage, fuzzing, stateful with the document's links and those it infers), a fixed
seed, `--max-time`, `auto-signup` off, the fixed webhook id for `POST /hooks/{webhookId}`, the
hooks in `schema_fuzz_hooks.py` (auth by what each operation's `security` allows: bearer tokens,
the owner's or the member's session cookie with Posthorn's own `Origin`, a fresh or ended session
for each sign-out; real setup, invite and member values and the accounts' credentials in valid
bodies; guards keeping the run's own token, webhook flow, seeded credential and accounts alive;
the record of every request; the secret and session checks; see there), and these checks:
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance, response_headers_conformance, no_password_echo (custom: no
    password, session id, setup, invite or API token comes back where it must not),
    session_rules (custom: sign-in cookies work and are new, sign-out ends the session, another
    site's Origin is never 2xx).

Prints `ok   NAME` / `FAIL NAME: detail` lines, schemathesis's failure report when it found
something (its curl reproduction lines show `Authorization: [Filtered]`: the workspace token, or the
admin token for `POST /api/v1/workspaces`; likewise `Cookie` and `Set-Cookie`), a summary (requests
made, per-operation statuses and 2xx counts, the hooks' own API calls, and for the operations sent
with a cookie or a substitution how each kind answered); exits 1 on any failure, including an
operation that never got a 2xx answer (but those in `EXEMPT_FROM_2XX`), a 5xx, a schemathesis error
(a request timeout, a network error) or a server crash.
"""

from __future__ import annotations

import collections
import concurrent.futures
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from hardening import ADMIN, Checks, Server, call  # noqa: E402  (server start and banner token)

NETNS_MARKER = "POSTHORN_SCHEMA_FUZZ_IN_NETNS"
HOOKS = HERE / "schema_fuzz_hooks.py"
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "no_password_echo", "session_rules"]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
KNOWN_PASSWORD = "PHfzknown-Seeded-Passw0rd/+=é"
UNRESOLVABLE = "http://posthorn-schema-fuzz.invalid/"
MARK = "PHfz"  # the hooks' prefix for passwords (see schema_fuzz_hooks.py)
COOKIE = "posthorn_session"
# Check DNS asks a documentation address (TEST-NET-1, RFC 5737): in the namespace, which has only
# loopback, the send fails at once (unreachable), so the check answers `error` quickly, and nothing
# could leave even outside it.
DNS_FLAGS = ["--dns-resolver", "192.0.2.1"]
OWNER_EMAIL = "owner@people.schema-fuzz.example"
# Operations that cannot answer 2xx to the fuzzer, with the reason, and the set-up check standing in.
EXEMPT_FROM_2XX = {
    "POST /api/v1/setup": "it succeeds once per instance, and the set-up spent it to make the owner every "
                          "account-bound operation needs; the set-up checked that 201 against the document",
    "POST /api/v1/credentials/oauth/complete": "a 2xx needs the state of a sign-in this very session started and a "
                                               "code a provider issued for it; scripts/interop/oauth_e2e.py and "
                                               "oauth_browser.py complete real sign-ins against the fake provider "
                                               "(201 with the credential, 200 when connected again)",
}

# An OAuth provider for `POST /api/v1/credentials/oauth/start` to answer 200 with its authorization
# URL (the sign-in itself needs no provider until the callback): Google replaced by loopback
# endpoints nothing listens on, in the namespace with only loopback anyway.
OAUTH_PROVIDERS = [{
    "id": "google", "name": "Google", "authorizeURL": "http://127.0.0.1:9/authorize", "tokenURL": "http://127.0.0.1:9/token",
    "scopes": ["openid", "email", "https://mail.google.com/"], "clientId": "schema-fuzz-client",
    "clientSecret": "schema-fuzz-client-secret", "smtpHost": "smtp.example.com", "smtpPort": 587, "security": "starttls",
}]

# Operations schemathesis does not send, with the reason, and what checks them instead.
NOT_FUZZED = {
    "GET /api/v1/events": ("streamRunEvents", "a valid request is a server-sent event stream that lasts until the "
                           "client goes, so every case would wait out the request timeout; hardening.py's live-events "
                           "checks and the Swift EventAPITests cover it"),
}


def env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


# MARK: - Network namespace

def reexec_in_netns() -> int:
    """Runs this script again under `unshare -n`; its exit status is ours."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        print("FAIL network namespace: needs `unshare` and `ip` (util-linux, iproute2)")
        return 1
    env = {**os.environ, NETNS_MARKER: "1"}
    command = ["unshare", "-n", "--", sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]]
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130


def isolate(checks: Checks) -> bool:
    """Brings loopback up and checks that it is the only interface and no route leaves it."""
    up = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines() if ":" in line]
    routes = (subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
              + subprocess.run(["ip", "-6", "route"], capture_output=True, text=True).stdout)
    outside = [line for line in routes.splitlines() if line.strip() and " dev lo" not in f" {line}"]
    ok = up.returncode == 0 and names == ["lo"] and not outside
    checks.check("network namespace: only loopback, no route off the machine", ok,
                 f"ip link set lo up → {up.returncode} {up.stderr.strip()}; interfaces {names}; routes {outside}")
    return ok


# MARK: - Set-up through the API

def api(server: Server, method: str, path: str, token: str, body: dict | None, expect: int) -> dict:
    status, parsed, text = call(server.base, method, path, token, body)
    if status != expect:
        raise RuntimeError(f"{method} {path}: {status} {text[:300]}")
    return parsed


def set_up(server: Server, token: str) -> dict:
    """The webhook flow, a credential with a known password, and the ids the run must not lose."""
    flow = api(server, "POST", "/api/v1/flows", token, {
        "name": "schema fuzz webhook",
        "trigger": {"type": "webhook"},
        "retry": {"maxAttempts": 10, "initialDelayMs": 3600000, "maxDelayMs": 3600000},
        "steps": [{"id": "echo", "type": "debug.echo", "parameters": {"message": "run {{run.id}}"}},
                  {"id": "wait", "type": "http.request", "parameters": {"url": UNRESOLVABLE}}]}, 201)
    webhook_id = flow["trigger"]["webhookId"]
    credential = api(server, "POST", "/api/v1/credentials", token, {
        "name": "schema fuzz seeded", "host": "smtp.example.com", "port": 587,
        "username": "seeded@example.com", "password": KNOWN_PASSWORD}, 201)
    tokens = api(server, "GET", "/api/v1/tokens", token, None, 200)["items"]
    # A sending domain whose id and key the hooks put in domain paths, as the seeded credential's.
    domain = api(server, "POST", "/api/v1/domains", token,
                 {"domain": "seeded.schema-fuzz.example", "selector": "seed", "algorithm": "ed25519-sha256"}, 201)
    # The seeded credential's bounce intake, which the hooks deliver a bounce to every other case.
    intake = api(server, "GET", f"/api/v1/credentials/{credential['id']}/intake", token, None, 200)
    accepted = api(server, "POST", f"/hooks/{webhook_id}", "", {"seed": True}, 202)
    deadline = time.monotonic() + 15
    run: dict = {}
    while time.monotonic() < deadline:
        run = api(server, "GET", f"/api/v1/runs/{accepted['runId']}", token, None, 200)
        if any(step.get("status") == "retrying" for step in run.get("steps", [])):
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"the webhook run does not wait for a retry: {json.dumps(run)[:400]}")
    return {"webhook_id": webhook_id, "flow_id": flow["id"], "token_ids": [item["id"] for item in tokens],
            "credential_id": credential["id"], "domain_id": domain["id"], "domain_key_id": domain["keys"][0]["id"],
            "intake_id": intake["intakeId"]}


# MARK: - People: setup, accounts, invites

def marked(value: str) -> str:
    """A password in the hooks' distinctive form (`PHfz<8 hex>-…`), so the echo check finds it fast."""
    return f"{MARK}{hashlib.sha256(value.encode()).hexdigest()[:8]}-{value}"


def http(server: Server, method: str, path: str, body: dict | None = None, *, bearer: str | None = None,
         session: str | None = None, origin: bool = False) -> tuple[int, dict, list[str]]:
    """One call: status, parsed JSON body (`{}` if none), the Set-Cookie values."""
    request = urllib.request.Request(server.base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    if session:
        request.add_header("Cookie", f"{COOKIE}={session}")
    if origin:
        request.add_header("Origin", server.base)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"_raw": raw.decode(errors="replace")}
    return status, parsed if isinstance(parsed, dict) else {"_value": parsed}, headers.get_all("Set-Cookie") or []


def session_in(set_cookies: list[str]) -> str | None:
    for value in set_cookies:
        match = re.match(rf"\s*{COOKIE}=([^;]+)", value)
        if match:
            return match.group(1)
    return None


def nonconformance(document: dict, schema: str, instance: object) -> str | None:
    """Why `instance` is not a `#/components/schemas/<schema>` of the document, or None."""
    import jsonschema  # schemathesis depends on it

    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(instance), key=lambda error: str(error.path))
    return f"{list(errors[0].path)}: {errors[0].message}" if errors else None


def setup_token(server: Server) -> str:
    """The one-time setup token of the first start's banner (`…/setup#<token>`)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in list(server.banner):
            if line.startswith("Set up the first account") and "/setup#" in line:
                return line.rsplit("#", 1)[1].strip()
        time.sleep(0.05)
    raise RuntimeError(f"no setup link in the banner: {''.join(server.banner)!r}")


def make_account(server: Server, token: str, document: dict, label: str) -> dict:
    """A new member of the default workspace: an invite accepted with a new account (bcrypt: ~1 s)."""
    status, invite, _ = http(server, "POST", "/api/v1/invites", {"role": "member"}, bearer=token)
    if status != 201:
        raise RuntimeError(f"POST /api/v1/invites for {label}: {status} {invite}")
    account = {"email": f"{label}@people.schema-fuzz.example", "password": marked(f"{label} passphrase é")}
    status, joined, cookies = http(server, "POST", "/api/v1/invites/accept", {
        "token": invite["url"].rsplit("#", 1)[1], "email": account["email"], "name": f"Schema Fuzz {label}",
        "password": account["password"]})
    session = session_in(cookies)
    if status != 200 or not session:
        raise RuntimeError(f"POST /api/v1/invites/accept for {label}: {status} {joined} {cookies}")
    problem = nonconformance(document, "Session", joined) or nonconformance(document, "CreatedInvite", invite)
    if problem:
        raise RuntimeError(f"the answers making {label} do not match the document: {problem}")
    return {**account, "id": joined["user"]["id"], "session": session}


def set_up_people(server: Server, token: str, document: dict, checks: Checks, seeded: dict) -> dict:
    """The owner through the one-time setup link, accounts for the hooks, invites to preview, an ended
    session; and what only the set-up can check: setup works once, the last admin stays."""
    secret = setup_token(server)
    status, needed, _ = http(server, "GET", "/api/v1/setup")
    checks.check("set-up: GET /api/v1/setup before the first account answers {\"needed\": true}",
                 status == 200 and needed == {"needed": True}, f"{status} {needed}")
    owner = {"email": OWNER_EMAIL, "password": marked("owner passphrase é")}
    status, made, cookies = http(server, "POST", "/api/v1/setup", {
        "token": secret, "email": owner["email"], "name": "Schema Fuzz Owner", "password": owner["password"]})
    session = session_in(cookies)
    problem = nonconformance(document, "Session", made)
    cookie = next((value for value in cookies if value.startswith(f"{COOKIE}=")), "")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    ok = (status == 201 and session is not None and problem is None and made["user"].get("isOwner") is True
          and {"httponly", "samesite=strict", "path=/"} <= attributes
          and any(w.get("role") == "admin" for w in made.get("workspaces", [])))
    checks.check("set-up: POST /api/v1/setup with the banner's token answers 201, the documented Session "
                  "(isOwner, admin of the default workspace) and an HttpOnly SameSite=Strict session cookie",
                 ok, f"{status} {made} {cookies} {problem}")
    if not ok:
        raise RuntimeError("setup failed: nothing that needs an account can be fuzzed")
    owner.update(id=made["user"]["id"], session=session)
    workspace_id = next(w["id"] for w in made["workspaces"] if w["name"] == "default")
    status, again, _ = http(server, "POST", "/api/v1/setup", {
        "token": secret, "email": "second@people.schema-fuzz.example", "name": "Second", "password": marked("second one")})
    checks.check("set-up: the setup token works once (a second POST /api/v1/setup with it is 403 invalid_setup_token)",
                 status == 403 and again.get("error", {}).get("code") == "invalid_setup_token", f"{status} {again}")
    status, needed, _ = http(server, "GET", "/api/v1/setup")
    checks.check("set-up: GET /api/v1/setup after it answers {\"needed\": false}",
                 status == 200 and needed == {"needed": False}, f"{status} {needed}")
    demoted = http(server, "PATCH", f"/api/v1/members/{owner['id']}", {"role": "member"}, bearer=token)
    removed = http(server, "DELETE", f"/api/v1/members/{owner['id']}", bearer=token)
    checks.check("set-up: demoting or removing the only admin is 409 last_admin",
                 all(status == 409 and body.get("error", {}).get("code") == "last_admin" for status, body, _ in (demoted, removed)),
                 f"PATCH → {demoted[:2]}, DELETE → {removed[:2]}")

    labels = ["member", "patch-1", "patch-2", *(f"removal-{n}" for n in range(1, 5))]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        accounts = dict(zip(labels, pool.map(lambda label: make_account(server, token, document, label), labels)))

    previews = []
    for body in ({"role": "member"}, {"role": "admin", "email": "preview@people.schema-fuzz.example"}):
        status, invite, _ = http(server, "POST", "/api/v1/invites", body, bearer=token)
        if status != 201:
            raise RuntimeError(f"POST /api/v1/invites {body}: {status} {invite}")
        previews.append(invite["url"].rsplit("#", 1)[1])

    status, _, cookies = http(server, "POST", "/api/v1/session", {"email": owner["email"], "password": owner["password"]})
    ended = session_in(cookies)
    signed_out = http(server, "DELETE", "/api/v1/session", session=ended, origin=True)
    after = http(server, "GET", "/api/v1/session", session=ended)
    checks.check("set-up: sign in (200), sign out (204), then the session is refused (401 session_ended)",
                 status == 200 and signed_out[0] == 204 and after[0] == 401
                 and after[1].get("error", {}).get("code") == "session_ended",
                 f"sign-in {status}, sign-out {signed_out[:2]}, then {after[:2]}")
    return {"base": server.base, "workspace_id": workspace_id, "owner": owner, "member": accounts["member"],
            "patch_targets": [accounts["patch-1"], accounts["patch-2"]],
            "removal_pool": [accounts[label] for label in labels if label.startswith("removal")],
            "preview_tokens": previews, "setup_token": secret, "ended_sessions": [ended] if ended else [],
            "credential_id": seeded["credential_id"], "domain_id": seeded["domain_id"],
            "domain_key_id": seeded["domain_key_id"], "intake_id": seeded["intake_id"]}


# MARK: - schemathesis

def operations(document: dict) -> list[str]:
    return [f"{method.upper()} {path}" for path, item in document["paths"].items()
            for method in item if method in METHODS]


def tokenless(document: dict) -> list[str]:
    """The operations the document marks `security: []`."""
    return [f"{method.upper()} {path}" for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS and operation.get("security") == []]


def config_toml(seed: int, max_time: int, workers: int, timeout: float, webhook_id: str, report: Path) -> str:
    checks = "\n".join(f"[checks.{name}]\nenabled = true\n" for name in CHECKS)
    return f"""\
seed = {seed}
max-time = {max_time}
workers = {workers}
request-timeout = {timeout}
continue-on-failure = true
color = false

[cache]
enabled = false

[output.sanitization]
keys-to-sanitize = ["authorization", "cookie", "set-cookie", "posthorn_session"]
sensitive-markers = ["authorization", "cookie"]

[generation]
database = "none"

[auth]
auto-signup = false

[reports]
directory = "{report}"

[reports.json]
enabled = true

[checks]
enabled = false

{checks}
[[operations]]
include-operation-id = "triggerWebhook"
parameters = {{ webhookId = "{webhook_id}" }}
"""


def run_schemathesis(server: Server, token: str, setup: dict, people: dict, document_text: str, work: Path,
                     max_time: int) -> tuple[int, str, float]:
    """Runs `schemathesis run` to its end (killed 90 s after its --max-time): exit status, output, seconds."""
    seed = int(env_number("POSTHORN_FUZZ_SEED", 20250301))
    workers = int(env_number("POSTHORN_FUZZ_WORKERS", 4))
    timeout = env_number("POSTHORN_FUZZ_REQUEST_TIMEOUT", 20)
    report = work / "schemathesis-report"
    config = work / "schemathesis.toml"
    # The served document, from a file: loaded from its URL, schemathesis leaves out the operation
    # that serves it (GET /api/v1/openapi.json).
    document = work / "openapi.json"
    document.write_text(document_text)
    no_token = tokenless(json.loads(document_text))
    config.write_text(config_toml(seed, max_time, workers, timeout, setup["webhook_id"], report))
    log = work / "requests.jsonl"
    log.write_text("")
    env = {**os.environ,
           "SCHEMATHESIS_HOOKS": str(HOOKS),
           "POSTHORN_FUZZ_WORKSPACE_TOKEN": token,
           "POSTHORN_FUZZ_ADMIN_TOKEN": ADMIN,
           "POSTHORN_FUZZ_LOG": str(log),
           "POSTHORN_FUZZ_DOCUMENT": str(document),
           "POSTHORN_FUZZ_NO_TOKEN": json.dumps(no_token),
           "POSTHORN_FUZZ_SECRETS": json.dumps([KNOWN_PASSWORD]),
           "POSTHORN_FUZZ_PEOPLE": json.dumps(people),
           "POSTHORN_FUZZ_PROTECTED": json.dumps({"tokens": setup["token_ids"], "flows": [setup["flow_id"]],
                                                  "credentials": [setup["credential_id"]],
                                                  "domains": [setup["domain_id"]]}),
           "PYTHONHASHSEED": "0",
           "NO_COLOR": "1",
           "COLUMNS": "120"}
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
               str(document), "--url", server.base,
               "--phases", "examples,coverage,fuzzing,stateful", "--seed", str(seed)]
    for operation_id, _ in NOT_FUZZED.values():
        command += ["--exclude-operation-id", operation_id]
    print(f"     schemathesis: seed {seed}, --max-time {max_time} s, {workers} workers, request timeout {timeout:g} s")
    started = time.monotonic()
    output = work / "schemathesis.out"
    with open(output, "wb") as sink:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            code = process.wait(timeout=max_time + 90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = -9
    return code, output.read_text(errors="replace"), time.monotonic() - started


def failure_report(output: str) -> str:
    """schemathesis's failure section (each failure with its `Reproduce with:` curl line)."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^=+ FAILURES =+$", line.strip())), None)
    end = next((i for i, line in enumerate(lines) if re.match(r"^=+ (SUMMARY|WARNINGS) =+$", line.strip())), len(lines))
    if start is None:
        start = next((i for i, line in enumerate(lines) if "Reproduce with" in line), max(0, len(lines) - 60))
    return "\n".join(lines[start:end] if start < end else lines[start:])


def find_run_report(report_dir: Path) -> dict | None:
    """schemathesis's JSON run report (`json-<time>.json`)."""
    for path in sorted(report_dir.glob("*.json")):
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return None


# MARK: - Main

def fuzz(binary: str, work: Path, checks: Checks, started: float, budget: float, servers: list[Server]) -> None:
    if not isolate(checks):
        return
    providers = work / "oauth-providers.json"
    providers.write_text(json.dumps(OAUTH_PROVIDERS))
    oauth = {"POSTHORN_OAUTH_PROVIDERS": str(providers)}
    try:
        server = Server(binary, work / "data", work / "server.log", DNS_FLAGS, servers, oauth)
    except RuntimeError as error:  # the binary may be being rebuilt: wait and try once more
        print(f"     server start failed ({error}); retrying in 30 s")
        time.sleep(30)
        server = Server(binary, work / "data-retry", work / "server.log", DNS_FLAGS, servers, oauth)
    token = server.workspace_token()
    setup = set_up(server, token)
    status, document, document_text = call(server.base, "GET", "/api/v1/openapi.json")
    checks.check("the served OpenAPI document loads", status == 200 and "paths" in document, status)
    if status != 200:
        return
    expected = [operation for operation in operations(document) if operation not in NOT_FUZZED]
    for operation, (_, reason) in NOT_FUZZED.items():
        print(f"     not sent: {operation}: {reason}")
    people = set_up_people(server, token, document, checks, setup)

    max_time = max(30, int(budget - (time.monotonic() - started) - 12))
    print(f"     set-up took {time.monotonic() - started:.0f} s")
    code, output, elapsed = run_schemathesis(server, token, setup, people, document_text, work, max_time)
    report = find_run_report(work / "schemathesis-report") or {}

    # What schemathesis found.
    failures = report.get("failures") or []
    errors = report.get("errors") or []
    checks.check(f"schemathesis finished within its budget ({elapsed:.0f} s for --max-time {max_time})",
                 code != -9 and report.get("complete", False),
                 f"exit {code}, stop reason {report.get('stop_reason')}")
    checks.check("schemathesis: no check failed (" + ", ".join(CHECKS) + ")", not failures,
                 "; ".join(f"{group['title']} ×{group['count']} in {', '.join(group['operations'])}"
                           for group in failures))
    checks.check("schemathesis: no errors (network errors, timeouts, hook or schema errors)", not errors,
                 "; ".join(f"{error['title']} ×{error['count']}" for error in errors))
    checks.check("schemathesis exit status 0", code == 0, f"exit {code}")

    # What was sent, per operation.
    records = [json.loads(line) for line in (work / "requests.jsonl").read_text().splitlines() if line.strip()]
    by_operation: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    slowest: dict[str, int] = collections.defaultdict(int)
    probes = collections.Counter()  # the coverage phase's requests with another method than the operation's
    for record in records:
        if record["method"] != record["op"].split(" ", 1)[0]:
            probes[record["status"]] += 1
        else:
            by_operation[record["op"]][record["status"]] += 1
            slowest[record["op"]] = max(slowest[record["op"]], record.get("ms", 0))
    def most(key: str) -> int:
        return max((record.get(key, 0) for record in records), default=0)

    hook_calls: collections.Counter = collections.Counter()
    for record in records:
        hook_calls |= collections.Counter(record.get("hook_calls") or {})
    print(f"     {len(records)} requests answered in {elapsed:.0f} s "
          f"({report.get('test_cases', {}).get('generated', '?')} test cases generated; "
          f"{most('guarded')} requests kept off what the run depends on (its token, webhook flow and accounts); "
          f"searched for in every answer: {most('secrets')} distinct credential passwords and webhook secrets "
          f"({most('marked')} with the hooks' prefix), {most('user_passwords')} user passwords, "
          f"{most('tokens')} session ids, setup, invite and API tokens; "
          f"{most('sign_in_failures')} generated sign-ins answered 401)")
    print(f"     the hooks' own API calls ({sum(hook_calls.values())}): "
          + "; ".join(f"{purpose} ×{n}" for purpose, n in sorted(hook_calls.items())))
    print(f"     {'operation':<40} {'requests':>8} {'2xx':>6} {'max ms':>6}  statuses")
    for label in expected:
        counts = by_operation.get(label, collections.Counter())
        statuses = " ".join(f"{code}×{n}" for code, n in sorted(counts.items()))
        successes = sum(n for c, n in counts.items() if 200 <= c < 300)
        print(f"     {label:<40} {sum(counts.values()):>8} {successes:>6} {slowest.get(label, 0):>6}  {statuses}")
    print(f"     {'(other methods on these paths)':<40} {sum(probes.values()):>8} {'':>6} {'':>6}  "
          + " ".join(f"{code}×{n}" for code, n in sorted(probes.items())))
    # How the people operations were sent (the hooks' substitutions and auth), and what they answered.
    plans: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for record in records:
        if record.get("method") == record["op"].split(" ", 1)[0] and (record.get("plan") or "cookie" in record.get("auth", "")):
            plans[record["op"]][(record.get("auth", "?"), record.get("plan") or "-", record["status"])] += 1
    if plans:
        print("     how the hooks sent them (auth; substitution → status × count):")
    for label in expected:
        if label in plans:
            print(f"       {label}")
            rows: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
            for (auth, plan, status), n in sorted(plans[label].items()):
                rows[(auth, plan)].append(f"{status}×{n}")
            for (auth, plan), statuses in rows.items():
                print(f"         {auth}; {plan} → {' '.join(statuses)}")
    for label in expected:
        counts = by_operation.get(label, collections.Counter())
        successes = sum(n for c, n in counts.items() if 200 <= c < 300)
        if label in EXEMPT_FROM_2XX:
            checks.check(f"2xx at least once: {label} exempt ({successes} of {sum(counts.values())} from the fuzzer): "
                         f"{EXEMPT_FROM_2XX[label]}", True)
            continue
        checks.check(f"2xx at least once: {label} ({successes} of {sum(counts.values())})", successes > 0,
                     f"no 2xx among {sum(counts.values())} requests: {dict(sorted(counts.items()))}")
    unknown = sorted(set(by_operation) - set(expected))
    checks.check("every request was one of the document's operations", not unknown, unknown)
    server_errors = sum(n for counts in [*by_operation.values(), probes] for c, n in counts.items() if c >= 500)
    checks.check("no 5xx answer in the request record", server_errors == 0, f"{server_errors} answers ≥ 500")

    checks.check("the server is still up and answering", server.healthy(), server.log_tail(10))
    exit_code, _ = server.stop()
    checks.check("the server stops cleanly (SIGTERM → exit 0)", exit_code == 0, f"exit {exit_code}")
    log_text = server.log_path.read_text(errors="replace")
    crash = re.search(r"Fatal error|Program crashed|💣", log_text)
    checks.check("no crash report in the server log", crash is None,
                 log_text[max(0, crash.start() - 200):crash.start() + 800] if crash else "")

    if failures or errors or code != 0:
        print("--- schemathesis's report of what failed (reproduce with the curl lines) ---")
        print(failure_report(output))
        print("--- end of schemathesis's report ---")


def main() -> int:
    if importlib.util.find_spec("schemathesis") is None:
        print("FAIL schemathesis is not installed: python3 -m pip install schemathesis")
        return 1
    if os.environ.get(NETNS_MARKER) != "1":
        return reexec_in_netns()
    binary = sys.argv[1] if len(sys.argv) > 1 else str(REPO / ".build" / "debug" / "posthorn")
    if len(sys.argv) > 2 or not os.access(binary, os.X_OK):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    started = time.monotonic()
    budget = env_number("POSTHORN_FUZZ_SECONDS", 180)
    checks = Checks()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="posthorn-schema-fuzz-") as tmp:
        work = Path(tmp)
        try:
            fuzz(binary, work, checks, started, budget, servers)
        except Exception as error:  # noqa: BLE001
            checks.check("schema fuzzing ran", False, f"{type(error).__name__}: {error}")
        finally:
            for server in servers:
                server.kill()
            if checks.failed:
                for server in servers:
                    print(f"--- last lines of {server.log_path.name} ---")
                    print(server.log_tail(25))
            keep = os.environ.get("POSTHORN_FUZZ_KEEP")
            if keep:
                shutil.copytree(work, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("data*"))
    print(f"{checks.passed} passed, {checks.failed} failed ({time.monotonic() - started:.0f} s)")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
