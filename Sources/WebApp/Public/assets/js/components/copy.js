// Copy buttons beside ids, URLs and secrets shown once.

import { h } from "../dom.js";
import { icon } from "../icons.js";
import { announce } from "./toast.js";

/** A value in monospace with a copy button. `block` makes it a full-width box (secrets, URLs). */
export function copyable(value, { label = "value", block = false } = {}) {
  return h(
    "span",
    { class: block ? "copyable copyable--block" : "copyable" },
    h("code", { class: "copyable__value" }, value),
    copyButton(value, label),
  );
}

export function copyButton(value, label = "value") {
  const name = `Copy ${label}`;
  const button = h("button", { type: "button", class: "btn btn--ghost btn--icon btn--sm copy-btn", "aria-label": name, title: name }, icon("copy"));
  button.addEventListener("click", async () => {
    const ok = await writeClipboard(value);
    button.replaceChildren(icon(ok ? "check" : "x"));
    button.toggleAttribute("data-copied", ok);
    announce(ok ? "Copied" : "Could not copy. Select the text and copy it yourself.");
    setTimeout(() => {
      button.replaceChildren(icon("copy"));
      button.removeAttribute("data-copied");
    }, 1500);
  });
  return button;
}

async function writeClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // The async clipboard needs a secure context (https or localhost); a plain-http server
    // reached by its address falls back to the older copy command.
    const area = h("textarea", { class: "visually-hidden", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}
