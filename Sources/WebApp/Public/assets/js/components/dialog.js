// Dialogs: the native <dialog> opened with showModal() (inert page behind it, Esc and backdrop for
// free). We add: Tab and Shift+Tab wrapping inside the dialog, removal on close, and focus back to
// the button that opened it (or a fallback when a re-rendered list removed that button).

import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { formAlert } from "./form.js";

export function openDialog(dialog, { opener = document.activeElement, fallbackFocus, onClose } = {}) {
  document.body.append(dialog);
  dialog.addEventListener("keydown", (event) => keepTabInside(dialog, event));
  dialog.addEventListener(
    "close",
    () => {
      dialog.remove();
      const target = opener?.isConnected ? opener : fallbackFocus?.();
      target?.focus();
      onClose?.(dialog.returnValue); // after the focus is back, so onClose may move it on
    },
    { once: true },
  );
  dialog.showModal();
  return dialog;
}

// showModal() makes the page behind the dialog inert, but Tab from the dialog's last control
// leaves the page for the browser's own toolbar (and Shift+Tab from the first). Wrap instead, so
// the focus stays in the dialog until it closes.
const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]";

function tabStops(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => {
    if (el.tabIndex < 0 || !el.getClientRects().length) return false; // hidden, or in a closed <details>
    if (el.type !== "radio" || !el.name) return true;
    // A radio group is one stop: its checked radio, or its first when none is checked.
    const group = [...root.querySelectorAll(`input[type=radio][name="${CSS.escape(el.name)}"]`)];
    return el === (group.find((radio) => radio.checked) ?? group[0]);
  });
}

function keepTabInside(dialog, event) {
  if (event.key !== "Tab" || event.altKey || event.ctrlKey || event.metaKey) return;
  const stops = tabStops(dialog);
  if (!stops.length) return;
  const active = document.activeElement;
  const at = (stop) => active === stop || (stop.type === "radio" && active?.type === "radio" && active.name === stop.name);
  if (event.shiftKey && at(stops[0])) {
    event.preventDefault();
    stops[stops.length - 1].focus();
  } else if (!event.shiftKey && at(stops[stops.length - 1])) {
    event.preventDefault();
    stops[0].focus();
  }
}

/** The header of a dialog: title, optional subtitle and a close button. */
export function dialogHeader(title, { subtitle, titleId = uid("dialog-title") } = {}) {
  const close = h("button", { type: "button", class: "btn btn--ghost btn--icon", "aria-label": "Close", value: "cancel" }, icon("x"));
  close.addEventListener("click", () => close.closest("dialog").close("cancel"));
  return h(
    "header",
    { class: "dialog__header" },
    h("div", { class: "grow" }, h("h2", { class: "dialog__title", id: titleId }, title), subtitle ? h("p", { class: "dialog__subtitle" }, subtitle) : null),
    close,
  );
}

/**
 * Asks for confirmation. `action` (async) runs while the dialog stays open with a progress
 * label; if it throws, its message is shown in the dialog and the user can retry or cancel.
 * Resolves true when confirmed (and the action succeeded), false when cancelled.
 */
export function confirmDialog({ title, body, confirmLabel, progressLabel = "Working…", danger = true, action, opener, fallbackFocus }) {
  return new Promise((resolve) => {
    const titleId = uid("confirm-title");
    const alertSlot = h("div", { hidden: true });
    const confirm = h("button", { type: "submit", class: `btn ${danger ? "btn--danger" : "btn--primary"}` }, confirmLabel);
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const form = h(
      "form",
      { class: "dialog__form", method: "dialog" },
      dialogHeader(title, { titleId }),
      h("div", { class: "dialog__body" }, alertSlot, body),
      h("footer", { class: "dialog__footer row--end" }, h("span", { class: "grow" }), cancel, confirm),
    );
    const dialog = h("dialog", { class: "dialog dialog--sm", "aria-labelledby": titleId }, form);
    let confirmed = false;
    cancel.addEventListener("click", () => dialog.close("cancel"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!action) {
        confirmed = true;
        dialog.close("confirm");
        return;
      }
      confirm.disabled = true;
      confirm.replaceChildren(icon("loader", { className: "icon--spin" }), progressLabel);
      try {
        await action();
        confirmed = true;
        dialog.close("confirm");
      } catch (error) {
        formAlert(alertSlot, error);
        confirm.disabled = false;
        confirm.replaceChildren(confirmLabel);
      }
    });
    openDialog(dialog, { opener, fallbackFocus, onClose: () => resolve(confirmed) });
    cancel.focus(); // the safe choice has the focus in a destructive confirmation
  });
}
