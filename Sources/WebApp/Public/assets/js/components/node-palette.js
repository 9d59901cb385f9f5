// Browse Nodes (⌘K / Ctrl+K): a dialog with a search box over GET /api/v1/nodes.
//
// The ARIA combobox pattern: the text box keeps the focus (role="combobox", aria-expanded,
// aria-controls) and names the highlighted option with aria-activedescendant; the options are a
// listbox. Typing filters by label, type and keywords (smtp, mail and email all find Send SMTP
// Email); ↑/↓ move, Enter picks, a click picks, Esc closes (the native <dialog>).

import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { nodeIcon } from "../node-rules.js";
import { openDialog } from "./dialog.js";

/** Nodes that match every word of `query`, the best first (label before keywords before type). */
export function filterNodes(nodes, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return nodes;
  const scored = [];
  for (const node of nodes) {
    const label = node.label.toLowerCase();
    const keywords = (node.keywords ?? []).map((k) => k.toLowerCase());
    const type = node.type.toLowerCase();
    const summary = (node.summary ?? "").toLowerCase();
    let score = 0;
    for (const word of words) {
      if (label.startsWith(word) || label.split(/\s+/).some((w) => w.startsWith(word))) score += 8;
      else if (keywords.some((k) => k.startsWith(word))) score += 6;
      else if (label.includes(word)) score += 4;
      else if (type.includes(word) || keywords.some((k) => k.includes(word))) score += 3;
      else if (summary.includes(word)) score += 1;
      else {
        score = 0;
        break;
      }
    }
    if (score > 0) scored.push({ node, score });
  }
  return scored.sort((a, b) => b.score - a.score || a.node.label.localeCompare(b.node.label)).map((s) => s.node);
}

/** Opens the palette; `onPick(node)` runs after it closed with a choice. */
export function openPalette({ nodes, opener, where, onPick }) {
  const titleId = uid("palette-title");
  const listId = uid("palette-list");
  const hintId = uid("palette-hint");
  const input = h("input", {
    class: "palette__input",
    type: "text",
    role: "combobox",
    "aria-expanded": "true",
    "aria-controls": listId,
    "aria-autocomplete": "list",
    "aria-label": "Search nodes",
    "aria-describedby": hintId,
    placeholder: "Search nodes: smtp, email, http…",
    autocomplete: "off",
    spellcheck: "false",
  });
  const list = h("ul", { class: "palette__list", role: "listbox", id: listId, "aria-label": "Nodes" });
  const empty = h("p", { class: "palette__empty", hidden: true });
  // Esc closes it; on a phone (a full-screen sheet, no Esc key) this is the way out.
  const close = h("button", { type: "button", class: "palette__close", "aria-label": "Close", title: "Close (Esc)" }, h("kbd", { class: "kbd palette__esc", "aria-hidden": "true" }, "Esc"), icon("x", { className: "palette__x" }));
  close.addEventListener("click", () => dialog.close());
  const dialog = h(
    "dialog",
    { class: "dialog palette", "aria-labelledby": titleId },
    h("h2", { class: "visually-hidden", id: titleId }, "Browse nodes"),
    h("div", { class: "palette__search" }, icon("search"), input, close),
    list,
    empty,
    h(
      "p",
      { class: "palette__hint", id: hintId },
      h("span", {}, h("kbd", { class: "kbd" }, "↑"), h("kbd", { class: "kbd" }, "↓"), " to move"),
      h("span", {}, h("kbd", { class: "kbd" }, "Enter"), ` to add ${where}`),
    ),
  );

  let shown = nodes;
  let active = 0;
  let picked = null;

  function renderList() {
    shown = filterNodes(nodes, input.value);
    active = Math.min(active, Math.max(shown.length - 1, 0));
    list.replaceChildren(
      ...shown.map((node, index) => {
        const option = h(
          "li",
          { class: "palette__option", role: "option", id: `${listId}-${index}`, "aria-selected": String(index === active) },
          h("span", { class: "tile__icon" }, icon(nodeIcon(node.type))),
          h("span", { class: "palette__text" }, h("span", { class: "palette__label" }, node.label), h("span", { class: "palette__summary" }, node.summary)),
          h("code", { class: "palette__type" }, node.type),
        );
        // pointerdown would move the focus off the text box; keep it there (the combobox pattern).
        option.addEventListener("mousedown", (event) => event.preventDefault());
        option.addEventListener("click", () => pick(index));
        option.addEventListener("pointermove", () => highlight(index, { scroll: false }));
        return option;
      }),
    );
    empty.hidden = shown.length > 0;
    empty.textContent = shown.length ? "" : `No node matches “${input.value.trim()}”. Try smtp, email or http.`;
    input.setAttribute("aria-expanded", String(shown.length > 0));
    highlight(active);
  }

  function highlight(index, { scroll = true } = {}) {
    active = index;
    for (const [i, option] of [...list.children].entries()) option.setAttribute("aria-selected", String(i === index));
    const current = list.children[index];
    if (current) {
      input.setAttribute("aria-activedescendant", current.id);
      if (scroll) current.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function pick(index) {
    if (!shown[index]) return;
    picked = shown[index];
    dialog.close("picked");
  }

  input.addEventListener("input", () => {
    active = 0;
    renderList();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!shown.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + shown.length) % shown.length);
    } else if (event.key === "Home" && event.ctrlKey) {
      highlight(0);
    } else if (event.key === "Enter") {
      event.preventDefault();
      pick(active);
    }
  });

  renderList();
  openDialog(dialog, {
    opener,
    onClose: () => {
      if (picked) onPick(picked);
    },
  });
  input.focus();
  return dialog;
}
