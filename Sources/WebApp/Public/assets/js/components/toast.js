// Toasts: short confirmations in the aria-live region of index.html (#toasts), bottom right.
// Successes leave by themselves; errors stay until closed, so they can be read and their id copied.

import { h } from "../dom.js";
import { icon } from "../icons.js";

const SUCCESS_MS = 5000;

// `region`: another live region for it, e.g. one inside a modal dialog that stays open (the page's
// #toasts is behind the dialog then: covered by it, and inert).
export function toast(message, { kind = "success", timeout, region = document.getElementById("toasts") } = {}) {
  const close = h("button", { type: "button", class: "btn btn--ghost btn--icon btn--sm", "aria-label": "Dismiss" }, icon("x"));
  const item = h(
    "div",
    { class: `toast toast--${kind}` },
    icon(kind === "error" ? "x-circle" : kind === "info" ? "info" : "check-circle"),
    h("p", { class: "toast__text" }, message),
    close,
  );
  const remove = () => item.remove();
  close.addEventListener("click", remove);
  region.append(item);
  const ms = timeout ?? (kind === "error" ? 0 : SUCCESS_MS);
  if (ms > 0) setTimeout(remove, ms);
  return item;
}

/** Says something to screen readers only (e.g. "Copied"). */
export function announce(message) {
  const el = document.getElementById("announcer");
  el.textContent = "";
  // A new text node on the next frame makes screen readers read the same words twice in a row.
  requestAnimationFrame(() => (el.textContent = message));
}
