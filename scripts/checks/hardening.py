"""Process-level regression test for the security review's findings, against a real `posthorn serve`.

Usage:
    python3 scripts/checks/hardening.py PATH_TO_POSTHORN

Every server runs on a fresh temporary data directory and a free port on 127.0.0.1, with
`POSTHORN_ADMIN_TOKEN` set and the default workspace's token read from the banner of its first
start; `SWIFT_BACKTRACE` is removed from its environment so the server's own crash-report settings
are what runs. All traffic stays on loopback: the SMTP and HTTP peers are small servers in this
script.

Server A (`--header-timeout-seconds 2 --idle-timeout-seconds 3 --allow-private-egress 127.0.0.0/8`):
  - crash reports: /proc/PID/environ holds SWIFT_BACKTRACE=… with registers=none (the re-exec);
  - slow loris: 1,100 connections each sending half a request head and nothing more; /healthz on a
    new connection still answers 200 within 10 s, and the server closes the half-open ones itself;
    a keep-alive connection idle after a full response is open at 1 s and closed by 8 s;
  - hostile framing and bodies are 4xx, never 5xx: a broken chunk size, JSON nested 600, 511 and
    512 deep, an overflowing run-list cursor (422 naming `cursor`), and the server still answers;
  - API tokens: create (shown once), use, list (without the value), revoke, then 401;
  - webhook credential headers never reach the run history (redacted or dropped);
  - cancel: a run cancelled while its first step runs ends `cancelled` after that step, the next
    step never runs, a second cancel is 409; a run waiting for a retry is cancelled at once (200);
  - idle CPU: with an enabled cron flow and 20 finished webhook runs, under 1 % of one core over 10 s.
Server B (`--allow-private-egress 127.0.0.0/8`):
  - a 27-step doubling template chain fails `ETOOLARGE` with peak RSS (VmHWM) under 1 GiB, the
    server keeps answering, and after SIGTERM and a restart the run is still `failed`;
  - after an smtp.send run left a pooled connection to a local SMTP server, SIGTERM exits 0 within
    5 s and the SMTP server received QUIT on that connection.

Server E: `GET /api/v1/events` streams a webhook run live (filtered by flow, without the trigger's
body), and SIGTERM with streams open exits 0 at once, well inside its 20 s grace.

Prints `ok   NAME` or `FAIL NAME: detail` per check (and the servers' log tails after a failure);
exits 1 on any failure.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))
from server_curl import Checks  # noqa: E402

ADMIN = "hardening-admin-token-0123456789abcdef01"
FINISHED = ("succeeded", "failed", "ambiguous", "cancelled")
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


# MARK: - HTTP clients

def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None,
         headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict, str]:
    """One JSON API call: status, parsed body (`{"_raw": …}` if not JSON) and the raw text."""
    request = urllib.request.Request(base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        parsed = json.loads(text) if text else {}
    except json.JSONDecodeError:
        parsed = {"_raw": text}
    return status, parsed if isinstance(parsed, dict) else {"_value": parsed}, text


def read_response(sock: socket.socket, deadline: float) -> tuple[int, bytes]:
    """Reads one HTTP/1.1 response (Content-Length, chunked or until close): status and raw bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return 0, data
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
    if b"content-length" in fields:
        need = int(fields[b"content-length"])
        while len(rest) < need:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    elif fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        while not rest.endswith(b"0\r\n\r\n"):
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    elif status not in (204, 304):
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return status, head + b"\r\n\r\n" + rest


