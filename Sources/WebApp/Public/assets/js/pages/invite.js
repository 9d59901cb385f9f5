// Accepting an invite (/invite#<token>): signed in → join with one button; signed out → create
// an account (email, name, password), or sign in first and come back. The token lives in the
// fragment, and across the sign-in detour in sessionStorage, never in a URL the server sees.

import { api } from "../api.js";
import { authLayout, looksLikeEmail, passwordProblem, PASSWORD_HELP } from "../components/auth-layout.js";
import { busy, clearErrors, formAlert, passwordField, showErrors, textField } from "../components/form.js";
import { toast } from "../components/toast.js";
import { h } from "../dom.js";
import { icon } from "../icons.js";
import { clearSession, setSession, switchWorkspace } from "../session.js";

export const title = "Join a workspace";
const PENDING_KEY = "posthorn.pendingInvite";

export async function render(ctx) {
  const { root, session, signal } = ctx;
  let token = decodeURIComponent(location.hash.slice(1));
  if (token) sessionStorage.setItem(PENDING_KEY, token);
  else token = sessionStorage.getItem(PENDING_KEY) ?? "";

  if (!token) return invalid(root, "This address has no invite in it. Open the full link you were sent; it ends with /invite#… .");

  let invite;
  try {
    invite = await api("/invites/preview", { method: "POST", body: { token }, signal, expect401: true });
  } catch (error) {
    if (error.name === "AbortError") return;
    if (error.status === 404) {
      sessionStorage.removeItem(PENDING_KEY);
      return invalid(root, "It may have been used already or be more than 7 days old. Ask an admin of the workspace for a new link.");
    }
    return invalid(root, error.message);
  }

  const role = invite.role === "admin" ? "an admin" : "a member";
  const titleText = `Join ${invite.workspace.name}`;
  const lead = `You have been invited to join the workspace ${invite.workspace.name} on Posthorn as ${role}.`;
  const alertSlot = h("div", { hidden: true });

  const joined = async (answer) => {
    sessionStorage.removeItem(PENDING_KEY);
    setSession(answer);
    const workspace = answer.workspaces.find((w) => w.name === invite.workspace.name);
    if (workspace) switchWorkspace(workspace.id);
    ctx.navigate("/settings/credentials", { replace: true });
    toast(`You joined ${invite.workspace.name}`);
  };

  if (session) {
    const join = h("button", { type: "button", class: "btn btn--primary btn--block" }, "Join workspace");
    const other = h("button", { type: "button", class: "btn btn--ghost btn--sm" }, "Sign out");
    join.addEventListener("click", async () => {
      busy(join, "Joining…");
      try {
        await joined(await api("/invites/accept", { method: "POST", body: { token } }));
      } catch (error) {
        busy(join);
        formAlert(alertSlot, error);
      }
    });
    other.addEventListener("click", async () => {
      await api("/session", { method: "DELETE", expect401: true }).catch(() => {});
      clearSession();
      render({ ...ctx, session: null });
    });
    authLayout(root, {
      title: titleText,
      lead,
      body: h(
        "div",
        { class: "stack" },
        alertSlot,
        h("p", { class: "row text-sm" }, h("span", { class: "muted" }, `Signed in as ${session.user.name} (${session.user.email}).`), other),
        join,
      ),
    });
    join.focus();
    return;
  }

  const email = textField({ label: "Email", name: "email", type: "email", value: invite.email ?? "", autocomplete: "username", spellcheck: "false", autocapitalize: "off", required: true });
  const name = textField({ label: "Your name", name: "name", autocomplete: "name", required: true });
  const password = passwordField({ label: "Password", name: "password", autocomplete: "new-password", help: PASSWORD_HELP, required: true });
  const submit = h("button", { type: "submit", class: "btn btn--primary btn--block" }, "Create account and join");
  const form = h("form", { class: "stack", novalidate: true }, alertSlot, email, name, password, submit);
  authLayout(root, {
    title: titleText,
    lead: `${lead} Create your account to accept.`,
    body: form,
    foot: h("span", {}, "Already have an account? ", h("a", { href: "/signin?next=/invite" }, "Sign in to accept")),
  });
  (invite.email ? name : email).control.focus();

  const fields = { email: email.control, name: name.control, password: password.control };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = { email: email.control.value.trim(), name: name.control.value.trim(), password: password.control.value };
    const errors = [];
    if (!values.email) errors.push({ control: fields.email, message: "Enter your email address." });
    else if (!looksLikeEmail(values.email)) errors.push({ control: fields.email, message: "Enter an email address like name@example.com." });
    if (!values.name) errors.push({ control: fields.name, message: "Enter your name." });
    const problem = passwordProblem(values.password);
    if (problem) errors.push({ control: fields.password, message: problem });
    if (errors.length) return showErrors(errors, { summarySlot: form });

    busy(submit, "Joining…");
    try {
      await joined(await api("/invites/accept", { method: "POST", body: { ...values, token }, expect401: true }));
    } catch (error) {
      busy(submit);
      if (error.field && fields[error.field]) showErrors([{ control: fields[error.field], message: error.message }]);
      else formAlert(alertSlot, error);
    }
  });
}

function invalid(root, text) {
  authLayout(root, {
    title: "This invite link doesn't work",
    body: h("div", { class: "stack" }, h("div", { class: "callout callout--warning" }, icon("alert"), h("div", { class: "callout__body" }, h("p", {}, text))), h("a", { class: "btn btn--block", href: "/signin" }, "Go to sign-in")),
  });
}
