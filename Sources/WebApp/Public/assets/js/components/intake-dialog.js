// "Bounces and complaints" for one credential: where bounce messages and the providers' webhooks
// reach Posthorn (GET /credentials/{id}/intake), each provider's keys (PUT/DELETE
// …/intake/{provider}; sealed on the server and never shown again), and a new address (POST
// …/intake, the old one stops at once). Each address is a key: whoever has it may report bounces
// for this workspace, so it is shown with copy buttons and nowhere else.

import { api } from "../api.js";
import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { badge } from "./badge.js";
import { copyable } from "./copy.js";
import { confirmDialog, dialogHeader, openDialog } from "./dialog.js";
import { busy, clearErrors, formAlert, passwordField, showErrors, textField } from "./form.js";
import { toast } from "./toast.js";

const PROVIDERS = [
  {
    id: "ses",
    name: "Amazon SES",
    how: "In Amazon SNS, subscribe this URL (HTTPS) to the topic your SES configuration set or identity publishes bounces and complaints to. Posthorn checks every message's SNS signature and confirms the subscription itself.",
    fields: [{ name: "topicArn", label: "Topic ARN", optional: true, help: "Only messages from this topic are taken. Leave blank to take any SNS topic that has this URL.", placeholder: "arn:aws:sns:us-east-1:123456789012:ses-bounces" }],
  },
  {
    id: "sendgrid",
    name: "SendGrid",
    how: "Settings → Mail Settings → Event Webhook: this URL, with Bounced, Dropped, Deferred, Delivered and Spam Reports, and Signed Event Webhook turned on.",
    fields: [{ name: "verificationKey", label: "Verification key", help: "The public key SendGrid shows when you turn on the signed event webhook.", area: true }],
  },
  {
    id: "mailgun",
    name: "Mailgun",
    how: "Sending → Webhooks: this URL for Permanent failure, Temporary failure, Delivered and Spam complaints.",
    fields: [{ name: "signingKey", label: "HTTP webhook signing key", secret: true, help: "Shown on Mailgun's Webhooks page. Sealed here and never shown again." }],
  },
  {
    id: "postmark",
    name: "Postmark",
    how: "Servers → your server → Webhooks: this URL with basic authentication (the username and password below), for Bounce, Spam Complaint and Delivery.",
    fields: [
      { name: "username", label: "Username", help: "Any name you choose; Postmark sends it with each call." },
      { name: "password", label: "Password", secret: true, help: "A long random password you choose. Sealed here and never shown again." },
    ],
  },
];

