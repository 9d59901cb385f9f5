#!/usr/bin/env python3
"""OAuth (XOAUTH2) credentials on several instances sharing one PostgreSQL database (issue #21):
the provider rotates refresh tokens, and no instance ever presents one already rotated away.

Usage:
    python3 scripts/interop/oauth_instances.py PATH_TO_POSTHORN [--keep-logs]

a. A throwaway PostgreSQL cluster (postgres_serve.Cluster: initdb as the postgres user, 127.0.0.1)
   and the fixture of oauth_fixture.py: refresh tokens rotate (the old one then gets
   invalid_grant), access tokens live ACCESS_TTL s, every /token answer waits TOKEN_DELAY s (so
   refreshes by different instances would overlap), idle SMTP sessions are closed after
   IDLE_CLOSE s (so every burst opens new sessions, which need a current token). Three
   `posthorn serve --database postgres://…` instances share the database and the master key file
   of instance 0, each with --public-url of its own address, POSTHORN_OAUTH_PROVIDERS pointing
   "google" at the fixture, trace logs and its own metrics port.
b. Through instance 0: the owner is set up (before instances 1 and 2 start: each start without
   an account prints a new setup link and voids the earlier one), the credential connected
   (start → consent → complete, in the owner's session), a webhook → smtp.send flow made.
c. Connection tests on instances 1 and 2 at once (neither holds an access token yet): both
   refresh, one after the other — PostgreSQL's log (log_lock_waits) shows one waiting for the
   other's row lock — and neither presents a stale token. Then CALLS webhook calls in bursts over
   LOAD_SECONDS (about five access-token lifetimes), round-robin over the three instances, each
   burst concurrent. Every run must end.
d. Checked: every run succeeded; the fixture received exactly one message per run, authenticated
   as the account; it saw no stale refresh token (staleRefreshes 0), no refused refresh, and no
   two refresh requests at once (the row lock is held across the token request); every instance
   refreshed at least once (its posthorn_oauth_refreshes_total{outcome="ok"}, summing to the
   fixture's count) and none failed; the credential's oauth.needsReconnect is false through every
   instance; the instances stop with status 0.
e. The fixture's detection is tested: an already-rotated refresh token counts as stale, an unknown
   one and a revoked one do not, and two clients racing with one refresh token (what instances
   without the lock would do) make one overlap and one stale refresh.
f. No token, code or the client secret (the canary forms of oauth_e2e.py) is in any instance's
   stdout or trace log, any API answer, any run's history, a pg_dump of the database or the
   PostgreSQL server log.

Prints `ok NAME` / `FAIL NAME: detail` per check, the numbers, and `N passed, M failed`; exits 1 on
any failure. Every server listens on 127.0.0.1; every process started here (PostgreSQL included)
is stopped at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oauth_e2e import OWNER, Answer, Posthorn, Serve, leaks  # noqa: E402
from oauth_fixture import LOOPBACK, OAuthFixture, free_port  # noqa: E402
from postgres_serve import Cluster  # noqa: E402
from server_curl import Checks  # noqa: E402

ACCOUNT = "alice@example.test"
INSTANCES = 3
ACCESS_TTL = 4
TOKEN_DELAY = 0.5
IDLE_CLOSE = 0.3
CALLS = 300
LOAD_SECONDS = 20.0
BURST_EVERY = 0.5
FINAL = {"succeeded", "failed", "ambiguous", "cancelled"}


class Instance(Serve):
    """One `posthorn serve` on the shared database."""

    def __init__(self, n: int, binary: str, work: Path, database: str, providers_file: str, port: int,
                 key_file: Path | None) -> None:
        super().__init__(binary, work, providers_file, port, name=f"instance{n}", database=database, key_file=key_file,
                         metrics_port=free_port())
        self.n = n
        self.api = Posthorn(self.base)

    def wait_ready(self, timeout: float = 90, path: str = "/readyz") -> bool:
        return super().wait_ready(timeout, path)

    def refreshes(self) -> dict[str, float]:
        """posthorn_oauth_refreshes_total by outcome ({} when /metrics does not answer)."""
        try:
            text = requests.get(f"http://{LOOPBACK}:{self.metrics_port}/metrics", timeout=5).text
        except requests.RequestException:
            return {}
        found: dict[str, float] = {}
        for line in text.splitlines():
            if match := re.match(r'posthorn_oauth_refreshes_total\{[^}]*outcome="([a-z]+)"[^}]*\}\s+(\S+)', line):
                found[match.group(1)] = found.get(match.group(1), 0) + float(match.group(2))
        return found


class OAuthInstances:
    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        self.checks = Checks()
        self.instances: list[Instance] = []
        self.cluster: Cluster | None = None
        self.fixture: OAuthFixture | None = None
        self.run_texts: dict[str, str] = {}
        self.numbers: dict[str, object] = {}
        self.session = ""
        self.bearer = ""
        self.cid = ""
        self.hook = ""

    def check(self, name: str, ok: object, detail: object = "") -> bool:
        self.checks.check(name, bool(ok), detail)
        return bool(ok)

    # ---- helpers ------------------------------------------------------------------------------

    def psql(self, statement: str, database: str = "posthorn") -> list[list[str]]:
        assert self.cluster is not None
        done = self.cluster.run(str(self.cluster.bin / "psql"), "-h", LOOPBACK, "-p", str(self.cluster.port), "-U", "posthorn",
                                "-d", database, "-At", "-F", "\t", "-c", statement)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def owner(self, method: str, path: str, body: object = None) -> Answer:
        """Instance 0, in the owner's session."""
        return self.instances[0].api.request(method, path, session=self.session, body=body)

    def bearer_get(self, instance: Instance, path: str) -> Answer:
        return instance.api.request("GET", path, token=self.bearer, origin=False)

    # ---- a. start -----------------------------------------------------------------------------

    def start(self) -> bool:
        os.chmod(self.work, 0o711)  # the postgres user must reach its directory inside
        pg_root = self.work / "pg"
        pg_root.mkdir()
        self.cluster = Cluster(pg_root)
        self.cluster.init()
        self.cluster.start()
        made = self.cluster.sql("CREATE DATABASE posthorn TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
        if not self.check("a. a throwaway PostgreSQL cluster on 127.0.0.1 with a C-collated database", made.returncode == 0,
                          made.stderr):
            return False
        # PostgreSQL logs a wait for a row lock longer than deadlock_timeout, and when it ends: how
        # often a refresh waited for another instance's (the race this check is about happened).
        for setting in ("ALTER SYSTEM SET log_lock_waits = on", "ALTER SYSTEM SET deadlock_timeout = '20ms'",
                        "SELECT pg_reload_conf()"):
            done = self.cluster.sql(setting)
            if not self.check(f"a. PostgreSQL: {setting}", done.returncode == 0, done.stderr):
                return False
        database = self.cluster.url("posthorn")
        ports = [free_port() for _ in range(INSTANCES)]
        self.fixture = OAuthFixture(redirect_uri=f"http://{LOOPBACK}:{ports[0]}/settings/oauth/callback", access_ttl=ACCESS_TTL,
                                    rotate=True, token_delay=TOKEN_DELAY, smtp_idle_timeout=IDLE_CLOSE,
                                    work_dir=self.work / "fixture")
        self.ready = self.fixture.start()
        # Instance 0 migrates the database and makes the master key; the others use its key file.
        first = Instance(0, self.binary, self.work, database, self.ready["providersFile"], ports[0], None)
        self.instances.append(first)
        if not self.check("a. instance 0 starts on the database (migrates it, makes the master key)",
                          first.wait_ready() and (first.data_dir / "master.key").is_file(), first.tail()):
            return False
        self.database, self.ports = database, ports
        return True

    def start_others(self) -> bool:
        """After the owner exists: until then every start prints a new setup link, and the earlier
        ones stop working."""
        key_file = self.instances[0].data_dir / "master.key"
        for n in range(1, INSTANCES):
            self.instances.append(Instance(n, self.binary, self.work, self.database, self.ready["providersFile"], self.ports[n],
                                           key_file))
        ready = [instance.wait_ready() for instance in self.instances[1:]]
        return self.check(f"a. instances 1–{INSTANCES - 1} start on the same database with instance 0's master key file",
                          all(ready), [instance.tail() for instance in self.instances[1:]])

    # ---- b. owner, credential, flow -------------------------------------------------------------

    def set_up_owner(self) -> bool:
        zero = self.instances[0]
        link = zero.banner(r"Set up the first account \(one-time link\): (\S+)")
        token = urllib.parse.unquote(urllib.parse.urlsplit(link.group(1)).fragment) if link else ""
        made = zero.api.request("POST", "/api/v1/setup", body={"token": token, **OWNER})
        self.session = zero.api.session_of(made) or ""
        created = self.owner("POST", "/api/v1/tokens", {"name": "oauth instances"})
        self.bearer = created.json.get("token", "")
        if not self.check("b. the owner is set up through instance 0 (a session and an API token)",
                          made.status == 201 and self.session and created.status == 201 and self.bearer.startswith("ph_"),
                          (made.brief(200), created.brief(200))):
            return False
        return True

    def connect(self) -> bool:
        zero = self.instances[0]
        started = self.owner("POST", "/api/v1/credentials/oauth/start", {"provider": "google", "name": "Shared Gmail"})
        url = started.json.get("authorizeURL", "")
        query: dict[str, str] = {}
        if started.status == 200 and url:
            page = requests.get(url, timeout=30, allow_redirects=False)
            request_id = re.search(r'name="request" value="([^"]+)"', page.text)
            if request_id:
                decided = requests.post(urllib.parse.urljoin(url, "/authorize/decision"), timeout=30, allow_redirects=False,
                                        data={"request": request_id.group(1), "email": ACCOUNT, "decision": "allow"})
                location = decided.headers.get("Location", "")
                query = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).items()}
                # The browser loads the callback page, whose script posts the code and state.
                split = urllib.parse.urlsplit(location)
                zero.api.request("GET", f"{split.path}?{split.query}", session=self.session, origin=False)
        completed = self.owner("POST", "/api/v1/credentials/oauth/complete",
                               {"state": query.get("state", ""), "code": query.get("code", "")})
        self.cid = completed.json.get("id", "")
        oauth = completed.json.get("oauth") or {}
        if not self.check("b. the credential is connected in the owner's session on instance 0 (start → consent → complete: "
                          "201, oauth2, Google, the account)",
                          completed.status == 201 and completed.json.get("auth") == "oauth2" and oauth.get("provider") == "google"
                          and oauth.get("needsReconnect") is False and completed.json.get("username") == ACCOUNT,
                          (started.brief(300), completed.brief(500))):
            return False

        flow = self.owner("POST", "/api/v1/flows", {
            "name": "oauth on three instances", "trigger": {"type": "webhook"},
            "retry": {"maxAttempts": 3, "initialDelayMs": 200, "maxDelayMs": 1000},
            "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                "credential": self.cid, "from": ACCOUNT, "to": "{{trigger.body.to}}",
                "subject": "Message {{trigger.body.n}}", "body": "Hello {{trigger.body.to}}"}}]})
        self.hook = flow.json.get("trigger", {}).get("webhookId", "")
        self.flow_id = flow.json.get("id", "")
        return self.check("b. a webhook → smtp.send flow with the credential", flow.status == 201 and self.hook, flow.brief())

    # ---- c. load ------------------------------------------------------------------------------

    def step_race(self) -> None:
        """The race for certain: instances 1 and 2 hold no access token yet, and a connection test on
        each at once makes both refresh together; one must wait for the other's row lock and then
        use the refresh token the other stored."""
        assert self.fixture is not None
        before = self.fixture.stats()
        waits_before = len(self.credential_lock_waits())
        others = self.instances[1:]
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(others)) as pool:
            answers = list(pool.map(lambda i: i.api.request("POST", f"/api/v1/credentials/{self.cid}/test", token=self.bearer,
                                                              origin=False), others))
        after = self.fixture.stats()
        delta = {k: after[k] - before[k] for k in ("refreshes", "refreshFailures", "staleRefreshes", "overlappingRefreshes")}
        time.sleep(0.3)  # PostgreSQL writes its log line
        waits = self.credential_lock_waits()[waits_before:]
        self.check(f"c. connection tests on instances 1–{INSTANCES - 1} at once (neither holds a token): all ok, "
                   f"{len(others)} refreshes one after the other ({len(waits)} waited for the row lock: {waits} ms), none stale",
                   all(a.status == 200 and a.json.get("ok") is True for a in answers)
                   and delta == {"refreshes": len(others), "refreshFailures": 0, "staleRefreshes": 0, "overlappingRefreshes": 0}
                   and len(waits) >= 1, ([a.brief(300) for a in answers], delta, waits))

    def load(self) -> dict[str, tuple[int, int]]:
        """CALLS webhook calls in bursts, round-robin over the instances. Returns run id → (call
        number, the instance it was sent to)."""
        bursts = max(1, int(LOAD_SECONDS / BURST_EVERY))
        sizes = [CALLS // bursts + (1 if i < CALLS % bursts else 0) for i in range(bursts)]
        accepted: dict[str, tuple[int, int]] = {}
        refused: list[str] = []
        began = time.monotonic()
        n = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(sizes) * 2) as pool:
            pending = []
            for index, size in enumerate(sizes):
                delay = began + index * BURST_EVERY - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                for _ in range(size):
                    n += 1
                    instance = self.instances[(n - 1) % INSTANCES]
                    pending.append((n, instance.n, pool.submit(
                        instance.api.request, "POST", f"/hooks/{self.hook}",
                        body={"to": f"load{n}@example.test", "n": n}, origin=False, timeout=30)))
            for number, instance_n, future in pending:
                try:
                    answer = future.result()
                except requests.RequestException as error:
                    refused.append(f"#{number} on {instance_n}: {error!r}")
                    continue
                run_id = answer.json.get("runId", "")
                if answer.status == 202 and run_id:
                    accepted[run_id] = (number, instance_n)
                else:
                    refused.append(f"#{number} on {instance_n}: {answer.brief(200)}")
        took = time.monotonic() - began
        self.numbers["load seconds"] = round(took, 1)
        self.check(f"c. {CALLS} webhook calls, round-robin over {INSTANCES} instances in {bursts} concurrent bursts over "
                   f"{took:.1f} s (~{took / ACCESS_TTL:.1f} access-token lifetimes): all answered 202",
                   len(accepted) == CALLS and not refused, refused[:5])
        return accepted

    def wait_runs(self, run_ids: list[str], timeout: float = 180) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            statuses = {row[0]: row[1] for row in self.psql(f"SELECT id, status FROM runs WHERE flow_id = '{self.flow_id}'")}
            if all(statuses.get(run_id) in FINAL for run_id in run_ids):
                break
            time.sleep(0.5)
        return statuses

    def fetch_runs(self, run_ids: list[str]) -> dict[str, dict]:
        """Every run through the API, round-robin over the instances (their history for the canaries)."""
        def get(item: tuple[int, str]) -> tuple[str, Answer]:
            index, run_id = item
            return run_id, self.bearer_get(self.instances[index % INSTANCES], f"/api/v1/runs/{run_id}")
        runs: dict[str, dict] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            for run_id, answer in pool.map(get, enumerate(run_ids)):
                runs[run_id] = answer.json
                self.run_texts[run_id] = answer.text
        return runs

    # ---- d. what the load must have left ------------------------------------------------------

    def step_load(self) -> None:
        assert self.fixture is not None
        before = self.fixture.stats()
        metrics_before = [instance.refreshes() for instance in self.instances]
        waits_before = len(self.credential_lock_waits())
        accepted = self.load()
        statuses = self.wait_runs(list(accepted))
        counted: dict[str, int] = {}
        for run_id in accepted:
            counted[statuses.get(run_id, "missing")] = counted.get(statuses.get(run_id, "missing"), 0) + 1
        self.numbers["runs"] = counted
        runs = self.fetch_runs(list(accepted))
        not_ok = [(run_id, runs[run_id].get("status"), runs[run_id].get("error")) for run_id in accepted
                  if runs[run_id].get("status") != "succeeded"]
        self.check(f"d. every run is final and succeeded ({counted})", counted == {"succeeded": len(accepted)} and not not_ok,
                   not_ok[:5])
        attempts = [next((s.get("attempts") for s in run.get("steps", []) if s.get("id") == "send"), None) for run in runs.values()]
        retried = sum(1 for a in attempts if a != 1)
        self.numbers["send steps attempted more than once"] = retried
        time.sleep(0.5)
        after = self.fixture.stats()
        delta = {k: after[k] - before[k] for k in after}
        self.numbers["fixture during the load"] = {k: v for k, v in delta.items() if v}
        succeeded = sum(1 for run_id in accepted if runs[run_id].get("status") == "succeeded")
        mail = [m for m in self.fixture.messages() if any(r.startswith("load") for r in m["rcptTos"])]
        recipients = sorted(r for m in mail for r in m["rcptTos"])
        expected = sorted(f"load{accepted[r][0]}@example.test" for r in accepted if runs[r].get("status") == "succeeded")
        self.check(f"d. the fixture received exactly one message per succeeded run ({len(mail)} = {succeeded}), each "
                   f"authenticated as {ACCOUNT}",
                   len(mail) == succeeded == delta["messages"] and recipients == expected
                   and {m["authUser"] for m in mail} == {ACCOUNT},
                   (len(mail), succeeded, delta["messages"], {m["authUser"] for m in mail}))
        self.check("d. the provider saw no stale refresh token (staleRefreshes 0) and refused no refresh (refreshFailures 0)",
                   after["staleRefreshes"] == 0 and after["refreshFailures"] == 0,
                   {k: after[k] for k in ("staleRefreshes", "refreshFailures", "refreshes")})
        self.check("d. no two refresh requests were at the provider at once (the row lock held across the token request)",
                   after["overlappingRefreshes"] == 0, after["overlappingRefreshes"])
        metrics_after = [instance.refreshes() for instance in self.instances]
        per_instance = [int(metrics_after[i].get("ok", 0) - metrics_before[i].get("ok", 0)) for i in range(INSTANCES)]
        other = [{k: v - metrics_before[i].get(k, 0) for k, v in metrics_after[i].items() if k != "ok" and v - metrics_before[i].get(k, 0)}
                 for i in range(INSTANCES)]
        self.numbers["refreshes"] = delta["refreshes"]
        self.numbers["refreshes per instance"] = per_instance
        self.check(f"d. {delta['refreshes']} refreshes at the provider (≥ {INSTANCES}); every instance refreshed (metrics ok: "
                   f"{per_instance}, summing to the provider's count), none refused or failed",
                   delta["refreshes"] >= INSTANCES and all(p >= 1 for p in per_instance) and sum(per_instance) == delta["refreshes"]
                   and not any(other), (delta, per_instance, other, metrics_after))
        log = [entry for entry in self.fixture.refreshes()]
        gaps = sorted(later["began"] - earlier["ended"] for earlier, later in zip(log, log[1:]) if earlier["ended"])
        self.numbers["refresh outcomes"] = sorted({entry["outcome"] for entry in log})
        if gaps:
            self.numbers["closest refreshes (began − previous ended, ms)"] = [round(g * 1000) for g in gaps[:3]]
        waits = self.credential_lock_waits()[waits_before:]
        self.numbers["refresh lock waits during the load (ms, PostgreSQL log)"] = waits
        others = self.credential_lock_waits(refreshes=False)
        self.numbers["other statements' waits for the credential row (ms)"] = others
        # The refresh holds FOR NO KEY UPDATE: a connection test's record or a bounce intake, whose
        # foreign key only needs KEY SHARE, is written while another instance asks the provider.
        self.check("d. no other statement waited for the credential row during refreshes (FOR NO KEY UPDATE)", not others, others)
        flags = []
        for instance in self.instances:
            answer = self.bearer_get(instance, f"/api/v1/credentials/{self.cid}")
            flags.append((answer.status, (answer.json.get("oauth") or {}).get("needsReconnect")))
        self.check("d. the credential's oauth.needsReconnect is false through every instance",
                   flags == [(200, False)] * INSTANCES, flags)
        stored = self.psql(f"SELECT count(*) FROM runs WHERE flow_id = '{self.flow_id}'")
        self.check("d. the database holds exactly one run per call", stored == [[str(len(accepted))]], stored)

    def credential_lock_waits(self, refreshes: bool = True) -> list[float]:
        """From PostgreSQL's log, each wait for a lock on a row of `credentials` that ended, in ms:
        those of the refresh's `SELECT … FOR NO KEY UPDATE` (refreshes=True), or of any other
        statement (under a plain FOR UPDATE, an insert whose foreign key names the credential waited
        for the refresh's lock too; FOR NO KEY UPDATE leaves those free)."""
        assert self.cluster is not None
        path = self.cluster.root / "server.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        waits = []
        for index, line in enumerate(lines):
            match = re.search(r"process \d+ acquired \w+ on \w+ .* after ([0-9.]+) ms", line)
            if not match:
                continue
            block = lines[index + 1:index + 4]
            if not any('relation "credentials"' in item for item in block):
                continue
            statement = next((item for item in block if "STATEMENT:" in item), "")
            is_refresh = "FROM credentials" in statement and re.search(r"FOR (NO KEY )?UPDATE", statement) is not None
            if is_refresh == refreshes:
                waits.append(round(float(match.group(1))))
        return waits

    # ---- e. the fixture's detection can fail ---------------------------------------------------

    def token_request(self, refresh_token: str) -> requests.Response:
        return requests.post(self.ready["providerURL"] + "/token", timeout=30, data={
            "grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": self.ready["clientId"], "client_secret": self.ready["clientSecret"]})

    def step_selftest(self) -> None:
        """After the instances stopped: nobody else uses the fixture now."""
        assert self.fixture is not None
        refresh_tokens = [item["value"] for item in self.fixture.issued() if item["kind"] == "refresh"]
        if not self.check("e. the fixture issued more than one refresh token (they rotated)", len(refresh_tokens) > 1,
                          len(refresh_tokens)):
            return

        def outcome(call) -> tuple[list[int], dict]:
            """The statuses of the answers `call` got, and what they changed in the stats."""
            before = self.fixture.stats()
            answers = call()
            after = self.fixture.stats()
            statuses = sorted(a.status_code for a in answers)
            return statuses, {k: after[k] - before[k] for k in ("refreshes", "refreshFailures", "staleRefreshes",
                                                                 "overlappingRefreshes") if after[k] != before[k]}

        statuses, delta = outcome(lambda: [self.token_request(refresh_tokens[0])])
        self.check("e. self-test: the first refresh token, rotated away long ago, presented again: 400 invalid_grant, "
                   "counted as stale", statuses == [400] and delta == {"refreshFailures": 1, "staleRefreshes": 1}, (statuses, delta))
        statuses, delta = outcome(lambda: [self.token_request("1//CANARY-REFRESH-never-issued-" + "x" * 20)])
        self.check("e. self-test: an unknown refresh token: refused, not counted as stale",
                   statuses == [400] and delta == {"refreshFailures": 1}, (statuses, delta))
        current = refresh_tokens[-1]
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            statuses, delta = outcome(lambda: list(pool.map(self.token_request, [current, current])))
        self.check("e. self-test: two clients racing with the current refresh token (instances without the lock): one 200, "
                   "one 400, counted as one overlap and one stale refresh",
                   statuses == [200, 400] and delta == {"refreshes": 1, "refreshFailures": 1, "staleRefreshes": 1,
                                                        "overlappingRefreshes": 1}, (statuses, delta))
        newest = [item["value"] for item in self.fixture.issued() if item["kind"] == "refresh"][-1]
        self.fixture.revoke()
        statuses, delta = outcome(lambda: [self.token_request(newest)])
        self.check("e. self-test: a revoked (never rotated) refresh token: refused, not counted as stale",
                   statuses == [400] and delta == {"refreshFailures": 1}, (statuses, delta))

    # ---- f. canaries --------------------------------------------------------------------------

    def step_canaries(self) -> None:
        assert self.fixture is not None and self.cluster is not None
        issued = self.fixture.issued()
        secrets_by_name = {f"{item['kind']} #{n}": item["value"] for n, item in enumerate(issued)}
        secrets_by_name["client secret"] = self.ready["clientSecret"]
        haystacks: dict[str, bytes] = {}
        for instance in self.instances:
            haystacks[f"instance {instance.n} stdout"] = instance.stdout_path.read_bytes()
            haystacks[f"instance {instance.n} trace log"] = instance.stderr_path.read_bytes()
        bodies = [text for instance in self.instances for _, text in instance.api.bodies]
        haystacks["API answers"] = "\n".join(bodies).encode()
        haystacks["run histories"] = "\n".join(self.run_texts.values()).encode()
        dump = self.cluster.run(str(self.cluster.bin / "pg_dump"), "-h", LOOPBACK, "-p", str(self.cluster.port), "-U", "posthorn",
                                "posthorn")
        haystacks["pg_dump"] = dump.stdout.encode()
        server_log = self.cluster.root / "server.log"
        haystacks["PostgreSQL server log"] = server_log.read_bytes() if server_log.exists() else b""
        sample = issued[0]["value"] if issued else self.ready["clientSecret"]
        planted = leaks({"planted": sample}, {"a planted copy": b"x" + sample.encode() + b"y"})
        self.check("f. the canary search finds a planted copy (self-test)", planted, planted)
        xoauth = sum(blob.count(b"AUTH XOAUTH2") for name, blob in haystacks.items() if "trace" in name)
        found = leaks(secrets_by_name, haystacks)
        trace_kib = sum(len(blob) for name, blob in haystacks.items() if "trace" in name) // 1024
        self.check(f"f. none of {len(secrets_by_name)} tokens, codes and the client secret is in the instances' output "
                   f"({trace_kib} KiB of trace, {xoauth} AUTH XOAUTH2 lines), {len(bodies)} API answers, "
                   f"{len(self.run_texts)} run histories, a pg_dump ({len(dump.stdout) // 1024} KiB) or the PostgreSQL log",
                   not found and dump.returncode == 0 and xoauth > 0, (sorted({f.split(' in ', 1)[1] for f in found}), found[:6],
                                                                    dump.stderr[-300:]))

    # ---- the whole --------------------------------------------------------------------------------

    def run(self) -> int:
        began = time.monotonic()
        started = loaded = False
        try:
            try:
                started = self.start()
                if started and self.set_up_owner() and self.start_others() and self.connect():
                    self.step_race()
                    self.step_load()
                    loaded = True
            except Exception as error:  # noqa: BLE001  (a crash of this script is a failure too)
                import traceback
                traceback.print_exc()
                self.check("the check ran to its end", False, repr(error))
            finally:
                codes = [instance.stop() for instance in self.instances]
                if self.instances:
                    self.check("every instance stops on SIGTERM with status 0", codes == [0] * len(codes),
                               (codes, [i.tail() for i, c in zip(self.instances, codes) if c != 0]))
            if started:
                try:
                    if loaded:
                        self.step_selftest()
                    self.step_canaries()
                except Exception as error:  # noqa: BLE001
                    import traceback
                    traceback.print_exc()
                    self.check("the self-test and canary search ran to their end", False, repr(error))
        finally:
            for instance in self.instances:  # already stopped; a crash above must not leave one
                if instance.process.poll() is None:
                    instance.process.kill()
                    instance.process.wait()
            if self.fixture is not None:
                self.fixture.stop()
            if self.cluster is not None:
                self.cluster.stop()
        self.numbers["runtime seconds"] = round(time.monotonic() - began, 1)
        for name, value in self.numbers.items():
            print(f"     {name}: {value}")
        print(f"{self.checks.passed} passed, {self.checks.failed} failed")
        return 1 if self.checks.failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description="OAuth credentials on three instances sharing one PostgreSQL database")
    parser.add_argument("binary")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the working directory (each instance's stdout and trace log, the fixture, PostgreSQL's log)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="posthorn-oauth-instances-"))

    def timed_out(*_):
        raise TimeoutError("the check ran longer than 15 minutes")
    signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(900)
    try:
        status = OAuthInstances(args.binary, work).run()
    finally:
        signal.alarm(0)
        if args.keep_logs:
            shutil.rmtree(work / "pg" / "data", ignore_errors=True)  # the cluster's files; its server.log stays
            print(f"logs kept in {work} (instanceN.stdout, instanceN.stderr, fixture/, pg/server.log)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
