#!/usr/bin/env python3
"""The Domains page (issue 18: DKIM signing from your own domain) in a real browser: headless
Chromium (Debian's `chromium` and `chromium-driver`, driven by selenium) against a real `posthorn
serve`, whose DNS lookups go to a fake DNS server this script runs (`--dns-resolver`): a UDP and
TCP socket on 127.0.0.1 answering TXT questions from a table the checks fill in, NXDOMAIN for
everything else.

Usage:
    python3 scripts/checks/domains_browser.py PATH_TO_POSTHORN [--screenshots]

One `ok NAME` / `FAIL NAME: detail` line per claim:

1. Domains is in the sidebar under Credentials and opens /domains (a direct load too); with no
   domain, an empty state says why (DKIM, SPF, DMARC) and offers Add domain.
2. A bad domain (`not a domain`) is refused by the server and its message is shown at the Domain
   field; what was typed stays.
3. Add domain with RSA: the key is listed, Active, with its DNS record (name, TXT, value); the value
   is accepted by dkimpy's key parser (a 2048-bit RSA key) and its 255-byte strings join to it.
4. Add key with Ed25519 to the same domain (a selector already taken first: the server's 409 at the
   Selector field): both keys listed, both Active; dkimpy (with PyNaCl) accepts the Ed25519 record.
5. The copy buttons put exactly the value, and the value as quoted 255-character strings, on the
   clipboard.
6. Check DNS with nothing published: every DKIM record (and SPF, DMARC) Missing; a wrong RSA key
   published: Mismatch, with the value found shown; the right records: Match, every one. The
   lookups reached the fake DNS server.
7. The SPF recommendation follows the picked credential (one made through the API for
   smtp.gmail.com: `include:_spf.google.com`), as GET /domains/{id}?credentialId= says.
8. Rotation: a third key (RSA) is added Inactive; Activate asks first while DNS has not been
   checked for it; once Check DNS finds its record, Activate makes it Active and the old RSA key
   Inactive (kept).
9. Remove a key: the confirmation's Cancel keeps it, its Remove key removes it. A second domain
   added with an imported Ed25519 PEM key (its record carries that key), then Remove domain.
10. Keyboard: Add key opens from the keyboard with the focus in the dialog, Esc gives it back; Check
    DNS runs from the keyboard and the focus stays on it; every stop shows a focus ring.
11. A member sees the domain, its records and Check DNS, but no admin action.
12. No CSP violation and no console error (the only failed loads expected: the 401 of the sign-in
    page's session check, the 422 of the bad domain, the 409 of the taken selector).
13. With --screenshots: docs/screenshots/domains-{light,dark}-{desktop,phone}.png.

A missing chromium, chromedriver or selenium is a failure, never a skip. Every server this starts
listens on 127.0.0.1 only. Prints `N passed, M failed`; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webapp_browser as wb  # noqa: E402  (server, browser, ok/FAIL lines)
from webapp_browser import LOOPBACK, REPO, SCREENSHOTS, xpath_literal  # noqa: E402

if wb.webdriver is not None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

try:
    import dkim
    import dkim.crypto
    import dkim.util
except ImportError:  # pragma: no cover - scripts/test installs it; a missing one fails its checks
    dkim = None

OWNER = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "domains-owner-passphrase-0123"}
MEMBER = {"name": "Grace Hopper", "email": "grace@example.com", "password": "domains-member-passphrase-0123"}
DOMAIN = "example.com"
SECOND_DOMAIN = "example.net"
CREDENTIAL = "Gmail"


# MARK: - A fake DNS server

class FakeDNS:
    """Answers TXT questions from `records` (name → list of TXT records, each a list of strings);
    a name not in it is NXDOMAIN, another type at a known name is an empty answer. UDP, and TCP on
    the same port for an answer too long for the UDP size the question allows (TC set)."""

    def __init__(self) -> None:
        self.records: dict[str, list[list[bytes]]] = {}
        self.queries: list[tuple[str, int, str]] = []  # (name, type, "udp" | "tcp")
        self.lock = threading.Lock()
        self.running = True
        for _ in range(20):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind((LOOPBACK, 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((LOOPBACK, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        else:
            raise RuntimeError("no port free for both UDP and TCP")
        self.tcp.listen(8)
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        self.threads = [threading.Thread(target=self._serve_udp, daemon=True), threading.Thread(target=self._serve_tcp, daemon=True)]
        for thread in self.threads:
            thread.start()

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def publish(self, name: str, *values: list[str] | str) -> None:
        """Sets the TXT records of `name`: each value a string (split at 255 bytes) or its strings."""
        records = []
        for value in values:
            if isinstance(value, str):
                raw = value.encode()
                records.append([raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""])
            else:
                records.append([s.encode() for s in value])
        with self.lock:
            self.records[name.lower().rstrip(".")] = records

    def unpublish(self, name: str) -> None:
        with self.lock:
            self.records.pop(name.lower().rstrip("."), None)

    def clear(self) -> None:
        with self.lock:
            self.records.clear()

    def queried(self) -> list[tuple[str, int, str]]:
        with self.lock:
            return list(self.queries)

    # ---- The wire format (RFC 1035 section 4) ---------------------------------------------

    def answer(self, message: bytes, transport: str) -> bytes | None:
        if len(message) < 12:
            return None
        ident, flags, qdcount, _, _, arcount = struct.unpack("!6H", message[:12])
        if flags & 0x8000 or qdcount != 1:
            return None  # a response, or a question we do not handle: no answer
        position = 12
        labels = []
        while True:
            if position >= len(message):
                return None
            length = message[position]
            position += 1
            if length == 0:
                break
            if length & 0xC0 or position + length > len(message):
                return None  # no compression in a question
            labels.append(message[position:position + length])
            position += length
        if position + 4 > len(message):
            return None
        qtype, qclass = struct.unpack("!2H", message[position:position + 4])
        position += 4
        question = message[12:position]
        name = b".".join(labels).decode("ascii", "replace").lower()
        # EDNS(0): the OPT record's class is the UDP size the asker can take.
        udp_size = 512
        if arcount and position + 11 <= len(message) and message[position] == 0:
            opt_type, opt_class = struct.unpack("!2H", message[position + 1:position + 5])
            if opt_type == 41:
                udp_size = max(512, opt_class)
        with self.lock:
            self.queries.append((name, qtype, transport))
            records = self.records.get(name)
        answers = []
        rcode = 0
        if records is None:
            rcode = 3  # NXDOMAIN
        elif qtype == 16 and qclass == 1:
            for strings in records:
                rdata = b"".join(bytes([len(s)]) + s for s in strings)
                answers.append(struct.pack("!HHHIH", 0xC00C, 16, 1, 60, len(rdata)) + rdata)
        opcode = flags & 0x7800
        recursion_desired = flags & 0x0100
        header_flags = 0x8000 | opcode | 0x0400 | recursion_desired | 0x0080 | rcode  # QR, AA, RD copied, RA
        reply = struct.pack("!6H", ident, header_flags, 1, len(answers), 0, 0) + question + b"".join(answers)
        if transport == "udp" and len(reply) > udp_size:
            reply = struct.pack("!6H", ident, header_flags | 0x0200, 1, 0, 0, 0) + question  # TC: ask again over TCP
        return reply

    def _serve_udp(self) -> None:
        while self.running:
            try:
                message, peer = self.udp.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            reply = self.answer(message, "udp")
            if reply:
                try:
                    self.udp.sendto(reply, peer)
                except OSError:
                    pass

    def _serve_tcp(self) -> None:
        while self.running:
            try:
                connection, _ = self.tcp.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._tcp_connection, args=(connection,), daemon=True).start()

    def _tcp_connection(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        with connection:
            try:
                while True:
                    size = self._read(connection, 2)
                    if size is None:
                        return
                    message = self._read(connection, struct.unpack("!H", size)[0])
                    if message is None:
                        return
                    reply = self.answer(message, "tcp")
                    if reply is None:
                        return
                    connection.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    @staticmethod
    def _read(connection: socket.socket, n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = connection.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=2)
        self.udp.close()
        self.tcp.close()


def self_test_dns(dns: FakeDNS) -> list[str]:
    """Asks the fake server as a resolver would (UDP, then TCP after TC), so a broken encoder is
    reported as such rather than as a page that shows Missing."""
    problems = []
    long_value = "v=DKIM1; k=rsa; p=" + "A" * 600
    dns.publish("selftest.invalid", long_value)

    def ask(name: str, over: str, edns: int | None = None) -> bytes:
        question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00" + struct.pack("!2H", 16, 1)
        extra = b"\x00" + struct.pack("!2HIH", 41, edns, 0, 0) if edns else b""
        query = struct.pack("!6H", 0x1234, 0x0100, 1, 0, 0, 1 if edns else 0) + question + extra
        if over == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(2)
                s.sendto(query, (LOOPBACK, dns.port))
                return s.recvfrom(4096)[0]
        with socket.create_connection((LOOPBACK, dns.port), timeout=2) as s:
            s.sendall(struct.pack("!H", len(query)) + query)
            size = struct.unpack("!H", FakeDNS._read(s, 2))[0]
            return FakeDNS._read(s, size)

    def txt(reply: bytes) -> tuple[int, int, list[bytes]]:
        _, flags, _, ancount, _, _ = struct.unpack("!6H", reply[:12])
        position = 12
        while reply[position]:
            position += reply[position] + 1
        position += 5
        values = []
        for _ in range(ancount):
            position += 2 + 8
            rdlength = struct.unpack("!H", reply[position:position + 2])[0]
            position += 2
            rdata, position = reply[position:position + rdlength], position + rdlength
            joined, i = b"", 0
            while i < len(rdata):
                joined += rdata[i + 1:i + 1 + rdata[i]]
                i += 1 + rdata[i]
            values.append(joined)
        return flags, ancount, values

    flags, _, _ = txt(ask("selftest.invalid", "udp"))
    if not flags & 0x0200:
        problems.append("a 600-byte TXT over UDP without EDNS is not truncated")
    flags, count, values = txt(ask("selftest.invalid", "tcp"))
    if flags & 0x000F or count != 1 or values != [long_value.encode()]:
        problems.append(f"TCP answer wrong: rcode {flags & 0xF}, {count} answers")
    flags, count, values = txt(ask("selftest.invalid", "udp", edns=4096))
    if flags & 0x0200 or values != [long_value.encode()]:
        problems.append("EDNS 4096 over UDP did not carry the whole answer")
    flags, count, _ = txt(ask("nothing-here.invalid", "udp"))
    if flags & 0x000F != 3 or count:
        problems.append(f"an unknown name is not NXDOMAIN (rcode {flags & 0xF})")
    dns.unpublish("selftest.invalid")
    with dns.lock:
        dns.queries.clear()
    return problems


# MARK: - posthorn serve, with its DNS lookups sent to the fake server

class Server(wb.Server):
    """webapp_browser's `posthorn serve`, same arguments, plus `--dns-resolver`."""

    def __init__(self, binary: str, work: Path, resolver: str) -> None:
        self.port = wb.fixture.free_port(LOOPBACK)
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.data_dir = work / "data"
        self.stdout_path = work / "serve.stdout"
        self.stderr_path = work / "serve.stderr"
        self.banner: list[str] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTHORN_")}
        env["POSTHORN_ADMIN_TOKEN"] = wb.ADMIN_TOKEN
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [binary, "serve", "--data-dir", str(self.data_dir), "--host", LOOPBACK, "--port", str(self.port),
                 "--allow-private-egress", LOOPBACK, "--metrics-port", "0", "--log-level", "trace",
                 "--dns-resolver", resolver],
                stdout=subprocess.PIPE, stderr=stderr, env=env)
        self._drain = threading.Thread(target=self._read_stdout, daemon=True)
        self._drain.start()
        client = wb.Client(self.port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"posthorn serve exited with {self.process.returncode}: {self.log_tail(10)}")
            try:
                if client.request("GET", "/healthz", origin=None).status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError(f"posthorn serve did not answer /healthz in 60 s: {self.log_tail(10)}")


