#!/usr/bin/env python3
"""Round-trip interop check for `posthorn send --dry-run`.

Usage:
    python3 scripts/interop/mime_roundtrip.py PATH_TO_POSTHORN [--only SUBSTRING] [--keep DIR]

For every case in the corpus below the CLI is run (argument list, never a shell), its stdout is
parsed with Python's own MIME parser (`email.policy.default`) and every header, body part,
attachment and inline image must decode back to exactly what was put in. The raw bytes are also
checked against the wire rules (CRLF everywhere, line lengths, 7-bit clean, strict base64 and
quoted-printable). A table of invalid inputs must be refused: non-zero exit, one line on stderr,
nothing on stdout.

Prints `ok  NAME` or `FAIL NAME: reasons` per case, then `N passed, M failed`; exits 1 on any
failure. `--keep DIR` writes each case's argv (shell-quoted) and raw output there for bug reports.
Standard library only (Python 3.11).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email
import email.policy
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

UTC = dt.timezone.utc
RNG = random.Random(20261125)  # fixed seed: the corpus is the same on every run


def rand_bytes(n: int) -> bytes:
    return RNG.randbytes(n)


# --------------------------------------------------------------------------------------------
# Case model
# --------------------------------------------------------------------------------------------

Addrs = list[tuple[str, str]]  # (display_name, addr_spec with A-label domain)


@dataclass
class Att:
    """An attachment. kind: 'file' (--attach), 'b64' (--attach-base64) or 'inline' (--inline)."""

    kind: str
    filename: str
    data: bytes
    ctype: str
    cid: str | None = None


@dataclass
class Case:
    name: str
    from_: tuple[str, Addrs] = ("Sender <sender@example.com>", [("Sender", "sender@example.com")])
    to: tuple[str, Addrs] | None = ("rcpt@example.com", [("", "rcpt@example.com")])
    cc: tuple[str, Addrs] | None = None
    bcc: tuple[str, list[str]] | None = None  # (argument, addr_specs that must not appear anywhere)
    reply_to: tuple[str, Addrs] | None = None
    subject: str | None = "Round trip"
    fmt: str | None = None  # --body-format; None = not passed (text)
    body: str | None = None
    html: str | None = None
    body_file: str | None = None  # written to a file, passed with --body-file
    html_file: str | None = None  # written to a file, passed with --html-body-file
    priority: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    atts: list[Att] = field(default_factory=list)
    message_id: tuple[str, str] | None = None  # (argument, expected header value)
    date: tuple[str, dt.datetime] | None = None  # (argument, expected instant)
    root: set[str] | None = None  # override of the derived root content types
    extra: list[tuple[str, str]] = field(default_factory=list)  # more (flag, value) arguments
    expect: dict[str, str] = field(default_factory=dict)  # header → its value as Python reads it

    # ---- derived expectations -------------------------------------------------------------

    def text_in(self) -> str | None:
        return self.body if self.body is not None else self.body_file

    def html_in(self) -> str | None:
        return self.html if self.html is not None else self.html_file

    def expected_bodies(self) -> tuple[str | None, str | None]:
        """(plain, html) the message must carry; None = no such body part."""
        text, html = self.text_in(), self.html_in()
        if (self.fmt or "text") == "html" and html:
            return (text if text else None), html
        return (text or ""), None

    def regular(self) -> list[Att]:
        return [a for a in self.atts if a.kind != "inline"]

    def inline(self) -> list[Att]:
        return [a for a in self.atts if a.kind == "inline"]

    def expected_roots(self) -> set[str]:
        if self.root:
            return self.root
        plain, html = self.expected_bodies()
        if self.regular():
            return {"multipart/mixed"}
        if self.inline():
            # related around the html; with a text alternative either nesting is legitimate
            return {"multipart/related"} if plain is None else {"multipart/related", "multipart/alternative"}
        if html is not None and plain is not None:
            return {"multipart/alternative"}
        return {"text/html"} if html is not None else {"text/plain"}


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------

D0 = ("2026-11-25T10:00:00Z", dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC))

LOREM = ("Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua ").split()


def words_to(n: int) -> str:
    """ASCII words joined by single spaces, exactly n characters, no edge spaces."""
    out, i = "", 0
    while len(out) < n:
        out += ("" if not out else " ") + LOREM[i % len(LOREM)]
        i += 1
    out = out[:n]
    return out[:-1] + "x" if out.endswith(" ") else out


def unicode_to(n: int) -> str:
    chunks = ["Ελληνικά", "Русский", "العربية", "עברית", "中文字符", "日本語テキスト", "한국어",
              "हिन्दी", "ภาษาไทย", "Ünïcödé", "emoji🎉"]
    out, i = "", 0
    while len(out) < n:
        out += ("" if not out else " ") + chunks[i % len(chunks)]
        i += 1
    out = out[:n]
    return out[:-1] + "x" if out.endswith(" ") else out


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def corpus() -> list[Case]:
    c: list[Case] = []

    # ---- basics ---------------------------------------------------------------------------
    c.append(Case("plain_ascii", subject="Hello world", body="Hi there,\nthis is a test.\n",
                  message_id=("<abc.123@example.com>", "<abc.123@example.com>"), date=D0))
    c.append(Case("message_id_without_brackets", body="x\n",
                  message_id=("no-brackets.42@example.com", "<no-brackets.42@example.com>")))
    c.append(Case("date_with_offset", body="x\n",
                  date=("2026-03-01T23:30:00+02:00", dt.datetime(2026, 3, 1, 21, 30, tzinfo=UTC))))
    c.append(Case("date_leap_day_negative_offset", body="x\n",
                  date=("2028-02-29T00:00:00-05:00", dt.datetime(2028, 2, 29, 5, 0, tzinfo=UTC))))

    # ---- addresses ------------------------------------------------------------------------
    c.append(Case(
        "display_names_needing_quotes",
        from_=('"Doe, Jane" <jane@example.com>', [("Doe, Jane", "jane@example.com")]),
        to=('"Doe, Jane" <jane@example.com>, bob@example.com, "Jane \\"JJ\\" Doe" <jj@example.com>, '
            '"J. R. R. Tolkien" <jrr@example.com>',
            [("Doe, Jane", "jane@example.com"), ("", "bob@example.com"),
             ('Jane "JJ" Doe', "jj@example.com"), ("J. R. R. Tolkien", "jrr@example.com")]),
        cc=('"back\\\\slash" <bs@example.com>, "O\'Brien; Pat (admin)" <pat@example.com>, '
            '"Müller, Hans" <hans@example.de>',
            [("back\\slash", "bs@example.com"), ("O'Brien; Pat (admin)", "pat@example.com"),
             ("Müller, Hans", "hans@example.de")]),
        reply_to=('"Support: Tier 2" <support@example.com>', [("Support: Tier 2", "support@example.com")]),
        bcc=('"Hidden, Person" <hidden1@example.net>, hidden2@example.net',
             ["hidden1@example.net", "hidden2@example.net"]),
        body="Quoting test.\n", date=D0))
    c.append(Case(
        "address_forms_spacing",
        to=('  Bob Smith <bob@example.com> ,alice@example.com,<carol@example.com>  ',
            [("Bob Smith", "bob@example.com"), ("", "alice@example.com"), ("", "carol@example.com")]),
        body="x\n"))
    c.append(Case(
        "display_name_encoded_word_lookalike",
        from_=('"=?utf-8?q?Boss?=" <boss@example.com>', [("=?utf-8?q?Boss?=", "boss@example.com")]),
        body="x\n"))
    many = [(f"Recipient Number {i:02d}", f"recipient.{i:02d}@subdomain.example.org") for i in range(30)]
    c.append(Case(
        "thirty_recipients_folding",
        to=(", ".join(f"{n} <{a}>" for n, a in many), many),
        cc=(", ".join(a for _, a in many[:10]), [("", a) for _, a in many[:10]]),
        bcc=(", ".join(f"b{i}@bcc.example" for i in range(20)), [f"b{i}@bcc.example" for i in range(20)]),
        body="x\n"))
    c.append(Case(
        "idn_domains",
        from_=("Müller <noreply@mañana.example>", [("Müller", "noreply@xn--maana-pta.example")]),
        to=("juergen@bücher.example, Hans <info@münchen.de>, user@例え.テスト, test@παράδειγμα.δοκιμή, "
            "x@xn--bcher-kva.example",
            [("", "juergen@xn--bcher-kva.example"), ("Hans", "info@xn--mnchen-3ya.de"),
             ("", "user@xn--r8jz45g.xn--zckzah"), ("", "test@xn--hxajbheg2az3al.xn--jxalpdlp"),
             ("", "x@xn--bcher-kva.example")]),
        cc=("info@日本語.example, mail@उदाहरण.example, a@ตัวอย่าง.example, b@مثال.example, c@דוגמה.example",
            [("", "info@xn--wgv71a119e.example"), ("", "mail@xn--p1b6ci4b4b3a.example"),
             ("", "a@xn--72c1a1bt4awk9o.example"), ("", "b@xn--mgbh0fb.example"),
             ("", "c@xn--6dbbec0c.example")]),
        reply_to=('"Иван" <ivan@пример.испытание>', [("Иван", "ivan@xn--e1afmkfd.xn--80akhbyknj4f")]),
        bcc=("secret@bücher.example", ["secret@xn--bcher-kva.example", "secret@bücher.example"]),
        subject="IDN", body="x\n"))
    c.append(Case(
        "idn_sharp_s_idna2008",  # IDNA2008/UTS 46 nontransitional keeps ß (IDNA2003 mapped it to ss)
        to=("info@faß.example", [("", "info@xn--fa-hia.example")]), body="x\n"))

    # ---- scripts: names and subjects -------------------------------------------------------
    scripts = [
        ("latin_accents", "José Müller <jose@example.com>", ("José Müller", "jose@example.com"),
         "Façade déjà vu – naïve café, Ærøskøbing, Łódź, Đorđe"),
        ("greek", "Αλέξανδρος Παπαδόπουλος <alex@example.gr>",
         ("Αλέξανδρος Παπαδόπουλος", "alex@example.gr"), "Καλημέρα κόσμε — δοκιμή θέματος"),
        ("cyrillic", "Иван Петров <ivan@example.ru>", ("Иван Петров", "ivan@example.ru"),
         "Привет, мир! Съешь же ещё этих мягких французских булок"),
        ("arabic", "محمد علي <mohammed@example.com>", ("محمد علي", "mohammed@example.com"),
         "مرحبا بالعالم: اختبار الموضوع ١٢٣"),
        ("hebrew", "דוד כהן <david@example.co.il>", ("דוד כהן", "david@example.co.il"),
         "שלום עולם — בדיקה 123 mixed"),
        ("cjk", "山田太郎 <yamada@example.jp>", ("山田太郎", "yamada@example.jp"),
         "日本語の件名です。中文主题。한국어 제목"),
        ("hindi", "राहुल शर्मा <rahul@example.in>", ("राहुल शर्मा", "rahul@example.in"),
         "नमस्ते दुनिया — क्षत्रिय ज्ञान"),
        ("thai", "สมชาย ใจดี <somchai@example.th>", ("สมชาย ใจดี", "somchai@example.th"),
         "สวัสดีชาวโลก ทดสอบหัวเรื่อง"),
    ]
    for tag, arg, exp, subj in scripts:
        c.append(Case(f"script_{tag}", from_=(arg, [exp]),
                      to=(f'"{exp[0]} (copy)" <copy@example.com>', [(f"{exp[0]} (copy)", "copy@example.com")]),
                      subject=subj, body=f"{subj}\n{subj}\n", date=D0))
    c.append(Case(
        "emoji_zwj_flags",
        from_=('"🦄 Unicorn Team" <team@example.com>', [("🦄 Unicorn Team", "team@example.com")]),
        to=("👩‍👩‍👧‍👦 Family <family@example.com>", [("👩‍👩‍👧‍👦 Family", "family@example.com")]),
        subject="Party 🎉 👩‍👩‍👧‍👦 🏳️‍🌈 🏴‍☠️ 🇩🇪🇯🇵🇺🇸 👍🏽 ❤️ 🧑‍💻",
        body="Flags 🇩🇪🇯🇵 family 👩‍👩‍👧‍👦 rainbow 🏳️‍🌈 skin 👍🏽\n"))
    c.append(Case("subject_nfd_not_normalised", subject="Cafe\u0301 Zo\u0308e A\u030a", body="x\n"))
    c.append(Case("subject_mixed_rtl", subject="Hello שלום مرحبا 123 end", body="x\n"))

    # ---- subjects --------------------------------------------------------------------------
    c.append(Case("subject_900_ascii_words", subject=words_to(900), body="x\n"))
    c.append(Case("subject_900_unicode", subject=unicode_to(900), body="x\n"))
    c.append(Case("subject_900_no_spaces", subject=("Ab1" * 300), body="x\n"))
    c.append(Case("subject_spaces", subject="  leading, double  spaces and trailing  ", body="x\n"))
    c.append(Case("subject_empty", subject="", body="x\n"))
    c.append(Case("subject_encoded_word_lookalike", subject="=?utf-8?q?x?=", body="x\n"))
    c.append(Case("subject_encoded_word_embedded",
                  subject="Re: =?UTF-8?B?SGk=?= and price=?utf-8?q?x?=end", body="x\n"))
    c.append(Case("subject_ascii_specials",
                  subject='100% =?= _under_score_ ?question? "quotes" (parens) <angles> a;b,c:d \\ end',
                  body="x\n"))

    # ---- text bodies -----------------------------------------------------------------------
    c.append(Case("body_long_lines", subject="Long lines",
                  body=("word " * 500).rstrip() + "\n" + "x" * 2500 + "\n" + "ü" * 2000 + "\n"
                       + ("ab€ " * 600) + "\nend\n"))
    c.append(Case("body_dot_lines", body="first\n.\nsecond\n..\n.leading dot\n. space\n...\nlast\n"))
    c.append(Case("body_dot_last_line_no_newline", body="text\n."))
    c.append(Case("body_from_lines", body="From the desk of the CEO\nFrom: someone\n>From quoted\nFrom\n"))
    c.append(Case("body_trailing_whitespace",
                  body="spaces   \ntab\t\nboth \t \n \n\t\nend  \n"))
    c.append(Case("body_mixed_line_endings", body="crlf\r\nlf\ncr\rcrcr\r\rlflf\n\nend\r\n"))
    c.append(Case("body_empty_omitted"))
    c.append(Case("body_empty_explicit", body=""))
    c.append(Case("body_no_trailing_newline", body="no newline at the end"))
    c.append(Case("body_only_non_ascii",
                  body="Съешь же ещё этих мягких французских булок, да выпей чаю.\n"
                       "日本語のテキストです。中文文本。한국어 텍스트.\nΕλληνικά κείμενα\n"))
    c.append(Case("body_mostly_ascii",
                  body="Dear customer,\n\nyour café order (naïve blend) costs 12 € = 13.10 $.\n"
                       "Formula: a=b+c; x = 3D; soft=\nTabs\there.\n"))
    qp_edges = []
    for n in range(70, 81):
        qp_edges.append("a" * (n - 1) + " ")       # trailing space exactly at the fold region
        qp_edges.append("b" * (n - 2) + "=c")      # '=' near the fold
        qp_edges.append("c" * (n - 3) + "é")       # multibyte char across the fold
        qp_edges.append("d" * (n - 1) + "\t")
    c.append(Case("body_qp_fold_edges", body="\n".join(qp_edges) + "\n"))
    c.append(Case("body_boundary_lookalikes",
                  body="--\n--=_posthorn\n-- \n--boundary--\n------=_Part_0\n", fmt="html",
                  html="<p>--</p>\n--=_posthorn\n--\n"))
    c.append(Case("body_file_crlf", body_file="from a file\r\nwith CRLF\r\nand ünïcödé\r\n"))

    # ---- html ------------------------------------------------------------------------------
    c.append(Case("html_only", fmt="html",
                  html="<html><body><h1>Héllo</h1><p>Ünïcödé — 日本語</p>\n<p>.</p>\n.\n</body></html>\n"))
    c.append(Case("text_and_html", fmt="html", body="Plain alternative ü\n.\n",
                  html="<p>HTML <b>version</b> ü</p>\n", date=D0))
    c.append(Case("html_empty_falls_back_to_text", fmt="html", body="fallback text\n", html=""))
    c.append(Case("html_given_but_format_text", body="text wins\n", html="<p>ignored</p>"))
    c.append(Case("html_long_minified_line", fmt="html",
                  html="<div>" + "<span class=\"c\">ä</span>" * 150 + "</div>" + "<p>" + "y" * 3000 + "</p>\n"))
    c.append(Case("html_body_file", fmt="html", html_file="<p>from file</p>\r\n<p>Ω</p>\r\n",
                  body_file="from file text\n"))

    # ---- priority and custom headers --------------------------------------------------------
    for p in ("low", "normal", "high"):
        c.append(Case(f"priority_{p}", priority=p, body="x\n"))
    thread = [f"<m{i}.{'x' * 20}@mail.example.com>" for i in range(40)]
    c.append(Case("thread_and_unsubscribe", body="x\n", extra=[
        ("--in-reply-to", thread[-1]), ("--references", " ".join(thread)),
        ("--list-unsubscribe", "mailto:unsubscribe@example.com?subject=stop, https://example.com/u/123")],
        expect={"in-reply-to": thread[-1], "references": " ".join(thread),
                "list-unsubscribe": "<mailto:unsubscribe@example.com?subject=stop>, <https://example.com/u/123>",
                "list-unsubscribe-post": "List-Unsubscribe=One-Click"}))
    c.append(Case("reply_without_brackets_mailto_only", body="x\n", extra=[
        ("--in-reply-to", "abc@example.com"), ("--list-unsubscribe", "mailto:u@example.com")],
        expect={"in-reply-to": "<abc@example.com>", "list-unsubscribe": "<mailto:u@example.com>"}))
    c.append(Case("custom_headers", body="x\n", headers=[
        ("X-Campaign", "spring-2026"),
        ("X-Unicode", "Grüße 👋 мир"),
        ("X-Long", words_to(400)),
        ("x-lower-case", "value"),
        ("X-Double-Space", "a  b   c"),
        ("List-Unsubscribe", "<mailto:unsub@example.com>, <https://example.com/u?id=1>"),
        ("X-Encoded-Lookalike", "=?utf-8?q?x?="),
        ("X-Repeated", "one"),
        ("X-Repeated", "two"),
    ]))
    c.append(Case("custom_header_long_token", body="x\n",
                  headers=[("X-Token", "tok" * 100), ("X-Url", "https://example.com/" + "p/" * 60 + "?q=1")]))
    c.append(Case("fifty_custom_headers", body="x\n",
                  headers=[(f"X-Custom-{i:02d}", f"value {i}") for i in range(1, 51)]))

    # ---- attachments -----------------------------------------------------------------------
    sizes = [0, 1, 2, 3, 57, 58, 1000, 100_000]
    c.append(Case("attach_file_sizes", body="see attachments\n",
                  atts=[Att("file", f"random_{n}.bin", rand_bytes(n), "application/octet-stream") for n in sizes]))
    c.append(Case("attach_base64_sizes", body="see attachments\n",
                  atts=[Att("b64", f"b64_{n}.bin", rand_bytes(n), "application/octet-stream")
                        for n in sizes if n not in (0, 100_000)]
                  + [Att("b64", "b64_60000.bin", rand_bytes(60_000), "application/octet-stream")]))
    c.append(Case("attach_base64_empty", body="x\n",
                  atts=[Att("b64", "empty.bin", b"", "application/octet-stream")]))
    c.append(Case("attach_content_types", body="types\n", atts=[
        Att("file", "report.pdf", b"%PDF-1.7\n" + rand_bytes(300), "application/pdf"),
        Att("file", "image.png", PNG + rand_bytes(200), "image/png"),
        Att("file", "notes.txt", "line1\nline2\r\nline3 ünï\rno newline".encode(), "text/plain"),
        Att("file", "data.csv", b"a,b,c\n1,2,3\n", "text/csv"),
        Att("file", "data.json", b'{"k": [1, 2, "\xc3\xa9"]}\n', "application/json"),
        Att("file", "archive.zip", b"PK\x03\x04" + rand_bytes(100), "application/zip"),
        Att("file", "mystery.xyz", rand_bytes(64), "application/octet-stream"),
        Att("file", "README", b"no extension\n", "application/octet-stream"),
        Att("b64", "inline-named.pdf", b"%PDF-1.4\n" + rand_bytes(50), "application/pdf"),
        Att("b64", "b64.json", b"[]", "application/json"),
    ]))
    c.append(Case("attach_extension_uppercase", body="x\n", atts=[
        Att("file", "REPORT.PDF", b"%PDF" + rand_bytes(20), "application/pdf"),
        Att("b64", "Photo.PNG", PNG + rand_bytes(20), "image/png"),
    ]))
    unicode_names = ["Grüße aus Köln.txt", "Ελληνικά αρχείο.pdf", "Русский файл.csv", "تقرير مالي.pdf",
                     "דוח שנתי.png", "報告書_2026.json", "रिपोर्ट.zip", "รายงาน.txt", "😀 emoji 👩‍👩‍👧.bin",
                     "Cafe\u0301 nfd.txt"]
    exts = {"txt": "text/plain", "pdf": "application/pdf", "csv": "text/csv", "png": "image/png",
            "json": "application/json", "zip": "application/zip", "bin": "application/octet-stream"}
    c.append(Case("attach_unicode_names_file", body="x\n",
                  atts=[Att("file", n, rand_bytes(40), exts[n.rsplit(".", 1)[1]]) for n in unicode_names]))
    c.append(Case("attach_unicode_names_base64", body="x\n",
                  atts=[Att("b64", n, rand_bytes(40), exts[n.rsplit(".", 1)[1]]) for n in unicode_names]))
    long_ascii = "a very long attachment name " * 5 + "with more words to pass 100 chars.pdf"
    long_plain = "x" * 140 + ".bin"
    long_uni = "Ünïcödé-Dätëï-" * 8 + "ende.txt"          # 120 chars, 2-byte UTF-8 mostly
    long_cjk = "長いファイル名のテスト" * 18 + ".json"     # ~200 chars (base64 only: too long for a file system)
    c.append(Case("attach_awkward_names", body="x\n", atts=[
        Att("file", "my report (final) v2.pdf", rand_bytes(10), "application/pdf"),
        Att("file", '"quoted" name.txt', b"q", "text/plain"),
        Att("file", "it's a file.csv", b"x,y\n", "text/csv"),
        Att("file", "semi;colon=equals.json", b"{}", "application/json"),
        Att("file", "back\\slash.txt", b"bs", "text/plain"),
        Att("file", "percent%20encoded.txt", b"p", "text/plain"),
        Att("file", "star*name.zip", b"PK", "application/zip"),
        Att("file", "=?utf-8?q?fake?=.txt", b"ew", "text/plain"),
        Att("file", "two  spaces.txt", b"2", "text/plain"),
        Att("file", long_ascii, rand_bytes(10), "application/pdf"),
        Att("file", long_plain, rand_bytes(10), "application/octet-stream"),
        Att("file", long_uni, b"u", "text/plain"),
        Att("b64", long_cjk, b"[1]", "application/json"),
        Att("b64", 'quote " inside.pdf', b"%PDF", "application/pdf"),
    ]))
    logo = PNG + rand_bytes(500)
    banner = PNG + rand_bytes(3000)
    c.append(Case("html_inline_only", fmt="html",
                  html='<p>Logo: <img src="cid:logo@posthorn.example"></p>\n',
                  atts=[Att("inline", "logo.png", logo, "image/png", cid="logo@posthorn.example")]))
    c.append(Case("text_html_inline", fmt="html", body="Text version\n",
                  html='<p><img src="cid:logo@posthorn.example"><img src="cid:banner"></p>\n',
                  atts=[Att("inline", "logo.png", logo, "image/png", cid="logo@posthorn.example"),
                        Att("inline", "banner.png", banner, "image/png", cid="banner")]))
    c.append(Case(
        "html_inline_attachments_everything", fmt="html",
        from_=('"Posthorn Bot" <bot@bücher.example>', [("Posthorn Bot", "bot@xn--bcher-kva.example")]),
        to=('"Doe, Jane" <jane@example.com>', [("Doe, Jane", "jane@example.com")]),
        cc=("Иван <ivan@example.ru>", [("Иван", "ivan@example.ru")]),
        bcc=("audit@example.org", ["audit@example.org"]),
        reply_to=("replies@example.com", [("", "replies@example.com")]),
        subject="Everything 🎉 Ünïcödé", body="Text alternative\n.\nFrom here\n",
        html='<h1>Hi</h1><img src="cid:logo@posthorn.example">\n<p>Ünïcödé</p>\n',
        priority="high", headers=[("X-Campaign", "all")],
        message_id=("<everything@example.com>", "<everything@example.com>"), date=D0,
        atts=[Att("inline", "logo.png", logo, "image/png", cid="logo@posthorn.example"),
              Att("file", "Rechnung März.pdf", b"%PDF" + rand_bytes(5000), "application/pdf"),
              Att("b64", "daten.csv", "ä;ö\n1;2\n".encode(), "text/csv")]))
    c.append(Case("html_only_with_attachment", fmt="html", html="<p>see attached</p>\n",
                  atts=[Att("file", "a.zip", rand_bytes(99), "application/zip")]))
    c.append(Case("bcc_only_recipients", to=None,
                  bcc=("only@example.com, other@example.com", ["only@example.com", "other@example.com"]),
                  body="x\n"))
    return c


# --------------------------------------------------------------------------------------------
# Negative table: (name, flags replacing/adding to a valid base, regexes one of which the error must match)
# --------------------------------------------------------------------------------------------

BASE = {"--from": "a@example.com", "--to": "b@example.com", "--subject": "ok", "--body": "x"}


def negatives() -> list[tuple[str, dict[str, str], list[tuple[str, str]], list[str]]]:
    """(name, overrides of BASE, extra (flag, value) pairs, error keyword regexes)."""
    hdr = r"header"
    return [
        ("reject_subject_lf", {"--subject": "hello\nBcc: victim@example.com"}, [], [r"subject"]),
        ("reject_references_crlf", {}, [("--references", "<a@example.com>\r\nBcc: victim@example.com")],
         [r"references: Header value contains forbidden characters"]),
        ("reject_references_not_an_id", {}, [("--references", "<a@example.com> hello")], [r"references: References must be Message-IDs"]),
        ("reject_in_reply_to_not_an_id", {}, [("--in-reply-to", "yesterday's email")], [r"inReplyTo"]),
        ("reject_unsubscribe_http", {}, [("--list-unsubscribe", "http://example.com/u")], [r"listUnsubscribe"]),
        ("reject_unsubscribe_with_custom_header", {}, [("--list-unsubscribe", "mailto:u@example.com"),
                                                       ("--header", "List-Unsubscribe: <mailto:x@example.com>")], [hdr, r"reserved"]),
        ("reject_subject_crlf", {"--subject": "hello\r\nBcc: victim@example.com"}, [], [r"subject"]),
        ("reject_subject_cr", {"--subject": "a\rb"}, [], [r"subject"]),
        ("reject_subject_999", {"--subject": "s" * 999}, [], [r"subject"]),
        ("reject_header_from", {}, [("--header", "From: x")], [hdr, r"\bfrom\b"]),
        ("reject_header_bcc", {}, [("--header", "Bcc: x")], [hdr, r"\bbcc\b"]),
        ("reject_header_content_type_lowercase", {}, [("--header", "content-type: text/html")], [hdr]),
        ("reject_51_headers", {}, [("--header", f"X-H{i}: v") for i in range(51)], [hdr]),
        ("reject_header_value_crlf", {}, [("--header", "X-Test: ok\r\nBcc: victim@example.com")], [hdr]),
        ("reject_header_name_space", {}, [("--header", "X Bad: v")], [hdr]),
        ("reject_header_no_colon", {}, [("--header", "NoColon")], [hdr]),
        ("reject_two_from_addresses", {"--from": "a@example.com, c@example.com"}, [], [r"\bfrom\b"]),
        ("reject_lt_in_display_name", {"--from": "Jo<e <joe@example.com>"}, [], [r"\bfrom\b"]),
        ("reject_comment", {"--cc": "a@b.com (x)"}, [], [r"\bcc\b"]),
        ("reject_group", {"--to": "g: a@b.com;"}, [], [r"\bto\b", r"recipient"]),
        ("reject_quoted_local_part", {"--reply-to": '"john doe"@example.com'}, [], [r"reply"]),
    ]


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

def opt(flag: str, value: str) -> list[str]:
    # A value starting with "-" would be taken for an option; `--flag=value` keeps it a value.
    return [f"{flag}={value}"] if value.startswith("-") else [flag, value]


def build_argv(exe: str, case: Case, work: Path) -> list[str]:
    argv = [exe, "send", "--dry-run", "--from", case.from_[0]]
    for flag, val in (("--to", case.to), ("--cc", case.cc), ("--bcc", case.bcc), ("--reply-to", case.reply_to)):
        if val is not None:
            argv += [flag, val[0]]
    if case.subject is not None:
        argv += ["--subject", case.subject]
    if case.fmt is not None:
        argv += ["--body-format", case.fmt]
    if case.body is not None:
        argv += opt("--body", case.body)
    if case.html is not None:
        argv += opt("--html-body", case.html)
    if case.body_file is not None:
        p = work / "body.txt"
        p.write_bytes(case.body_file.encode())
        argv += ["--body-file", str(p)]
    if case.html_file is not None:
        p = work / "body.html"
        p.write_bytes(case.html_file.encode())
        argv += ["--html-body-file", str(p)]
    if case.priority is not None:
        argv += ["--priority", case.priority]
    for name, value in case.headers:
        argv += ["--header", f"{name}: {value}"]
    for flag, value in case.extra:
        argv += [flag, value]
    for i, a in enumerate(case.atts):
        if a.kind == "b64":
            argv += ["--attach-base64", f"{a.filename}={base64.b64encode(a.data).decode()}"]
        else:
            d = work / f"f{i}"
            d.mkdir()
            p = d / a.filename
            p.write_bytes(a.data)
            argv += (["--attach", str(p)] if a.kind == "file" else ["--inline", f"{a.cid}={p}"])
    if case.message_id is not None:
        argv += ["--message-id", case.message_id[0]]
    if case.date is not None:
        argv += ["--date", case.date[0]]
    return argv


def norm(s: str) -> str:
    return s.replace("\r\n", "\n").replace("\r", "\n")


def short(v: object, n: int = 90) -> str:
    r = repr(v)
    return r if len(r) <= n else r[: n - 20] + "…" + r[-17:]


# --------------------------------------------------------------------------------------------
# Wire-level invariants
# --------------------------------------------------------------------------------------------

FIELD_NAME = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
QP_LINE = re.compile(r"^(?:[\x21-\x3c\x3e-\x7e \t]|=[0-9A-F]{2})*=?$")
B64_LINE = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def header_line_ok(line: bytes) -> bool:
    """≤ 78 octets, or a single unbreakable token (after the field name) forces the length."""
    if len(line) <= 78:
        return True
    rest = line
    if line[:1] not in (b" ", b"\t"):
        m = FIELD_NAME.match(line)
        rest = line[m.end():] if m else line
    return len(rest.split()) <= 1


def raw_invariants(data: bytes, msg) -> list[str]:
    errs: list[str] = []
    if not data.endswith(b"\r\n"):
        errs.append("message does not end with CRLF")
    nul = data.find(b"\x00")
    if nul >= 0:
        errs.append(f"NUL byte at offset {nul}")
    hi = next((i for i, b in enumerate(data) if b >= 0x80), None)
    if hi is not None:
        errs.append(f"8-bit byte at offset {hi}: {short(data[max(0, hi - 30):hi + 10])}")
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    boundaries = {p.get_boundary().encode("ascii", "replace") for p in msg.walk()
                  if p.is_multipart() and p.get_boundary()}
    state = "header"
    for no, line in enumerate(lines, 1):
        if b"\r" in line or b"\n" in line:
            errs.append(f"line {no}: bare CR or LF")
            break
        if len(line) > 998:
            errs.append(f"line {no}: {len(line)} octets > 998")
        if state == "header":
            if line == b"":
                state = "body"
            elif line[:1] in (b" ", b"\t"):
                if not line.strip():
                    errs.append(f"line {no}: whitespace-only folded header line")
                if not header_line_ok(line):
                    errs.append(f"line {no}: header line of {len(line)} octets > 78: {short(line)}")
            elif not FIELD_NAME.match(line):
                errs.append(f"line {no}: malformed header line {short(line)}")
            elif not header_line_ok(line):
                errs.append(f"line {no}: header line of {len(line)} octets > 78: {short(line)}")
        elif line.startswith(b"--"):
            tok = line[2:].rstrip(b" \t")
            if tok in boundaries:
                state = "header"
    # encoded body lines, checked per leaf part
    for part in msg.walk():
        if part.is_multipart():
            continue
        cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        payload = part.get_payload(decode=False)
        if not isinstance(payload, str):
            continue
        plines = payload.replace("\r\n", "\n").split("\n")
        if plines and plines[-1] == "":
            plines.pop()
        where = f"{part.get_content_type()} part ({cte})"
        if cte in ("base64", "quoted-printable"):
            long_ = [len(x) for x in plines if len(x) > 76]
            if long_:
                errs.append(f"{where}: {len(long_)} encoded line(s) > 76 (max {max(long_)})")
        if cte == "base64":
            bad = [x for x in plines if not B64_LINE.match(x)]
            joined = "".join(plines)
            if bad or len(joined) % 4:
                errs.append(f"{where}: not strict base64 ({short(bad[:1])}, total {len(joined)} chars)")
            else:
                try:
                    base64.b64decode(joined, validate=True)
                except binascii.Error as e:
                    errs.append(f"{where}: base64 does not decode strictly: {e}")
        elif cte == "quoted-printable":
            bad = [x for x in plines if not QP_LINE.match(x) or x.endswith((" ", "\t"))]
            if bad:
                errs.append(f"{where}: invalid quoted-printable line {short(bad[0])}")
        elif cte not in ("7bit", "8bit", "binary"):
            errs.append(f"{where}: unknown Content-Transfer-Encoding {cte!r}")
    return errs


# --------------------------------------------------------------------------------------------
# Semantic checks
# --------------------------------------------------------------------------------------------

PRIORITY = {"high": ("1 (Highest)", "High", "High"), "normal": ("3 (Normal)", "Normal", "Normal"),
            "low": ("5 (Lowest)", "Low", "Low")}


def leaves(part, parent=None):
    """(leaf, parent) pairs in tree order."""
    if part.is_multipart():
        for sub in part.get_payload():
            yield from leaves(sub, part)
    else:
        yield part, parent


def part_bytes(p) -> bytes:
    # get_content() returns str for text/* parts; attachments must compare as bytes.
    if p.get_content_maintype() == "text":
        return p.get_payload(decode=True) or b""
    return p.get_content()


def addresses(msg, name: str) -> list[tuple[str, str]] | None:
    h = msg[name]
    if h is None:
        return None
    return [(a.display_name, a.addr_spec) for a in h.addresses]


EW = r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?="
EW_GAP = re.compile(rf"({EW})[ \t\r\n]+(?={EW})")


def addresses_rfc2047(msg, name: str) -> list[tuple[str, str]] | None:
    """Like addresses(), but drops the linear whitespace between adjacent encoded-words first.

    RFC 2047 section 6.2 says that whitespace is ignored; Python 3.11's address parser keeps it in
    display names (CPython gh-128110, fixed in later versions), so a display name split across
    several encoded-words would otherwise decode with an extra space.
    """
    for k, v in msg.raw_items():
        if k.lower() == name.lower():
            fixed = "".join(EW_GAP.sub(r"\1", str(v)).splitlines())
            h = email.policy.default.header_factory(name, fixed)
            return [(a.display_name, a.addr_spec) for a in h.addresses]
    return None


def check_message(case: Case, data: bytes) -> list[str]:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    errs = raw_invariants(data, msg)

    # ---- headers ----
    for name in ("From", "Date", "Message-ID", "MIME-Version", "Content-Type"):
        n = len(msg.get_all(name) or [])
        if n != 1:
            errs.append(f"{name} header present {n} times")
    if str(msg.get("MIME-Version", "")).strip() != "1.0":
        errs.append(f"MIME-Version is {short(msg.get('MIME-Version'))}")
    for name, val in (("From", case.from_), ("To", case.to), ("Cc", case.cc), ("Reply-To", case.reply_to)):
        got = addresses(msg, name)
        if val is None:
            if name != "To" and got is not None:
                errs.append(f"{name} present but not given: {short(got)}")
            continue
        if len(msg.get_all(name) or []) != 1:
            errs.append(f"{name} header present {len(msg.get_all(name) or [])} times")
        if got != val[1] and addresses_rfc2047(msg, name) != val[1]:
            errs.append(f"{name}: expected {short(val[1], 200)}, got {short(got, 200)}")
    if msg.get_all("Bcc") is not None:
        errs.append("Bcc header present")
    if case.bcc is not None:
        low = data.lower()
        for a in case.bcc[1]:
            if a.lower().encode() in low:
                errs.append(f"Bcc address {a} appears in the message")
    if case.subject is not None:
        got = None if msg["subject"] is None else str(msg["subject"])
        if got != case.subject:
            errs.append(f"Subject: expected {short(case.subject)}, got {short(got)}")
        if len(msg.get_all("Subject") or []) != 1:
            errs.append("Subject header not present exactly once")
    by_name: dict[str, list[str]] = {}
    for name, value in case.headers:
        by_name.setdefault(name.lower(), []).append(value)
    for lname, values in by_name.items():
        got = [str(v) for v in (msg.get_all(lname) or [])]
        if got != values:
            errs.append(f"header {lname}: expected {short(values)}, got {short(got)}")
    for lname, value in case.expect.items():
        got = [" ".join(str(v).split()) for v in (msg.get_all(lname) or [])]
        if got != [value]:
            errs.append(f"header {lname}: expected [{value!r}], got {short(got)}")
    exp_p = PRIORITY[case.priority or "normal"]
    got_p = tuple(str(msg.get(h, "")) for h in ("X-Priority", "X-MSMail-Priority", "Importance"))
    if got_p != exp_p:
        errs.append(f"priority headers: expected {exp_p}, got {got_p}")
    mid = str(msg.get("Message-ID", "")).strip()
    if case.message_id is not None:
        if mid != case.message_id[1]:
            errs.append(f"Message-ID: expected {case.message_id[1]!r}, got {mid!r}")
    elif not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mid):
        errs.append(f"generated Message-ID malformed: {mid!r}")
    when = None
    try:
        when = msg["date"].datetime if msg["date"] is not None else None
    except Exception as e:  # noqa: BLE001 - report any parse failure
        errs.append(f"Date unparsable: {e}")
    if when is None:
        errs.append(f"Date missing or unparsable: {short(msg.get('Date'))}")
    elif case.date is not None:
        if when != case.date[1] or when.utcoffset() != dt.timedelta(0):
            errs.append(f"Date: expected {case.date[1].isoformat()}, got {when.isoformat()}")
        if not str(msg["date"]).rstrip().endswith("+0000"):
            errs.append(f"Date not rendered in +0000: {str(msg['date'])!r}")

    # ---- structure and bodies ----
    root = msg.get_content_type()
    if root not in case.expected_roots():
        errs.append(f"root is {root}, expected one of {sorted(case.expected_roots())}")
    exp_plain, exp_html = case.expected_bodies()
    for kind, exp in (("plain", exp_plain), ("html", exp_html)):
        part = msg.get_body((kind,))
        if exp is None:
            if part is not None:
                errs.append(f"unexpected text/{kind} body part")
            continue
        if part is None:
            errs.append(f"no text/{kind} body part")
            continue
        try:
            got = part.get_content()
        except Exception as e:  # noqa: BLE001
            errs.append(f"text/{kind} body does not decode: {e}")
            continue
        if norm(got) != norm(exp):
            a, b = norm(exp), norm(got)
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            errs.append(f"text/{kind} body differs at char {i} (expected len {len(a)}, got {len(b)}): "
                        f"expected {short(a[max(0, i - 15):i + 25])}, got {short(b[max(0, i - 15):i + 25])}")
    all_leaves = list(leaves(msg))
    n_exp = (exp_plain is not None) + (exp_html is not None) + len(case.atts)
    if len(all_leaves) != n_exp:
        errs.append(f"{len(all_leaves)} leaf parts, expected {n_exp}: "
                    f"{[p.get_content_type() for p, _ in all_leaves]}")

    # ---- attachments ----
    got_atts = list(msg.iter_attachments()) if root == "multipart/mixed" else []
    disp_atts = [p for p, _ in all_leaves if p.get_content_disposition() == "attachment"]
    if [id(p) for p in got_atts] != [id(p) for p in disp_atts]:
        errs.append(f"iter_attachments() gives {len(got_atts)} parts, "
                    f"{len(disp_atts)} leaves have disposition attachment")
    exp_atts = case.regular()
    if len(got_atts) != len(exp_atts):
        errs.append(f"{len(got_atts)} attachments, expected {len(exp_atts)}: "
                    f"{[short(p.get_filename(), 40) for p in got_atts]}")
    used: set[int] = set()
    last_file_idx = -1
    for a in exp_atts:
        idx = next((i for i, p in enumerate(got_atts) if i not in used and p.get_filename() == a.filename), None)
        if idx is None:
            errs.append(f"attachment {short(a.filename)} not found (names: "
                        f"{[short(p.get_filename(), 40) for p in got_atts]})")
            continue
        used.add(idx)
        p = got_atts[idx]
        if a.kind == "file":
            if idx < last_file_idx:
                errs.append(f"--attach order not kept at {short(a.filename)}")
            last_file_idx = idx
        if p.get_content_type() != a.ctype:
            errs.append(f"attachment {short(a.filename)}: type {p.get_content_type()}, expected {a.ctype}")
        try:
            got = part_bytes(p)
        except Exception as e:  # noqa: BLE001
            errs.append(f"attachment {short(a.filename)}: content does not decode: {e}")
            continue
        if got != a.data:
            errs.append(f"attachment {short(a.filename)}: {len(got)} bytes differ from the {len(a.data)} sent")

    # ---- inline images ----
    got_inline = {str(p.get("Content-ID")).strip(): (p, par)
                  for p, par in all_leaves if p.get("Content-ID") is not None}
    exp_inline = case.inline()
    if len(got_inline) != len(exp_inline):
        errs.append(f"{len(got_inline)} parts with Content-ID, expected {len(exp_inline)}")
    for a in exp_inline:
        if f"<{a.cid}>" not in got_inline:
            errs.append(f"no part with Content-ID <{a.cid}> (have {sorted(got_inline)})")
            continue
        p, par = got_inline[f"<{a.cid}>"]
        if par is None or par.get_content_type() != "multipart/related":
            errs.append(f"inline {a.cid}: parent is {par.get_content_type() if par else None}, not multipart/related")
        elif par.get_payload()[0].get_content_type() not in ("text/html", "multipart/alternative"):
            errs.append(f"inline {a.cid}: related root is {par.get_payload()[0].get_content_type()}")
        if p.get_content_disposition() != "inline":
            errs.append(f"inline {a.cid}: disposition {p.get_content_disposition()!r}")
        if p.get_content_type() != a.ctype:
            errs.append(f"inline {a.cid}: type {p.get_content_type()}, expected {a.ctype}")
        try:
            if part_bytes(p) != a.data:
                errs.append(f"inline {a.cid}: bytes differ")
        except Exception as e:  # noqa: BLE001
            errs.append(f"inline {a.cid}: content does not decode: {e}")

    # ---- parser defects (collected last: some are only registered while decoding) ----
    for part in msg.walk():
        for d in part.defects:
            errs.append(f"parser defect in {part.get_content_type()}: {type(d).__name__}: {d}")
        for k, v in part.items():
            for d in getattr(v, "defects", ()):
                errs.append(f"parser defect in header {k}: {type(d).__name__}: {d}")
    return errs


def smtputf8_check(exe: str) -> list[str]:
    """A non-ASCII local part is accepted (RFC 6531/6532): it appears raw in UTF-8 in the header,
    the domain still as an A-label, and a UTF-8-aware parser reads the address back exactly."""
    argv = [exe, "send", "--dry-run", "--from", "Jürgen <jürgen@bücher.example>", "--to", "用户@例子.广告",
            "--bcc", "δοκιμή@example.com", "--subject", "ok", "--body", "x\n"]
    r = subprocess.run(argv, capture_output=True, timeout=60)
    if r.returncode != 0:
        return [f"exit {r.returncode}: {short(r.stderr.decode('utf-8', 'replace'), 200)}"]
    errs = []
    text = r.stdout.decode("utf-8")
    msg = email.message_from_string(text, policy=email.policy.SMTPUTF8)
    got_from = [(a.display_name, a.addr_spec) for a in msg["from"].addresses]
    if got_from != [("Jürgen", "jürgen@xn--bcher-kva.example")]:
        errs.append(f"From decoded as {got_from}")
    got_to = [a.addr_spec for a in msg["to"].addresses]
    if got_to != ["用户@xn--fsqu00a.xn--4rr70v"]:
        errs.append(f"To decoded as {got_to}")
    if "δοκιμή" in text or msg["bcc"] is not None:
        errs.append("Bcc leaked into the message")
    return errs


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def main() -> int:
    args = sys.argv[1:]
    only = keep = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    if "--keep" in args:
        i = args.index("--keep")
        keep = Path(args[i + 1])
        del args[i:i + 2]
        keep.mkdir(parents=True, exist_ok=True)
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    exe = os.path.abspath(args[0])
    if not os.access(exe, os.X_OK):
        print(f"not an executable: {exe}", file=sys.stderr)
        return 2

    passed = failed = 0

    def report(name: str, errs: list[str]) -> None:
        nonlocal passed, failed
        if errs:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(errs[:8]) + (f"; (+{len(errs) - 8} more)" if len(errs) > 8 else ""))
        else:
            passed += 1
            print(f"ok  {name}")
        sys.stdout.flush()

    with tempfile.TemporaryDirectory(prefix="posthorn-mime-") as tmp:
        for case in corpus():
            if only and only not in case.name:
                continue
            work = Path(tmp) / case.name
            work.mkdir()
            argv = build_argv(exe, case, work)
            try:
                r = subprocess.run(argv, capture_output=True, timeout=120)
            except subprocess.TimeoutExpired:
                report(case.name, ["timed out after 120 s"])
                continue
            if keep:
                (keep / f"{case.name}.cmd").write_text(shlex.join(argv) + "\n")
                (keep / f"{case.name}.eml").write_bytes(r.stdout)
            if r.returncode != 0:
                err = r.stderr.decode("utf-8", "replace").strip()
                report(case.name, [f"exit {r.returncode}: {short(err, 300)}"])
                continue
            try:
                errs = check_message(case, r.stdout)
            except Exception as e:  # noqa: BLE001 - a crash in parsing is a finding, not a script error
                errs = [f"checker raised {type(e).__name__}: {e}"]
            report(case.name, errs)

        for name, over, extra, keywords in negatives():
            if only and only not in name:
                continue
            opts = dict(BASE, **over)
            argv = [exe, "send", "--dry-run"]
            for k, v in opts.items():
                argv += [k, v]
            for k, v in extra:
                argv += [k, v]
            try:
                r = subprocess.run(argv, capture_output=True, timeout=60)
            except subprocess.TimeoutExpired:
                report(name, ["timed out"])
                continue
            if keep:
                (keep / f"{name}.cmd").write_text(shlex.join(argv) + "\n")
            errs = []
            err = r.stderr.decode("utf-8", "replace")
            if r.returncode == 0:
                errs.append("exit 0 (accepted)")
            if r.stdout:
                errs.append(f"{len(r.stdout)} bytes on stdout")
            body = err[:-1] if err.endswith("\n") else err
            if not body.strip():
                errs.append("nothing on stderr")
            elif "\n" in body or "\r" in body:
                errs.append(f"stderr has {len(body.splitlines())} lines: {short(err, 200)}")
            elif not any(re.search(k, body, re.I) for k in keywords):
                errs.append(f"error does not name the field ({'|'.join(keywords)}): {short(body, 200)}")
            report(name, errs)

        if not only or "smtputf8" in only:
            report("smtputf8_local_part", smtputf8_check(exe))

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
