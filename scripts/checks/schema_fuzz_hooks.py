"""Schemathesis hooks for `schema_fuzz.py` (loaded through `SCHEMATHESIS_HOOKS`; not run on its own).

Configured by the environment `schema_fuzz.py` sets:
  POSTHORN_FUZZ_WORKSPACE_TOKEN  bearer token for every `/api/v1` operation but createWorkspace
  POSTHORN_FUZZ_ADMIN_TOKEN      bearer token for `POST /api/v1/workspaces`
  POSTHORN_FUZZ_PROTECTED        JSON {"tokens": [ids], "flows": [ids], "credentials": [ids]}: objects
                                 the run depends on
  POSTHORN_FUZZ_LOG              file receiving one JSON line per answered request
  POSTHORN_FUZZ_SECRETS          JSON list of secrets sent before the run (they must never come back)
  POSTHORN_FUZZ_DOCUMENT         the OpenAPI document's file (its own example values are public)
  POSTHORN_FUZZ_NO_TOKEN         JSON list of the operations (`METHOD /path`) whose `security` is `[]`
  POSTHORN_FUZZ_PEOPLE           JSON: the server's base URL, the default workspace's id, the accounts
                                 the set-up made (the owner, a `member`, two PATCH targets, a pool of
                                 members to remove; each id, email, password, live session), two
                                 invite tokens for preview, the spent setup token, ended sessions,
                                 the seeded credential's id

What it adds to schemathesis:
  - auth, by what the document's `security` allows:
      * none where it says `security: []` (`/healthz`, the document, `/hooks/{webhookId}`, setup,
        sign-in, invite preview);
      * `GET /api/v1/session`: the owner's session cookie (made by the set-up's setup call);
      * `DELETE /api/v1/session`: a session of its own, since signing out ends it: a live one
        that a sign-in or accept of the run made (once `session_rules` has checked it), else a
        fresh one (the owner signed in through the API by this module) at most every 3 s, else
        one that has ended already (sign-out answers those 204 too). Sign-in is bcrypt at cost
        12 (0.5 to 1 s in a debug build on 2 cores): one per DELETE would spend the run on it;
      * `POST /api/v1/invites/accept` (`[{}, {sessionCookie}]`): every third case signed in as the
        owner (with Posthorn's own `Origin`), the others anonymous (a new account);
      * the session-only OAuth sign-in (`POST /api/v1/credentials/oauth/start`, `…/complete`): the
        owner's cookie, one case in 8 the member's, one the owner's without `Origin`;
      * every other `/api/v1` operation (bearer or cookie): the admin token for createWorkspace,
        the workspace token elsewhere, except that of every 16 cases two go with the owner's
        cookie, one with the `member`'s cookie (role-based 403s) and one with the owner's cookie
        but no `Origin` (a change then must be 403 `csrf_refused`); cookie cases carry
        `X-Workspace-Id` naming the default workspace when the header part is valid data.
    Cases schemathesis itself generates without credentials (its negative auth tests) stay so.
  - real values in valid bodies (the body's generation mode is positive; negative bodies are left
    as generated):
      * `POST /api/v1/setup`: the real setup token. The set-up has used it already, so these are
        403 `invalid_setup_token` (the link works once);
      * `POST /api/v1/session`: 3 of 4 sign in as the owner or the member (200); the 4th keeps
        the generated email and password (401, and 429 once one email has failed 5 times) until 12
        sign-in failures have been answered, then every valid body signs in: every request comes from
        127.0.0.1, and 20 failures from one address in 15 minutes would make every sign-in there
        429 for the rest of the run (a success only forgets its own account's failures);
      * `POST /api/v1/invites/preview`: 3 of 4 with one of the set-up's two invite tokens (an
        open one and one for an address), which previewing does not use up;
      * `POST /api/v1/invites/accept`: a fresh invite made through the API for each case: signed
        in, the owner joins (an admin already, so nothing changes); anonymous, 1 of 3 makes an
        account with a unique email and a known password on an open invite, 1 of 3 with the
        generated password on an invite for that address (200, or 422 for a password the schema
        allows and the server's byte rule does not), 1 of 3 keeps the generated token (404);
      * `PATCH /api/v1/members/{userId}`: 3 of 4 name one of two members kept for it;
      * `DELETE /api/v1/members/{userId}`: 3 of 4 name a member of the removal pool, who first
        (re)joins through an invite accepted with their own session cookie (no bcrypt);
      * `POST /api/v1/credentials/test`: every other body naming a `credentialId` names the
        seeded credential (its stored password must not come back);
      * `POST /api/v1/domains`: every other valid body names a domain and selector of its own
        (generated bodies repeat a few pairs, and a repeated selector is 409 `selector` taken);
      * `DELETE /api/v1/domains/{id}`: every other case removes a domain added for it just before
        (a generated id names nothing, 404);
    and in the stateful phase the ids its links carry are kept (the guards still apply).
  - `Origin` on the anonymous POSTs (setup, sign-in, preview, accept): of every 8 cases one has
    Posthorn's own origin and one another site's (403 `csrf_refused`, never a 2xx).
  - a guard, on what is about to be sent (schemathesis fills ids from earlier answers, so generated
    cases name real objects often): a request that would revoke the run's own token, delete or
    replace the webhook flow the run triggers, delete the seeded credential, remove the owner, the
    member or a PATCH target, demote the owner or change the member's role, is sent with an id
    that names nothing instead (it answers 404); a sign-in that would fail for one of the set-up's
    accounts is sent with an email no account has (50 failures lock an account out from
    everywhere); so the rest of the run still tests something.
  - a record of every answered request (operation, status, how it authenticated, what was
    substituted) for the per-operation counts, and the counts of this module's own API calls.
  - passwords (credential create/PATCH; setup, sign-in and accept) and webhook secrets (flow
    create/PUT) get a distinctive prefix derived from the generated value, so that a short
    generated password ("0") can still be told apart from any other text in an answer (a user
    password only from 3 characters: the schema's minimum, so the mark never turns a body the
    schema refuses into one it allows).
  - the check `no_password_echo`: no response body or header (to any request of the run) may
    contain a credential password or webhook secret sent earlier in the run, nor its base64
    (standard or URL alphabet, at any alignment within a longer base64 text); nor a user password
    sent to setup, sign-in or accept; nor a session id (allowed only in the `Set-Cookie` that
    issues it), the setup token, an invite token (allowed only in the `url` of the
    `POST /api/v1/invites` answer that made it), an API token (the run's, or one made in the run:
    only in the `token` of the `POST /api/v1/tokens` answer that made it) or the admin token.
    The OpenAPI document itself may show the example values it holds (`an-app-password`).
  - the check `session_rules`: a sign-in, setup or new-account accept that answers 2xx sets a
    new `posthorn_session` cookie (HttpOnly, SameSite=Strict, Path=/, never one issued before)
    that `GET /api/v1/session` then accepts as the same person; a signed-in accept sets none;
    `GET /api/v1/session` with the owner's cookie answers the owner; a sign-out (204) clears the
    cookie (`Max-Age=0`), and a live session it ended is refused afterwards (401
    `session_ended`); a request with another site's `Origin`, or a cookie-authenticated change
    without one, is never 2xx.
  - `ast.parse` serialized across threads (a CPython race; see below).
"""

