#!/usr/bin/env python3
"""DKIM signatures of `posthorn send` checked by an independent verifier, dkimpy (PyPI).

Usage:
    python3 scripts/interop/dkim_dkimpy.py PATH_TO_POSTHORN

Keys are made here with openssl (RSA 2048 and Ed25519); dkimpy gets their TXT records through its
`dnsfunc` hook, so nothing touches DNS. For every message of the corpus (plain text, HTML with an
inline image, attachments up to 10 MiB, non-ASCII subject and display names, a long folded subject
and header, lines starting with dots, trailing blank lines, custom headers) and each key:
  - `posthorn send --dry-run --dkim-key-file … --dkim-selector …` prints a message dkimpy verifies;
  - the same message with one non-whitespace byte of a signed header value, or of the body,
    changed fails to verify; with whitespace changed inside a header and at a line's end it still
    verifies (relaxed canonicalization);
and the messages sent through a real SMTP server (aiosmtpd, in this process, on 127.0.0.1) arrive
verifying. Bad DKIM flags exit 1 naming the flag. Prints `ok NAME` / `FAIL NAME: detail`, then
`N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import base64
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import dkim
    import nacl  # noqa: F401  (dkimpy verifies Ed25519 with PyNaCl)
    from aiosmtpd.controller import Controller
except ImportError as error:
    print(f"FAIL dkimpy, PyNaCl and aiosmtpd are needed (pip install dkimpy pynacl aiosmtpd): {error}")
    sys.exit(1)

SELECTOR = "posthorn1"
DOMAIN = "example.com"
RNG = random.Random(20261207)


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: object = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}")


def make_keys(work: Path) -> dict[str, tuple[Path, bytes]]:
    """Key file and the TXT record dkimpy should find, per algorithm."""
    keys = {}
    rsa = work / "rsa.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(rsa)],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", str(rsa), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    keys["rsa-sha256"] = (rsa, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der))
    ed = work / "ed25519.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(ed)], check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", str(ed), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    keys["ed25519-sha256"] = (ed, b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]))
    return keys


def verifies(message: bytes, record: bytes) -> bool:
    def dnsfunc(name, timeout=5):  # noqa: ARG001
        wanted = f"{SELECTOR}._domainkey.{DOMAIN}."
        return record if (name.decode() if isinstance(name, bytes) else name) == wanted else None
    try:
        return bool(dkim.verify(message, dnsfunc=dnsfunc))
    except Exception:  # noqa: BLE001  (a message dkimpy cannot even parse does not verify)
        return False


def corpus(work: Path) -> list[tuple[str, list[str]]]:
    png = work / "logo.png"
    png.write_bytes(bytes.fromhex("89504e470d0a1a0a") + RNG.randbytes(2000))
    small = work / "report.pdf"
    small.write_bytes(RNG.randbytes(300_000))
    big = work / "archive.bin"
    big.write_bytes(RNG.randbytes(10 * 1024 * 1024))
    base = ["--from", f"Team <team@{DOMAIN}>", "--to", "ada@example.net"]
    return [
        ("plain text", [*base, "--subject", "Hello", "--body", "Hello Ada,\nwelcome.\n"]),
        ("HTML with an inline image", [*base, "--subject", "Logo", "--body-format", "html", "--body", "Hi",
                                       "--html-body", '<p>Hi <img src="cid:logo"></p>', "--inline", f"logo={png}"]),
        ("attachments, one of 10 MiB", [*base, "--subject", "Files", "--body", "Two files.",
                                        "--attach", str(small), "--attach", str(big)]),
        ("non-ASCII subject and display names", ["--from", f"Zoë Ådams <zoe@{DOMAIN}>", "--to", "Jürgen Groß <j@example.net>",
                                                 "--subject", "Grüße aus Köln — ☃ naïve café", "--body", "Schöne Grüße"]),
        ("a long folded subject and header", [*base, "--subject", " ".join(["word"] * 120), "--body", "b",
                                              "--header", "X-Long: " + " ".join(["value"] * 200)]),
        ("lines starting with dots", [*base, "--subject", "Dots", "--body", ".hidden\n..double\n.\nend"]),
        ("trailing blank lines and spaces", [*base, "--subject", "Blank", "--body", "text  \t\nmore\n\n\n\n"]),
        ("custom headers", [*base, "--subject", "Custom", "--body", "b", "--header", "X-Campaign: spring",
                            "--header", "X-Tag: a b  c"]),
    ]


def run(binary: str, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([binary, "send", *args], capture_output=True, timeout=120)


def tampered_header(message: bytes) -> bytes:
    """One letter of the Subject's value changed (Subject is signed)."""
    head, _, body = message.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for index, line in enumerate(lines):
        if line.lower().startswith(b"subject:"):
            value = bytearray(line)
            position = next(i for i in range(len(b"subject:"), len(value)) if chr(value[i]).isalnum())
            value[position] = ord("Z") if value[position] != ord("Z") else ord("Y")
            lines[index] = bytes(value)
            break
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def tampered_body(message: bytes) -> bytes:
    """One non-whitespace byte of the body changed."""
    head, _, body = message.partition(b"\r\n\r\n")
    data = bytearray(body)
    candidates = [i for i in range(len(data)) if chr(data[i]).isalnum()]
    position = next((i for i in candidates if i >= len(data) // 2), candidates[0])
    data[position] = ord("x") if data[position] != ord("x") else ord("y")
    return head + b"\r\n\r\n" + bytes(data)


def respaced(message: bytes) -> bytes:
    """Whitespace changed where relaxed canonicalization forgives it: inside the Subject's value and
    at the end of the body's first line."""
    head, _, body = message.partition(b"\r\n\r\n")
    head = head.replace(b"\r\nSubject: ", b"\r\nSubject:    ", 1)
    body = body.replace(b"\r\n", b" \t \r\n", 1)
    return head + b"\r\n\r\n" + body


class Sink:
    """aiosmtpd handler keeping every message as received (dot-unstuffed)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ARG002
        self.messages.append(envelope.original_content or envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    binary = sys.argv[1]
    checks = Checks()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="posthorn-dkim-") as tmp:
        work = Path(tmp)
        keys = make_keys(work)
        cases = corpus(work)
        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=free_port(), data_size_limit=64 * 1024 * 1024)
        controller.start()
        try:
            for algorithm, (key, record) in keys.items():
                dkim_args = ["--dkim-key-file", str(key), "--dkim-selector", SELECTOR]
                for name, args in cases:
                    result = run(binary, [*args, *dkim_args, "--dry-run"])
                    message = result.stdout
                    label = f"{algorithm}: {name}"
                    if result.returncode != 0:
                        checks.check(f"{label}: posthorn send --dry-run signs", False, result.stderr.decode()[:300])
                        continue
                    header = message.split(b"\r\n\r\n", 1)[0]
                    checks.check(f"{label}: dkimpy verifies the signature",
                                 header.startswith(b"DKIM-Signature: v=1; a=" + algorithm.encode()) and verifies(message, record),
                                 header[:400])
                    checks.check(f"{label}: one byte of a signed header's value changed: it fails",
                                 not verifies(tampered_header(message), record))
                    checks.check(f"{label}: one byte of the body changed: it fails", not verifies(tampered_body(message), record))
                    checks.check(f"{label}: whitespace changed (relaxed): it still verifies", verifies(respaced(message), record))
                    before = len(sink.messages)
                    sent = run(binary, [*args, *dkim_args, "--host", "127.0.0.1", "--port", str(controller.port),
                                        "--security", "plaintext", "--allow-private-egress", "127.0.0.1"])
                    arrived = sink.messages[before:]
                    checks.check(f"{label}: sent through aiosmtpd, it arrives verifying",
                                 sent.returncode == 0 and len(arrived) == 1 and verifies(arrived[0], record),
                                 sent.stderr.decode()[:300])
            base = ["--from", f"team@{DOMAIN}", "--to", "a@example.net", "--subject", "s", "--body", "b", "--dry-run"]
            rsa_key = str(keys["rsa-sha256"][0])
            short = work / "short.pem"
            subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", str(short)],
                           check=True, capture_output=True)
            for name, extra, flag in [
                ("a key file without a selector", ["--dkim-key-file", rsa_key], "dkim-selector"),
                ("a selector without a key file", ["--dkim-selector", SELECTOR], "dkim-key-file"),
                ("a selector with a semicolon", ["--dkim-key-file", rsa_key, "--dkim-selector", "a;b=c"], "dkim-selector"),
                ("a domain that is not one", ["--dkim-key-file", rsa_key, "--dkim-selector", SELECTOR, "--dkim-domain", "x y"], "dkim-domain"),
                ("a 1024-bit RSA key", ["--dkim-key-file", str(short), "--dkim-selector", SELECTOR], "dkim-key-file"),
                ("a file that is not a key", ["--dkim-key-file", str(work / "report.pdf"), "--dkim-selector", SELECTOR], "dkim-key-file"),
            ]:
                result = run(binary, [*base, *extra])
                checks.check(f"refused: {name} exits 1 naming --{flag}, printing no message",
                             result.returncode == 1 and flag in result.stderr.decode() and not result.stdout,
                             (result.returncode, result.stderr.decode()[:200]))
        finally:
            controller.stop()
    print(f"{checks.passed} passed, {checks.failed} failed ({time.monotonic() - started:.0f} s)")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
