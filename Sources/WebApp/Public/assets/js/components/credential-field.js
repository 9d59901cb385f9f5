// The Credential dropdown of a node: the workspace's credentials (GET /api/v1/credentials, where a
// member gets id, type and name — enough to pick one), then "+ Add new credential", which opens
// the Connect your email dialog inline and selects the new credential once it is saved (the
// spec's Step 2). A member cannot add one: the option is there but disabled, and the help says why.

import { h } from "../dom.js";
import { openConnectDialog } from "./connect-dialog.js";
import { icon } from "../icons.js";
import { clearFieldError, setFieldError } from "./form.js";
import { paramLabel } from "./param-field.js";
import { announce } from "./toast.js";

const ADD = "__add_new_credential__";

/**
 * `store`: { list: [credential], admin: boolean, add(credential) } shared by the studio, so a
 * credential added from one step is offered in the others.
 */
export function credentialField({ parameter, id, value, store, onChange }) {
  const helpId = `${id}-help`;
  const memberId = `${id}-member`;
  const select = h("select", { class: "select", id, "aria-describedby": store.admin ? helpId : `${helpId} ${memberId}`, "aria-required": parameter.required ? "true" : null });
  let selected = value ?? "";
  // "Saved and selected", said at the field: a toast would cover the panel's lower fields.
  const savedNote = h("p", { class: "field__success", id: `${id}-saved`, hidden: true });

  function fill() {
    const known = store.list.some((c) => c.id === selected);
    select.replaceChildren(
      h("option", { value: "" }, store.list.length ? "Choose a credential" : "No credentials yet"),
      ...store.list.map((c) => h("option", { value: c.id }, c.name)),
      // A stored id the list does not have: deleted since, or from another workspace's copy.
      selected && !known ? h("option", { value: selected }, `Unknown credential (${selected})`) : null,
      h("option", { value: ADD, disabled: !store.admin }, store.admin ? "+ Add new credential" : "+ Add new credential (admins only)"),
    );
    select.value = selected;
    if (selected && !known) setFieldError(select, "This credential no longer exists in this workspace. Pick another.");
  }

  select.addEventListener("change", () => {
    if (select.value !== ADD) {
      selected = select.value;
      savedNote.hidden = true;
      clearFieldError(select);
      onChange(selected || undefined);
      return;
    }
    select.value = selected; // until a new one is saved, the choice stays what it was
    openConnectDialog({
      opener: select,
      onSaved: (credential) => {
        store.add(credential);
        selected = credential.id;
        fill();
        clearFieldError(select);
        onChange(selected);
        savedNote.replaceChildren(icon("check-circle"), h("span", {}, `“${credential.name}” saved and selected.`));
        savedNote.hidden = false;
        announce(`“${credential.name}” saved and selected.`);
        select.focus();
      },
    });
  });

  fill();
  const root = h(
    "div",
    { class: "field", "data-param": parameter.name },
    paramLabel(parameter, id),
    select,
    savedNote,
    h("p", { class: "field__help", id: helpId, "data-help": "" }, parameter.help ?? "The credential to use."),
    store.admin ? null : h("p", { class: "field__help field__help--note", id: memberId }, "Only workspace admins can add credentials. Ask one to connect your email in Credentials."),
  );
  return { root, control: select, present() {}, refresh: fill };
}
