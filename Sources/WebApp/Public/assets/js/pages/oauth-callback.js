// Back from the email provider's sign-in (/settings/oauth/callback?code=…&state=…, or
// ?error=access_denied&state=…): the redirect URI the operator registers at Google or Microsoft.
//
// The query is read once and dropped from the address at once (history.replaceState), so the
// code stays in no history entry, no `next=` and no bookmark. The server then exchanges it:
// POST /credentials/oauth/complete → Credentials with the new credential selected and a toast; on
// any failure → Credentials with the server's message in an alert region. The message travels
// in sessionStorage, never in a URL.
//
// The page is public to the router (it handles a missing session itself): a sign-in that ends
// after the Posthorn session did cannot complete — the state belongs to the old session — so
// instead of carrying the code through the sign-in page it says so and asks to start again.

import { api } from "../api.js";
import { authLayout } from "../components/auth-layout.js";
import { toast } from "../components/toast.js";
import { h } from "../dom.js";
import { icon } from "../icons.js";

export const title = "Connecting your account";

const ERROR_KEY = "posthorn.oauthError";
const ERROR_TTL_MS = 10 * 60 * 1000; // an old message is no news: dropped after ten minutes

const SIGNED_OUT =
  "Your Posthorn session ended before the sign-in at your email provider came back, so nothing was saved. Sign in, then connect your email again from Credentials.";
const NO_SIGN_IN =
  "This page finishes a sign-in at your email provider, and there is none to finish here. Start from Credentials → Connect your email.";

/** Keeps a failed sign-in's message for the next page (Credentials, or sign-in first). */
export function stashOAuthError(message, requestId) {
  try {
    sessionStorage.setItem(ERROR_KEY, JSON.stringify({ message, requestId: requestId ?? null, at: Date.now() }));
  } catch {
    /* storage off: the page can only say less */
  }
}

/** The message waiting for the Credentials page, or null; `consume` removes it. */
export function pendingOAuthError({ consume = false } = {}) {
  let value = null;
  try {
    value = JSON.parse(sessionStorage.getItem(ERROR_KEY) ?? "null");
    if (consume) sessionStorage.removeItem(ERROR_KEY);
  } catch {
    return null;
  }
  if (!value || typeof value.message !== "string" || Date.now() - Number(value.at) > ERROR_TTL_MS) return null;
  return value;
}

export async function render({ root, session, navigate, signal }) {
  const query = new URLSearchParams(location.search);
  const state = query.get("state") ?? "";
  const code = query.get("code") ?? "";
  const error = query.get("error") ?? "";
  const errorDescription = query.get("error_description") ?? "";
  if (location.search) history.replaceState(null, "", location.pathname); // the code is kept nowhere

  const heading = authLayout(root, {
    title: "Connecting your account…",
    lead: "Posthorn is finishing the sign-in at your email provider. This takes a moment.",
    body: h(
      "div",
      { class: "callout callout--progress", role: "status", "data-testid": "oauth-callback" },
      icon("loader", { className: "icon--spin" }),
      h("div", { class: "callout__body" }, h("p", {}, "Saving the connection…")),
    ),
  });
  heading.focus();

  const fail = (message, requestId) => {
    stashOAuthError(message, requestId);
    return navigate("/settings/credentials", { replace: true });
  };

  if (!session) {
    stashOAuthError(SIGNED_OUT);
    return navigate(`/signin?next=${encodeURIComponent("/settings/credentials")}`, { replace: true });
  }
  if (!state || (!code && !error)) return fail(NO_SIGN_IN);

  const body = error ? { state, error, ...(errorDescription ? { errorDescription } : {}) } : { state, code };
  let credential;
  try {
    // Not aborted by leaving the page: the server finishes anyway, and its answer is news either way.
    credential = await api("/credentials/oauth/complete", { method: "POST", body, expect401: true });
  } catch (failure) {
    if (failure.status === 401) {
      stashOAuthError(SIGNED_OUT);
      if (!signal.aborted) navigate(`/signin?next=${encodeURIComponent("/settings/credentials")}`, { replace: true });
      return;
    }
    if (signal.aborted) {
      toast(failure.message, { kind: "error" });
      return;
    }
    return fail(failure.message, failure.requestId);
  }
  const who = credential?.username || credential?.name || "your account";
  if (!signal.aborted && credential?.id) await navigate(`/settings/credentials?selected=${encodeURIComponent(credential.id)}`, { replace: true });
  else if (!signal.aborted) await navigate("/settings/credentials", { replace: true });
  toast(`Connected ${who}`);
}