from __future__ import annotations

import ast
import base64
import collections
import errno
import hashlib
import http.client
import json
import os
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import schemathesis

# CPython's AST constructor keeps its recursion depth in per-interpreter state; with several threads
# parsing, a run of this check died once in the coverage phase with "SystemError: AST constructor
# recursion depth mismatch" (Python 3.11.7; see python/cpython#106905). Hypothesis parses lambdas'
# source to describe strategies, in every schemathesis worker thread: one parse at a time.
_parse = ast.parse
_parse_lock = threading.RLock()


def _serialized_parse(*args: Any, **kwargs: Any) -> Any:
    with _parse_lock:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse

WORKSPACE_TOKEN = os.environ["POSTHORN_FUZZ_WORKSPACE_TOKEN"]
ADMIN_TOKEN = os.environ["POSTHORN_FUZZ_ADMIN_TOKEN"]
PROTECTED = json.loads(os.environ.get("POSTHORN_FUZZ_PROTECTED", "{}"))
LOG_PATH = os.environ["POSTHORN_FUZZ_LOG"]
DOCUMENT_PATH = os.environ.get("POSTHORN_FUZZ_DOCUMENT")
DOCUMENT_TEXT = open(DOCUMENT_PATH, encoding="utf-8").read() if DOCUMENT_PATH else ""  # noqa: SIM115
PEOPLE: dict[str, Any] = json.loads(os.environ.get("POSTHORN_FUZZ_PEOPLE", "{}"))

NO_TOKEN = set(json.loads(os.environ.get("POSTHORN_FUZZ_NO_TOKEN", "[]")))
ADMIN_ONLY = {"POST /api/v1/workspaces"}
CREDENTIAL_WRITES = {"POST /api/v1/credentials", "PATCH /api/v1/credentials/{id}"}
FLOW_WRITES = {"POST /api/v1/flows", "PUT /api/v1/flows/{id}"}
SETUP = "POST /api/v1/setup"
SIGN_IN = "POST /api/v1/session"
WHO_AM_I = "GET /api/v1/session"
SIGN_OUT = "DELETE /api/v1/session"
PREVIEW = "POST /api/v1/invites/preview"
ACCEPT = "POST /api/v1/invites/accept"
CREATE_INVITE = "POST /api/v1/invites"
CREATE_TOKEN = "POST /api/v1/tokens"
PATCH_MEMBER = "PATCH /api/v1/members/{userId}"
REMOVE_MEMBER = "DELETE /api/v1/members/{userId}"
TEST_DRAFT = "POST /api/v1/credentials/test"
USER_PASSWORD_WRITES = {SETUP, SIGN_IN, ACCEPT}
ANONYMOUS_POSTS = {SETUP, SIGN_IN, PREVIEW, ACCEPT}
GUARDED = {
    "DELETE /api/v1/tokens/{id}": set(PROTECTED.get("tokens", [])),
    "DELETE /api/v1/flows/{id}": set(PROTECTED.get("flows", [])),
    "PUT /api/v1/flows/{id}": set(PROTECTED.get("flows", [])),
    "DELETE /api/v1/credentials/{id}": set(PROTECTED.get("credentials", [])),
    # Rotating the seeded credential's intake would take the bounce hook's address away mid-run.
    "POST /api/v1/credentials/{id}/intake": set(PROTECTED.get("credentials", [])),
    "DELETE /api/v1/domains/{id}": set(PROTECTED.get("domains", [])),
}
GUARD_ID = "protected_by_schema_fuzz_0000"
GUARD_EMAIL = "nobody@guard.schema-fuzz.example"
MARK = "PHfz"
MIN_CHECKED = 6  # a secret shorter than this (sent without the prefix) is not searched for
COOKIE = "posthorn_session"
FRESH = "schema-fuzz-fresh-session"  # placeholder the auth sets; before_call puts a real session there
FRESH_INTERVAL = 3.0  # seconds between two sign-ins this module makes for DELETE /api/v1/session
SIGN_IN_FAILURE_CAP = 12  # generated sign-ins answered 401 before every valid one is made to succeed
FOREIGN_ORIGIN = "https://evil.example"
TOKEN_PATTERN = re.compile(r"(?:ses|inv|setup|ph)_[a-z2-7]{16,}")
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}

