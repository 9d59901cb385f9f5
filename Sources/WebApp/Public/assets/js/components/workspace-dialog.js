// "New workspace" (instance owner only): a name → POST /api/v1/workspaces.

import { api } from "../api.js";
import { h, uid } from "../dom.js";
import { openDialog, dialogHeader } from "./dialog.js";
import { busy, clearErrors, formAlert, showErrors, textField } from "./form.js";

export function createWorkspaceDialog({ opener, onCreated }) {
  const titleId = uid("ws-title");
  const name = textField({ label: "Workspace name", name: "name", help: "Usually a team or a client, e.g. Marketing. You can switch between workspaces in this menu.", autocomplete: "off", required: true });
  const alertSlot = h("div", { hidden: true });
  const submit = h("button", { type: "submit", class: "btn btn--primary" }, "Create workspace");
  const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
  const form = h(
    "form",
    { class: "dialog__form", novalidate: true },
    dialogHeader("New workspace", { titleId }),
    h("div", { class: "dialog__body" }, alertSlot, name),
    h("footer", { class: "dialog__footer" }, h("span", { class: "grow" }), cancel, submit),
  );
  const dialog = h("dialog", { class: "dialog dialog--sm", "aria-labelledby": titleId }, form);
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = name.control.value.trim();
    if (!value) return showErrors([{ control: name.control, message: "Enter a name for the workspace." }]);
    busy(submit, "Creating…");
    try {
      const answer = await api("/workspaces", { method: "POST", body: { name: value } });
      dialog.close();
      onCreated(answer.workspace ?? answer);
    } catch (error) {
      if (error.field === "name") showErrors([{ control: name.control, message: error.message }]);
      else formAlert(alertSlot, error);
    } finally {
      busy(submit);
    }
  });
  openDialog(dialog, { opener });
}
