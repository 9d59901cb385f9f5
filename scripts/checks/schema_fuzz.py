"""API contract fuzzing: schemathesis against a live `posthorn serve`, every operation, bounded in time.

Usage:
    python3 scripts/checks/schema_fuzz.py [PATH_TO_POSTHORN]      (default .build/debug/posthorn)

Environment:
    POSTHORN_FUZZ_SECONDS   the whole check's time budget (default 180): schemathesis gets what the
                            set-up leaves, less 12 s for the report
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
set, the default workspace's token read from its banner; then, through the API, a webhook flow
(no secret; a debug.echo step, then an http.request to an unresolvable host with a one-hour retry
delay, so its runs stay queued waiting for a retry and can be cancelled) and an SMTP credential with
a known password. Then `schemathesis run` on the served document (`/api/v1/openapi.json`): every
phase (examples, coverage, fuzzing, stateful with the document's links), a fixed seed, `--max-time`,
the hooks in `schema_fuzz_hooks.py` (per-operation tokens, the webhook id, the record of every
request, the password check; see there), and these checks:
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance, response_headers_conformance, no_password_echo (custom).

Prints `ok   NAME` / `FAIL NAME: detail` lines, schemathesis's failure report (with its curl
reproduction lines) when it found something, a summary (requests made, per-operation answers and
2xx counts); exits 1 on any failure, including an operation that never got a 2xx answer.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from hardening import ADMIN, Checks, Server, call  # noqa: E402  (server start and banner token)

NETNS_MARKER = "POSTHORN_SCHEMA_FUZZ_IN_NETNS"
HOOKS = HERE / "schema_fuzz_hooks.py"
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "no_password_echo"]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
KNOWN_PASSWORD = "PHfzknown-Seeded-Passw0rd/+=é"
UNRESOLVABLE = "http://posthorn-schema-fuzz.invalid/"


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
    api(server, "POST", "/api/v1/credentials", token, {
        "name": "schema fuzz seeded", "host": "smtp.example.com", "port": 587,
        "username": "seeded@example.com", "password": KNOWN_PASSWORD}, 201)
    tokens = api(server, "GET", "/api/v1/tokens", token, None, 200)["items"]
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
    return {"webhook_id": webhook_id, "flow_id": flow["id"], "token_ids": [item["id"] for item in tokens]}


# MARK: - schemathesis

def operations(document: dict) -> list[str]:
    return [f"{method.upper()} {path}" for path, item in document["paths"].items()
            for method in item if method in METHODS]


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

[generation]
database = "none"

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


def run_schemathesis(server: Server, token: str, setup: dict, work: Path, max_time: int) -> tuple[int, str, Path, float]:
    seed = int(env_number("POSTHORN_FUZZ_SEED", 20250301))
    workers = int(env_number("POSTHORN_FUZZ_WORKERS", 4))
    timeout = env_number("POSTHORN_FUZZ_REQUEST_TIMEOUT", 20)
    report = work / "schemathesis-report"
    config = work / "schemathesis.toml"
    # The served document, from a file: loaded from its URL, schemathesis leaves out the operation
    # that serves it (GET /api/v1/openapi.json).
    document = work / "openapi.json"
    status, _, text = call(server.base, "GET", "/api/v1/openapi.json")
    if status != 200:
        raise RuntimeError(f"GET /api/v1/openapi.json: {status} {text[:200]}")
    document.write_text(text)
    config.write_text(config_toml(seed, max_time, workers, timeout, setup["webhook_id"], report))
    log = work / "requests.jsonl"
    log.write_text("")
    env = {**os.environ,
           "SCHEMATHESIS_HOOKS": str(HOOKS),
           "POSTHORN_FUZZ_WORKSPACE_TOKEN": token,
           "POSTHORN_FUZZ_ADMIN_TOKEN": ADMIN,
           "POSTHORN_FUZZ_LOG": str(log),
           "POSTHORN_FUZZ_DOCUMENT": str(document),
           "POSTHORN_FUZZ_SECRETS": json.dumps([KNOWN_PASSWORD]),
           "POSTHORN_FUZZ_PROTECTED": json.dumps({"tokens": setup["token_ids"], "flows": [setup["flow_id"]]}),
           "PYTHONHASHSEED": "0",
           "NO_COLOR": "1",
           "COLUMNS": "120"}
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
               str(document), "--url", server.base,
               "--phases", "examples,coverage,fuzzing,stateful", "--seed", str(seed)]
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
    return code, output.read_text(errors="replace"), report / "run.json", time.monotonic() - started


def failure_report(output: str) -> str:
    """schemathesis's failure section (each failure with its `Reproduce with:` curl line)."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^=+ FAILURES =+$", line.strip())), None)
    end = next((i for i, line in enumerate(lines) if re.match(r"^=+ (SUMMARY|WARNINGS) =+$", line.strip())), len(lines))
    if start is None:
        start = next((i for i, line in enumerate(lines) if "Reproduce with" in line), max(0, len(lines) - 60))
    return "\n".join(lines[start:end] if start < end else lines[start:])


