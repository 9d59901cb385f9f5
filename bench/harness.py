#!/usr/bin/env python3
"""Posthorn connection-pool and speed benchmark: the harness behind `bench/run`.

Run it through `bench/run` (which installs the peers and builds posthorn). Environment:

    POSTHORN_BIN   the posthorn executable (required here; bench/run sets it)
    BENCH_ROUNDS   rounds per measurement (default 3); the table shows medians over rounds
    BENCH_QUICK=1  smoke test: 1 round, a quarter of the message counts
    BENCH_STOCK_SECONDS  time cap of one stock-nodemailer run (default 10, quick 3): with Nagle on
                   it manages ~23 msgs/s, so 2000 messages would take ~90 s a run
    BENCH_OUT      directory for latest.md / latest.json (default /tmp/posthorn-bench)
    BENCH_ONLY     comma-separated sections to measure (default: all): throughput, attachment,
                   cold, webhook-smtp; e.g. BENCH_ONLY=webhook-smtp for the flow row alone

Every server it starts listens on 127.0.0.1 only, and every client is pointed at 127.0.0.1 (or
`localhost` where that resolves to 127.0.0.1 first): nothing leaves the machine.

What it measures (contenders alternate inside each round, the order rotating from round to round):
  * throughput against Postfix's smtp-sink (PIPELINING on): 1 KiB x 2000 and 64 KiB x 500, over 1
    and over 4 connections: smtp-source, `posthorn bench smtp`, nodemailer pooled (stock and with
    TCP_NODELAY), Python smtplib (one connection per worker thread);
  * one message with a 10 MiB random attachment: wall time and peak RSS, next to each program's
    idle RSS;
  * a cold send (process start, connect, EHLO, STARTTLS, AUTH, one message) against aiosmtpd with
    a CA and certificate made at run time with openssl;
  * end to end through `posthorn serve`: a webhook flow with one smtp.send step delivering to the
    same smtp-sink, under `wrk -t1 -c32 -d10s` (quick: -d3s) after a warm-up
    (bench/flows/webhook_smtp.py): succeeded runs per second, webhook acknowledgement p50/p99, and
    a check that the sink's message count equals the succeeded runs in the database (any
    mismatch or failed run makes the harness exit 1).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
sys.path.insert(0, str(HERE / "flows"))
import webhook_smtp  # noqa: E402  (the webhook → smtp.send row; shares webhook_load.py's set-up)
PYTHON = sys.executable  # the real interpreter, not a pyenv shim (shim start-up would skew cold runs)
NODE_ENV = {**os.environ, "NODE_PATH": os.environ.get("NODE_PATH", "/usr/share/nodejs")}
FROM, TO = "from@example.com", "to@example.com"
LOOPBACK = "127.0.0.1"
RUN_TIMEOUT = 300
# ASCII: smtplib.login() encodes AUTH PLAIN credentials as ASCII and raises on anything else.
COLD_USER, COLD_PASSWORD = "u", "bench-secret-0"

warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.CRITICAL)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ROUNDS = 1 if QUICK else max(1, env_int("BENCH_ROUNDS", 3))
SCALE = 4 if QUICK else 1
STOCK_SECONDS = env_int("BENCH_STOCK_SECONDS", 3 if QUICK else 10)
# The webhook → smtp.send row: wrk -t1 -c32 -d10s after a 2 s warm-up (quick: -d3s after 1 s).
WEBHOOK_CONNECTIONS = 32
WEBHOOK_SECONDS = 3 if QUICK else 10
WEBHOOK_WARMUP = 1 if QUICK else 2
WEBHOOK_SECTION = (f"webhook → smtp.send → smtp-sink, wrk -t1 -c{WEBHOOK_CONNECTIONS} -d{WEBHOOK_SECONDS}s")
SECTIONS = ("throughput", "attachment", "cold", "webhook-smtp")
OUT_DIR = Path(os.environ.get("BENCH_OUT", "/tmp/posthorn-bench"))


def tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if os.access(f"/usr/sbin/{name}", os.X_OK) else None)
    if not found:
        raise SystemExit(f"{name} not found (Debian package postfix); run bench/run, which installs it")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Running one contender
# --------------------------------------------------------------------------------------------


@dataclass
class Proc:
    code: int | None  # None: timed out
    stdout: str
    stderr: str
    wall: float  # seconds, process start to exit
    rss_kib: int | None  # peak RSS (GNU time %M)

    def json(self) -> dict | None:
        for line in reversed(self.stdout.strip().splitlines()):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
        return None

    def why(self) -> str:
        if self.code is None:
            return f"timed out after {RUN_TIMEOUT} s"
        tail = (self.stderr.strip().splitlines() or self.stdout.strip().splitlines() or [""])[-1]
        return f"exit {self.code}: {tail[:160]}"


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT) -> Proc:
    """Runs argv under GNU time (for the peak RSS); wall time includes process start."""
    with tempfile.NamedTemporaryFile(prefix="bench-time-", delete=False) as handle:
        time_file = handle.name
    try:
        full = ["/usr/bin/time", "-f", "%M", "-o", time_file, *argv]
        t0 = time.perf_counter()
        try:
            done = subprocess.run(full, capture_output=True, env=env, timeout=timeout)
            wall = time.perf_counter() - t0
            code, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as expired:
            wall = time.perf_counter() - t0
            code, out, err = None, expired.stdout or b"", expired.stderr or b""
        rss = None
        try:
            text = Path(time_file).read_text()
            numbers = re.findall(r"^(\d+)\s*$", text, re.M)
            rss = int(numbers[-1]) if numbers else None
        except OSError:
            pass
        return Proc(code, out.decode(errors="replace"), err.decode(errors="replace"), wall, rss)
    finally:
        try:
            os.unlink(time_file)
        except OSError:
            pass


@dataclass
class Sample:
    """One run of one contender on one workload."""

    ok: bool
    rate: float | None = None  # messages per second
    seconds: float | None = None  # the time the row reports (throughput: elapsed; others: wall)
    p50: float | None = None
    p99: float | None = None
    rss_kib: int | None = None
    messages: int | None = None
    note: str = ""
    error: str = ""
    raw: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


class Sink:
    """Postfix's smtp-sink on 127.0.0.1:PORT; `-c` keeps a running message counter in its log."""

    def __init__(self, work: Path):
        self.log_path = work / "smtp-sink.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0
        binary = tool("smtp-sink")
        for _ in range(5):
            self.port = free_port()
            # -c: counters (mesg=N) after each "." and each session; 1000: listen backlog.
            # -m (default 256 simultaneous connections) is far above the sessions used here (4 at
            # most: the clients' own, and posthorn serve's pool keeps 4 per credential).
            argv = [binary, *(["-u", "nobody"] if os.geteuid() == 0 else []), "-c",
                    f"{LOOPBACK}:{self.port}", "1000"]
            self.log_file = open(self.log_path, "wb")
            self.proc = subprocess.Popen(argv, stdout=self.log_file, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            if self._wait_ready():
                self.argv = argv
                return
            self.stop()
        raise SystemExit(f"smtp-sink did not start: {self.log_path.read_text(errors='replace')[-500:]}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1) as probe:
                    probe.settimeout(2)
                    if probe.recv(100).startswith(b"220"):
                        probe.sendall(b"QUIT\r\n")
                        return True
            except OSError:
                time.sleep(0.05)
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def count(self) -> int:
        """Messages received so far (the last mesg=N the sink wrote)."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - 400))
                tail = handle.read().decode(errors="replace")
        except OSError:
            return -1
        found = re.findall(r"mesg=(\d+)", tail)
        return int(found[-1]) if found else 0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        try:
            self.log_file.close()
        except Exception:  # noqa: BLE001
            pass


def openssl(args: list[str], cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.decode(errors='replace')}")


def make_pki(directory: Path) -> dict[str, Path]:
    """A throw-away CA and a leaf it signs for localhost, 127.0.0.1 and ::1 (EC P-256)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl(["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Posthorn bench test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"], directory)
    openssl(["req", "-new", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"], directory)
    (directory / "leaf.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                                        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                        "extendedKeyUsage=serverAuth\n")
    openssl(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "leaf.pem", "-days", "2", "-sha256", "-extfile", "leaf.ext"], directory)
    return {"ca": directory / "ca.pem", "cert": directory / "leaf.pem", "key": directory / "leaf.key"}


class TLSFixture:
    """aiosmtpd on 127.0.0.1 with STARTTLS required and AUTH required (after TLS)."""

    def __init__(self, work: Path):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        work.mkdir(parents=True, exist_ok=True)
        self.pki = make_pki(work)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.pki["cert"], self.pki["key"])
        self.delivered = 0
        self.lock = threading.Lock()
        fixture = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
                with fixture.lock:
                    fixture.delivered += 1
                return "250 2.0.0 Ok: queued"

        def authenticator(server, session, envelope, mechanism, auth_data):
            # handled=False: with aiosmtpd's default (True) a failed login gets no reply at all.
            if not isinstance(auth_data, LoginPassword):
                return AuthResult(success=False, handled=False)
            ok = auth_data.login == COLD_USER.encode() and auth_data.password == COLD_PASSWORD.encode()
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        self.port = free_port()
        self.controller = Controller(Handler(), hostname=LOOPBACK, port=self.port, tls_context=context,
                                     require_starttls=True, authenticator=authenticator, auth_required=True,
                                     auth_require_tls=True, server_hostname="mx.bench.test", ready_timeout=10)
        self.controller.start()

    def count(self) -> int:
        with self.lock:
            return self.delivered

    def stop(self) -> None:
        try:
            self.controller.stop()
        except Exception as error:  # noqa: BLE001
            log(f"warning: stopping aiosmtpd: {error}")


# --------------------------------------------------------------------------------------------
# Contenders
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    size: int
    messages: int
    connections: int


def posthorn_bench_available(posthorn: str) -> tuple[bool, str]:
    """`posthorn bench smtp --help` must succeed AND describe --messages/--connections:
    swift-argument-parser answers an unknown subcommand followed by --help with the root help
    and exit 0, so the exit status alone proves nothing."""
    try:
        done = subprocess.run([posthorn, "bench", "smtp", "--help"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    text = (done.stdout + done.stderr).decode(errors="replace")
    if done.returncode == 0 and "--messages" in text and "--connections" in text:
        return True, ""
    return False, f"exit {done.returncode}, help lacks --messages/--connections"


def check_stats(p: Proc, expected: int | None, sink_delta: int, allow_partial: bool = False) -> Sample:
    """A sample from a peer that prints {"messages", "errors", "elapsedSeconds", "latencyMs"}."""
    data = p.json()
    if data is None:
        return Sample(ok=False, error=f"no JSON ({p.why()})", rss_kib=p.rss_kib)
    try:
        messages = int(data["messages"])
        errors = int(data["errors"])
        elapsed = float(data["elapsedSeconds"])
        latency = data.get("latencyMs") or {}
        p50 = latency.get("p50")
        p99 = latency.get("p99")
    except (KeyError, TypeError, ValueError) as error:
        return Sample(ok=False, error=f"bad JSON ({error}): {p.stdout[:160]}", rss_kib=p.rss_kib, raw=data)
    problems = []
    if p.code != 0:
        problems.append(p.why())
    if errors:
        problems.append(f"{errors} errors ({data.get('firstError', '')[:100]})")
    if expected is not None and not allow_partial and messages != expected:
        problems.append(f"{messages} of {expected} messages")
    if sink_delta != messages:
        problems.append(f"server counted {sink_delta}, client says {messages}")
    if elapsed <= 0:
        problems.append("elapsedSeconds <= 0")
    note = "capped" if data.get("capped") else ""
    return Sample(ok=not problems, rate=messages / elapsed if elapsed > 0 else None, seconds=elapsed,
                  p50=p50, p99=p99, rss_kib=p.rss_kib, messages=messages, note=note,
                  error="; ".join(problems), raw={**data, "wallSeconds": p.wall})


class Bench:
    def __init__(self, posthorn: str, work: Path):
        self.posthorn = posthorn
        self.work = work
        self.smtp_source = tool("smtp-source")
        self.sink = Sink(work)
        self.bench_ok, self.bench_why = posthorn_bench_available(posthorn)
        self.tls: TLSFixture | None = None

    # ---- throughput ------------------------------------------------------------------------

    def throughput_contenders(self) -> list[tuple[str, callable]]:
        return [
            ("smtp-source", self.t_smtp_source),
            ("Posthorn", self.t_posthorn),
            ("nodemailer pooled, stock (Nagle on)", lambda w: self.t_nodemailer(w, nodelay=False)),
            ("nodemailer pooled, TCP_NODELAY", lambda w: self.t_nodemailer(w, nodelay=True)),
            ("Python smtplib", self.t_smtplib),
        ]

    def _sink_run(self, argv: list[str], env: dict | None = None) -> tuple[Proc, int]:
        if not self.sink.alive():
            raise RuntimeError("smtp-sink died: " + self.sink.log_path.read_text(errors="replace")[-300:])
        before = self.sink.count()
        p = run(argv, env)
        time.sleep(0.05)  # counters are written as "." arrives; let a final QUIT settle
        return p, self.sink.count() - before

    def t_smtp_source(self, w: Workload) -> Sample:
        # -d: keep the session open for the next message (without it smtp-source opens a new
        # connection per message); -m is the total over all -s sessions.
        argv = [self.smtp_source, "-d", "-s", str(w.connections), "-m", str(w.messages), "-l", str(w.size),
                "-f", FROM, "-t", TO, "-M", "bench.example.com", f"{LOOPBACK}:{self.sink.port}"]
        p, delta = self._sink_run(argv)
        problems = []
        if p.code != 0:
            problems.append(p.why())
        if delta != w.messages:
            problems.append(f"server counted {delta} of {w.messages}")
        return Sample(ok=not problems, rate=w.messages / p.wall, seconds=p.wall, rss_kib=p.rss_kib,
                      messages=delta, error="; ".join(problems), raw={"wallSeconds": p.wall})

    def t_posthorn(self, w: Workload) -> Sample:
        if not self.bench_ok:
            return Sample(ok=True, note="n/a (posthorn bench smtp missing)")
        argv = [self.posthorn, "bench", "smtp", "--host", LOOPBACK, "--port", str(self.sink.port),
                "--security", "plaintext", "--allow-private-egress", LOOPBACK, "--messages", str(w.messages),
                "--connections", str(w.connections), "--size", str(w.size), "--json"]
        p, delta = self._sink_run(argv)
        return check_stats(p, w.messages, delta)

    def t_nodemailer(self, w: Workload, nodelay: bool) -> Sample:
        argv = ["node", str(PEERS / "nodemailer_send.js"), "pool", "--host", LOOPBACK, "--port",
                str(self.sink.port), "--messages", str(w.messages), "--connections", str(w.connections),
                "--size", str(w.size)]
        argv += ["--nodelay"] if nodelay else ["--max-seconds", str(STOCK_SECONDS)]
        p, delta = self._sink_run(argv, NODE_ENV)
        return check_stats(p, w.messages, delta, allow_partial=not nodelay)

    def t_smtplib(self, w: Workload) -> Sample:
        argv = [PYTHON, str(PEERS / "smtplib_send.py"), "pool", "--host", LOOPBACK, "--port", str(self.sink.port),
                "--messages", str(w.messages), "--connections", str(w.connections), "--size", str(w.size)]
        p, delta = self._sink_run(argv)
        return check_stats(p, w.messages, delta)

    # ---- webhook → smtp.send through posthorn serve -----------------------------------------

    def webhook_smtp(self) -> Sample:
        """One webhook_smtp.measure against this sink, as a Sample (rate: succeeded runs/s in the
        wrk window; p50/p99: webhook acknowledgement; rss: posthorn serve's peak)."""
        if not self.sink.alive():
            raise RuntimeError("smtp-sink died: " + self.sink.log_path.read_text(errors="replace")[-300:])
        try:
            r = webhook_smtp.measure(self.posthorn, self.sink, WEBHOOK_SECONDS, WEBHOOK_CONNECTIONS, WEBHOOK_WARMUP)
        except SystemExit as stop:  # webhook_load.start_server gives up with SystemExit
            return Sample(ok=False, error=f"posthorn serve: {stop}")
        return Sample(ok=r["ok"], rate=r["rate"], seconds=r["window_seconds"], p50=r["p50"], p99=r["p99"],
                      rss_kib=r["rss_kib"], messages=r["sink_messages"], error="; ".join(r["problems"]), raw=r)

    # ---- 10 MiB attachment -----------------------------------------------------------------

    def prepare_big(self) -> None:
        self.big = self.work / "attachment-10MiB.bin"
        with open(self.big, "wb") as handle:
            handle.write(os.urandom(10 * 1024 * 1024))
        dry = subprocess.run([self.posthorn, *self.big_message(), "--dry-run"], capture_output=True, timeout=120)
        if dry.returncode == 0 and len(dry.stdout) > 13_000_000:
            self.big_encoded = len(dry.stdout)
            self.big_encoded_from = "bytes of `posthorn send --dry-run` for the same message"
        else:
            # base64 with 76-character lines + CRLF, plus a little for the headers
            self.big_encoded = (10 * 1024 * 1024 + 56) // 57 * 78 + 600
            self.big_encoded_from = "base64 arithmetic (posthorn --dry-run failed)"
        self.idle = {
            "Posthorn": run([self.posthorn, "send", "--dry-run", "--from", "a@example.com", "--to", "b@example.com",
                             "--subject", "idle", "--body", "x"]).rss_kib,
            "smtp-source": None,  # measured below with a 1-byte message (it cannot start without sending)
            "nodemailer": run(["node", str(PEERS / "nodemailer_send.js"), "idle"], NODE_ENV).rss_kib,
            "Python smtplib": run([PYTHON, str(PEERS / "smtplib_send.py"), "idle"]).rss_kib,
        }
        p, _ = self._sink_run([self.smtp_source, "-s", "1", "-m", "1", "-l", "1", "-f", FROM, "-t", TO,
                               "-M", "bench.example.com", f"{LOOPBACK}:{self.sink.port}"])
        self.idle["smtp-source"] = p.rss_kib

    def big_message(self) -> list[str]:
        return ["send", "--from", "a@example.com", "--to", "b@example.com", "--subject", "big", "--body", "x",
                "--attach", str(self.big)]

    def big_contenders(self) -> list[tuple[str, callable]]:
        return [("smtp-source", self.b_smtp_source), ("Posthorn", self.b_posthorn),
                ("Posthorn, DKIM-signed (RSA 2048)", self.b_posthorn_dkim),
                ("nodemailer", self.b_nodemailer), ("Python smtplib", self.b_smtplib)]

    def _one(self, p: Proc, delta: int, json_ok) -> Sample:
        problems = []
        if p.code != 0:
            problems.append(p.why())
        data = p.json()
        if json_ok is not None and (data is None or not json_ok(data)):
            problems.append(f"unexpected output: {p.stdout[:160]!r}")
        if delta != 1:
            problems.append(f"server counted {delta} messages, expected 1")
        return Sample(ok=not problems, seconds=p.wall, rss_kib=p.rss_kib, messages=delta,
                      error="; ".join(problems), raw={"wallSeconds": p.wall, "json": data})

    def b_posthorn(self) -> Sample:
        argv = [self.posthorn, *self.big_message(), "--host", LOOPBACK, "--port", str(self.sink.port),
                "--security", "plaintext", "--allow-private-egress", LOOPBACK, "--json"]
        p, delta = self._sink_run(argv)
        return self._one(p, delta, lambda d: d.get("accepted") == ["b@example.com"])

    def b_posthorn_dkim(self) -> Sample:
        # The same send, signed: the body hash is a first pass over the deterministic renderer, so
        # memory stays flat and the time is what #18 bounds (≤ 1.3× the unsigned send).
        key = self.work / "dkim-rsa.pem"
        if not key.exists():
            openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)], self.work)
        argv = [self.posthorn, *self.big_message(), "--host", LOOPBACK, "--port", str(self.sink.port),
                "--security", "plaintext", "--allow-private-egress", LOOPBACK, "--json",
                "--dkim-key-file", str(key), "--dkim-selector", "bench", "--dkim-domain", "example.com"]
        p, delta = self._sink_run(argv)
        return self._one(p, delta, lambda d: d.get("accepted") == ["b@example.com"])

    def b_smtp_source(self) -> Sample:
        argv = [self.smtp_source, "-s", "1", "-m", "1", "-l", str(self.big_encoded), "-f", FROM, "-t", TO,
                "-M", "bench.example.com", f"{LOOPBACK}:{self.sink.port}"]
        p, delta = self._sink_run(argv)
        return self._one(p, delta, None)

    def b_nodemailer(self) -> Sample:
        argv = ["node", str(PEERS / "nodemailer_send.js"), "one", "--host", LOOPBACK, "--port", str(self.sink.port),
                "--attach", str(self.big)]
        p, delta = self._sink_run(argv, NODE_ENV)
        return self._one(p, delta, lambda d: d.get("ok") is True)

    def b_smtplib(self) -> Sample:
        argv = [PYTHON, str(PEERS / "smtplib_send.py"), "one", "--host", LOOPBACK, "--port", str(self.sink.port),
                "--attach", str(self.big)]
        p, delta = self._sink_run(argv)
        return self._one(p, delta, lambda d: d.get("ok") is True)

    # ---- cold send over STARTTLS + AUTH ----------------------------------------------------

    def prepare_cold(self) -> None:
        self.tls = TLSFixture(self.work / "pki")
        # posthorn is told `localhost` (name checked against the certificate's DNS SAN) when that
        # resolves to 127.0.0.1 first here, else the IP literal (IP SAN). nodemailer and smtplib
        # connect to the IP literal and check the name `localhost`: nodemailer resolves host names
        # with a DNS query to the configured name server, which is not on this machine.
        try:
            first = socket.getaddrinfo("localhost", None, socket.AF_UNSPEC, socket.SOCK_STREAM)[0][4][0]
        except OSError:
            first = ""
        self.cold_host = "localhost" if first == LOOPBACK else LOOPBACK
        self.cold_env = {**os.environ, "BENCH_SMTP_PASSWORD": COLD_PASSWORD}
        self.cold_env.pop("POSTHORN_ALLOW_PRIVATE_EGRESS", None)

    def cold_contenders(self) -> list[tuple[str, callable]]:
        return [("Python smtplib", self.c_smtplib), ("Posthorn", self.c_posthorn), ("nodemailer", self.c_nodemailer)]

    def _cold_run(self, argv: list[str], env: dict) -> tuple[Proc, int]:
        before = self.tls.count()
        p = run(argv, env, timeout=60)
        return p, self.tls.count() - before

    def c_posthorn(self) -> Sample:
        argv = [self.posthorn, "send", "--from", "a@example.com", "--to", "b@example.com", "--subject", "cold",
                "--body", "x", "--host", self.cold_host, "--port", str(self.tls.port), "--security", "starttls",
                "--ca-file", str(self.tls.pki["ca"]), "--username", COLD_USER, "--password-env",
                "BENCH_SMTP_PASSWORD", "--allow-private-egress", "127.0.0.1,::1", "--ehlo-name",
                "bench.example.com", "--json"]
        p, delta = self._cold_run(argv, self.cold_env)
        return self._one(p, delta, lambda d: d.get("accepted") == ["b@example.com"] and bool(d.get("tlsVersion")))

    def c_nodemailer(self) -> Sample:
        argv = ["node", str(PEERS / "nodemailer_send.js"), "one", "--host", LOOPBACK, "--port", str(self.tls.port),
                "--starttls", "--ca", str(self.tls.pki["ca"]), "--servername", "localhost", "--user", COLD_USER,
                "--password-env", "BENCH_SMTP_PASSWORD"]
        p, delta = self._cold_run(argv, {**self.cold_env, **{"NODE_PATH": NODE_ENV["NODE_PATH"]}})
        return self._one(p, delta, lambda d: d.get("ok") is True)

    def c_smtplib(self) -> Sample:
        argv = [PYTHON, str(PEERS / "smtplib_send.py"), "one", "--host", LOOPBACK, "--port", str(self.tls.port),
                "--starttls", "--ca", str(self.tls.pki["ca"]), "--server-hostname", "localhost", "--user", COLD_USER,
                "--password-env", "BENCH_SMTP_PASSWORD"]
        p, delta = self._cold_run(argv, self.cold_env)
        return self._one(p, delta, lambda d: d.get("ok") is True)

    def stop(self) -> None:
        self.sink.stop()
        if self.tls:
            self.tls.stop()


# --------------------------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------------------------


def median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_rate(rate: float | None) -> str:
    if rate is None:
        return "–"
    return f"{rate:,.0f} msgs/s" if rate >= 10 else f"{rate:.1f} msgs/s"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def fmt_rss(kib: int | None) -> str:
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}×" if value >= 0.1 else f"{value:.2g}×"


def cell(text: str) -> str:
    """Error text made safe for a markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")[:160]


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def summarize(samples: list[Sample]) -> dict:
    good = [s for s in samples if s.ok and not s.note.startswith("n/a")]
    bad = [s for s in samples if not s.ok]
    na = [s for s in samples if s.note.startswith("n/a")]
    notes = sorted({s.note for s in good if s.note and s.note != "capped"})
    capped = [s.messages for s in good if s.note == "capped"]
    if capped:
        notes.append(f"{len(capped)}/{len(good)} runs capped at {STOCK_SECONDS} s, "
                     f"median {statistics.median(capped):.0f} msgs sent")
    return {
        "na": na[0].note if na and not good and not bad else None,
        "errors": [s.error for s in bad],
        "runs": len(good),
        "rate": median([s.rate for s in good]),
        "seconds": median([s.seconds for s in good]),
        "p50": median([s.p50 for s in good]),
        "p99": median([s.p99 for s in good]),
        "rss": max([s.rss_kib for s in good if s.rss_kib is not None], default=None),
        "notes": notes,
    }


def webhook_row(samples: list[Sample], raw: dict) -> tuple[str, list[str]]:
    """The webhook → smtp.send table row (medians over rounds) and the errors of its failed rounds;
    the ratio cell is emails/s ÷ the target, with both targets marked met or not."""
    raw["results"][f"{WEBHOOK_SECTION} | posthorn serve"] = [vars(x) for x in samples]
    s = summarize(samples)
    errors = s["errors"] if s["runs"] else (s["errors"] or ["no run"])
    if not s["runs"]:
        return f"| {WEBHOOK_SECTION} | posthorn serve | error: {cell(errors[0])} | | | |", errors
    good = [x for x in samples if x.ok]
    sink_rate = median([x.raw.get("sink_rate") for x in good])
    accepted = median([x.raw.get("accepted_rate") for x in good])
    rate = (f"{s['rate']:,.0f} emails/s (at the sink {sink_rate:,.0f}/s; webhooks acknowledged {accepted:,.0f}/s)"
            + (f" [{len(errors)} failed run(s)]" if errors else ""))
    rate_ok = s["rate"] >= webhook_smtp.TARGET_RATE
    p99_ok = s["p99"] <= webhook_smtp.TARGET_P99_MS
    status = (f"{fmt_ratio(s['rate'] / webhook_smtp.TARGET_RATE)} of {webhook_smtp.TARGET_RATE:,}/s; "
              f"≥ {webhook_smtp.TARGET_RATE:,}/s {'met' if rate_ok else 'NOT met'}, "
              f"ack p99 ≤ {webhook_smtp.TARGET_P99_MS:g} ms {'met' if p99_ok else 'NOT met'}")
    return (f"| {WEBHOOK_SECTION} | posthorn serve | {rate} | ack {s['p50']:.2f} / {s['p99']:.2f} | "
            f"{fmt_rss(s['rss'])} | {status} |"), errors


def main() -> int:
    posthorn = os.environ.get("POSTHORN_BIN", "")
    if not posthorn or not os.access(posthorn, os.X_OK):
        print(f"POSTHORN_BIN is not an executable: {posthorn!r} (run bench/run)", file=sys.stderr)
        return 2
    posthorn = os.path.abspath(posthorn)
    if not os.access("/usr/bin/time", os.X_OK):
        print("/usr/bin/time (Debian package time) is missing; run bench/run", file=sys.stderr)
        return 2
    only = {part.strip() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()}
    if only - set(SECTIONS):
        print(f"BENCH_ONLY: unknown section(s) {sorted(only - set(SECTIONS))}; known: {', '.join(SECTIONS)}",
              file=sys.stderr)
        return 2
    sections = [section for section in SECTIONS if not only or section in only]

    workloads = [
        Workload("1k-1", f"1 KiB × {2000 // SCALE}, 1 conn", 1024, 2000 // SCALE, 1),
        Workload("1k-4", f"1 KiB × {2000 // SCALE}, 4 conns", 1024, 2000 // SCALE, 4),
        Workload("64k-1", f"64 KiB × {500 // SCALE}, 1 conn", 65536, 500 // SCALE, 1),
        Workload("64k-4", f"64 KiB × {500 // SCALE}, 4 conns", 65536, 500 // SCALE, 4),
    ]
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    machine = (f"machine: nproc={len(os.sched_getaffinity(0))}, CPU {cpu}, kernel {platform.release()}; "
               f"posthorn {posthorn}{' (DEBUG build)' if '/debug/' in posthorn else ''}; "
               f"rounds={ROUNDS}{' (BENCH_QUICK: 1/4 counts)' if QUICK else ''}"
               f"{'; sections: ' + ', '.join(sections) if only else ''}")

    samples: dict[tuple[str, str], list[Sample]] = {}
    failed = False
    work = Path(tempfile.mkdtemp(prefix="posthorn-bench-"))
    bench: Bench | None = None

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    try:
        bench = Bench(posthorn, work)
        log(f"smtp-sink on {LOOPBACK}:{bench.sink.port}; posthorn bench smtp: "
            f"{'present' if bench.bench_ok else 'missing (' + bench.bench_why + ')'}")
        if "attachment" in sections:
            bench.prepare_big()
            log(f"10 MiB attachment encodes to {bench.big_encoded:,} bytes")
        if "cold" in sections:
            bench.prepare_cold()
            log(f"aiosmtpd STARTTLS+AUTH on {LOOPBACK}:{bench.tls.port}")
        t_start = time.monotonic()
        for r in range(ROUNDS):
            log(f"round {r + 1}/{ROUNDS}")
            for w in workloads if "throughput" in sections else []:
                contenders = bench.throughput_contenders()
                shift = r % len(contenders)
                for name, fn in contenders[shift:] + contenders[:shift]:
                    try:
                        s = fn(w)
                    except Exception as error:  # noqa: BLE001 - one broken contender must not end the run
                        s = Sample(ok=False, error=f"{type(error).__name__}: {error}")
                    samples.setdefault((w.label, name), []).append(s)
                    log(f"{w.label:<22} {name:<38} "
                        + (s.note if s.note.startswith("n/a") else
                           f"{fmt_rate(s.rate)}" + ("" if s.ok else f"  ERROR {s.error}")))
            for key, section, contenders in (("attachment", "10 MiB attachment, 1 msg", bench.big_contenders()),
                                             ("cold", "cold send: STARTTLS+AUTH, 1 msg", bench.cold_contenders())):
                if key not in sections:
                    continue
                shift = r % len(contenders)
                for name, fn in contenders[shift:] + contenders[:shift]:
                    try:
                        s = fn()
                    except Exception as error:  # noqa: BLE001
                        s = Sample(ok=False, error=f"{type(error).__name__}: {error}")
                    samples.setdefault((section, name), []).append(s)
                    log(f"{section:<32} {name:<16} {fmt_seconds(s.seconds)}"
                        + ("" if s.ok else f"  ERROR {s.error}"))
            if "webhook-smtp" in sections:
                try:
                    s = bench.webhook_smtp()
                except Exception as error:  # noqa: BLE001
                    s = Sample(ok=False, error=f"{type(error).__name__}: {error}")
                samples.setdefault((WEBHOOK_SECTION, "posthorn serve"), []).append(s)
                log(f"{WEBHOOK_SECTION}: {fmt_rate(s.rate).replace('msgs', 'emails')}, ack p50/p99 "
                    + ("–" if s.p50 is None else f"{s.p50:.2f} / {s.p99:.2f} ms")
                    + (f", sink {s.raw['sink_rate']:,.0f}/s, 202s {s.raw['accepted_rate']:,.0f}/s" if s.raw else "")
                    + ("" if s.ok else f"  ERROR {s.error}"))
        log(f"measured in {time.monotonic() - t_start:.0f} s")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        failed = True
    except Exception:  # noqa: BLE001 - still stop the servers and print what was measured
        import traceback

        traceback.print_exc()
        failed = True
    finally:
        if bench:
            bench.stop()

    # ---- the table ---------------------------------------------------------------------------
    rows = ["| workload | contender | msgs/s (or time) | p50 / p99 ms | peak RSS | ratio |",
            "|---|---|---|---|---|---|"]
    raw: dict = {"machine": machine, "rounds": ROUNDS, "quick": QUICK, "results": {}}
    for w in workloads if "throughput" in sections else []:
        ref = summarize(samples.get((w.label, "smtp-source"), []))
        for name, _ in bench.throughput_contenders() if bench else []:
            ss = samples.get((w.label, name), [])
            s = summarize(ss)
            raw["results"][f"{w.label} | {name}"] = [vars(x) for x in ss]
            if s["na"]:
                rows.append(f"| {w.label} | {name} | {s['na']} | | | |")
                continue
            if s["errors"]:
                failed = True
            if not s["runs"]:
                rows.append(f"| {w.label} | {name} | error: {cell(s['errors'][0]) if s['errors'] else 'no run'} | | | |")
                continue
            rate = fmt_rate(s["rate"]) + (f" ({'; '.join(s['notes'])})" if s["notes"] else "")
            if s["errors"]:
                rate += f" [{len(s['errors'])} failed run(s)]"
            lat = "–" if s["p50"] is None else f"{fmt_ms(s['p50'])} / {fmt_ms(s['p99'])}"
            ratio = s["rate"] / ref["rate"] if ref["rate"] and s["rate"] else None
            rows.append(f"| {w.label} | {name} | {rate} | {lat} | {fmt_rss(s['rss'])} | {fmt_ratio(ratio)} |")
    if bench:
        for key, section, contenders, ref_name in (
                ("attachment", "10 MiB attachment, 1 msg", bench.big_contenders(), "smtp-source"),
                ("cold", "cold send: STARTTLS+AUTH, 1 msg", bench.cold_contenders(), "Python smtplib")):
            if key not in sections:
                continue
            ref = summarize(samples.get((section, ref_name), []))
            for name, _ in contenders:
                ss = samples.get((section, name), [])
                s = summarize(ss)
                raw["results"][f"{section} | {name}"] = [vars(x) for x in ss]
                if s["errors"]:
                    failed = True
                if not s["runs"]:
                    rows.append(f"| {section} | {name} | error: {cell(s['errors'][0]) if s['errors'] else 'no run'} | | | |")
                    continue
                rss = fmt_rss(s["rss"])
                if section.startswith("10 MiB"):
                    idle = getattr(bench, "idle", {}).get(name)
                    rss += f" (idle {fmt_rss(idle)})"
                ratio = ref["seconds"] / s["seconds"] if ref["seconds"] and s["seconds"] else None
                time_cell = fmt_seconds(s["seconds"]) + (f" [{len(s['errors'])} failed run(s)]" if s["errors"] else "")
                rows.append(f"| {section} | {name} | {time_cell} | – | {rss} | {fmt_ratio(ratio)} |")
    webhook_errors: list[str] = []
    if "webhook-smtp" in sections:
        row, webhook_errors = webhook_row(samples.get((WEBHOOK_SECTION, "posthorn serve"), []), raw)
        rows.append(row)
        failed = failed or bool(webhook_errors)

    dkim_note = []
    plain = summarize(samples.get(("10 MiB attachment, 1 msg", "Posthorn"), []))
    signed = summarize(samples.get(("10 MiB attachment, 1 msg", "Posthorn, DKIM-signed (RSA 2048)"), []))
    if plain["seconds"] and signed["seconds"]:
        extra = (signed["rss"] - plain["rss"]) / 1024 if signed["rss"] and plain["rss"] else None
        dkim_note = [f"- DKIM, 10 MiB: signed ÷ unsigned Posthorn time {signed['seconds'] / plain['seconds']:.2f}× (target ≤ 1.3×); "
                     f"peak RSS {'%+.1f MiB' % extra if extra is not None else 'n/a'} (target ≤ 25 MiB). The body hash is a first "
                     "pass over the deterministic renderer; the message is rendered again as it is sent."]
    webhook_notes = [
        f"- {WEBHOOK_SECTION}: `posthorn serve` (SQLite, fresh data directory, --allow-private-egress "
        "127.0.0.1) with a webhook flow of one smtp.send step (plaintext credential for the smtp-sink above; "
        "To, Subject and Body templated from the webhook body {\"name\":\"Ada\",\"n\":42}); wrk posts that "
        f"body over {WEBHOOK_CONNECTIONS} keep-alive connections after a {WEBHOOK_WARMUP} s warm-up, then the "
        "queue is drained. emails/s: runs that succeeded inside the wrk window ÷ the window (\"at the sink\": "
        "smtp-sink's count over the same window); ack p50 / p99: the webhook's 202, from wrk --latency; peak "
        "RSS: posthorn serve (VmHWM). Checked every round (a failure exits 1): messages counted by smtp-sink "
        "= succeeded runs in the database, no run in any other state, every acknowledged webhook stored, no "
        "non-2xx or socket error. Targets: ≥ 2,000 emails/s and ack p99 ≤ 20 ms.",
        *(f"- {WEBHOOK_SECTION}, failed round: {' '.join(error.split())}" for error in webhook_errors),
    ]
    smtp_notes = [
        *dkim_note,
        "- Throughput rows: medians over rounds; peak RSS is the highest over rounds (GNU time %M).",
        "  msgs/s is messages ÷ the contender's own elapsed time (first connect to last reply), except",
        "  smtp-source, which reports nothing: its rate is messages ÷ wall clock, process start included",
        "  (a C program; it starts in ~1 ms). Every server-side message count is checked against smtp-sink's.",
        "- ratio, throughput rows: contender msgs/s ÷ smtp-source msgs/s on the same workload (higher is faster).",
        "- p50 / p99: per-message latency, start of the transaction (MAIL FROM / sendMail call) to the reply",
        "  to the final dot; smtp-source does not measure it.",
        f"- nodemailer stock keeps Nagle on (~23 msgs/s on loopback); its runs stop issuing messages after "
        f"{STOCK_SECONDS} s and the rate is over what was sent. The TCP_NODELAY variant sets setNoDelay(true) "
        "on the pool's sockets through nodemailer's getSocket option.",
        "- smtplib: K worker threads, one SMTP connection each, sendmail() of one prebuilt message.",
        "- Bodies are SIZE bytes of 78-character lines + CRLF (as smtp-source -l builds them), plus headers.",
        "- 10 MiB attachment and cold send: median wall time of single-process runs, process start included",
        "  for every contender. 10 MiB ratio: smtp-source time ÷ contender time; smtp-source sends a body of "
        f"{getattr(bench, 'big_encoded', 0):,} bytes "
        f"({getattr(bench, 'big_encoded_from', '')}). idle RSS: posthorn send --dry-run of a tiny message; node "
        "loading nodemailer; python importing smtplib/email/ssl; smtp-source sending a 1-byte message.",
        "- cold send: process start, connect, EHLO, STARTTLS, EHLO, AUTH, one message against aiosmtpd on "
        "127.0.0.1 (certificate from a CA made at run time). ratio: smtplib time ÷ contender time (higher is faster).",
    ]
    notes = ["", "Notes:", *(smtp_notes if set(sections) - {"webhook-smtp"} else []),
             *(webhook_notes if "webhook-smtp" in sections else [])]
    table = "\n".join([machine, "", *rows, *notes])
    print(table, flush=True)
    try:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        (OUT_DIR / "latest.md").write_text(table + "\n")
        (OUT_DIR / "latest.json").write_text(json.dumps(raw, indent=2, default=str) + "\n")
        print(f"\n(written to {OUT_DIR / 'latest.md'} and latest.json)", file=sys.stderr)
    except OSError as error:
        print(f"could not write results: {error}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
