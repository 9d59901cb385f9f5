#!/usr/bin/env python3
"""Python smtplib contender for bench/harness.py. Prints one JSON object on stdout.

    smtplib_send.py idle
        imports smtplib and email and exits (baseline RSS).
    smtplib_send.py pool --host 127.0.0.1 --port P --messages N --connections K --size BYTES
        K worker threads, each with its own SMTP connection, sendmail() of one prebuilt message
        whose body is BYTES bytes (78 characters + CRLF per line, like smtp-source -l) until N
        messages are sent in all.
        -> {"messages", "errors", "elapsedSeconds", "messagesPerSecond", "latencyMs": {"p50", "p99"}}
    smtplib_send.py one --host 127.0.0.1 --port P [--attach FILE]
                        [--starttls --ca FILE --server-hostname NAME --user U --password-env VAR]
        one message on one fresh connection (EHLO, STARTTLS, EHLO, AUTH, MAIL...). -> {"ok", "elapsedSeconds"}

Only loopback hosts are accepted.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import smtplib
import socket
import sys
import threading
import time

if len(sys.argv) > 1 and sys.argv[1] == "idle":
    import email.message  # noqa: F401  (what `one --attach` loads)
    import ssl  # noqa: F401

    print(json.dumps({"ok": True}))
    sys.exit(0)

import ssl  # noqa: E402
from email.message import EmailMessage  # noqa: E402


def loopback_only(host: str) -> str:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise SystemExit(f"cannot resolve {host}: {error}")
    for info in infos:
        if not ipaddress.ip_address(info[4][0]).is_loopback:
            raise SystemExit(f"refusing {host}: resolves to {info[4][0]}, not loopback")
    return host


def make_message(size: int) -> bytes:
    head = (b"From: from@example.com\r\nTo: to@example.com\r\nSubject: bench\r\n"
            b"Message-ID: <bench@example.com>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    lines, left, n = [], size, 0
    while left > 0:
        if left >= 80:
            lines.append(str(n % 10).encode() + b"X" * 77 + b"\r\n")
            n += 1
            left -= 80
        else:
            lines.append(b"X" * left)
            left = 0
    return head + b"".join(lines)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))
    return ordered[int(index)]


def pool(args: argparse.Namespace) -> int:
    message = make_message(args.size)
    remaining = [args.messages]
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    first_error: list[str] = []

    def take() -> bool:
        with lock:
            if remaining[0] <= 0:
                return False
            remaining[0] -= 1
            return True

    def worker() -> None:
        try:
            client = smtplib.SMTP(args.host, args.port, local_hostname="bench.example.com", timeout=60)
        except OSError as error:
            with lock:
                first_error.append(f"connect: {error}")
            # leave the work to the other workers
            return
        mine: list[float] = []
        try:
            while take():
                t = time.perf_counter()
                try:
                    client.sendmail("from@example.com", ["to@example.com"], message)
                    mine.append((time.perf_counter() - t) * 1000)
                except smtplib.SMTPException as error:
                    with lock:
                        errors[0] += 1
                        if not first_error:
                            first_error.append(str(error))
            client.quit()
        finally:
            with lock:
                latencies.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    sent = len(latencies)
    unsent = args.messages - sent - errors[0]
    result = {"messages": sent, "errors": errors[0] + unsent, "elapsedSeconds": elapsed,
              "messagesPerSecond": sent / elapsed if elapsed > 0 else None,
              "latencyMs": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}}
    if first_error:
        result["firstError"] = first_error[0]
    print(json.dumps(result))
    return 0 if result["errors"] == 0 else 1


def one(args: argparse.Namespace) -> int:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["To"] = "b@example.com"
    message["Subject"] = "big" if args.attach else "cold"
    message.set_content("x")
    if args.attach:
        with open(args.attach, "rb") as handle:
            message.add_attachment(handle.read(), maintype="application", subtype="octet-stream",
                                   filename=os.path.basename(args.attach))
    t0 = time.perf_counter()
    try:
        with smtplib.SMTP(args.host, args.port, local_hostname="bench.example.com", timeout=60) as client:
            if args.starttls:
                context = ssl.create_default_context(cafile=args.ca)
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                # smtplib checks the certificate against the host it connected to; connect by
                # the IP and check the name the harness asks for.
                client._host = args.server_hostname or args.host  # noqa: SLF001
                client.starttls(context=context)
                client.login(args.user, os.environ[args.password_env])
            client.send_message(message)
        result = {"ok": True, "elapsedSeconds": time.perf_counter() - t0}
    except (OSError, smtplib.SMTPException) as error:
        result = {"ok": False, "elapsedSeconds": time.perf_counter() - t0, "error": str(error)}
    print(json.dumps(result))
    return 0 if result["ok"] else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("pool")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--connections", type=int, default=1)
    p.add_argument("--size", type=int, required=True)
    o = sub.add_parser("one")
    o.add_argument("--host", default="127.0.0.1")
    o.add_argument("--port", type=int, required=True)
    o.add_argument("--attach")
    o.add_argument("--starttls", action="store_true")
    o.add_argument("--ca")
    o.add_argument("--server-hostname")
    o.add_argument("--user")
    o.add_argument("--password-env")
    args = parser.parse_args()
    loopback_only(args.host)
    return pool(args) if args.mode == "pool" else one(args)


if __name__ == "__main__":
    sys.exit(main())
