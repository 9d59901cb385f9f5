// A switch: a button with role="switch" and aria-checked, its label beside it (the accessible
// name). `onToggle(next)` decides: it may be async, and the switch shows `next` only once it
// resolves true, so a refused change (a flow with problems cannot be enabled) never shows as done.

import { h } from "../dom.js";

export function toggleSwitch({ label, checked = false, onToggle, id }) {
  const button = h("button", { type: "button", class: "switch__control", role: "switch", "aria-checked": String(checked), id }, h("span", { class: "switch__thumb" }));
  const root = h("span", { class: "switch" }, button, h("span", { class: "switch__label", "aria-hidden": "true" }, label));
  button.setAttribute("aria-label", label);
  // The visible word is a click target too, as a <label> would be.
  root.querySelector(".switch__label").addEventListener("click", () => button.click());

  let busy = false;
  button.addEventListener("click", async () => {
    if (busy) return;
    const next = button.getAttribute("aria-checked") !== "true";
    busy = true;
    button.setAttribute("aria-busy", "true");
    try {
      if ((await onToggle?.(next)) !== false) set(next);
    } finally {
      busy = false;
      button.removeAttribute("aria-busy");
    }
  });

  function set(value) {
    button.setAttribute("aria-checked", String(Boolean(value)));
  }
  return { root, button, set, get checked() { return button.getAttribute("aria-checked") === "true"; } };
}
