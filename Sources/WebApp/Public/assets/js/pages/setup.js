// First start: the holder of the one-time set-up link (/setup#<token>) creates the first
// account, which becomes the instance owner. The token stays in the fragment, so it never
// reaches a server log or a Referer.

import { api } from "../api.js";
import { authLayout, looksLikeEmail, passwordProblem, PASSWORD_HELP } from "../components/auth-layout.js";
import { busy, clearErrors, formAlert, passwordField, showErrors, textField } from "../components/form.js";
import { toast } from "../components/toast.js";
import { h } from "../dom.js";
import { icon } from "../icons.js";
import { setSession } from "../session.js";

export const title = "Set up Posthorn";

export async function render({ root, session, navigate, signal }) {
  const token = decodeURIComponent(location.hash.slice(1));
  const status = await api("/setup", { signal, expect401: true }).catch((error) => ({ error }));
  if (signal.aborted) return;

  if (status.error) {
    authLayout(root, { title: "Set up Posthorn", body: h("div", {}, messageCallout("x-circle", "danger", "Could not check the set-up state", status.error.message)) });
    return;
  }
  if (!status.needed) {
    authLayout(root, {
      title: "Posthorn is already set up",
      lead: "The first account exists, so this set-up link no longer works.",
      body: h("a", { class: "btn btn--primary btn--block", href: session ? "/" : "/signin" }, session ? "Open Posthorn" : "Sign in"),
    });
    return;
  }
  if (!token) {
    authLayout(root, {
      title: "Set up Posthorn",
      body: messageCallout("info", "", "Open the set-up link", "When posthorn serve first starts it prints a one-time link ending in /setup#… . Open that exact link to create the first account."),
    });
    return;
  }

  const name = textField({ label: "Your name", name: "name", autocomplete: "name", required: true });
  const email = textField({ label: "Email", name: "email", type: "email", autocomplete: "username", spellcheck: "false", autocapitalize: "off", required: true });
  const password = passwordField({ label: "Password", name: "password", autocomplete: "new-password", help: PASSWORD_HELP, required: true });
  const alertSlot = h("div", { hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn--primary btn--block" }, "Create account");
  const form = h("form", { class: "stack", novalidate: true }, alertSlot, name, email, password, submit);
  authLayout(root, {
    title: "Set up Posthorn",
    lead: "Create the first account. It becomes the owner of this Posthorn server and an admin of its first workspace.",
    body: form,
  });
  name.control.focus();

  const fields = { name: name.control, email: email.control, password: password.control };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const values = { token, email: email.control.value.trim(), name: name.control.value.trim(), password: password.control.value };
    const errors = [];
    if (!values.name) errors.push({ control: fields.name, message: "Enter your name." });
    if (!values.email) errors.push({ control: fields.email, message: "Enter your email address." });
    else if (!looksLikeEmail(values.email)) errors.push({ control: fields.email, message: "Enter an email address like name@example.com." });
    const problem = passwordProblem(values.password);
    if (problem) errors.push({ control: fields.password, message: problem });
    if (errors.length) return showErrors(errors, { summarySlot: form });

    busy(submit, "Creating account…");
    try {
      setSession(await api("/setup", { method: "POST", body: values, expect401: true }));
      navigate("/settings/credentials", { replace: true });
      toast("Welcome to Posthorn. Start by connecting your email.");
    } catch (error) {
      busy(submit);
      if (error.field && fields[error.field]) showErrors([{ control: fields[error.field], message: error.message }]);
      else if (error.code === "invalid_setup_token")
        formAlert(alertSlot, { ...error, message: "This set-up link is not valid or was used already. If someone has set Posthorn up, sign in instead." });
      else formAlert(alertSlot, error);
    }
  });
}

function messageCallout(iconName, kind, heading, text) {
  return h("div", { class: `callout ${kind ? `callout--${kind}` : ""}` }, icon(iconName), h("div", { class: "callout__body" }, h("p", { class: "callout__title" }, heading), h("p", {}, text)));
}
