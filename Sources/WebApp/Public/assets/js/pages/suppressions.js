// Suppressions (/settings/suppressions): the addresses this workspace no longer sends to — hard
// bounces, complaints, and those added by hand. Sends leave them out of the envelope and list them
// in the step's output as suppressed. Every member sees the list; admins add and remove addresses.

import { api } from "../api.js";
import { confirmDialog, dialogHeader, openDialog } from "../components/dialog.js";
import { busy, clearErrors, formAlert, showErrors, textField } from "../components/form.js";
import { toast } from "../components/toast.js";
import { h, replaceChildren, timeElement, uid } from "../dom.js";
import { icon } from "../icons.js";

export const title = "Suppressions";

const REASON = { bounce: "Hard bounce", complaint: "Complaint", manual: "Added by hand" };

export async function render({ shell, content, signal, workspace }) {
  const admin = workspace?.role === "admin";
  const add = admin ? h("button", { type: "button", class: "btn btn--primary" }, icon("plus"), "Suppress an address") : null;
  shell.header({
    title: "Suppressions",
    lead: "Addresses this workspace no longer sends to. A Send SMTP Email step leaves them out (its output lists them as suppressed); a step set to “Send to suppressed addresses” still reaches them.",
    actions: [add],
    settingsTabs: true,
  });
  const tableSlot = h("div", {}, h("div", { class: "table-wrap", "aria-busy": "true", "aria-label": "Loading suppressions" }));
  content.append(tableSlot);
  add?.addEventListener("click", () => addDialog(add));

  let items = [];
  async function load() {
    try {
      items = (await api("/suppressions", { signal })).items ?? [];
      replaceChildren(tableSlot, items.length ? table() : empty());
    } catch (error) {
      if (error.name === "AbortError") return;
      formAlert(tableSlot, error);
    }
  }

  function table() {
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden" }, "Suppressed addresses of this workspace"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Address"), h("th", { scope: "col" }, "Reason"), h("th", { scope: "col" }, "Since"), admin ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null)),
        h(
          "tbody",
          {},
          items.map((item) => {
            const remove = admin ? h("button", { type: "button", class: "btn btn--sm btn--danger-text", "aria-label": `Send to ${item.address} again` }, "Remove") : null;
            remove?.addEventListener("click", () => removeAddress(item, remove));
            return h(
              "tr",
              { "data-address": item.address },
              h("td", { "data-label": "Address" }, h("div", {}, h("div", { class: "table__primary" }, item.address), item.detail ? h("div", { class: "muted" }, item.detail) : null)),
              h("td", { "data-label": "Reason" }, REASON[item.reason] ?? item.reason),
              h("td", { "data-label": "Since" }, timeElement(item.createdAt)),
              admin ? h("td", { class: "table__actions" }, remove) : null,
            );
          }),
        ),
      ),
    );
  }

  function empty() {
    return h(
      "div",
      { class: "tile" },
      h(
        "div",
        { class: "empty" },
        h("span", { class: "empty__icon" }, icon("shield-check", { className: "icon--lg" })),
        h("h2", { class: "empty__title" }, "No suppressed addresses"),
        h("p", { class: "empty__text" }, "Addresses that bounce for good or complain will be listed here, and no flow will email them again until you remove them. You can also add one by hand."),
      ),
    );
  }

  function addDialog(opener) {
    const titleId = uid("suppress-title");
    const address = textField({ label: "Email address", name: "address", type: "email", autocomplete: "off", maxlength: "254", required: true, help: "Flows of this workspace will leave it out of every send." });
    const note = textField({ label: "Note", name: "note", optional: true, maxlength: "500", help: "Why, for the others in the workspace." });
    const alertSlot = h("div", { hidden: true });
    const submit = h("button", { type: "submit", class: "btn btn--primary" }, "Suppress");
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const form = h("form", { class: "dialog__form", novalidate: true }, dialogHeader("Suppress an address", { titleId }), h("div", { class: "dialog__body" }, alertSlot, address, note), h("footer", { class: "dialog__footer" }, h("span", { class: "grow" }), cancel, submit));
    const dialog = h("dialog", { class: "dialog dialog--sm", "aria-labelledby": titleId }, form);
    let added = null;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const value = address.control.value.trim();
      if (!/^[^@\s<>,;"]+@[^@\s<>,;"]+$/.test(value)) return showErrors([{ control: address.control, message: "Enter one email address, like ada@example.com." }]);
      busy(submit, "Adding…");
      try {
        const body = { address: value };
        if (note.control.value.trim()) body.note = note.control.value.trim();
        added = await api("/suppressions", { method: "POST", body });
        dialog.close();
      } catch (error) {
        busy(submit);
        if (error.field === "address") showErrors([{ control: address.control, message: error.message }]);
        else formAlert(alertSlot, error);
      }
    });
    openDialog(dialog, {
      opener,
      fallbackFocus: () => add,
      onClose: async () => {
        if (!added) return;
        toast(`${added.address} suppressed.`);
        await load();
      },
    });
    address.control.focus();
  }

  async function removeAddress(item, opener) {
    const done = await confirmDialog({
      title: `Send to ${item.address} again?`,
      body: h("p", {}, "Flows of this workspace will include this address again. If it bounces for good again, it comes back on this list."),
      confirmLabel: "Remove from the list",
      progressLabel: "Removing…",
      opener,
      fallbackFocus: () => add ?? tableSlot,
      action: () => api(`/suppressions/${encodeURIComponent(item.address)}`, { method: "DELETE" }),
    });
    if (done) {
      toast(`${item.address} removed.`);
      await load();
    }
  }

  await load();
}
