"""Schemathesis hooks for `schema_fuzz.py` (loaded through `SCHEMATHESIS_HOOKS`; not run on its own).

Configured by the environment `schema_fuzz.py` sets:
  POSTHORN_FUZZ_WORKSPACE_TOKEN  bearer token for every `/api/v1` operation but createWorkspace
  POSTHORN_FUZZ_ADMIN_TOKEN      bearer token for `POST /api/v1/workspaces`
  POSTHORN_FUZZ_PROTECTED        JSON {"tokens": [ids], "flows": [ids]}: objects the run depends on
  POSTHORN_FUZZ_LOG              file receiving one JSON line per answered request
  POSTHORN_FUZZ_SECRETS          JSON list of secrets sent before the run (they must never come back)
  POSTHORN_FUZZ_DOCUMENT         the OpenAPI document's file (its own example values are public)

What it adds to schemathesis:
  - auth: the admin token for createWorkspace, the workspace token for the other `/api/v1`
    operations, no token for `/healthz`, the OpenAPI document and `/hooks/{webhookId}`;
  - a guard: a request that would revoke the run's own token, or delete or replace the webhook
    flow the run triggers, is sent with an id that names nothing instead (it answers 404), so the
    rest of the run still tests something;
  - a record of every answered request (operation, status) for the per-operation 2xx counts;
  - passwords (credential create/PATCH) and webhook secrets (flow create/PUT) get a distinctive
    prefix derived from the generated value, so that a short generated password ("0") can still
    be told apart from any other text in an answer;
  - the check `no_password_echo`: no response body or header (to any request of the run) may
    contain a password or webhook secret sent earlier in the run, nor its base64 (standard or URL
    alphabet, at any alignment within a longer base64 text). The OpenAPI document itself may show
    the example values it holds (`an-app-password`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from typing import Any

import schemathesis

WORKSPACE_TOKEN = os.environ["POSTHORN_FUZZ_WORKSPACE_TOKEN"]
ADMIN_TOKEN = os.environ["POSTHORN_FUZZ_ADMIN_TOKEN"]
PROTECTED = json.loads(os.environ.get("POSTHORN_FUZZ_PROTECTED", "{}"))
LOG_PATH = os.environ["POSTHORN_FUZZ_LOG"]
DOCUMENT_PATH = os.environ.get("POSTHORN_FUZZ_DOCUMENT")
DOCUMENT_TEXT = open(DOCUMENT_PATH, encoding="utf-8").read() if DOCUMENT_PATH else ""  # noqa: SIM115

NO_TOKEN = {"GET /healthz", "GET /api/v1/openapi.json", "POST /hooks/{webhookId}"}
ADMIN_ONLY = {"POST /api/v1/workspaces"}
CREDENTIAL_WRITES = {"POST /api/v1/credentials", "PATCH /api/v1/credentials/{id}"}
FLOW_WRITES = {"POST /api/v1/flows", "PUT /api/v1/flows/{id}"}
GUARDED = {
    "DELETE /api/v1/tokens/{id}": set(PROTECTED.get("tokens", [])),
    "DELETE /api/v1/flows/{id}": set(PROTECTED.get("flows", [])),
    "PUT /api/v1/flows/{id}": set(PROTECTED.get("flows", [])),
}
GUARD_ID = "protected_by_schema_fuzz_0000"
MARK = "PHfz"
MIN_CHECKED = 6  # a secret shorter than this (sent without the prefix) is not searched for

_lock = threading.Lock()
_log = open(LOG_PATH, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (lives as long as the run)
_secrets: dict[str, set[str]] = {}  # secret → its needles (itself and its base64 forms)
_guarded = 0


def _seed_secrets() -> None:
    for secret in json.loads(os.environ.get("POSTHORN_FUZZ_SECRETS", "[]")):
        _secrets[secret] = needles(secret)


# MARK: - Auth

@schemathesis.auth(refresh_interval=None, retry_on=[])
class PosthornTokens:
    """The admin token for createWorkspace, the workspace token elsewhere, none where the document says none."""

    def get(self, case: Any, context: Any) -> str | None:
        label = context.operation.label
        if label in NO_TOKEN:
            return None
        return ADMIN_TOKEN if label in ADMIN_ONLY else WORKSPACE_TOKEN

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


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


# MARK: - Guard and record

@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    global _guarded
    protected = GUARDED.get(case.operation.label)
    if protected and isinstance(case.path_parameters, dict) and case.path_parameters.get("id") in protected:
        case.path_parameters = {**case.path_parameters, "id": GUARD_ID}
        with _lock:
            _guarded += 1


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


def _remember_secrets(label: str, response: Any) -> None:
    sent = _request_json(response)
    if not isinstance(sent, dict):
        return
    found = []
    if label in CREDENTIAL_WRITES:
        found.append(sent.get("password"))
    elif label in FLOW_WRITES and isinstance(sent.get("trigger"), dict):
        found.append(sent["trigger"].get("secret"))
    for value in found:
        if isinstance(value, str) and (value.startswith(MARK) or len(value) >= MIN_CHECKED):
            with _lock:
                if value not in _secrets:
                    _secrets[value] = needles(value)


def _auth_kind(value: str | None) -> str:
    """What the request authenticated with, for the record (never the token itself)."""
    if value is None:
        return "none"
    return {f"Bearer {WORKSPACE_TOKEN}": "workspace", f"Bearer {ADMIN_TOKEN}": "admin"}.get(value, "other")


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
    label = case.operation.label
    _remember_secrets(label, response)
    with _lock:
        _log.write(json.dumps({"op": label, "status": response.status_code, "guarded": _guarded,
                               "method": response.request.method, "url": response.request.url,
                               "auth": _auth_kind(response.request.headers.get("Authorization")),
                               "secrets": len(_secrets), "mode": _mode(case), "error": _error_of(response)}) + "\n")


@schemathesis.hook
def after_network_error(context: Any, case: Any, request: Any) -> None:
    with _lock:
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


@schemathesis.check
def no_password_echo(ctx: Any, response: Any, case: Any) -> bool | None:
    """No answer carries a credential password or webhook secret sent earlier in the run (or its base64)."""
    _remember_secrets(case.operation.label, response)
    with _lock:
        secrets = dict(_secrets)
    if not secrets:
        return None
    raw = response.content.decode("utf-8", "replace")
    texts = [raw, "\n".join(f"{name}: {value}" for name, values in response.headers.items() for value in values)]
    try:
        texts.extend(_strings(json.loads(raw)))  # JSON escapes (`\/`, `\u00e9`) undone
    except ValueError:
        pass
    document = case.operation.label == "GET /api/v1/openapi.json"
    for secret, forms in secrets.items():
        for form in forms:
            if document and form in DOCUMENT_TEXT:
                continue  # one of the document's own examples, shown as the document
            if any(form in text for text in texts):
                what = "the secret itself" if form == secret else f"its base64 form {form!r}"
                raise AssertionError(
                    f"The response carries a password or webhook secret sent earlier in the run "
                    f"({secret[:40]!r}{'…' if len(secret) > 40 else ''}): {what}")
    return None


_seed_secrets()