# MARK: - The browser

KEYS_JS = """
const tile = arguments[0];
return [...tile.querySelectorAll('.dkim-key')].map((li) => {
  const values = li.querySelectorAll('.dns-record__fields dd .copyable__value');
  return {
    id: li.dataset.key,
    selector: li.querySelector('.dkim-key__selector').textContent.trim(),
    badges: [...li.querySelectorAll('.dkim-key__title .badge')].map((b) => b.textContent.trim()),
    name: values[0] ? values[0].textContent : null,
    type: (li.querySelector('.dns-record__type') || {}).textContent || null,
    value: values[1] ? values[1].textContent : null,
    buttons: [...li.querySelectorAll('button')].map((b) => b.getAttribute('aria-label') || b.textContent.trim()),
    text: li.innerText,
  };
});
"""

RESULTS_JS = """
const tile = arguments[0];
return [...tile.querySelectorAll('.dns-result')].map((li) => ({
  record: li.dataset.record, selector: li.dataset.selector || null, status: li.dataset.status,
  badge: (li.querySelector('.badge') || {}).textContent || '',
  found: [...li.querySelectorAll('.dns-result__value')].map((c) => c.textContent),
  text: li.innerText,
}));
"""


class DomainsBrowser(wb.Browser):
    def tile(self, domain: str):
        return self.driver.find_element(By.XPATH, f"//section[contains(@class,'domain')][.//h2[normalize-space(.)={xpath_literal(domain)}]]")

    def keys_of(self, domain: str) -> list[dict]:
        return self.driver.execute_script(KEYS_JS, self.tile(domain))

    def results_of(self, domain: str) -> list[dict]:
        return self.driver.execute_script(RESULTS_JS, self.tile(domain))

    def press(self, element) -> None:
        """Clicks an element in the middle of the viewport (a phone's sticky bar can cover the top),
        the earlier toasts dismissed (a stack of them can cover a button on the right)."""
        self.driver.execute_script("document.querySelectorAll('#toasts .toast').forEach((t) => t.remove());"
                                   "arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def field_error(self, control) -> str:
        found = self.driver.find_elements(By.ID, f"{control.get_attribute('id')}-error")
        return found[0].text.strip() if found else ""

    def toasts(self) -> str:
        return self.text_of("#toasts .toast")

    def clipboard(self) -> str:
        return self.driver.execute_async_script("const done = arguments[0]; navigator.clipboard.readText().then(done, (e) => done('ERROR ' + e))")


class DomainsCheck(wb.WebAppCheck):
    # Failed loads the console may show, by step.
    EXPECTED_FAILED_LOADS = {"sign in": {("/api/v1/session", 401)}, "bad domain": {("/api/v1/domains", 422)},
                             "add ed25519": {("/api/v1/domains", 409)}}

    def browser(self, label: str) -> DomainsBrowser:
        browser = DomainsBrowser(label, self.server.base, self.chromium, self.chromedriver)
        self.browsers.append(browser)
        return browser

    def api(self, method: str, path: str, body: object = None, session: str | None = None) -> wb.Answer:
        return self.client.request(method, path, body=body, session=session or self.session)

    def domain(self, name: str = DOMAIN, credential: str | None = None) -> dict:
        listed = self.api("GET", "/api/v1/domains").json.get("domains", [])
        found = next((d for d in listed if d.get("domain") == name), {})
        if credential and found:
            return self.api("GET", f"/api/v1/domains/{found['id']}?credentialId={urllib.parse.quote(credential)}").json
        return found

    def wait_page(self, b: DomainsBrowser) -> None:
        b.wait(lambda: b.heading() == "Domains" and b.driver.find_elements(By.CSS_SELECTOR, "main .domain, main .empty")
               and not b.driver.find_elements(By.CSS_SELECTOR, "main [aria-busy='true']"), "the Domains page")

    def wait_keys(self, b: DomainsBrowser, count: int, what: str) -> list[dict]:
        return b.wait(lambda: (keys := b.keys_of(DOMAIN)) and len(keys) == count and keys, what)

    def check_dns(self, b: DomainsBrowser, domain: str = DOMAIN) -> list[dict]:
        """Presses Check DNS and waits for the card redrawn with the answer."""
        tile = b.tile(domain)
        b.driver.execute_script("arguments[0].dataset.stale = '1'", tile)
        b.press(b.button(f"Check DNS for {domain}", tile))
        b.wait(lambda: b.driver.find_elements(By.XPATH, f"//section[contains(@class,'domain')][not(@data-stale)][.//h2[normalize-space(.)={xpath_literal(domain)}]]//*[contains(@class,'dns-result')]"),
               "the DNS check's results", timeout=40)
        return b.results_of(domain)

    # ---- Set-up: the owner signed in, an SMTP credential for Gmail ------------------------------

    def sign_in(self) -> None:
        link = self.server.banner_line(r"Set up the first account \(one-time link\): (\S+)")
        token = urllib.parse.unquote(urllib.parse.urlsplit(link.group(1)).fragment) if link else ""
        answer = self.client.request("POST", "/api/v1/setup", body={"token": token, **{k: OWNER[k] for k in ("email", "name", "password")}})
        self.session = next((m.group(1) for c in answer.headers_named("Set-Cookie") if (m := re.match(r"posthorn_session=([^;]+)", c))), "")
        self.check("the set-up API creates the first account (a session cookie)", answer.status == 201 and self.session, f"{answer.status} {answer.text[:200]}")
        self.workspace = ((answer.json.get("workspaces") or [{}])[0]).get("id", "")
        made = self.api("POST", "/api/v1/credentials", {"type": "smtp", "name": CREDENTIAL, "host": "smtp.gmail.com", "port": 587,
                                                       "security": "starttls", "username": "ada@example.com", "password": "an-app-password-0123"})
        self.credential_id = made.json.get("id", "")
        self.check("an SMTP credential for smtp.gmail.com is made through the API", made.status == 201 and self.credential_id, f"{made.status} {made.text[:200]}")
        a = self.a
        a.at("sign in")
        a.get("/signin")
        a.wait(lambda: a.heading(), "the sign-in page")
        a.driver.add_cookie({"name": "posthorn_session", "value": self.session, "path": "/", "httpOnly": True, "sameSite": "Strict"})

    # ---- 1. Sidebar, address, empty state ---------------------------------------------------------

    def step_sidebar(self) -> None:
        a = self.a
        a.at("sidebar")
        a.get("/flows")
        a.wait(lambda: a.heading() == "Flows", "the Flows page")
        links = a.texts("aside nav a.nav__link")
        self.check("1. the sidebar lists Domains right under Credentials", links[-2:] == ["Credentials", "Domains"], links)
        a.link("Domains", a.driver.find_element(By.CSS_SELECTOR, "aside nav")).click()
        self.wait_page(a)
        current = a.driver.find_element(By.XPATH, "//aside//a[normalize-space(.)='Domains']").get_attribute("aria-current")
        self.check("1. Domains in the sidebar opens /domains (the link marked as the current page)", a.path() == "/domains" and current == "page",
                   {"path": a.path(), "aria-current": current})
        empty = a.text_of("main .empty")
        self.check("1. with no domain, an empty state says why: sign with your own domain, DKIM, SPF and DMARC",
                   all(word in empty for word in ("own domain", "DKIM", "SPF", "DMARC")), empty)
        self.check("1. the empty state and the page header both offer Add domain",
                   len(a.driver.find_elements(By.XPATH, "//main//button[normalize-space(.)='Add domain']")) == 2, a.texts("main button"))

        a.at("direct load")
        answer = self.client.request("GET", "/domains", origin=None)
        self.check("1. /domains is a page address of the server (200 with the CSP)",
                   answer.status == 200 and answer.header("Content-Security-Policy") == wb.CSP, f"{answer.status} {answer.header('Content-Security-Policy')}")
        a.get("/domains")
        try:
            self.wait_page(a)
        except Exception:  # noqa: BLE001 - reported below
            pass
        self.check("1. loading /domains directly shows the Domains page", a.heading() == "Domains", a.heading() or a.driver.title)

    # ---- 2 and 3. A bad domain, then example.com with RSA ----------------------------------------

    def step_add_rsa(self) -> None:
        a = self.a
        a.at("bad domain")
        if a.path() != "/domains" or a.heading() != "Domains":
            a.get("/flows")
            a.wait(lambda: a.heading() == "Flows", "the Flows page")
            a.link("Domains", a.driver.find_element(By.CSS_SELECTOR, "aside nav")).click()
        self.wait_page(a)
        a.button("Add domain", a.driver.find_element(By.CSS_SELECTOR, ".page-header")).click()
        dialog = a.wait(a.dialog, "the Add domain dialog")
        domain_field = a.field("Domain", dialog)
        self.check("2. Add domain opens a dialog with the focus in its Domain field",
                   a.driver.switch_to.active_element == domain_field and dialog.find_element(By.CSS_SELECTOR, ".dialog__title").get_attribute("textContent").strip() == "Add domain",
                   a.active())
        selector = a.field("Selector", dialog)
        prefill = selector.get_attribute("value")
        self.check("3. the selector is prefilled with posthorn + this month (YYYYMM)", prefill == f"posthorn{time.strftime('%Y%m')}", prefill)
        labels = a.texts("dialog[open] .radio__label")
        summary = a.text_of("dialog[open] details > summary")
        self.check("3. the dialog offers RSA 2048 and Ed25519, and a disclosure to import a PEM key",
                   labels == ["RSA 2048", "Ed25519"] and summary.lower() == "import an existing private key (pem)",
                   {"algorithms": labels, "disclosure": summary})
        domain_field.send_keys("not a domain")
        a.button("Add domain", dialog).click()
        a.wait(lambda: a.field_error(domain_field), "the Domain field's error")
        sent = [r for r in a.requests_since("bad domain") if r.get("method") == "POST" and r.get("url", "").endswith("/api/v1/domains")]
        self.check("2. `not a domain`: the server refuses it (422) and its message is shown at the Domain field",
                   sent and sent[-1].get("status") == 422 and a.field_error(domain_field) and domain_field.get_attribute("aria-invalid") == "true"
                   and f"{domain_field.get_attribute('id')}-error" in (domain_field.get_attribute("aria-describedby") or ""),
                   {"requests": [(r.get("method"), r.get("status")) for r in sent], "error": a.field_error(domain_field)})
        self.check("2. the dialog stays open with what was typed, the focus on the Domain field",
                   a.dialog() is not None and domain_field.get_attribute("value") == "not a domain" and a.driver.switch_to.active_element == domain_field,
                   a.active())

        a.at("add rsa")
        a.fill(domain_field, DOMAIN)
        a.choose("RSA 2048", dialog)
        a.button("Add domain", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close")
        keys = self.wait_keys(a, 1, "the RSA key listed")
        stored = self.domain()
        self.domain_id = stored.get("id", "")
        key = (stored.get("keys") or [{}])[0]
        self.rsa = key
        record = key.get("dnsRecord") or {}
        shown = keys[0]
        self.check("3. Add domain: the domain is listed with its RSA key, Active, the one the API stores",
                   shown["selector"] == prefill == key.get("selector") and "Active" in shown["badges"] and key.get("active") is True
                   and key.get("algorithm") == "rsa-sha256", {"shown": shown["badges"], "stored": {k: key.get(k) for k in ("selector", "algorithm", "active")}})
        self.check("3. its DNS record is shown: name <selector>._domainkey.example.com, type TXT, the exact value",
                   shown["name"] == record.get("name") == f"{prefill}._domainkey.{DOMAIN}" and shown["type"] == "TXT" == record.get("type")
                   and shown["value"] == record.get("value"), {"shown": {k: shown[k] for k in ("name", "type", "value")}, "api": record})
        self.check_record_parses("3.", record, "rsa")

    def check_record_parses(self, number: str, record: dict, kind: str) -> None:
        value = record.get("value") or ""
        strings = record.get("strings") or []
        self.check(f"{number} the record's 255-byte strings join to its value, each at most 255 bytes",
                   strings and "".join(strings) == value and all(len(s.encode()) <= 255 for s in strings)
                   and (len(strings) > 1) == (len(value.encode()) > 255), {"lengths": [len(s) for s in strings], "value": len(value)})
        if dkim is None:
            self.check(f"{number} dkimpy is installed (python3 -m pip install dkimpy pynacl)", False, "import dkim failed")
            return
        try:
            tags = dkim.util.parse_tag_value(value.encode())
            p = base64.b64decode(tags[b"p"])
            if kind == "rsa":
                key = dkim.crypto.parse_public_key(p)
                detail = {"k": tags.get(b"k"), "bits": key["modulus"].bit_length()}
                ok = tags.get(b"k", b"rsa") == b"rsa" and key["modulus"].bit_length() == 2048
            else:
                import nacl.signing
                nacl.signing.VerifyKey(p)
                detail = {"k": tags.get(b"k"), "bytes": len(p)}
                ok = tags.get(b"k") == b"ed25519" and len(p) == 32
            _, _, ktag, _ = dkim.evaluate_pk(record.get("name", "").encode(), value.encode())
            ok = ok and tags.get(b"v") == b"DKIM1" and ktag == (b"rsa" if kind == "rsa" else b"ed25519")
            self.check(f"{number} dkimpy's key parser accepts the record ({'a 2048-bit RSA key' if kind == 'rsa' else 'a 32-byte Ed25519 key'}, v=DKIM1)", ok, detail)
        except Exception as error:  # noqa: BLE001 - a parse failure is the finding
            self.check(f"{number} dkimpy's key parser accepts the record", False, f"{type(error).__name__}: {error} in {value!r}")

    # ---- 4. Ed25519 beside it ----------------------------------------------------------------------

    def step_add_ed25519(self) -> None:
        a = self.a
        a.at("add ed25519")
        a.press(a.button(f"Add key to {DOMAIN}"))
        dialog = a.wait(a.dialog, "the Add key dialog")
        title = dialog.find_element(By.CSS_SELECTOR, ".dialog__title").get_attribute("textContent").strip()
        checked = dialog.find_element(By.CSS_SELECTOR, "input[type=radio]:checked").get_attribute("value")
        selector = a.field("Selector", dialog)
        suggested = selector.get_attribute("value")
        self.check("4. Add key opens the dialog with the domain fixed; a domain signing with RSA is offered Ed25519 and a new selector",
                   title == f"Add a key to {DOMAIN}" and not dialog.find_elements(By.XPATH, ".//label[normalize-space(.)='Domain']")
                   and checked == "ed25519-sha256" and suggested and suggested != self.rsa.get("selector")
                   and a.driver.switch_to.active_element == selector, {"title": title, "checked": checked, "selector": suggested})
        a.choose("Ed25519", dialog)
        a.fill(selector, self.rsa.get("selector", ""))
        a.button("Add key", dialog).click()
        a.wait(lambda: a.field_error(selector), "the Selector field's error")
        sent = [r for r in a.requests_since("add ed25519") if r.get("method") == "POST" and r.get("url", "").endswith("/api/v1/domains")]
        self.check("4. a selector the domain already has: the server's refusal (409) is shown at the Selector field, nothing added",
                   sent and sent[-1].get("status") == 409 and selector.get_attribute("aria-invalid") == "true" and a.dialog() is not None
                   and len(self.domain().get("keys", [])) == 1, {"status": [r.get("status") for r in sent], "error": a.field_error(selector)})
        a.fill(selector, suggested)
        a.button("Add key", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close")
        keys = self.wait_keys(a, 2, "both keys listed")
        stored = self.domain()
        self.ed = next((k for k in stored.get("keys", []) if k.get("algorithm") == "ed25519-sha256"), {})
        by_selector = {k["selector"]: k for k in keys}
        self.check("4. both keys are listed, both Active (the API too): RSA and Ed25519 both sign",
                   set(by_selector) == {self.rsa.get("selector"), self.ed.get("selector")} and all("Active" in k["badges"] for k in keys)
                   and all(k.get("active") for k in stored.get("keys", [])) and len(stored.get("keys", [])) == 2,
                   {"shown": {k["selector"]: k["badges"] for k in keys}, "stored": [(k.get("selector"), k.get("algorithm"), k.get("active")) for k in stored.get("keys", [])]})
        shown = by_selector.get(self.ed.get("selector"), {})
        self.check("4. the Ed25519 key's record is shown as the API has it",
                   shown.get("value") == (self.ed.get("dnsRecord") or {}).get("value") and shown.get("name") == (self.ed.get("dnsRecord") or {}).get("name"),
                   {"shown": shown.get("value"), "api": self.ed.get("dnsRecord")})
        self.check_record_parses("4.", self.ed.get("dnsRecord") or {}, "ed25519")

    # ---- 5. Copy buttons ---------------------------------------------------------------------------

    def step_copy(self) -> None:
        a = self.a
        a.at("copy")
        a.driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": self.server.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        record = self.rsa.get("dnsRecord") or {}
        label = f"the {self.rsa.get('selector')} DKIM record for {DOMAIN}"
        a.press(a.button(f"Copy value of {label}"))
        copied = a.clipboard()
        self.check("5. the value's copy button copies exactly the record's value", copied == record.get("value"), {"copied": copied, "value": record.get("value")})
        announced = a.wait(lambda: a.driver.find_element(By.ID, "announcer").text, "the announcement", timeout=3)
        self.check("5. the copy is announced to screen readers (Copied)", announced == "Copied", announced)
        a.press(a.button(f"Copy name of {label}"))
        self.check("5. the name's copy button copies the record's name", a.clipboard() == record.get("name"), a.clipboard())
        summary = a.tile(DOMAIN).find_element(By.XPATH, f".//li[@data-key={xpath_literal(self.rsa.get('id', ''))}]//details/summary")
        a.press(summary)
        a.press(a.button(f"Copy {label} as 255-character strings"))
        split = a.clipboard()
        want = " ".join(f'"{s}"' for s in record.get("strings") or [])
        self.check("5. the 255-character form's copy button copies the strings, quoted, as a zone file takes them",
                   split == want and split.count('" "') == len(record.get("strings") or []) - 1, {"copied": split, "want": want})
        ed = self.ed.get("dnsRecord") or {}
        a.press(a.button(f"Copy value of the {self.ed.get('selector')} DKIM record for {DOMAIN}"))
        self.check("5. the Ed25519 record's copy button copies its value", a.clipboard() == ed.get("value"), a.clipboard())

    # ---- 6 and 7. Check DNS: missing, mismatch, the credential's SPF, match ---------------------------

    def step_check_missing(self) -> None:
        a = self.a
        a.at("check: nothing published")
        self.dns.clear()
        results = self.check_dns(a)
        dkim_results = {r["selector"]: r for r in results if r["record"] == "dkim"}
        self.check("6. Check DNS with nothing published: each DKIM key's record is Missing (badge and word)",
                   set(dkim_results) == {self.rsa.get("selector"), self.ed.get("selector")}
                   and all(r["status"] == "missing" and r["badge"] == "Missing" for r in dkim_results.values()), results)
        others = {r["record"]: r["status"] for r in results if r["record"] != "dkim"}
        self.check("6. … and SPF and DMARC are Missing too", others == {"spf": "missing", "dmarc": "missing"}, others)
        asked = {name for name, qtype, _ in self.dns.queried() if qtype == 16}
        want = {(self.rsa.get("dnsRecord") or {}).get("name"), (self.ed.get("dnsRecord") or {}).get("name")}
        self.check("6. the lookups went to the DNS server given with --dns-resolver (both selectors asked for TXT)",
                   want <= asked, {"asked": sorted(asked), "want": sorted(want)})
        toast = a.toasts()
        self.check("6. the result is announced in the live region (a toast: DNS check of example.com …)", f"DNS check of {DOMAIN}" in toast and "missing" in toast, toast)
        messages = [r["text"] for r in results]
        self.check("6. each result says in words what to do (a message under its badge)",
                   all(len(t.splitlines()) >= 2 for t in messages), messages)

    def wrong_rsa_key(self) -> str:
        key = self.work / "wrong.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)], check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()

    def step_check_mismatch(self) -> None:
        a = self.a
        a.at("check: wrong key")
        wrong = self.wrong_rsa_key()
        self.dns.publish((self.rsa.get("dnsRecord") or {}).get("name", ""), wrong)
        ed = self.ed.get("dnsRecord") or {}
        self.dns.publish(ed.get("name", ""), ed.get("strings") or ed.get("value", ""))
        results = self.check_dns(a)
        rsa = next((r for r in results if r["record"] == "dkim" and r["selector"] == self.rsa.get("selector")), {})
        edr = next((r for r in results if r["record"] == "dkim" and r["selector"] == self.ed.get("selector")), {})
        self.check("6. a wrong RSA key published at the selector: Mismatch, and the value found is shown",
                   rsa.get("status") == "mismatch" and rsa.get("badge") == "Mismatch" and wrong in rsa.get("found", []), rsa)
        self.check("6. … while the Ed25519 record published right is a Match", edr.get("status") == "match" and edr.get("badge") == "Match", edr)
        keys = {k["selector"]: k["badges"] for k in a.keys_of(DOMAIN)}
        self.check("6. each key's card carries its check result too (DNS: Mismatch, DNS: Match)",
                   "DNS: Mismatch" in keys.get(self.rsa.get("selector"), []) and "DNS: Match" in keys.get(self.ed.get("selector"), []), keys)

    def step_credential(self) -> None:
        a = self.a
        a.at("spf for a credential")
        generic = self.domain().get("recommended") or {}
        tailored = (self.domain(credential=self.credential_id).get("recommended") or {})
        self.check("7. the API tailors SPF to the credential: include:_spf.google.com for smtp.gmail.com (and not without it)",
                   "include:_spf.google.com" in ((tailored.get("spf") or {}).get("value") or "")
                   and "include:_spf.google.com" not in ((generic.get("spf") or {}).get("value") or "")
                   and (tailored.get("spf") or {}).get("credentialId") == self.credential_id,
                   {"generic": generic.get("spf"), "tailored": tailored.get("spf")})
        tile = a.tile(DOMAIN)
        spf_label = f"the SPF record for {DOMAIN}"
        shown_before = self.copy_value(a, f"Copy value of {spf_label}")
        picker = a.field("SMTP credential that sends", tile)
        options = [o.text for o in Select(picker).options]
        self.check("7. the credential picker lists the workspace's SMTP credentials (and a general choice)",
                   any(CREDENTIAL in o and "smtp.gmail.com" in o for o in options) and len(options) == 2, options)
        a.harvest()
        mark = len(a.requests)
        a.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", picker)
        Select(picker).select_by_value(self.credential_id)
        a.wait(lambda: "include:_spf.google.com" in self.copy_value(a, f"Copy value of {spf_label}"), "the SPF record for Gmail")
        a.harvest()
        asked = [r["url"] for r in list(a.requests.values())[mark:] if r.get("method") == "GET" and "/api/v1/domains/" in r.get("url", "")]
        shown_after = self.copy_value(a, f"Copy value of {spf_label}")
        self.check("7. picking the Gmail credential reloads GET /domains/{id}?credentialId= and shows its SPF record (include:_spf.google.com)",
                   shown_after == (tailored.get("spf") or {}).get("value") and shown_before == (generic.get("spf") or {}).get("value")
                   and any(f"credentialId={self.credential_id}" in u for u in asked), {"before": shown_before, "after": shown_after, "asked": asked})
        dmarc = self.copy_value(a, f"Copy value of the DMARC record for {DOMAIN}")
        self.check("7. the DMARC recommendation is shown as the API gives it", dmarc == (tailored.get("dmarc") or {}).get("value"), dmarc)
        picker = a.field("SMTP credential that sends", a.tile(DOMAIN))
        self.check("7. after the reload the picker keeps the choice and the focus",
                   picker.get_attribute("value") == self.credential_id and a.driver.switch_to.active_element == picker, a.active())
        self.tailored = tailored

    def copy_value(self, a: DomainsBrowser, copy_label: str) -> str:
        """The value beside a copy button (what it copies)."""
        button = a.button(copy_label, a.tile(DOMAIN))
        return a.driver.execute_script("return arguments[0].parentElement.querySelector('.copyable__value').textContent", button)

    def step_check_match(self) -> None:
        a = self.a
        a.at("check: all published")
        for key in (self.rsa, self.ed):
            record = key.get("dnsRecord") or {}
            self.dns.publish(record.get("name", ""), record.get("strings") or record.get("value", ""))
        spf = self.tailored.get("spf") or {}
        dmarc = self.tailored.get("dmarc") or {}
        self.dns.publish(spf.get("name", DOMAIN), spf.get("value", ""))
        self.dns.publish(dmarc.get("name", f"_dmarc.{DOMAIN}"), dmarc.get("value", ""))
        results = self.check_dns(a)
        self.check("6. the right records published (DKIM as its 255-byte strings, the Gmail SPF, DMARC): every result is a Match ✓",
                   len(results) == 4 and all(r["status"] == "match" and r["badge"] == "Match" for r in results),
                   [(r["record"], r["selector"], r["status"], r["text"][:160]) for r in results])
        toast = a.toasts()
        self.check("6. … announced: all 4 records match", "all 4 records match" in toast, toast)
        summary = a.text_of(".dns-check .callout--success", a.tile(DOMAIN))
        self.check("6. … and said calmly on the card (All 4 records match), the rows folded under Show the 4 records",
                   summary.startswith("All 4 records match.") and a.text_of(".dns-check__details > summary", a.tile(DOMAIN)) == "Show the 4 records", summary)

    # ---- 8. Rotation -------------------------------------------------------------------------------

    def step_rotate(self) -> None:
        a = self.a
        a.at("rotate: add")
        a.press(a.button(f"Add key to {DOMAIN}"))
        dialog = a.wait(a.dialog, "the Add key dialog")
        a.choose("RSA 2048", dialog)
        selector = a.field("Selector", dialog).get_attribute("value")
        a.button("Add key", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close")
        keys = {k["selector"]: k for k in self.wait_keys(a, 3, "the third key")}
        stored = {k.get("selector"): k for k in self.domain().get("keys", [])}
        self.rsa2 = stored.get(selector, {})
        self.check("8. a third key (RSA) is added Inactive, with an Activate button; the old RSA key stays Active",
                   "Inactive" in keys.get(selector, {}).get("badges", []) and f"Activate {selector}" in keys.get(selector, {}).get("buttons", [])
                   and self.rsa2.get("active") is False and self.rsa2.get("algorithm") == "rsa-sha256"
                   and "Active" in keys.get(self.rsa.get("selector"), {}).get("badges", []) and stored.get(self.rsa.get("selector"), {}).get("active") is True,
                   {"shown": {s: k["badges"] for s, k in keys.items()}, "stored": {s: k.get("active") for s, k in stored.items()}})
        self.check_record_parses("8.", self.rsa2.get("dnsRecord") or {}, "rsa")
        record = self.rsa2.get("dnsRecord") or {}
        self.dns.publish(record.get("name", ""), record.get("strings") or record.get("value", ""))  # published before it is activated

        a.at("rotate: activate unchecked")
        a.press(a.button(f"Activate {selector}"))
        dialog = a.wait(a.dialog, "the question before activating an unchecked key")
        title = dialog.find_element(By.CSS_SELECTOR, ".dialog__title").get_attribute("textContent").strip()
        a.button("Cancel", dialog).click()
        a.wait(lambda: a.dialog() is None, "Cancel to close it")
        self.check("8. Activate on a key DNS was not checked for asks first; Cancel leaves it inactive",
                   title == f"Activate {selector}?" and self.key_state(selector) is False
                   and "Inactive" in {k["selector"]: k for k in a.keys_of(DOMAIN)}[selector]["badges"], title)

        a.at("rotate: activate")
        results = self.check_dns(a)
        checked = next((r for r in results if r["selector"] == selector), {})
        self.check("8. its record published, Check DNS finds it: Match", checked.get("status") == "match", checked)
        a.press(a.button(f"Activate {selector}"))
        a.wait(lambda: "Active" in {k["selector"]: k for k in a.keys_of(DOMAIN)}.get(selector, {}).get("badges", []), "the new key Active")
        self.check("8. with a matching check, Activate activates at once (no question)", a.dialog() is None, a.dialog())
        keys = {k["selector"]: k for k in a.keys_of(DOMAIN)}
        stored = {k.get("selector"): k for k in self.domain().get("keys", [])}
        self.check("8. Activate: the new RSA key is Active and the old RSA key shows Inactive (kept, not removed)",
                   "Active" in keys[selector]["badges"] and "Inactive" in keys.get(self.rsa.get("selector"), {}).get("badges", [])
                   and stored.get(selector, {}).get("active") is True and stored.get(selector, {}).get("activatedAt")
                   and stored.get(self.rsa.get("selector"), {}).get("active") is False
                   and "Active" in keys.get(self.ed.get("selector"), {}).get("badges", []),
                   {"shown": {s: k["badges"] for s, k in keys.items()}, "stored": {s: (k.get("active"), k.get("activatedAt")) for s, k in stored.items()}})
        focused = a.driver.switch_to.active_element
        self.check("8. after Activate the focus is on the activated key (not lost to the page)",
                   focused.get_attribute("data-focus") == f"key-{self.rsa2.get('id')}", a.active())
        old = keys.get(self.rsa.get("selector"), {}).get("text", "")
        self.check("8. the replaced key says to keep its DNS record for a few days", "Keep its DNS record" in old, old)

    def key_state(self, selector: str) -> bool | None:
        return next((k.get("active") for k in self.domain().get("keys", []) if k.get("selector") == selector), None)

    # ---- 9. Removing ---------------------------------------------------------------------------

    def step_remove_key(self) -> None:
        a = self.a
        a.at("remove key")
        selector = self.rsa.get("selector")
        a.press(a.button(f"Remove key {selector}"))
        dialog = a.wait(a.dialog, "the confirmation")
        title = dialog.find_element(By.CSS_SELECTOR, ".dialog__title").get_attribute("textContent").strip()
        focus = a.active()
        a.button("Cancel", dialog).click()
        a.wait(lambda: a.dialog() is None, "Cancel to close it")
        kept = [k["selector"] for k in a.keys_of(DOMAIN)]
        self.check("9. Remove key asks first (focus on Cancel); Cancel keeps the key",
                   title == f"Remove key {selector}?" and focus["name"] == "Cancel" and selector in kept
                   and len(self.domain().get("keys", [])) == 3, {"title": title, "focus": focus["name"], "listed": kept})
        a.press(a.button(f"Remove key {selector}"))
        dialog = a.wait(a.dialog, "the confirmation again")
        a.button("Remove key", dialog).click()
        a.wait(lambda: a.dialog() is None, "the confirmation to close")
        listed = [k["selector"] for k in self.wait_keys(a, 2, "two keys left")]
        stored = [k.get("selector") for k in self.domain().get("keys", [])]
        self.check("9. Remove key removes it: gone from the page and from the API; the others stay",
                   selector not in listed and selector not in stored and sorted(stored) == sorted(listed) == sorted([self.ed.get("selector"), self.rsa2.get("selector")]),
                   {"listed": listed, "stored": stored})
        self.check("9. the removal is announced (toast)", f"Key {selector} removed" in a.toasts(), a.toasts())

    def step_import(self) -> None:
        a = self.a
        a.at("import")
        key = self.work / "import.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
        public = base64.b64encode(der[-32:]).decode()
        a.get("/domains")
        self.wait_page(a)
        a.press(a.button("Add domain", a.driver.find_element(By.CSS_SELECTOR, ".page-header")))
        dialog = a.wait(a.dialog, "the Add domain dialog")
        a.field("Domain", dialog).send_keys(SECOND_DOMAIN)
        a.fill(a.field("Selector", dialog), "imported1")
        dialog.find_element(By.XPATH, ".//summary[contains(normalize-space(.), 'Import an existing private key')]").click()
        area = a.wait(lambda: (field := a.field("Private key (PEM)", dialog)).is_displayed() and field, "the PEM field")
        area.send_keys(key.read_text().strip())
        disabled = a.driver.execute_script("return arguments[0].querySelector('fieldset.radio-group').disabled", dialog)
        a.button("Add domain", dialog).click()
        a.wait(lambda: a.dialog() is None, "the dialog to close")
        a.wait(lambda: a.tile(SECOND_DOMAIN), "the second domain's card")
        stored = (self.domain(SECOND_DOMAIN).get("keys") or [{}])[0]
        tags = dkim.util.parse_tag_value((stored.get("dnsRecord") or {}).get("value", "").encode()) if dkim else {}
        shown = a.keys_of(SECOND_DOMAIN)
        self.check("9. Import an existing private key (PEM): the algorithm choice is off while a key is pasted; the key is added as Ed25519 "
                   "(the key's own), its record's p= is that key's public key, shown on the page",
                   disabled is True and stored.get("algorithm") == "ed25519-sha256" and tags.get(b"p", b"").decode() == public
                   and shown and shown[0]["value"] == (stored.get("dnsRecord") or {}).get("value"),
                   {"fieldset disabled": disabled, "stored": stored.get("algorithm"), "p": tags.get(b"p"), "want": public})

    def step_remove_domain(self) -> None:
        a = self.a
        a.at("remove domain")
        a.get("/domains")
        self.wait_page(a)
        a.wait(lambda: a.tile(SECOND_DOMAIN), "the second domain's card")
        a.press(a.button(f"Remove domain {SECOND_DOMAIN}"))
        dialog = a.wait(a.dialog, "the confirmation")
        title = dialog.find_element(By.CSS_SELECTOR, ".dialog__title").get_attribute("textContent").strip()
        a.button("Remove domain", dialog).click()
        a.wait(lambda: a.dialog() is None, "the confirmation to close")
        a.wait(lambda: not a.driver.find_elements(By.XPATH, f"//section[contains(@class,'domain')]//h2[normalize-space(.)={xpath_literal(SECOND_DOMAIN)}]"), "the card to go")
        names = [d.get("domain") for d in self.api("GET", "/api/v1/domains").json.get("domains", [])]
        self.check("9. Remove domain asks (Remove example.net?) and removes it; example.com stays",
                   title == f"Remove {SECOND_DOMAIN}?" and names == [DOMAIN] and a.texts("main .domain h2") == [DOMAIN], {"title": title, "api": names})

    # ---- 10. Keyboard --------------------------------------------------------------------------

    def tab_until(self, b: DomainsBrowser, want: Callable[[dict], bool], what: str, stops: list[dict], limit: int = 80) -> dict:
        for _ in range(limit):
            b.keys(Keys.TAB)
            now = b.active()
            stops.append(now)
            if want(now):
                return now
        raise AssertionError(f"Tab never reached {what}; last focus {b.active()}")

    def step_keyboard(self) -> None:
        a = self.a
        a.at("keyboard")
        a.get("/domains")
        self.wait_page(a)
        a.wait(lambda: a.tile(DOMAIN), "the card")
        kept = a.field("SMTP credential that sends", a.tile(DOMAIN)).get_attribute("value")
        spf = self.copy_value(a, f"Copy value of the SPF record for {DOMAIN}")
        self.check("7. after a reload the picked credential is kept (this browser remembers it): the SPF record is still Gmail's",
                   kept == self.credential_id and "include:_spf.google.com" in spf, {"picked": kept, "spf": spf})
        stops: list[dict] = []
        self.tab_until(a, lambda f: f["name"] == f"Check DNS for {DOMAIN}", "Check DNS", stops)
        a.keys(Keys.ENTER)
        a.wait(lambda: a.results_of(DOMAIN) and a.active()["name"] == f"Check DNS for {DOMAIN}", "the results, the focus back on Check DNS", timeout=40)
        results = a.results_of(DOMAIN)
        self.check("10. keyboard: Tab to Check DNS, Enter: the results show (the rotated key published: all 4 Match) and the focus stays on Check DNS",
                   a.active()["name"] == f"Check DNS for {DOMAIN}" and a.active()["visible"] and len(results) == 4
                   and all(r["status"] == "match" for r in results), {"focus": a.active(), "results": [(r["record"], r["selector"], r["status"]) for r in results]})
        self.tab_until(a, lambda f: f["name"] == f"Add key to {DOMAIN}", "Add key", stops)
        a.keys(Keys.ENTER)
        a.wait(lambda: a.dialog() is not None and a.active()["inDialog"], "the dialog with the focus in it")
        opened = a.active()
        inside = []
        for _ in range(12):
            a.keys(Keys.TAB)
            inside.append(a.active())
        a.keys(Keys.ESCAPE)
        a.wait(lambda: a.dialog() is None, "Esc to close the dialog", timeout=5)
        back = a.active()
        self.check("10. keyboard: Enter on Add key opens the dialog with the focus on Selector; Tab stays inside; Esc gives the focus back to Add key",
                   opened["name"].startswith("Selector") and all(s["inDialog"] for s in inside) and back["name"] == f"Add key to {DOMAIN}" and back["visible"],
                   {"opened": opened["name"], "escaped": [s["name"] for s in inside if not s["inDialog"]], "back": back})
        self.tab_until(a, lambda f: f["name"] == "SMTP credential that sends", "the credential picker", stops)
        unseen = sorted({f"{s['tag']} {s['name']!r}" for s in stops + inside if not s["visible"] and not s["body"]})
        self.check("10. keyboard: every Tab stop on the page and in the dialog shows a focus ring", not unseen, unseen)

    # ---- 11. A member -----------------------------------------------------------------------------

    def step_member(self) -> None:
        a = self.a
        a.at("member")
        invite = self.api("POST", "/api/v1/invites", {"role": "member", "email": MEMBER["email"]})
        token = invite.json.get("url", "").partition("#")[2]
        accepted = self.client.request("POST", "/api/v1/invites/accept", body={"token": token, **{k: MEMBER[k] for k in ("email", "name", "password")}})
        member = next((m.group(1) for c in accepted.headers_named("Set-Cookie") if (m := re.match(r"posthorn_session=([^;]+)", c))), "")
        self.check("11. a member joins through an invitation (a session cookie)", accepted.status == 200 and member, f"{accepted.status} {accepted.text[:200]}")
        a.driver.delete_cookie("posthorn_session")
        a.driver.add_cookie({"name": "posthorn_session", "value": member, "path": "/", "httpOnly": True, "sameSite": "Strict"})
        try:
            a.get("/domains")
            self.wait_page(a)
            a.wait(lambda: a.tile(DOMAIN), "the card")
            main = a.driver.find_element(By.TAG_NAME, "main")
            buttons = a.texts("main button")
            labels = [b.get_attribute("aria-label") or b.text for b in main.find_elements(By.TAG_NAME, "button")]
            admin_only = [x for x in labels + buttons if re.match(r"(Add domain|Add key|Activate|Remove)", x or "")]
            self.check("11. a member sees the domain, its keys and records, and no admin action (Add domain, Add key, Activate, Remove)",
                       not admin_only and len(a.keys_of(DOMAIN)) == 2 and all(k["value"] for k in a.keys_of(DOMAIN)), {"admin actions": admin_only})
            results = self.check_dns(a)
            self.check("11. a member may Check DNS (a result for every record; both DKIM keys Match)",
                       len(results) == 4 and [r["status"] for r in results if r["record"] == "dkim"] == ["match", "match"],
                       [(r["record"], r["status"]) for r in results])
            note = a.text_of(f"main .domain .tile__footer")
            self.check("11. the card says that only admins change keys", "Only workspace admins" in note, note)
        finally:
            a.settle()
            a.driver.delete_cookie("posthorn_session")
            a.driver.add_cookie({"name": "posthorn_session", "value": self.session, "path": "/", "httpOnly": True, "sameSite": "Strict"})

    # ---- 13. Screenshots ---------------------------------------------------------------------------

    def step_screenshots(self) -> None:
        a = self.a
        a.at("screenshots")
        a.get("/domains")
        self.wait_page(a)
        a.wait(lambda: a.tile(DOMAIN), "the card")
        self.check_dns(a)
        a.driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
        ActionChains(a.driver).move_to_element(a.driver.find_element(By.TAG_NAME, "h1")).perform()  # no hover left on a button
        self.shots(a, "domains", [("light", "desktop"), ("dark", "desktop"), ("light", "phone"), ("dark", "phone")])

    # ---- 12. Console -------------------------------------------------------------------------------

    def step_console(self) -> None:
        for browser in self.browsers:
            browser.harvest()
        csp, errors, expected = [], [], []
        for browser in self.browsers:
            for step, entry in browser.console:
                message = entry.get("message", "")
                if "Content Security Policy" in message or "Content-Security-Policy" in message:
                    csp.append(f"{browser.label}/{step}: {message}")
                    continue
                if entry.get("level") != "SEVERE":
                    continue
                match = re.match(r"(\S+) - Failed to load resource: the server responded with a status of (\d+)", message)
                if match:
                    path, status = urllib.parse.urlsplit(match.group(1)).path, int(match.group(2))
                    if (path, status) in self.EXPECTED_FAILED_LOADS.get(step, set()):
                        expected.append(f"{status} {path} at '{step}'")
                        continue
                errors.append(f"{browser.label}/{step}: {message}")
        self.check("12. no CSP violation in the console", not csp, csp)
        self.check(f"12. no error in the console (besides {len(expected)} expected failed loads: {', '.join(expected) or 'none'})", not errors, errors)

    # ---- Running it all ----------------------------------------------------------------------------

    def run(self) -> int:
        started = time.monotonic()
        self.dns = FakeDNS()
        problems = self_test_dns(self.dns)
        self.check("the fake DNS server answers TXT over UDP and TCP, truncates for UDP, NXDOMAIN otherwise (self-test)", not problems, problems)
        try:
            self.server = Server(self.binary, self.work, self.dns.address)
        except RuntimeError as error:
            self.dns.stop()
            self.check("posthorn serve starts (with --dns-resolver)", False, error)
            print(f"{self.checks.passed} passed, {self.checks.failed} failed")
            return 1
        self.client = wb.Client(self.server.port)
        self.session = self.workspace = self.credential_id = self.domain_id = ""
        self.rsa = self.ed = self.rsa2 = self.tailored = {}
        try:
            try:
                self.a = self.browser("owner")
            except WebDriverException as error:
                self.a = None
                self.check("headless Chromium starts under chromedriver", False, str(error).splitlines()[0])
            steps = [] if self.a is None else [
                ("sign in", self.sign_in),
                ("1. sidebar, address, empty state", self.step_sidebar),
                ("2./3. bad domain, then RSA", self.step_add_rsa),
                ("4. Ed25519 key", self.step_add_ed25519),
                ("5. copy buttons", self.step_copy),
                ("6. check DNS: missing", self.step_check_missing),
                ("6. check DNS: mismatch", self.step_check_mismatch),
                ("7. SPF for a credential", self.step_credential),
                ("6. check DNS: match", self.step_check_match),
                ("8. rotation", self.step_rotate),
                ("9. remove a key", self.step_remove_key),
                ("9. import a PEM key", self.step_import),
                ("9. remove a domain", self.step_remove_domain),
                ("10. keyboard", self.step_keyboard),
                ("11. member", self.step_member),
            ]
            if self.screenshots:
                steps.append(("13. screenshots", self.step_screenshots))
            steps.append(("12. console", self.step_console))
            for name, body in steps:
                self.guarded(name, body)
        finally:
            for browser in self.browsers:
                browser.quit()
            code = self.server.stop()
            self.dns.stop()
        self.check("posthorn serve stops cleanly on SIGTERM", code == 0, f"exit {code}")
        if self.checks.failed:
            print("--- last lines of the server's log ---")
            print(self.server.log_tail(20))
        if self.screenshots:
            print(f"screenshots written to {SCREENSHOTS.relative_to(REPO)}/")
        print(f"took {time.monotonic() - started:.0f} s")
        print(f"{self.checks.passed} passed, {self.checks.failed} failed")
        return 1 if self.checks.failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("posthorn", help="path to the posthorn binary (its Posthorn_*.resources beside it)")
    parser.add_argument("--screenshots", action="store_true", help="also write docs/screenshots/domains-*.png")
    args = parser.parse_args()

    found = wb.browser_or_fail()
    if found is None:
        return 1
    chromium, chromedriver = found
    with tempfile.TemporaryDirectory(prefix="posthorn-domains-") as tmp:
        return DomainsCheck(args.posthorn, Path(tmp), chromium, chromedriver, args.screenshots).run()


if __name__ == "__main__":
    sys.exit(main())