def find_run_report(report_dir: Path) -> dict | None:
    for path in [report_dir / "run.json", *sorted(report_dir.glob("*.json"))]:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return None


# MARK: - Main

def fuzz(binary: str, work: Path, checks: Checks, started: float, budget: float) -> list[Server]:
    servers: list[Server] = []
    if not isolate(checks):
        return servers
    try:
        server = Server(binary, work / "data", work / "server.log", [], servers)
    except RuntimeError as error:  # the binary may be being rebuilt: wait and try once more
        print(f"     server start failed ({error}); retrying in 30 s")
        time.sleep(30)
        server = Server(binary, work / "data-retry", work / "server.log", [], servers)
    token = server.workspace_token()
    setup = set_up(server, token)
    status, document, _ = call(server.base, "GET", "/api/v1/openapi.json")
    checks.check("the served OpenAPI document loads", status == 200 and "paths" in document, status)
    expected = operations(document)

    max_time = max(30, int(budget - (time.monotonic() - started) - 12))
    code, output, _, elapsed = run_schemathesis(server, token, setup, work, max_time)
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
    probes = collections.Counter()  # the coverage phase's requests with another method than the operation's
    for record in records:
        if record["method"] != record["op"].split(" ", 1)[0]:
            probes[record["status"]] += 1
        else:
            by_operation[record["op"]][record["status"]] += 1
    guarded = max((record.get("guarded", 0) for record in records), default=0)
    secrets = max((record.get("secrets", 0) for record in records), default=0)
    print(f"     {len(records)} requests answered in {elapsed:.0f} s "
          f"({report.get('test_cases', {}).get('generated', '?')} test cases generated; "
          f"{guarded} requests kept off the run's own token and webhook flow; "
          f"{secrets} distinct passwords and webhook secrets searched for in every answer)")
    print(f"     {'operation':<40} {'requests':>8} {'2xx':>6}  statuses")
    for label in expected:
        counts = by_operation.get(label, collections.Counter())
        statuses = " ".join(f"{code}×{n}" for code, n in sorted(counts.items()))
        print(f"     {label:<40} {sum(counts.values()):>8} {sum(n for c, n in counts.items() if 200 <= c < 300):>6}  {statuses}")
    print(f"     {'(other methods on these paths)':<40} {sum(probes.values()):>8} {'':>6}  "
          + " ".join(f"{code}×{n}" for code, n in sorted(probes.items())))
    for label in expected:
        counts = by_operation.get(label, collections.Counter())
        successes = sum(n for c, n in counts.items() if 200 <= c < 300)
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
    crash = re.search(r"(Fatal error|Crash|💣|Program crashed|backtrace)", log_text, re.IGNORECASE)
    checks.check("no crash report in the server log", crash is None,
                 log_text[max(0, crash.start() - 200):crash.start() + 800] if crash else "")

    if failures or errors or code != 0:
        print("--- schemathesis's report of what failed (reproduce with the curl lines) ---")
        print(failure_report(output))
        print("--- end of schemathesis's report ---")
    return servers


def main() -> int:
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
            servers = fuzz(binary, work, checks, started, budget)
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
