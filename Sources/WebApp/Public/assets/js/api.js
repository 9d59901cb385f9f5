// The one way the pages talk to the server: JSON over fetch against /api/v1.
//
// - Sends cookies (same origin) and `X-Workspace-Id` with the workspace chosen in the user menu.
// - Every failure becomes an `ApiError` with the server's code/field/message/requestId (or a
//   `network_error` when the server could not be reached), so a page can put the message at the
//   field the server names.
// - A 401 on any call but the session check itself hands over to the sign-in page.

const WORKSPACE_KEY = "posthorn.workspaceId";

export class ApiError extends Error {
  constructor({ status = 0, code = "network_error", field, message, requestId, retryAfter, problems } = {}) {
    super(message || "Something went wrong. Try again.");
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
    this.requestId = requestId;
    this.retryAfter = retryAfter; // seconds, from Retry-After on a 429
    this.problems = problems; // 422 flow_has_problems: every problem of the flow, [{field, message}]
  }
}

let onUnauthorized = () => {};

/** app.js decides what a 401 means for the page (go to sign-in, keeping where the user was). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export function storedWorkspaceId() {
  try {
    return localStorage.getItem(WORKSPACE_KEY);
  } catch {
    return null; // storage can be off (private mode, policy): fall back to the first workspace
  }
}

export function storeWorkspaceId(id) {
  try {
    if (id) localStorage.setItem(WORKSPACE_KEY, id);
    else localStorage.removeItem(WORKSPACE_KEY);
  } catch {
    /* see storedWorkspaceId */
  }
}

/**
 * Calls the API. `body` is sent as JSON. Resolves to the parsed JSON (or null for 204).
 * Options: `signal` to abort, `expect401: true` where a 401 is an answer, not a lost session.
 */
export async function api(path, { method = "GET", body, signal, expect401 = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const workspaceId = storedWorkspaceId();
  if (workspaceId) headers["X-Workspace-Id"] = workspaceId;

  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError({ message: "Could not reach Posthorn. Check your connection and try again." });
  }

  const data = await readJSON(response);
  if (response.ok) return data;

  const detail = data?.error ?? {};
  const error = new ApiError({
    status: response.status,
    code: detail.code ?? `http_${response.status}`,
    field: detail.field,
    message: detail.message ?? fallbackMessage(response.status),
    requestId: detail.requestId ?? response.headers.get("X-Request-Id") ?? undefined,
    retryAfter: retryAfterSeconds(response.headers.get("Retry-After")),
    // WEBAPP.md says a flow_has_problems error "lists them all" in `problems`: read it inside the
    // error object, or beside it, whichever the server chose.
    problems: detail.problems ?? data?.problems,
  });
  if (response.status === 401 && !expect401) onUnauthorized(error);
  if (error.code === "workspace_not_found") {
    // Removed from the workspace this browser had chosen: forget it and start again in another.
    storeWorkspaceId(null);
    location.reload();
  }
  throw error;
}

async function readJSON(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function retryAfterSeconds(value) {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value); // Retry-After may also be an HTTP date
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function fallbackMessage(status) {
  if (status === 401) return "Your session has ended. Sign in again.";
  if (status === 403) return "You don't have access to this. Ask a workspace admin.";
  if (status === 404) return "This was not found. It may have been deleted.";
  if (status === 429) return "Too many attempts. Wait a moment and try again.";
  if (status >= 500) return "Posthorn ran into a problem. Try again; if it keeps happening, quote the request id.";
  return "The request was refused. Check the form and try again.";
}
