// Sign in: email + password → POST /api/v1/session (cookie). 401 and 429 (with Retry-After)
// are explained in words; the email is kept, the password cleared.

import { api } from "../api.js";
import { authLayout, looksLikeEmail } from "../components/auth-layout.js";
import { busy, clearErrors, formAlert, passwordField, showErrors, textField } from "../components/form.js";
import { h } from "../dom.js";
import { icon } from "../icons.js";
import { setSession } from "../session.js";
import { pendingOAuthError } from "./oauth-callback.js";

export const title = "Sign in";

/** Where to go after signing in: only a path on this site (no //host, no scheme). */
export function safeNext(value) {
  return typeof value === "string" && /^\/(?![/\\])/.test(value) ? value : "/";
}

export async function render({ root, session, navigate, signal }) {
  const next = safeNext(new URLSearchParams(location.search).get("next"));
  if (session) return navigate(next, { replace: true });

  const email = textField({ label: "Email", name: "email", type: "email", autocomplete: "username", spellcheck: "false", autocapitalize: "off", required: true });
  const password = passwordField({ label: "Password", name: "password", autocomplete: "current-password", required: true });
  const alertSlot = h("div", { hidden: true });
  const notice = h("div", { hidden: true });
  // Back from an email provider's sign-in after the session ended: say why nothing was connected
  // (the Credentials page shows it again after signing in).
  const oauthError = pendingOAuthError();
  const oauthNotice = oauthError
    ? h("div", { class: "callout callout--warning" }, icon("alert"), h("div", { class: "callout__body" }, h("p", {}, oauthError.message)))
    : null;
  const submit = h("button", { type: "submit", class: "btn btn--primary btn--block" }, "Sign in");
  const form = h("form", { class: "stack", novalidate: true }, alertSlot, email, password, submit);

  authLayout(root, {
    title: "Sign in to Posthorn",
    lead: "Use the email and password of your Posthorn account.",
    body: [oauthNotice, notice, form],
    foot: "No account yet? Ask an admin of your workspace for an invite link.",
  });
  email.control.focus();

  // Before the first account exists, sign-in cannot work: say where the set-up link is.
  api("/setup", { signal, expect401: true })
    .then((answer) => {
      if (!answer?.needed) return;
      notice.hidden = false;
      notice.className = "callout";
      notice.append(
        icon("info"),
        h("div", { class: "callout__body" }, h("p", { class: "callout__title" }, "Posthorn is not set up yet"), h("p", {}, "Open the set-up link that posthorn serve printed when it first started. It creates the first account.")),
      );
    })
    .catch(() => {});

  let lockedUntil = 0;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (Date.now() < lockedUntil) return;
    clearErrors(form);
    const values = { email: email.control.value.trim(), password: password.control.value };
    const errors = [];
    if (!values.email) errors.push({ control: email.control, message: "Enter your email address." });
    else if (!looksLikeEmail(values.email)) errors.push({ control: email.control, message: "Enter an email address like name@example.com." });
    if (!values.password) errors.push({ control: password.control, message: "Enter your password." });
    if (errors.length) return showErrors(errors, { summarySlot: form });

    busy(submit, "Signing in…");
    try {
      setSession(await api("/session", { method: "POST", body: values, expect401: true }));
      navigate(next, { replace: true });
    } catch (error) {
      busy(submit);
      password.control.value = "";
      if (error.status === 429) {
        const wait = error.retryAfter ?? 60;
        lockedUntil = Date.now() + wait * 1000;
        formAlert(alertSlot, { message: `Too many sign-in attempts. Try again in ${waitText(wait)}.` });
        submit.disabled = true;
        setTimeout(() => (submit.disabled = false), wait * 1000);
      } else if (error.status === 401) {
        formAlert(alertSlot, { message: "Email or password is incorrect. Check both and try again. Forgot your password? Ask your Posthorn operator to reset it." });
        password.control.focus();
      } else if (error.field === "email" || error.field === "password") {
        showErrors([{ control: error.field === "email" ? email.control : password.control, message: error.message }]);
      } else {
        formAlert(alertSlot, error);
      }
    }
  });
}

function waitText(seconds) {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