def raw_request(port: int, payload: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """Sends bytes on a new connection and reads one response; status 0 when none came."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        sock.sendall(payload)
        try:
            return read_response(sock, deadline)
        except ConnectionResetError:
            return 0, b"<connection reset>"


def peer_closed(sock: socket.socket, deadline: float) -> bool:
    """Waits until the server closes `sock` (EOF or reset), True if it did by `deadline`."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if sock.recv(4096) == b"":
                return True
        except (socket.timeout, BlockingIOError):
            return False
        except OSError:
            return True
    return False


def still_open(sock: socket.socket) -> bool:
    sock.settimeout(0)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except (BlockingIOError, socket.timeout):
        return True
    except OSError:
        return False


# MARK: - The server under test

class Server:
    """`posthorn serve` on a data directory and a fresh loopback port, started and awaited."""

    def __init__(self, binary: str, data_dir: Path, log_path: Path, flags: list[str], registry: list[Server],
                 environment: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.log_path = log_path
        self.banner: list[str] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_") and k != "SWIFT_BACKTRACE"}
        env["POSTHORN_ADMIN_TOKEN"] = ADMIN
        env.update(environment or {})
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [binary, "serve", "--data-dir", str(data_dir), "--host", LOOPBACK, "--port", str(self.port),
                 "--log-level", "debug", "--metrics-port", "0", *flags],
                stdout=subprocess.PIPE, stderr=log, env=env)
        registry.append(self)
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"posthorn serve exited with {self.process.returncode}: {self.log_tail(10)}")
            try:
                if call(self.base, "GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError(f"posthorn serve did not answer /healthz in 60 s: {self.log_tail(10)}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.banner.append(line.decode(errors="replace"))

    def workspace_token(self) -> str:
        """The default workspace's token from the first start's banner."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in list(self.banner):
                if line.startswith("Workspace") and "API token" in line:
                    return line.rsplit(" ", 1)[1].strip()
            time.sleep(0.05)
        raise RuntimeError(f"no workspace token in the banner: {''.join(self.banner)!r}")

    def stop(self, timeout: float = 30) -> tuple[int | None, float]:
        """SIGTERM; the exit code (None if it had to be killed) and the seconds it took."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def healthy(self) -> bool:
        try:
            return self.process.poll() is None and call(self.base, "GET", "/healthz", timeout=10)[0] == 200
        except OSError:
            return False

    def cpu_seconds(self) -> float:
        """utime + stime of the server process."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("no VmHWM in /proc/PID/status")


def create_flow(server: Server, token: str, flow: dict) -> dict:
    status, made, text = call(server.base, "POST", "/api/v1/flows", token, flow)
    if status != 201:
        raise RuntimeError(f"creating flow {flow['name']!r}: {status} {text}")
    return made


def wait_run(server: Server, token: str, run_id: str, timeout: float,
             done: Callable[[dict], bool] = lambda run: run.get("status") in FINISHED) -> dict:
    deadline = time.monotonic() + timeout
    run: dict = {}
    while time.monotonic() < deadline:
        _, run, _ = call(server.base, "GET", f"/api/v1/runs/{run_id}", token)
        if done(run):
            return run
        time.sleep(0.1)
    return run


def start_manual_run(server: Server, token: str, flow_id: str) -> str:
    status, started, text = call(server.base, "POST", f"/api/v1/flows/{flow_id}/runs", token, {})
    if status != 202 or "runId" not in started:
        raise RuntimeError(f"starting a manual run: {status} {text}")
    return started["runId"]


# MARK: - Local peers

class SMTPFixture:
    """A plain-text SMTP server on loopback (asyncio, in a thread) that records every command line
    per connection: 220 greeting, EHLO with PIPELINING/8BITMIME/SIZE, 250 to MAIL/RCPT/RSET/NOOP,
    DATA read to the final dot, 221 to QUIT."""

    def __init__(self) -> None:
        self.commands: list[tuple[int, str]] = []
        self.messages: list[tuple[int, bytes]] = []
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.connections = 0
        self.port = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the SMTP fixture did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._session, LOOPBACK, 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def _record(self, connection: int, line: str) -> None:
        with self.lock:
            self.commands.append((connection, line))

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        try:
            writer.write(b"220 fixture.test ESMTP\r\n")
            await writer.drain()
            while True:
                line = await reader.readline()
                if not line:
                    self._record(connection, "<EOF>")
                    return
                command = line.rstrip(b"\r\n").decode("utf-8", "replace")
                self._record(connection, command)
                verb = command.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    writer.write(b"250-fixture.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n")
                elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                    writer.write(b"250 OK\r\n")
                elif verb == "DATA":
                    writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    await writer.drain()
                    data = b""
                    while True:
                        part = await reader.readline()
                        if not part:
                            self._record(connection, "<EOF in DATA>")
                            return
                        if part == b".\r\n":
                            break
                        data += part
                    with self.lock:
                        self.messages.append((connection, data))
                    writer.write(b"250 OK queued\r\n")
                elif verb == "QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"502 Command not implemented\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            self._record(connection, "<reset>")
        finally:
            writer.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class SlowHTTP:
    """An HTTP server on loopback that waits `delay` seconds before answering 200."""

    def __init__(self, delay: float) -> None:
        self.hit = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hit.set()
                time.sleep(delay)
                body = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# MARK: - Checks on server A

def check_crash_reports(checks: Checks, server: Server) -> None:
    environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
    settings = [entry.decode(errors="replace") for entry in environ if entry.startswith(b"SWIFT_BACKTRACE=")]
    checks.check("crash reports: the running server has SWIFT_BACKTRACE with registers=none",
                 len(settings) == 1 and "registers=none" in settings[0].split("=", 1)[1].split(","), settings)


def check_slow_loris(checks: Checks, server: Server) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    count = 1_100
    sockets: list[socket.socket] = []
    errors: list[str] = []
    started = time.monotonic()
    try:
        for _ in range(count):
            try:
                sock = socket.create_connection((LOOPBACK, server.port), timeout=5)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                sockets.append(sock)
            except OSError as error:
                errors.append(repr(error))
        opened = time.monotonic()
        checks.check(f"slow loris: {count:,} half-open request heads sent ({len(sockets):,} connected in "
                     f"{opened - started:.1f} s)", len(sockets) == count, f"{len(errors)} failed: {errors[:3]}")

        probe: dict = {}

        def health() -> None:
            began = time.monotonic()
            try:
                probe["status"], probe["raw"] = raw_request(
                    server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=10)
            except OSError as error:
                probe["error"] = repr(error)
            probe["elapsed"] = time.monotonic() - began

        prober = threading.Thread(target=health)
        prober.start()

        selector = selectors.DefaultSelector()
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        closed = 0
        last_close = None
        deadline = opened + 6.0
        while closed < len(sockets) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                try:
                    data = key.fileobj.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data == b"":
                    closed += 1
                    last_close = time.monotonic() - opened
                    selector.unregister(key.fileobj)
        selector.close()
        prober.join(timeout=15)
        checks.check(f"slow loris: /healthz on a new connection answers 200 within 10 s while they hang "
                     f"({probe.get('elapsed', 0):.2f} s)",
                     probe.get("status") == 200 and probe.get("elapsed", 99) < 10,
                     {k: v for k, v in probe.items() if k != "raw"} | {"raw": probe.get("raw", b"")[:120]})
        checks.check(f"slow loris: the server closed {closed:,} of {len(sockets):,} half-open connections itself "
                     f"within 6 s (last at {last_close or 0:.1f} s)",
                     len(sockets) > 0 and closed >= 0.95 * len(sockets), f"{len(sockets) - closed} still open at 6 s")
    finally:
        for sock in sockets:
            sock.close()
    checks.check("slow loris: the server still answers /healthz afterwards", server.healthy(), server.log_tail(5))


def check_idle_keep_alive(checks: Checks, server: Server) -> None:
    with socket.create_connection((LOOPBACK, server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, raw = read_response(sock, time.monotonic() + 10)
        answered = time.monotonic()
        time.sleep(1.0)
        open_at_one = still_open(sock)
        closed = peer_closed(sock, answered + 8.0)
        when = time.monotonic() - answered
    checks.check(f"idle keep-alive (--idle-timeout-seconds 3): open 1 s after a full response, closed by the "
                 f"server by 8 s (at {when:.1f} s)",
                 status == 200 and open_at_one and closed,
                 f"status={status} open_at_1s={open_at_one} closed_by_8s={closed} {raw[:80]!r}")


def check_hostile_input(checks: Checks, server: Server, token: str) -> None:
    flow = create_flow(server, token, {
        "name": "hostile bodies", "trigger": {"type": "webhook"},
        "steps": [{"id": "echo", "type": "debug.echo", "parameters": {"message": "hi"}}]})
    hook = f"/hooks/{flow['trigger']['webhookId']}"

    def post(body: bytes, extra: str = "") -> tuple[int, bytes]:
        return raw_request(server.port, (f"POST {hook} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                         f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n").encode()
                           + body)

    status, raw = post(b'{"name":"Ada"}')
    checks.check("hostile input: control, a normal JSON webhook body is 202", status == 202, raw[:200])

    status, raw = raw_request(server.port, (
        f"POST {hook} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n").encode())
    checks.check("hostile input: a broken chunk size line (zz) is 400, not 500", status == 400, raw[:200])

    for depth in (600, 511, 512):
        status, raw = post(b"[" * depth + b"]" * depth)
        checks.check(f"hostile input: a webhook JSON body nested {depth} deep is 400", status == 400, raw[:200])

    status, body, text = call(server.base, "GET", "/api/v1/runs?cursor=9223372036854775807_x", token)
    checks.check("hostile input: cursor 9223372036854775807_x is 422 naming the cursor",
                 status == 422 and (body.get("error") or {}).get("field") == "cursor", f"{status} {text[:200]}")
    checks.check("hostile input: the server did not crash (/healthz 200 afterwards)", server.healthy(),
                 server.log_tail(5))


def check_tokens(checks: Checks, server: Server, token: str) -> None:
    status, made, text = call(server.base, "POST", "/api/v1/tokens", token, {"name": "ci"})
    value = made.get("token") or ""
    checks.check("API tokens: POST /api/v1/tokens is 201 with a ph_ token", status == 201 and value.startswith("ph_"),
                 f"{status} {text[:200]}")
    status, _, text = call(server.base, "GET", "/api/v1/workspace", value)
    checks.check("API tokens: the new token reads GET /api/v1/workspace", status == 200, f"{status} {text[:200]}")
    status, listed, text = call(server.base, "GET", "/api/v1/tokens", token)
    items = listed.get("items") or listed.get("tokens") or []
    mine = [item for item in items if item.get("id") == made.get("id")]
    checks.check("API tokens: GET /api/v1/tokens lists it without its value",
                 status == 200 and len(mine) == 1 and mine[0].get("name") == "ci" and "token" not in mine[0]
                 and (not value or value not in text), f"{status} {text[:400]}")
    status, _, text = call(server.base, "DELETE", f"/api/v1/tokens/{made.get('id', 'missing')}", token)
    checks.check("API tokens: DELETE /api/v1/tokens/{id} is 204", status == 204, f"{status} {text[:200]}")
    status, _, text = call(server.base, "GET", "/api/v1/workspace", value)
    checks.check("API tokens: the revoked token gets 401", status == 401, f"{status} {text[:200]}")


def check_webhook_headers(checks: Checks, server: Server, token: str) -> None:
    flow = create_flow(server, token, {
        "name": "header redaction", "trigger": {"type": "webhook"},
        "steps": [{"id": "echo", "type": "debug.echo", "parameters": {"message": "{{trigger.headers.x-github-event}}"}}]})
    canaries = {"X-Api-Key": "canary-key-123", "X-Hub-Signature-256": "sha256=abcdef0123456789",
                "Authorization": "Bearer tok_canary"}
    status, accepted, text = call(server.base, "POST", f"/hooks/{flow['trigger']['webhookId']}", None, {"a": 1},
                                  headers={**canaries, "X-Github-Event": "push"})
    if status != 202:
        checks.check("webhook headers: the webhook is accepted", False, f"{status} {text[:200]}")
        return
    run = wait_run(server, token, accepted["runId"], 30)
    _, run, run_text = call(server.base, "GET", f"/api/v1/runs/{accepted['runId']}", token)
    needles = ["canary-key-123", "abcdef0123456789", "tok_canary"]
    found = [needle for needle in needles if needle in run_text]
    checks.check("webhook headers: no credential header value appears anywhere in GET /api/v1/runs/{id}",
                 not found, f"found {found}")
    headers = {name.lower(): value for name, value in ((run.get("trigger") or {}).get("headers") or {}).items()}
    checks.check("webhook headers: x-api-key and x-hub-signature-256 are <redacted>, authorization absent, "
                 "x-github-event kept",
                 headers.get("x-api-key") == "<redacted>" and headers.get("x-hub-signature-256") == "<redacted>"
                 and "authorization" not in headers and headers.get("x-github-event") == "push", headers)


def check_cancel(checks: Checks, server: Server, token: str) -> None:
    slow = SlowHTTP(delay=3.0)
    try:
        flow = create_flow(server, token, {
            "name": "slow then echo", "trigger": {"type": "manual"},
            "steps": [{"id": "slow", "type": "http.request",
                       "parameters": {"url": f"http://{LOOPBACK}:{slow.port}/slow", "timeoutSeconds": 20}},
                      {"id": "after", "type": "debug.echo", "parameters": {"message": "after"}}]})
        run_id = start_manual_run(server, token, flow["id"])
        reached = slow.hit.wait(10)
        status, body, text = call(server.base, "POST", f"/api/v1/runs/{run_id}/cancel", token)
        checks.check("cancel: POST /api/v1/runs/{id}/cancel while the first step runs is 202",
                     reached and status == 202, f"step reached the server: {reached}; {status} {text[:300]}")
        run = wait_run(server, token, run_id, 20)
        steps = [(step.get("id"), step.get("status")) for step in run.get("steps", [])]
        checks.check("cancel: the run ends cancelled with only the first step recorded (succeeded)",
                     run.get("status") == "cancelled" and steps == [("slow", "succeeded")],
                     f"status={run.get('status')} steps={steps} error={run.get('error')}")
        status, _, text = call(server.base, "POST", f"/api/v1/runs/{run_id}/cancel", token)
        checks.check("cancel: cancelling the cancelled run again is 409", status == 409, f"{status} {text[:200]}")
    finally:
        slow.stop()

    closed_port = free_port()
    flow = create_flow(server, token, {
        "name": "retry waits", "trigger": {"type": "manual"},
        "retry": {"maxAttempts": 5, "initialDelayMs": 60000, "maxDelayMs": 60000},
        "steps": [{"id": "refused", "type": "http.request",
                   "parameters": {"url": f"http://{LOOPBACK}:{closed_port}/", "timeoutSeconds": 5}}]})
    run_id = start_manual_run(server, token, flow["id"])
    run = wait_run(server, token, run_id, 15, lambda r: r.get("status") in FINISHED or any(
        step.get("status") == "retrying" for step in r.get("steps", [])))
    waiting = run.get("status") not in FINISHED and any(step.get("status") == "retrying" for step in run.get("steps", []))
    began = time.monotonic()
    status, body, text = call(server.base, "POST", f"/api/v1/runs/{run_id}/cancel", token)
    elapsed = time.monotonic() - began
    checks.check(f"cancel: a run waiting for its retry is cancelled at once: 200 and cancelled ({elapsed:.2f} s)",
                 waiting and status == 200 and body.get("status") == "cancelled",
                 f"waiting for retry: {waiting} (run {run.get('status')}, steps "
                 f"{[(s.get('id'), s.get('status'), s.get('attempts')) for s in run.get('steps', [])]}); "
                 f"cancel → {status} {text[:300]}")
    _, run, _ = call(server.base, "GET", f"/api/v1/runs/{run_id}", token)
    checks.check("cancel: GET shows the retry-waiting run cancelled", run.get("status") == "cancelled",
                 run.get("status"))


def check_idle_cpu(checks: Checks, server: Server, token: str) -> None:
    echo = [{"id": "echo", "type": "debug.echo", "parameters": {"message": "tick {{now}}"}}]
    create_flow(server, token, {"name": "every minute",
                                "trigger": {"type": "cron", "expression": "* * * * *", "timeZone": "UTC"},
                                "steps": echo})
    flow = create_flow(server, token, {"name": "idle load", "trigger": {"type": "webhook"},
                                       "steps": [{"id": "echo", "type": "debug.echo",
                                                  "parameters": {"message": "Hello {{trigger.body.n}}"}}]})
    run_ids = []
    for n in range(20):
        status, accepted, text = call(server.base, "POST", f"/hooks/{flow['trigger']['webhookId']}", None, {"n": n})
        if status != 202:
            raise RuntimeError(f"webhook {n}: {status} {text[:200]}")
        run_ids.append(accepted["runId"])
    statuses = [wait_run(server, token, run_id, 30).get("status") for run_id in run_ids]
    checks.check("idle CPU: 20 webhook runs succeeded", statuses == ["succeeded"] * 20, statuses)
    time.sleep(1.0)
    before = server.cpu_seconds()
    time.sleep(10.0)
    used = server.cpu_seconds() - before
    percent = used / 10.0 * 100
    checks.check(f"idle CPU: {percent:.2f} % of one core over 10 s idle ({used:.2f} s CPU; cron flow enabled)",
                 used < 0.10, f"{used:.2f} s of CPU in 10 s")


# MARK: - Checks on server B

def doubling_flow() -> dict:
    steps = [{"id": "s0", "type": "debug.echo", "parameters": {"message": "x"}}]
    for n in range(1, 27):
        reference = f"{{{{steps.s{n - 1}.output.message}}}}"
        steps.append({"id": f"s{n}", "type": "debug.echo", "parameters": {"message": reference + reference}})
    return {"name": "doubling", "trigger": {"type": "manual"}, "steps": steps}


def check_doubling_and_smtp(checks: Checks, binary: str, work: Path, servers: list[Server]) -> None:
    data = work / "data-b"
    log = work / "server-b.log"
    flags = ["--allow-private-egress", "127.0.0.0/8"]
    server = Server(binary, data, log, flags, servers)
    token = server.workspace_token()
    flow = create_flow(server, token, doubling_flow())
    run_id = start_manual_run(server, token, flow["id"])
    run = wait_run(server, token, run_id, 120)
    error = run.get("error") or {}
    checks.check("doubling chain: the 27-step run fails with ETOOLARGE",
                 run.get("status") == "failed" and error.get("code") == "ETOOLARGE",
                 f"status={run.get('status')} error={error} alive={server.process.poll() is None}")
    peak = server.peak_rss_kib() if server.process.poll() is None else 0
    checks.check(f"doubling chain: peak resident memory (VmHWM) {peak / 1024:.0f} MiB < 1 GiB",
                 0 < peak < 1024 * 1024, f"{peak} KiB (0 = the process is gone)")
    checks.check("doubling chain: /healthz still 200", server.healthy(), server.log_tail(5))
    code, elapsed = server.stop()
    server = Server(binary, data, log, flags, servers)
    checks.check("doubling chain: the server restarts on the same data directory and answers /healthz",
                 server.healthy(), server.log_tail(5))
    time.sleep(1.0)
    _, again, _ = call(server.base, "GET", f"/api/v1/runs/{run_id}", token)
    checks.check("doubling chain: after the restart the run is still failed (not re-run)",
                 again.get("status") == "failed" and again.get("finishedAt") == run.get("finishedAt")
                 and (again.get("error") or {}).get("code") == "ETOOLARGE",
                 f"before: {run.get('status')} {run.get('finishedAt')}; after: {again.get('status')} "
                 f"{again.get('finishedAt')} {again.get('error')}")

    smtp = SMTPFixture()
    try:
        status, credential, text = call(server.base, "POST", "/api/v1/credentials", token, {
            "name": "Local", "host": LOOPBACK, "port": smtp.port, "security": "plaintext"})
        if status != 201:
            raise RuntimeError(f"creating the credential: {status} {text[:300]}")
        flow = create_flow(server, token, {
            "name": "mail", "trigger": {"type": "webhook"},
            "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                "credential": credential["id"], "to": "a@example.com", "from": "b@example.com",
                "subject": "s", "body": "hello"}}]})
        status, accepted, text = call(server.base, "POST", f"/hooks/{flow['trigger']['webhookId']}", None, {})
        if status != 202:
            raise RuntimeError(f"webhook: {status} {text[:300]}")
        run = wait_run(server, token, accepted["runId"], 30)
        deadline = time.monotonic() + 5
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        checks.check("SMTP pool: the smtp.send run succeeded and the local SMTP server got the message",
                     run.get("status") == "succeeded" and len(smtp.messages) == 1,
                     f"status={run.get('status')} error={run.get('error')} messages={len(smtp.messages)}")
        code, elapsed = server.stop(timeout=30)
        connection = smtp.messages[0][0] if smtp.messages else None
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline and (connection, "QUIT") not in smtp.commands:
            time.sleep(0.05)
        checks.check(f"SMTP pool: SIGTERM with a pooled connection exits 0 within 5 s ({elapsed:.2f} s)",
                     code == 0 and elapsed < 5, f"exit {code} after {elapsed:.2f} s")
        with smtp.lock:
            session = [line for conn, line in smtp.commands if conn == connection]
        checks.check("SMTP pool: the SMTP server received QUIT on the pooled connection",
                     connection is not None and "QUIT" in session, session)
    finally:
        smtp.stop()


# MARK: - Main

def check_slow_body_and_stalled_relay(checks: Checks, binary: str, work: Path, servers: list[Server]) -> None:
    """A body trickled byte by byte is cut off after --body-timeout-seconds; a connection that sends
    nothing after --header-timeout-seconds; SIGTERM while a body trickles and while a send waits for
    a relay that never greets still exits within the grace period and the pool's deadline."""
    server = Server(binary, work / "data-d", work / "server-d.log",
                    ["--header-timeout-seconds", "2", "--body-timeout-seconds", "3", "--shutdown-grace-seconds", "1",
                     "--allow-private-egress", "127.0.0.0/8"], servers)
    token = server.workspace_token()
    hook = create_flow(server, token, {"name": "slow", "trigger": {"type": "webhook"},
                                       "steps": [{"id": "a", "type": "debug.echo", "parameters": {}}]})["trigger"]["webhookId"]
    silent = socket.create_connection((LOOPBACK, server.port), timeout=10)
    trickle = socket.create_connection((LOOPBACK, server.port), timeout=10)
    trickle.sendall(f"POST /hooks/{hook} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Content-Length: 1048576\r\n\r\n{{".encode())
    started = time.monotonic()
    closed_at = None
    while time.monotonic() - started < 10:
        try:
            trickle.sendall(b" ")
        except OSError:
            closed_at = time.monotonic() - started
            break
        if not still_open(trickle):
            closed_at = time.monotonic() - started
            break
        time.sleep(0.5)
    checks.check(f"slow body: a body trickled a byte every 0.5 s is cut off by --body-timeout-seconds 3 "
                 f"(at {closed_at if closed_at is None else round(closed_at, 1)} s)",
                 closed_at is not None and 2.5 <= closed_at <= 6, closed_at)
    checks.check("slow body: a connection that sends nothing is closed by --header-timeout-seconds 2",
                 peer_closed(silent, time.monotonic() + 4))
    silent.close()
    trickle.close()

    # A relay that accepts the connection and never says 220: a send is stuck opening a session.
    stalled = socket.socket()
    stalled.bind((LOOPBACK, 0))
    stalled.listen(8)
    stalled_port = stalled.getsockname()[1]
    try:
        status, credential, text = call(server.base, "POST", "/api/v1/credentials", token, {
            "name": "Tarpit", "host": LOOPBACK, "port": stalled_port, "security": "plaintext"})
        flow = create_flow(server, token, {"name": "tarpit", "trigger": {"type": "webhook"},
                                           "steps": [{"id": "send", "type": "smtp.send", "parameters": {
                                               "credential": credential.get("id"), "to": "a@example.com",
                                               "from": "b@example.com", "subject": "s", "body": "b"}}]})
        status, accepted, text = call(server.base, "POST", f"/hooks/{flow['trigger']['webhookId']}", None, {})
        run_id = accepted.get("runId", "")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, run, _ = call(server.base, "GET", f"/api/v1/runs/{run_id}", token)
            if run.get("status") == "running":
                break
            time.sleep(0.1)
        time.sleep(0.5)
        body = socket.create_connection((LOOPBACK, server.port), timeout=10)
        body.sendall(f"POST /hooks/{hook} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 100\r\n\r\n{{".encode())
        code, elapsed = server.stop(timeout=60)
        checks.check(f"SIGTERM with a send stuck on a silent relay and a body trickling exits within 10 s ({elapsed:.1f} s)",
                     code == 0 and elapsed < 10, f"exit {code} after {elapsed:.1f} s")
        body.close()
    finally:
        stalled.close()


def open_event_stream(server: Server, token: str, query: str = "") -> socket.socket:
    """`GET /api/v1/events` on a raw connection, its 200 head read; the caller reads the events."""
    stream = socket.create_connection((LOOPBACK, server.port), timeout=10)
    stream.sendall(f"GET /api/v1/events{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                   f"Accept: text/event-stream\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = stream.recv(4096)
        if not chunk:
            raise RuntimeError(f"the event stream closed before its head: {head!r}")
        head += chunk
    if not head.startswith(b"HTTP/1.1 200") or b"text/event-stream" not in head.lower():
        raise RuntimeError(f"the event stream answered {head[:200]!r}")
    return stream


def read_until(stream: socket.socket, needle: bytes, seconds: float, seen: bytearray) -> bool:
    """Reads into `seen` until it holds `needle` (True), the peer closes, or time runs out."""
    deadline = time.monotonic() + seconds
    while needle not in seen and time.monotonic() < deadline:
        stream.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = stream.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        seen += chunk
    return needle in seen


def check_live_events(checks: Checks, binary: str, work: Path, servers: list[Server]) -> None:
    """`GET /api/v1/events`: a webhook run reaches an open stream live (its flow's stream and the
    workspace's, not another flow's), and SIGTERM with streams open ends them and exits 0 at once
    instead of waiting out the grace period."""
    server = Server(binary, work / "data-e", work / "server-e.log", ["--shutdown-grace-seconds", "20"], servers)
    token = server.workspace_token()
    echo = {"id": "a", "type": "debug.echo", "parameters": {}}
    first = create_flow(server, token, {"name": "first", "trigger": {"type": "webhook"}, "steps": [echo]})
    second = create_flow(server, token, {"name": "second", "trigger": {"type": "webhook"}, "steps": [echo]})
    everything = open_event_stream(server, token)
    only_second = open_event_stream(server, token, f"?flowId={second['id']}")
    seen_all, seen_second = bytearray(), bytearray()
    _, accepted, _ = call(server.base, "POST", f"/hooks/{first['trigger']['webhookId']}", None, {"n": 1})
    run_id = accepted.get("runId", "?").encode()
    checks.check("events: a webhook run reaches the workspace's open stream, queued to succeeded, within 5 s",
                 read_until(everything, b'"status":"succeeded"', 5, seen_all) and run_id in seen_all
                 and b"event: run" in seen_all, bytes(seen_all[-300:]))
    _, accepted, _ = call(server.base, "POST", f"/hooks/{second['trigger']['webhookId']}", None, {"n": 2})
    second_id = accepted.get("runId", "?").encode()
    checks.check("events: a flow's stream gets that flow's run and not another flow's",
                 read_until(only_second, second_id, 5, seen_second) and run_id not in seen_second,
                 bytes(seen_second[-300:]))
    checks.check("events: a stream never carries the trigger's body", b'"n"' not in seen_all + seen_second)
    code, elapsed = server.stop(timeout=40)
    closed = all(peer_closed(stream, time.monotonic() + 2) for stream in (everything, only_second))
    checks.check(f"events: SIGTERM with two streams open exits 0 within 3 s, grace 20 s ({elapsed:.2f} s), and ends them",
                 code == 0 and elapsed < 3 and closed, f"exit {code} after {elapsed:.1f} s, closed {closed}")
    everything.close()
    only_second.close()


def check_json_logs(checks: Checks, binary: str, work: Path, servers: list[Server]) -> None:
    """`--log-format json`: every line is one JSON object; an error's requestId is its X-Request-Id
    header and names the log line of that request."""
    server = Server(binary, work / "data-c", work / "server-c.log", ["--log-format", "json"], servers)
    request = urllib.request.Request(server.base + "/api/v1/workspace", headers={"Authorization": "Bearer wrong"})
    try:
        urllib.request.urlopen(request, timeout=10)
        status, header, body = 200, None, {}
    except urllib.error.HTTPError as error:
        status, header, body = error.code, error.headers.get("X-Request-Id"), json.loads(error.read() or b"{}")
    request_id = body.get("error", {}).get("requestId")
    checks.check("json logs: a refused request's error names its request id, as its X-Request-Id header does",
                 status == 401 and request_id and request_id == header, (status, header, body))
    server.stop()
    lines = [line for line in server.log_path.read_text(errors="replace").splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append(None)
    checks.check("json logs: every stderr line is one JSON object with ts, level and message",
                 lines and all(isinstance(p, dict) and {"ts", "level", "message"} <= p.keys() for p in parsed),
                 [line for line, p in zip(lines, parsed) if not isinstance(p, dict)][:3])
    checks.check("json logs: the request's log line carries its id",
                 any(isinstance(p, dict) and p.get("hb.request.id") == request_id and p.get("http.status") == "401" for p in parsed),
                 [p for p in parsed if isinstance(p, dict) and "hb.request.id" in p][:3])


def guarded(checks: Checks, name: str, body: Callable[[], None]) -> None:
    """Runs a group of checks; an unexpected exception fails the group instead of the whole script."""
    try:
        body()
    except Exception as error:  # noqa: BLE001
        checks.check(name, False, f"{type(error).__name__}: {error}")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    binary = sys.argv[1]
    checks = Checks()
    servers: list[Server] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="posthorn-hardening-") as tmp:
        work = Path(tmp)
        try:
            def server_a() -> None:
                server = Server(binary, work / "data-a", work / "server-a.log",
                                ["--header-timeout-seconds", "2", "--idle-timeout-seconds", "3",
                                 "--allow-private-egress", "127.0.0.0/8"], servers)
                token = server.workspace_token()
                for name, group in [
                    ("crash reports", lambda: check_crash_reports(checks, server)),
                    ("slow loris", lambda: check_slow_loris(checks, server)),
                    ("idle keep-alive", lambda: check_idle_keep_alive(checks, server)),
                    ("hostile input", lambda: check_hostile_input(checks, server, token)),
                    ("API tokens", lambda: check_tokens(checks, server, token)),
                    ("webhook headers", lambda: check_webhook_headers(checks, server, token)),
                    ("cancel", lambda: check_cancel(checks, server, token)),
                    ("idle CPU", lambda: check_idle_cpu(checks, server, token)),
                ]:
                    guarded(checks, name, group)
                server.stop()

            guarded(checks, "server A (--header-timeout-seconds 2 --idle-timeout-seconds 3)", server_a)
            guarded(checks, "doubling chain and SMTP pool shutdown",
                    lambda: check_doubling_and_smtp(checks, binary, work, servers))
            guarded(checks, "json logs and request ids", lambda: check_json_logs(checks, binary, work, servers))
            guarded(checks, "slow bodies and stalled relays",
                    lambda: check_slow_body_and_stalled_relay(checks, binary, work, servers))
            guarded(checks, "live events", lambda: check_live_events(checks, binary, work, servers))
        finally:
            for server in servers:
                server.kill()
        if checks.failed:
            for server in {server.log_path: server for server in servers}.values():
                print(f"--- last lines of {server.log_path.name} ---")
                print(server.log_tail(25))
    print(f"{checks.passed} passed, {checks.failed} failed ({time.monotonic() - started:.0f} s)")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
