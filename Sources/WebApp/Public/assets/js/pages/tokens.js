// API tokens (/settings/tokens): the workspace's named tokens for scripts and other services.
// Create with a name → the value is shown once, in a panel with a copy button; revoke with
// confirmation.

import { api } from "../api.js";
import { adminOnly } from "../components/admin-only.js";
import { copyable } from "../components/copy.js";
import { confirmDialog, dialogHeader, openDialog } from "../components/dialog.js";
import { busy, clearErrors, formAlert, showErrors, textField } from "../components/form.js";
import { toast } from "../components/toast.js";
import { h, replaceChildren, timeElement, uid } from "../dom.js";
import { icon } from "../icons.js";

export const title = "API tokens";

export async function render({ shell, content, signal, workspace }) {
  const admin = workspace?.role === "admin";
  const create = admin ? h("button", { type: "button", class: "btn btn--primary" }, icon("plus"), "Create token") : null;
  shell.header({
    title: "API tokens",
    lead: [h("span", {}, "Tokens let scripts and other services call the Posthorn API for this workspace. Send one as "), h("code", {}, "Authorization: Bearer <token>"), ". The ", h("a", { href: "/settings/api-reference" }, "API reference"), " lists every call, with curl examples."],
    actions: [create],
    settingsTabs: true,
  });
  if (!admin) return content.append(adminOnly("API tokens"));

  const secretSlot = h("div");
  const tableSlot = h("div", {}, skeletonTable());
  content.append(h("div", { class: "stack" }, secretSlot, tableSlot));
  create.addEventListener("click", () => createDialog(create));

  let tokens = [];
  async function load() {
    try {
      tokens = (await api("/tokens", { signal })).items ?? [];
      replaceChildren(tableSlot, tokens.length ? table() : empty());
    } catch (error) {
      if (error.name === "AbortError") return;
      formAlert(tableSlot, error);
    }
  }

  function table() {
    const names = new Map(tokens.map((t) => [t.id, t.name]));
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden" }, "API tokens of this workspace"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, "Last used"), h("th", { scope: "col" }, "Created by"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
        h(
          "tbody",
          {},
          tokens.map((token) => {
            const revoke = h("button", { type: "button", class: "btn btn--sm btn--danger-text", "aria-label": `Revoke ${token.name}` }, "Revoke");
            revoke.addEventListener("click", () => revokeToken(token, revoke));
            return h(
              "tr",
              {},
              h("td", { "data-label": "Name" }, h("div", {}, h("div", { class: "table__primary" }, token.name), copyable(token.id, { label: "token id" }))),
              h("td", { "data-label": "Created" }, timeElement(token.createdAt, { dateOnly: true })),
              h("td", { "data-label": "Last used" }, timeElement(token.lastUsedAt)),
              h("td", { "data-label": "Created by" }, createdBy(token.createdBy, names)),
              h("td", { class: "table__actions" }, revoke),
            );
          }),
        ),
      ),
    );
  }

  function createdBy(value, names) {
    // null: the workspace's first token, one made with the CLI (OpenAPI `APIToken.createdBy`) or,
    // as far as the contract says, in this web app: so no claim about which.
    if (!value) return h("span", { class: "muted" }, "—", h("span", { class: "visually-hidden" }, "Not recorded"));
    if (names.has(value)) return h("span", {}, names.get(value));
    return h("code", { class: "copyable__value" }, value);
  }

  function empty() {
    return h(
      "div",
      { class: "tile" },
      h(
        "div",
        { class: "empty" },
        h("span", { class: "empty__icon" }, icon("lock", { className: "icon--lg" })),
        h("h2", { class: "empty__title" }, "No API tokens yet"),
        h("p", { class: "empty__text" }, "Create a token to call the API from a script, a CRM or a CI job. Give each its own name so you can revoke one without breaking the others."),
        h("button", { type: "button", class: "btn", onclick: (event) => createDialog(event.currentTarget) }, icon("plus"), "Create token"),
      ),
    );
  }

  function showSecret(created) {
    const dismiss = h("button", { type: "button", class: "btn btn--sm" }, "I have copied it");
    const panel = h(
      "div",
      { class: "callout callout--warning secret-panel", tabindex: "-1", role: "region", "aria-label": "New token" },
      icon("alert"),
      h(
        "div",
        { class: "callout__body" },
        h("p", { class: "callout__title" }, `Copy the token “${created.name}” now. You won't be able to see it again.`),
        h("p", {}, "Store it in your script's secret settings. Anyone with it can act on this workspace through the API; revoke it here if it leaks."),
        copyable(created.token, { label: "token", block: true }),
        h("p", { class: "row" }, dismiss),
      ),
    );
    dismiss.addEventListener("click", () => {
      panel.remove();
      create.focus();
    });
    replaceChildren(secretSlot, panel);
    panel.querySelector(".copy-btn").focus();
  }

  function createDialog(opener) {
    const titleId = uid("token-title");
    const name = textField({ label: "Token name", name: "name", help: "What it is for, e.g. CRM sync. Shown in this list and unique in the workspace.", autocomplete: "off", maxlength: "100", required: true });
    const alertSlot = h("div", { hidden: true });
    const submit = h("button", { type: "submit", class: "btn btn--primary" }, "Create token");
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const form = h("form", { class: "dialog__form", novalidate: true }, dialogHeader("Create an API token", { titleId }), h("div", { class: "dialog__body" }, alertSlot, name), h("footer", { class: "dialog__footer" }, h("span", { class: "grow" }), cancel, submit));
    const dialog = h("dialog", { class: "dialog dialog--sm", "aria-labelledby": titleId }, form);
    let created = null;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const value = name.control.value.trim();
      if (!value) return showErrors([{ control: name.control, message: "Enter a name for the token, e.g. CRM sync." }]);
      busy(submit, "Creating…");
      try {
        created = await api("/tokens", { method: "POST", body: { name: value } });
        dialog.close();
      } catch (error) {
        busy(submit);
        if (error.field === "name") showErrors([{ control: name.control, message: error.message }]);
        else formAlert(alertSlot, error);
      }
    });
    openDialog(dialog, {
      opener,
      fallbackFocus: () => create,
      onClose: async () => {
        if (!created) return;
        await load();
        showSecret(created);
      },
    });
    name.control.focus();
  }

  async function revokeToken(token, opener) {
    const done = await confirmDialog({
      title: `Revoke “${token.name}”?`,
      body: h("p", {}, "Anything still using this token gets 401 Unauthorized at once. This can't be undone; create a new token to replace it."),
      confirmLabel: "Revoke token",
      progressLabel: "Revoking…",
      opener,
      fallbackFocus: () => create,
      action: () => api(`/tokens/${encodeURIComponent(token.id)}`, { method: "DELETE" }),
    });
    if (done) {
      toast(`“${token.name}” revoked.`);
      await load();
    }
  }

  await load();
}

function skeletonTable() {
  return h("div", { class: "table-wrap", "aria-busy": "true", "aria-label": "Loading tokens" }, [1, 2, 3].map(() => h("div", { class: "item" }, h("div", { class: "item__main" }, h("span", { class: "skeleton skeleton--title" }), h("span", { class: "skeleton skeleton--text" })))));
}