BASE = PEOPLE.get("base", "")
_parts = urlsplit(BASE)
HOST, PORT = _parts.hostname or "127.0.0.1", _parts.port or 80
WORKSPACE_ID = PEOPLE.get("workspace_id", "")
OWNER: dict[str, Any] = PEOPLE.get("owner", {})
MEMBER: dict[str, Any] = PEOPLE.get("member", {})
PATCH_TARGETS: list[dict[str, Any]] = PEOPLE.get("patch_targets", [])
REMOVAL_POOL: list[dict[str, Any]] = PEOPLE.get("removal_pool", [])
PREVIEW_TOKENS: list[str] = PEOPLE.get("preview_tokens", [])
SETUP_TOKEN: str = PEOPLE.get("setup_token", "")
CREDENTIAL_ID: str = PEOPLE.get("credential_id", "")
DOMAIN_ID: str = PEOPLE.get("domain_id", "")
INTAKE_ID: str = PEOPLE.get("intake_id", "")
INGEST_BOUNCE = "POST /hooks/deliverability/{intakeId}/{provider}"
# A bounce about a message Posthorn never sent: read, matched to nothing, 200.
BOUNCE = (b"From: MAILER-DAEMON@mx.schema-fuzz.example\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
          b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.schema-fuzz.example\r\n\r\n"
          b"Final-Recipient: rfc822; nobody@schema-fuzz.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
          b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <unknown@schema-fuzz.example>\r\n\r\n--b--\r\n")
# Setting up and removing a provider's keys on the seeded credential's intake (every other case),
# with keys the server accepts for PUT, so both operations can answer 2xx.
INTAKE_PROVIDER_PATHS = {"PUT /api/v1/credentials/{id}/intake/{provider}", "DELETE /api/v1/credentials/{id}/intake/{provider}"}
PROVIDER_KEYS = {
    "ses": {"topicArn": "arn:aws:sns:us-east-1:123456789012:schema-fuzz"},
    "sendgrid": {"verificationKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAGUT6cfh2Bn3uinze4OWWuMGzG/3G9lWUILaaAolKEVfoL7SBdfNM444psNgH4m2jqQxBOVsNn6vFutaBEMbTg=="},
    "mailgun": {"signingKey": "PHfz-mailgun-signing-key"},
    "postmark": {"username": "schema-fuzz", "password": "PHfz-postmark-password"},
}
DOMAIN_KEY_ID: str = PEOPLE.get("domain_key_id", "")
CREATE_DOMAIN = "POST /api/v1/domains"
REMOVE_DOMAIN = "DELETE /api/v1/domains/{id}"
# Domain operations whose path takes the seeded domain (every other case), so each can answer 2xx.
DOMAIN_PATHS = {"GET /api/v1/domains/{id}", "POST /api/v1/domains/{id}/check",
                "POST /api/v1/domains/{id}/keys/{keyId}/activate", "DELETE /api/v1/domains/{id}/keys/{keyId}"}
ACCOUNTS = {account["email"]: account for account in [OWNER, MEMBER, *PATCH_TARGETS, *REMOVAL_POOL] if account}
NOT_REMOVABLE = {OWNER.get("id"), MEMBER.get("id"), *(target["id"] for target in PATCH_TARGETS)}

_lock = threading.Lock()
_log = open(LOG_PATH, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (lives as long as the run)
_secrets: dict[str, tuple[set[str], str]] = {}  # secret → (its needles: itself and base64 forms, where it was sent)
_user_passwords: dict[str, dict[str, str]] = collections.defaultdict(dict)  # first 12 chars → password → origin
_tokens: dict[str, str] = {}  # session ids, setup, invite and API tokens → where they came from
_issued: dict[str, str] = {}  # session id → X-Request-Id of the answer that set it
_live_for_sign_out: set[str] = set()  # fresh sessions handed to DELETE /api/v1/session
_ended: list[str] = list(PEOPLE.get("ended_sessions", []))
_harvested: list[str] = []  # live sessions the run's own sign-ins and accepts made, for DELETE /api/v1/session
_counters: collections.Counter = collections.Counter()
_calls: collections.Counter = collections.Counter()  # this module's own API calls, by purpose
_plans: dict[str, str] = {}  # case id → what before_call did (for the record)
_guarded = 0
_sign_in_failures = 0
_last_fresh = 0.0
_fresh_busy = False
_source: tuple[str, int] | None = ("127.0.0.2", 0)


def _next(name: str) -> int:
    with _lock:
        value = _counters[name]
        _counters[name] += 1
        return value


def _security_kinds() -> dict[str, set[str]]:
    """`METHOD /path` → the security schemes its `security` (or the document's) allows."""
    try:
        document = json.loads(DOCUMENT_TEXT)
    except ValueError:
        return {}
    default = document.get("security", [])
    kinds = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                requirements = operation.get("security", default)
                kinds[f"{method.upper()} {path}"] = {name for requirement in requirements for name in requirement}
    return kinds


SECURITY = _security_kinds()
EITHER = {label for label, kinds in SECURITY.items() if {"bearerAuth", "sessionCookie"} <= kinds}
# Session only (signing in with an OAuth provider): the owner's cookie, and now and then the
# member's (403 admin_required) or the owner's without `Origin` (403 csrf_refused).
SESSION_ONLY = {label for label, kinds in SECURITY.items() if kinds == {"sessionCookie"}} - {WHO_AM_I, SIGN_OUT}


def _seed_secrets() -> None:
    for secret in json.loads(os.environ.get("POSTHORN_FUZZ_SECRETS", "[]")):
        _secrets[secret] = (needles(secret), "the set-up, before the run")
    for account in ACCOUNTS.values():
        _remember_user_password(account["password"], "the set-up, before the run")
        _tokens[account["session"]] = "the set-up, before the run"
        _issued.setdefault(account["session"], "set-up")
    _tokens[WORKSPACE_TOKEN] = "the banner (the run's workspace token)"
    for token in [*PREVIEW_TOKENS, SETUP_TOKEN, *_ended]:
        if token:
            _tokens[token] = "the set-up, before the run"
            _issued.setdefault(token, "set-up")


# MARK: - This module's own API calls

def _http(method: str, path: str, body: Any = None, *, purpose: str, bearer: str | None = None,
          session: str | None = None, origin: bool = False) -> tuple[int, Any, list[str]]:
    """One call to the server, from 127.0.0.2 (sign-in throttling counts by address, and every
    generated sign-in comes from 127.0.0.1): status, parsed JSON (or None), Set-Cookie values."""
    global _source
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    if session:
        headers["Cookie"] = f"{COOKIE}={session}"
    if origin:
        headers["Origin"] = BASE
    connection = http.client.HTTPConnection(HOST, PORT, timeout=30, source_address=_source)
    try:
        try:
            connection.connect()
        except OSError as error:
            if _source is None or error.errno not in (errno.EADDRNOTAVAIL, errno.EINVAL):
                raise
            _source = None  # no 127.0.0.2 here: from the default address
            connection = http.client.HTTPConnection(HOST, PORT, timeout=30)
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        cookies = response.headers.get_all("Set-Cookie") or []
    finally:
        connection.close()
    with _lock:
        _calls[purpose] += 1
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return response.status, parsed, cookies


def _session_in(set_cookies: list[str]) -> str | None:
    for value in set_cookies:
        match = re.match(rf"\s*{COOKIE}=([^;]*)", value)
        if match:
            return match.group(1)
    return None


def _sign_in(account: dict[str, Any], purpose: str) -> str:
    status, parsed, cookies = _http("POST", "/api/v1/session", {"email": account["email"], "password": account["password"]},
                                    purpose=purpose)
    session = _session_in(cookies)
    if status != 200 or not session:
        raise RuntimeError(f"signing in {account['email']} for the run: {status} {parsed}")
    with _lock:
        _tokens[session] = f"a sign-in this module made ({purpose})"
        _issued.setdefault(session, purpose)
    return session


def _new_invite(role: str, email: str | None, purpose: str) -> str:
    body: dict[str, Any] = {"role": role}
    if email is not None:
        body["email"] = email
    status, parsed, _ = _http("POST", "/api/v1/invites", body, purpose=purpose, bearer=WORKSPACE_TOKEN)
    if status != 201 or not isinstance(parsed, dict):
        raise RuntimeError(f"creating an invite for the run: {status} {parsed}")
    token = parsed["url"].rsplit("#", 1)[1]
    with _lock:
        _tokens[token] = f"an invite this module made ({purpose})"
    return token


def _rejoin(account: dict[str, Any]) -> None:
    """Makes a member of the removal pool a member again: an invite accepted with their own cookie."""
    token = _new_invite("member", None, "removal pool: invite")
    status, parsed, _ = _http("POST", "/api/v1/invites/accept", {"token": token}, purpose="removal pool: accept",
                              session=account["session"], origin=True)
    if status != 200:
        raise RuntimeError(f"re-adding {account['email']} for DELETE /api/v1/members: {status} {parsed}")


def _session_for_sign_out() -> tuple[str, str]:
    """A session for DELETE /api/v1/session: a fresh live one at most every FRESH_INTERVAL seconds
    (and whenever there is no ended one to reuse), else one that has ended."""
    global _last_fresh, _fresh_busy
    with _lock:
        if _harvested:
            session = _harvested.pop()
            _live_for_sign_out.add(session)
            return session, "live session of a sign-in or accept of the run"
        fresh = not _ended or (not _fresh_busy and time.monotonic() - _last_fresh >= FRESH_INTERVAL)
        if fresh:
            _fresh_busy = True
        else:
            ended = _ended[_counters["ended session"] % len(_ended)]
            _counters["ended session"] += 1
    if not fresh:
        return ended, "ended session"
    try:
        session = _sign_in(OWNER, "a fresh session for DELETE /api/v1/session")
    finally:
        with _lock:
            _fresh_busy = False
            _last_fresh = time.monotonic()
    with _lock:
        _live_for_sign_out.add(session)
    return session, "fresh session"


# MARK: - Auth

@schemathesis.auth(refresh_interval=None, retry_on=[])
class PosthornAuth:
    """What each operation's `security` allows: see the module's description."""

    def get(self, case: Any, context: Any) -> tuple[str, str] | None:
        label = context.operation.label
        if label in NO_TOKEN:
            return None
        if label == WHO_AM_I:
            return ("cookie", "owner")
        if label == SIGN_OUT:
            return ("cookie", "fresh")
        if label == ACCEPT:
            return ("cookie", "owner") if _next(f"auth {label}") % 3 == 2 else None
        if label in SESSION_ONLY:
            turn = _next(f"auth {label}") % 8
            if turn == 3:
                return ("cookie", "member")
            if turn == 7:
                return ("cookie", "owner without Origin")
            return ("cookie", "owner")
        if label in EITHER:
            turn = _next(f"auth {label}") % 16
            if turn in (3, 11):
                return ("cookie", "owner")
            if turn == 7:
                return ("cookie", "member")
            if turn == 15:
                return ("cookie", "owner without Origin")
        return ("bearer", ADMIN_TOKEN if label in ADMIN_ONLY else WORKSPACE_TOKEN)

    def set(self, case: Any, data: tuple[str, str], context: Any) -> None:
        kind, value = data
        case.headers = case.headers or {}
        if kind == "bearer":
            case.headers["Authorization"] = f"Bearer {value}"
            return
        session = {"owner": OWNER.get("session"), "member": MEMBER.get("session"), "fresh": FRESH,
                   "owner without Origin": OWNER.get("session")}[value]
        case.cookies = {**(case.cookies or {}), COOKIE: session}
        if value != "owner without Origin" and case.operation.method.upper() in CHANGES:
            case.headers["Origin"] = BASE


# MARK: - Distinctive secrets

def _marked(value: Any) -> Any:
    """`PHfz<8 hex of the value's hash>-<value>` for a string not already marked; anything else as is."""
    if not isinstance(value, str) or value.startswith(MARK):
        return value
    return f"{MARK}{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}-{value}"


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    label = context.operation.label if context.operation is not None else ""
    if isinstance(body, dict):
        if label in CREDENTIAL_WRITES and "password" in body:
            body = {**body, "password": _marked(body["password"])}
        elif label in FLOW_WRITES and isinstance(body.get("trigger"), dict) and "secret" in body["trigger"]:
            body = {**body, "trigger": {**body["trigger"], "secret": _marked(body["trigger"]["secret"])}}
    return body


# MARK: - Substitutions, guard and record

def _negative_at(case: Any, location: str) -> bool:
    meta = getattr(case, "meta", None)
    components = getattr(meta, "components", None) or {}
    for where, component in components.items():
        if getattr(where, "value", where) == location:
            return bool(getattr(getattr(component, "mode", None), "is_negative", False))
    return False


def _phase(case: Any) -> str | None:
    phase = getattr(getattr(getattr(case, "meta", None), "phase", None), "name", None)
    return getattr(phase, "value", phase)


def _guard(case: Any, label: str) -> bool:
    """Sends a request that would break what the run depends on with an id that names nothing."""
    params = case.path_parameters if isinstance(case.path_parameters, dict) else {}
    protected = GUARDED.get(label)
    if protected and params.get("id") in protected:
        case.path_parameters = {**params, "id": GUARD_ID}
        return True
    user = params.get("userId")
    if label == REMOVE_MEMBER and user in NOT_REMOVABLE:
        case.path_parameters = {**params, "userId": GUARD_ID}
        return True
    if label == PATCH_MEMBER and (user == MEMBER.get("id") or (
            user == OWNER.get("id") and not (isinstance(case.body, dict) and case.body.get("role") == "admin"))):
        case.path_parameters = {**params, "userId": GUARD_ID}
        return True
    return False


def _guard_sign_in(case: Any, label: str) -> bool:
    """A sign-in that would fail for one of the set-up's accounts goes to an email no account has."""
    if label == SIGN_IN and isinstance(case.body, dict) and isinstance(case.body.get("email"), str):
        account = ACCOUNTS.get(case.body["email"].strip().lower())
        if account and case.body.get("password") != account["password"]:
            case.body = {**case.body, "email": GUARD_EMAIL}
            return True
    return False


def _unique_email(n: int) -> str:
    return f"accept-{os.getpid()}-{n}@people.schema-fuzz.example"


def _valid_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 100 and value == value.strip(" \t") and not any(
        ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)


def _substitute(case: Any, label: str, cookie: str | None) -> str | None:
    """Real values in a valid body or path (see the module's description); what it did, for the record."""
    body = case.body
    if label in USER_PASSWORD_WRITES and isinstance(body, dict):
        password = body.get("password")
        if isinstance(password, str) and len(password) >= 3 and not password.startswith(MARK):
            body = case.body = {**body, "password": _marked(password)}
    valid_body = isinstance(body, dict) and not _negative_at(case, "body")
    stateful = _phase(case) == "stateful"
    if label == SETUP and valid_body:
        case.body = {**body, "token": SETUP_TOKEN}
        return "the spent setup token"
    if label == SIGN_IN and valid_body and isinstance(body.get("email"), str) and isinstance(body.get("password"), str):
        turn = _next(label) % 4
        with _lock:
            failures = _sign_in_failures
        if turn == 3 and failures < SIGN_IN_FAILURE_CAP:
            return "generated credentials"
        account = MEMBER if turn == 2 else OWNER
        case.body = {**body, "email": account["email"], "password": account["password"]}
        return f"as the {'member' if account is MEMBER else 'owner'}"
    if label == PREVIEW and valid_body and PREVIEW_TOKENS:
        turn = _next(label)
        if turn % 4 == 3:
            return "generated token"
        case.body = {**body, "token": PREVIEW_TOKENS[turn % len(PREVIEW_TOKENS)]}
        return "a set-up invite"
    if label == ACCEPT and valid_body:
        turn = _next(f"{label} {cookie is not None}")
        role = "admin" if turn % 2 else "member"
        if cookie == OWNER.get("session"):
            case.body = {**body, "token": _new_invite(role, None, "accept: invite")}
            return f"signed in as the owner, a fresh {role} invite"
        if turn % 3 == 2:
            return "generated token"
        email = _unique_email(turn)
        name = body.get("name") if _valid_name(body.get("name")) else "Fuzz Person"
        if turn % 3 == 0:
            password = _marked(f"accept {turn} passphrase")
            token = _new_invite(role, None, "accept: invite")
            what = f"new account, known password, open {role} invite"
        else:
            password = body.get("password") if isinstance(body.get("password"), str) else _marked(f"accept {turn} pass")
            token = _new_invite(role, email, "accept: invite")
            what = f"new account, generated password, {role} invite for its email"
        case.body = {**body, "token": token, "email": email, "name": name, "password": password}
        return what
    params = case.path_parameters if isinstance(case.path_parameters, dict) else None
    if label == PATCH_MEMBER and params is not None and not stateful and not _negative_at(case, "path") and PATCH_TARGETS:
        turn = _next(label)
        if turn % 4 == 3:
            return "generated id"
        case.path_parameters = {**params, "userId": PATCH_TARGETS[turn % len(PATCH_TARGETS)]["id"]}
        return "a PATCH target"
    if label == REMOVE_MEMBER and params is not None and not stateful and not _negative_at(case, "path") and REMOVAL_POOL:
        turn = _next(label)
        if turn % 4 == 3:
            return "generated id"
        account = REMOVAL_POOL[turn % len(REMOVAL_POOL)]
        _rejoin(account)
        case.path_parameters = {**params, "userId": account["id"]}
        return "a member of the removal pool, just (re)joined"
    if label in DOMAIN_PATHS and params is not None and not stateful and not _negative_at(case, "path") and DOMAIN_ID:
        turn = _next(label)
        if turn % 2:
            return "generated ids"
        params = {**params, "id": DOMAIN_ID}
        if label.startswith("DELETE"):
            # A key of its own to remove, so the seeded key stays for the others.
            status, made, _ = _http("POST", "/api/v1/domains", {"domain": "seeded.schema-fuzz.example",
                                    "selector": f"fz{turn}", "algorithm": "ed25519-sha256"},
                                    purpose="remove a key: a key", bearer=WORKSPACE_TOKEN)
            if status == 201 and isinstance(made, dict):
                params["keyId"] = next((k["id"] for k in made.get("keys", []) if k.get("selector") == f"fz{turn}"), GUARD_ID)
        elif "keyId" in params:
            params["keyId"] = DOMAIN_KEY_ID
        case.path_parameters = params
        return "the seeded domain"
    if label == CREATE_DOMAIN and valid_body and not stateful:
        # Generated bodies repeat a few domain/selector pairs: after the first, each is 409 selector taken.
        turn = _next(label)
        if turn % 2:
            return "generated domain"
        case.body = {**body, "domain": f"d{turn}-{os.getpid()}.schema-fuzz.example", "selector": f"s{turn}"}
        return "a new domain"
    if label == REMOVE_DOMAIN and params is not None and not stateful and not _negative_at(case, "path"):
        turn = _next(label)
        if turn % 2:
            return "generated id"
        status, made, _ = _http("POST", "/api/v1/domains", {"domain": f"rm{turn}-{os.getpid()}.schema-fuzz.example",
                                "selector": "rm", "algorithm": "ed25519-sha256"},
                                purpose="remove a domain: a domain", bearer=WORKSPACE_TOKEN)
        if status == 201 and isinstance(made, dict) and isinstance(made.get("id"), str):
            case.path_parameters = {**params, "id": made["id"]}
            return "a domain of its own, just added"
        return "generated id (adding a domain failed)"
    if (label in INTAKE_PROVIDER_PATHS and params is not None and not stateful and not _negative_at(case, "path") and CREDENTIAL_ID
            and not (label.startswith("PUT") and _negative_at(case, "body"))):
        turn = _next(label)
        if turn % 2:
            return "generated ids"
        provider = sorted(PROVIDER_KEYS)[(turn // 2) % len(PROVIDER_KEYS)]
        case.path_parameters = {**params, "id": CREDENTIAL_ID, "provider": provider}
        if label.startswith("PUT"):
            case.body = dict(PROVIDER_KEYS[provider])
        return f"the seeded credential's intake, {provider}"
    if label == INGEST_BOUNCE and not stateful and not _negative_at(case, "path") and not _negative_at(case, "body") and INTAKE_ID:
        if _next(label) % 2:
            return "generated body"
        case.path_parameters = {"intakeId": INTAKE_ID, "provider": "raw"}
        case.body = BOUNCE
        return "a bounce to the seeded intake"
    if label == TEST_DRAFT and valid_body and "credentialId" in body and CREDENTIAL_ID:
        if _next(label) % 2:
            return "generated credentialId"
        case.body = {**body, "credentialId": CREDENTIAL_ID}
        return "the seeded credential"
    return None


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    global _guarded
    label = case.operation.label
    plan = []
    cookie = (case.cookies or {}).get(COOKIE) if isinstance(case.cookies, dict) else None
    if cookie == FRESH:
        cookie, what = _session_for_sign_out()
        case.cookies = {**case.cookies, COOKIE: cookie}
        plan.append(what)
    if cookie in (OWNER.get("session"), MEMBER.get("session")) and not _negative_at(case, "header"):
        headers = case.headers or {}
        if label in EITHER or ("X-Workspace-Id" in headers and _next(f"workspace header {label}") % 4 != 3):
            case.headers = {**headers, "X-Workspace-Id": WORKSPACE_ID}
    if (cookie in (OWNER.get("session"), MEMBER.get("session")) and case.operation.method.upper() in CHANGES
            and not (case.headers or {}).get("Origin")):
        plan.append("cookie without Origin")
    what = _substitute(case, label, cookie)
    if what:
        plan.append(what)
    if _guard(case, label) or _guard_sign_in(case, label):  # on what will be sent
        with _lock:
            _guarded += 1
        plan.append("guarded")
    if label in ANONYMOUS_POSTS and not (case.headers or {}).get("Origin"):
        turn = _next(f"origin {label}") % 8
        if turn in (5, 6):
            case.headers = {**(case.headers or {}), "Origin": BASE if turn == 5 else FOREIGN_ORIGIN}
            plan.append("own Origin" if turn == 5 else "foreign Origin")
    elif label == ACCEPT and _next(f"origin {label} signed in") % 8 == 6:
        case.headers = {**case.headers, "Origin": FOREIGN_ORIGIN}
        plan.append("foreign Origin")
    if plan:
        with _lock:
            _plans[str(case.id)] = "; ".join(plan)


def _request_json(response: Any) -> Any:
    body = response.request.body
    if body is None:
        return None
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return json.loads(body)
    except (ValueError, TypeError):
        return None


def _response_json(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _remember_user_password(value: str, origin: str) -> None:
    if value.startswith(MARK) and len(value) > 12:
        _user_passwords[value[:12]].setdefault(value, origin)
    elif len(value) >= MIN_CHECKED:
        _user_passwords[""].setdefault(value, origin)


def _header_values(response: Any, name: str) -> list[str]:
    return [value for key, values in response.headers.items() if key.lower() == name for value in values]


def _remember_secrets(label: str, response: Any) -> dict:
    """Remembers the secrets a write stored (a 2xx) for every later answer; returns those of a
    refused write, which only its own answer is checked for (it stored nothing that could come back
    later, and a common string such as `000000000000000` would otherwise match any number)."""
    sent = _request_json(response)
    found = []
    if isinstance(sent, dict):
        if label in CREDENTIAL_WRITES:
            found.append(sent.get("password"))
        elif label in FLOW_WRITES and isinstance(sent.get("trigger"), dict):
            found.append(sent["trigger"].get("secret"))
    refused = {}
    with _lock:
        for value in found:
            if isinstance(value, str) and (value.startswith(MARK) or len(value) >= MIN_CHECKED):
                origin = (needles(value), f"{label} ({response.status_code})")
                if not 200 <= response.status_code < 300:
                    refused[value] = origin
                elif value not in _secrets:
                    _secrets[value] = origin
        if isinstance(sent, dict) and label in USER_PASSWORD_WRITES and isinstance(sent.get("password"), str):
            _remember_user_password(sent["password"], f"{label} ({response.status_code})")
        session = _session_in(_header_values(response, "set-cookie"))
        if session:
            _tokens.setdefault(session, f"the Set-Cookie of {label} ({response.status_code})")
        if label in (CREATE_INVITE, CREATE_TOKEN) and 200 <= response.status_code < 300:
            parsed = _response_json(response)
            if isinstance(parsed, dict) and isinstance(parsed.get("url"), str) and "#" in parsed["url"]:
                _tokens.setdefault(parsed["url"].rsplit("#", 1)[1], f"the url of {label}")
            if isinstance(parsed, dict) and isinstance(parsed.get("token"), str):
                _tokens.setdefault(parsed["token"], f"the token of {label}")
    return refused


def _cookie_sent(response: Any) -> str | None:
    match = re.search(rf"(?:^|;\s*){COOKIE}=([^;]*)", response.request.headers.get("Cookie") or "")
    return match.group(1) if match else None


def _mode(case: Any) -> str | None:
    meta = getattr(case, "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return getattr(mode, "value", None)


def _error_of(response: Any) -> str | None:
    """`code field: message` of an error answer, for the record."""
    if response.status_code < 400:
        return None
    try:
        error = json.loads(response.content).get("error", {})
        return f"{error.get('code')} {error.get('field', '-')}: {error.get('message')}"[:200]
    except (ValueError, AttributeError):
        return None


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    global _sign_in_failures
    label = case.operation.label
    _remember_secrets(label, response)
    with _lock:
        auth = _auth_kind(response)
        if label == SIGN_IN and response.status_code == 401 and response.request.method == "POST":
            _sign_in_failures += 1
        if label == SIGN_OUT and response.status_code == 204:
            cookie = _cookie_sent(response)
            if cookie and cookie not in _ended and cookie != OWNER.get("session") and cookie != MEMBER.get("session"):
                _ended.append(cookie)
        plan = _plans.pop(str(case.id), None)
        _log.write(json.dumps({"op": label, "status": response.status_code, "guarded": _guarded,
                               "method": response.request.method, "url": response.request.url,
                               "auth": auth, "plan": plan,
                               "origin": response.request.headers.get("Origin"),
                               "secrets": len(_secrets), "marked": sum(secret.startswith(MARK) for secret in _secrets),
                               "user_passwords": sum(len(group) for group in _user_passwords.values()),
                               "tokens": len(_tokens), "sign_in_failures": _sign_in_failures,
                               "hook_calls": dict(_calls),
                               "ms": round(response.elapsed * 1000), "mode": _mode(case), "phase": _phase(case),
                               "error": _error_of(response)}) + "\n")


def _auth_kind(response: Any) -> str:
    """What the request authenticated with, for the record (never the token itself); under `_lock`."""
    value = response.request.headers.get("Authorization")
    kinds = []
    if value is not None:
        kinds.append({f"Bearer {WORKSPACE_TOKEN}": "workspace", f"Bearer {ADMIN_TOKEN}": "admin"}.get(value, "other"))
    cookie = _cookie_sent(response)
    if cookie is not None:
        kinds.append("owner cookie" if cookie == OWNER.get("session") else "member cookie" if cookie == MEMBER.get("session")
                     else "ended cookie" if cookie in _ended else "live cookie" if cookie in _live_for_sign_out
                     else "other cookie")
    return "+".join(kinds) or "none"


@schemathesis.hook
def after_network_error(context: Any, case: Any, request: Any) -> None:
    with _lock:
        _plans.pop(str(case.id), None)
        _log.write(json.dumps({"op": case.operation.label, "status": 0, "guarded": _guarded}) + "\n")


# MARK: - The password check

def needles(secret: str) -> set[str]:
    """The secret and every base64 text that must not appear: the encodings of the secret alone, and
    for each of the three alignments the part of a longer encoding (`AUTH PLAIN` of `\\0user\\0pass`)
    that only the secret's bytes determine."""
    raw = secret.encode("utf-8", "surrogatepass")
    found = {secret}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start = -(-offset * 8 // 6)  # the first character made of the secret's bits only
        end = (offset + len(raw)) * 8 // 6  # after the last one
        core = encoded[start:end]
        if offset == 0:
            found.add(encoded)
            found.add(encoded.rstrip("="))
        if len(core) >= 8:
            found.add(core)
    found |= {value.replace("+", "-").replace("/", "_") for value in list(found)}
    return {value for value in found if value}


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in (*_strings(key), *_strings(value))]
    if isinstance(node, list):
        return [text for value in node for text in _strings(value)]
    return []


def _fail(kind: str, secret: str, origin: str, what: str) -> None:
    raise AssertionError(f"The response carries {kind} sent or issued in the run "
                         f"({secret[:60]!r}{'…' if len(secret) > 60 else ''}, first from {origin}): {what}")


@schemathesis.check
def no_password_echo(ctx: Any, response: Any, case: Any) -> bool | None:
    """No answer carries a credential password, webhook secret, user password, session id, setup,
    invite or API token sent or issued earlier in the run (a credential password also not in base64)."""
    label = case.operation.label
    refused = _remember_secrets(label, response)
    with _lock:
        secrets = {**_secrets, **refused}
        passwords = {prefix: dict(group) for prefix, group in _user_passwords.items()}
        tokens = dict(_tokens)
    raw = response.content.decode("utf-8", "replace")
    header_lines = [f"{name}: {value}" for name, values in response.headers.items() for value in values]
    texts = [raw, "\n".join(header_lines)]
    parsed = None
    try:
        parsed = json.loads(raw)
        texts.extend(_strings(parsed))  # JSON escapes (`\/`, `\u00e9`) undone
    except ValueError:
        pass
    document = label == "GET /api/v1/openapi.json"
    for secret, (forms, origin) in secrets.items():
        for form in forms:
            if document and form in DOCUMENT_TEXT:
                continue  # one of the document's own examples, shown as the document
            if any(form in text for text in texts):
                _fail("a credential password or webhook secret", secret, origin,
                      "the secret itself" if form == secret else f"its base64 form {form!r}")
    for text in texts:
        for start in (m.start() for m in re.finditer(MARK, text)):
            for password, origin in passwords.get(text[start:start + 12], {}).items():
                if text.startswith(password, start):
                    _fail("a user password", password, origin, "the password itself")
        for password, origin in passwords.get("", {}).items():
            if password in text:
                _fail("a user password", password, origin, "the password itself")
    # Session ids may travel only in the Set-Cookie that issues them; an invite token only in the
    # `url` of the answer that made it, an API token only in its `token`.
    token_texts = ["\n".join(line for line in header_lines if not line.lower().startswith("set-cookie:"))]
    shown_once = {CREATE_INVITE: "url", CREATE_TOKEN: "token"}.get(label)
    if shown_once and isinstance(parsed, dict) and shown_once in parsed:
        token_texts.extend(_strings({key: value for key, value in parsed.items() if key != shown_once}))
    else:
        token_texts.extend([raw, *_strings(parsed)])
    if any(ADMIN_TOKEN in text for text in token_texts):
        _fail("the admin token", ADMIN_TOKEN, "the environment of the server", "anywhere in an answer")
    for text in token_texts:
        for candidate in TOKEN_PATTERN.findall(text):
            if candidate in tokens and not (document and candidate in DOCUMENT_TEXT):
                kind = {"ses": "a session id", "inv": "an invite token", "setup": "the setup token",
                        "ph": "an API token"}[candidate.split("_")[0]]
                _fail(kind, candidate, tokens[candidate], "outside where it may appear")
    return None


# MARK: - The session check

def _cookie_attributes(value: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in value.split(";")[1:]}


def _who(session: str) -> tuple[int, Any]:
    status, parsed, _ = _http("GET", "/api/v1/session", purpose="session_rules: GET /api/v1/session", session=session)
    return status, parsed


@schemathesis.check
def session_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """Sign-in cookies, sign-out and the Origin rule (see the module's description)."""
    label = case.operation.label
    status = response.status_code
    request = response.request
    origin = request.headers.get("Origin")
    cookie = _cookie_sent(response)
    success = 200 <= status < 300
    if success and origin is not None and origin != BASE:
        raise AssertionError(f"{request.method} with another site's Origin ({origin}) answered {status}: must be 403 csrf_refused")
    live = cookie is not None and (cookie in (OWNER.get("session"), MEMBER.get("session")) or cookie in _live_for_sign_out)
    if success and live and origin is None and request.method in CHANGES and request.headers.get("Authorization") is None:
        raise AssertionError(f"a change with a live session cookie and no Origin answered {status}: must be 403 csrf_refused")
    if label == SIGN_OUT and status == 204:
        cleared = [value for value in _header_values(response, "set-cookie") if re.match(rf"\s*{COOKIE}=;", value)]
        if not cleared or "max-age=0" not in cleared[0].replace(" ", "").lower():
            raise AssertionError(f"sign-out answered 204 without clearing the cookie (Max-Age=0): {_header_values(response, 'set-cookie')}")
        if cookie in _live_for_sign_out:
            after, parsed = _who(cookie)
            code = (parsed or {}).get("error", {}).get("code") if isinstance(parsed, dict) else None
            if after != 401 or code != "session_ended":
                raise AssertionError(f"after signing out, GET /api/v1/session with the ended session answered {after} {code}: "
                                     "expected 401 session_ended")
    if label == WHO_AM_I and status == 200 and cookie == OWNER.get("session"):
        parsed = _response_json(response)
        user = parsed.get("user", {}) if isinstance(parsed, dict) else {}
        if user.get("id") != OWNER.get("id") or user.get("isOwner") is not True:
            raise AssertionError(f"GET /api/v1/session with the owner's cookie answered another person: {user}")
    if label in (SIGN_IN, SETUP, ACCEPT) and success:
        parsed = _response_json(response)
        user = parsed.get("user", {}) if isinstance(parsed, dict) else {}
        set_cookies = [value for value in _header_values(response, "set-cookie") if re.match(rf"\s*{COOKIE}=", value)]
        signed_in = label == ACCEPT and live
        if signed_in:
            if set_cookies:
                raise AssertionError(f"a signed-in accept set a session cookie: {set_cookies}")
            if user.get("id") != OWNER.get("id"):
                raise AssertionError(f"a signed-in accept answered another person than the signed-in owner: {user}")
            return None
        session = _session_in(set_cookies)
        if not session:
            raise AssertionError(f"{label} answered {status} without a {COOKIE} cookie: {_header_values(response, 'set-cookie')}")
        attributes = _cookie_attributes(set_cookies[0])
        if not {"httponly", "samesite", "path"} <= attributes or "samesite=strict" not in set_cookies[0].replace(" ", "").lower():
            raise AssertionError(f"the session cookie lacks HttpOnly, SameSite=Strict or Path: {set_cookies[0]!r}")
        request_id = (_header_values(response, "x-request-id") or ["?"])[0]
        with _lock:
            earlier = _issued.get(session)
            if earlier is None:
                _issued[session] = request_id
            _tokens.setdefault(session, f"the Set-Cookie of {label} ({status})")
        if earlier is not None and earlier != request_id:
            raise AssertionError(f"{label} set a session id that had been issued before (by {earlier})")
        after, who = _who(session)
        if after != 200 or not isinstance(who, dict) or who.get("user", {}).get("id") != user.get("id"):
            raise AssertionError(f"GET /api/v1/session with the cookie {label} set answered {after} {str(who)[:200]} "
                                 f"(expected 200 and user {user.get('id')})")
        with _lock:
            if earlier is None and len(_harvested) < 50:
                _harvested.append(session)  # checked: now a DELETE /api/v1/session may end it
    return None


_seed_secrets()