export function openIntakeDialog({ credential, opener }) {
  const titleId = uid("intake-title");
  const alertSlot = h("div", { hidden: true });
  const content = h("div", { class: "intake" }, h("p", { class: "muted" }, icon("loader", { className: "icon--spin" }), " Loading…"));
  const close = h("button", { type: "button", class: "btn" }, "Close");
  // The dialog stays open after a save: its confirmations go to a live region of its own, above the backdrop.
  const toasts = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
  const dialog = h(
    "dialog",
    { class: "dialog", "aria-labelledby": titleId },
    h(
      "div",
      { class: "dialog__form" },
      dialogHeader("Bounces and complaints", { titleId, subtitle: credential.name }),
      h("div", { class: "dialog__body" }, alertSlot, content),
      h("footer", { class: "dialog__footer row--end" }, h("span", { class: "grow" }), close),
    ),
    toasts,
  );
  close.addEventListener("click", () => dialog.close("cancel"));
  openDialog(dialog, { opener });
  const path = `/credentials/${encodeURIComponent(credential.id)}/intake`;

  load();

  async function load() {
    try {
      render(await api(path));
    } catch (error) {
      content.replaceChildren();
      formAlert(alertSlot, error);
    }
  }

  // A save, a removal or new addresses draw everything again: `reopen` (a provider's id) keeps that
  // provider open, and the focus goes to its summary instead of falling to the page.
  const summaryOf = (id) => content.querySelector(`[data-provider="${id}"] > summary`);

  function render(intake, reopen) {
    const url = (p) => `${location.origin}${p}`;
    const rotate = h("button", { type: "button", class: "btn btn--sm", "data-rotate": "" }, icon("refresh"), "New addresses");
    rotate.addEventListener("click", async () => {
      const done = await confirmDialog({
        title: "Make new intake addresses?",
        body: h("p", {}, "Every address below stops working at once: update your mailbox forward and each provider's webhook. The providers' keys stay."),
        confirmLabel: "Make new addresses",
        progressLabel: "Making…",
        opener: rotate,
        fallbackFocus: () => content.querySelector("[data-rotate]"),
        action: async () => render(await api(path, { method: "POST" })),
      });
      if (done) toast("New intake addresses made", { region: toasts });
    });
    content.replaceChildren(
      h("p", {}, "Bounces and spam complaints about mail sent with this credential come back here: each shows on the step that sent the message, hard bounces and complaints join the suppression list, and flows that start on ", h("em", {}, "Email bounced"), " or ", h("em", {}, "Spam complaint"), " run. Each address is a key — give it only to your mailbox or provider."),
      h(
        "section",
        { class: "intake__section", "aria-labelledby": `${titleId}-raw` },
        h("h3", { class: "section__title", id: `${titleId}-raw` }, "From a mailbox"),
        copyable(url(intake.providers.raw.path), { label: "bounce address", block: true }),
        h("p", { class: "field__help" }, "POST each bounce message to it (for example from a forward: ", h("code", {}, "curl --data-binary @- URL"), "), or pipe it to ", h("code", {}, "posthorn bounce ingest"), ". Delivery status notifications, ARF complaints and the common Exchange and Gmail notices are read."),
      ),
      ...PROVIDERS.map((provider) => providerSection(provider, intake, url)),
      h("div", { class: "row" }, rotate),
    );
    if (reopen) {
      summaryOf(reopen).parentElement.open = true;
      summaryOf(reopen).focus(); // no effect while a confirmation is above: its fallbackFocus does it
    }
  }

  function providerSection(provider, intake, url) {
    const state = intake.providers[provider.id];
    const headingId = uid(`intake-${provider.id}`);
    const formAlertSlot = h("div", { hidden: true });
    const fields = provider.fields.map((f) => {
      if (f.secret) return passwordField({ label: f.label, name: f.name, help: f.help, autocomplete: "new-password", maxlength: "200" });
      if (f.area) {
        const id = uid(f.name);
        const area = h("textarea", { class: "textarea textarea--code", id, name: f.name, rows: "3", spellcheck: "false", autocapitalize: "off", autocomplete: "off", "aria-describedby": `${id}-help` });
        const field = h("div", { class: "field" }, h("label", { class: "field__label", for: id }, f.label), area, h("p", { class: "field__help", id: `${id}-help` }, f.help));
        field.control = area;
        return field;
      }
      return textField({ label: f.label, name: f.name, help: f.help, optional: f.optional, placeholder: f.placeholder, autocomplete: "off", spellcheck: "false", autocapitalize: "off", class: "input input--mono" });
    });
    const save = h("button", { type: "submit", class: "btn btn--sm btn--primary" }, state.configured ? "Replace keys" : "Save keys");
    const remove = state.configured ? h("button", { type: "button", class: "btn btn--sm btn--ghost btn--danger-text" }, "Remove") : null;
    const form = h("form", { class: "intake__form", novalidate: true, "aria-label": `${provider.name} keys` }, formAlertSlot, fields, h("div", { class: "row" }, save, remove));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      formAlertSlot.hidden = true;
      const body = {};
      for (const field of fields) {
        const value = field.control.value.trim();
        if (value) body[field.control.name] = value;
      }
      busy(save, "Saving…");
      try {
        render(await api(`${path}/${provider.id}`, { method: "PUT", body }), provider.id);
        toast(`${provider.name} keys saved`, { region: toasts });
      } catch (error) {
        busy(save);
        const control = fields.find((f) => f.control.name === error.field)?.control;
        if (control) showErrors([{ control, message: error.message }]);
        else formAlert(formAlertSlot, error);
      }
    });
    remove?.addEventListener("click", async () => {
      const done = await confirmDialog({
        title: `Remove the ${provider.name} keys?`,
        body: h("p", {}, `${provider.name}'s calls to this intake are refused from now on.`),
        confirmLabel: "Remove",
        progressLabel: "Removing…",
        opener: remove,
        fallbackFocus: () => summaryOf(provider.id),
        action: async () => render(await api(`${path}/${provider.id}`, { method: "DELETE" }), provider.id),
      });
      if (done) toast(`${provider.name} keys removed`, { region: toasts });
    });
    return h(
      "details",
      { class: "section disclosure intake__provider", "aria-labelledby": headingId, "data-provider": provider.id },
      h("summary", {}, icon("chevron-right"), h("span", { class: "section__title", id: headingId }, provider.name), state.configured ? badge("succeeded", "Set up") : badge("neutral", "Not set up")),
      h(
        "div",
        { class: "disclosure__body" },
        copyable(url(state.path), { label: `${provider.name} webhook URL`, block: true }),
        h("p", { class: "field__help" }, provider.how),
        form,
      ),
    );
  }
}
