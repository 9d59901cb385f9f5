// Rename a flow: a small dialog with the name field. The new name is part of the unsaved changes
// (saved with the rest); names are unique in a workspace, which only the server can check.

import { h, uid } from "../dom.js";
import { dialogHeader, openDialog } from "./dialog.js";
import { clearErrors, showErrors, textField } from "./form.js";

export function openFlowNameDialog({ name, opener, onRename }) {
  const titleId = uid("rename-title");
  const field = textField({ label: "Flow name", name: "name", value: name, help: "Unique in this workspace, e.g. Welcome email.", autocomplete: "off", maxlength: "200", required: true });
  const submit = h("button", { type: "submit", class: "btn btn--primary" }, "Rename");
  const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
  const form = h(
    "form",
    { class: "dialog__form", novalidate: true },
    dialogHeader("Rename flow", { titleId }),
    h("div", { class: "dialog__body" }, field),
    h("footer", { class: "dialog__footer" }, h("span", { class: "grow" }), cancel, submit),
  );
  const dialog = h("dialog", { class: "dialog dialog--sm", "aria-labelledby": titleId }, form);
  let renamed = null;
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = field.control.value.trim();
    if (!value) return showErrors([{ control: field.control, message: "Enter a name for the flow, e.g. Welcome email." }]);
    if (/[\u0000-\u001f\u007f]/.test(value)) return showErrors([{ control: field.control, message: "Use a name without line breaks or control characters." }]);
    renamed = value;
    dialog.close();
  });
  openDialog(dialog, { opener, onClose: () => renamed && renamed !== name && onRename(renamed) });
  field.control.select();
}
