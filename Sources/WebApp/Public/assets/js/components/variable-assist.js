// The variable picker and the reference flags of a step's form (the fields marked `data-vars`).
//
// Picker: typing `{{` in a text field opens the variables this step can use under the field
// (variables.js: the sample body's fields, the outputs of the steps above, run.id and now);
// typing on filters it; ↑/↓ choose, Enter inserts `{{path}}` (closing braces included), Esc
// closes it. The field keeps the focus (aria-activedescendant); the mouse works too.
//
// Flags: each field's references are read as it is typed, when the form opens and whenever the
// flow around it changes (a step moved or renamed, the sample body edited): a step below, an
// unknown step, a word that is no variable, or a field the sample body does not have is said
// under the field (`#<control id>-vars`) before any save. The server still judges at save.

import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { filterSuggestions, openReference, referenceProblems, suggestions } from "../variables.js";
import { announce } from "./toast.js";

const SHOWN_PER_GROUP = 60;

/** `context()` → {sample, sampleSource, steps, index, nodes, lastRun} for the step the form edits. */
export function variableAssist(root, context) {
  const listId = uid("variables");
  const list = h("div", { class: "varpop", id: listId, role: "listbox", "aria-label": "Variables" });
  // The field keeps the focus while the list is used with the mouse.
  list.addEventListener("mousedown", (event) => event.preventDefault());
  let state = null; // {control, open, options: [{el, path}], active}
  let dismissed = null; // {control, open}: Esc closed the list for this `{{`

  const controlOf = (event) => {
    const el = event.target;
    return el instanceof HTMLElement && el.matches("input[data-vars], textarea[data-vars]") ? el : null;
  };

  root.addEventListener("input", (event) => {
    const control = controlOf(event);
    if (!control) return;
    flag(control, context());
    update(control);
  });
  root.addEventListener("click", (event) => {
    const control = controlOf(event);
    if (control) update(control);
  });
  root.addEventListener("keyup", (event) => {
    const control = controlOf(event);
    if (control && !state && ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"].includes(event.key)) update(control);
    else if (control && state && (event.key === "ArrowLeft" || event.key === "ArrowRight" || event.key === "Home" || event.key === "End")) update(control);
  });
  root.addEventListener("focusout", (event) => {
    if (state && event.target === state.control) close();
  });
  root.addEventListener("keydown", (event) => {
    if (!state || event.target !== state.control || event.isComposing) return;
    const count = state.options.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (count) setActive((state.active + (event.key === "ArrowDown" ? 1 : -1) + count) % count);
    } else if (event.key === "PageDown" || event.key === "PageUp") {
      event.preventDefault();
      if (count) setActive(Math.max(0, Math.min(count - 1, state.active + (event.key === "PageDown" ? 8 : -8))));
    } else if (event.key === "Enter" && count && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      event.stopPropagation();
      insert(state.options[state.active].path);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the list closes, not the panel
      dismissed = { control: state.control, open: state.open };
      close();
      announce("Variables closed.");
    }
  });

  /** Opens, filters or closes the list for where the caret is now. */
  function update(control) {
    const caret = control.selectionStart ?? 0;
    const where = control.selectionEnd === caret ? openReference(control.value, caret) : null;
    if (!where) {
      dismissed = null;
      return close();
    }
    if (dismissed && dismissed.control === control && dismissed.open === where.open) return;
    dismissed = null;
    show(control, where);
  }

  function show(control, where) {
    const groups = filterSuggestions(suggestions(context()), where.query);
    const wasOpen = state?.control === control;
    const previous = wasOpen ? state.options[state.active]?.path : null;
    state = { control, open: where.open, options: [], active: 0 };
    const children = [];
    for (const group of groups) {
      const labelId = uid("variables-group");
      const options = group.items.slice(0, SHOWN_PER_GROUP).map((item) => {
        const el = h(
          "div",
          { role: "option", id: uid("variable"), class: "varpop__option", "aria-selected": "false" },
          h("code", { class: "varpop__path" }, item.path),
          item.detail ? h("span", { class: "varpop__detail" }, item.detail) : null,
        );
        el.addEventListener("click", () => {
          const index = state?.options.findIndex((o) => o.el === el) ?? -1;
          if (index >= 0) insert(state.options[index].path);
        });
        state.options.push({ el, path: item.path });
        return el;
      });
      children.push(
        h(
          "div",
          { class: "varpop__group", role: "group", "aria-labelledby": labelId },
          h("div", { class: "varpop__label", id: labelId }, group.label),
          options.length ? options : group.empty ? h("div", { class: "varpop__empty" }, group.empty) : null,
        ),
      );
    }
    if (!state.options.length) children.push(h("div", { class: "varpop__empty" }, where.query ? `No variable matches “${where.query}”.` : "No variables here yet."));
    children.push(
      h("div", { class: "varpop__hint", "aria-hidden": "true" }, h("kbd", { class: "kbd" }, "↑"), h("kbd", { class: "kbd" }, "↓"), " choose", h("kbd", { class: "kbd" }, "Enter"), " insert", h("kbd", { class: "kbd" }, "Esc"), " close"),
    );
    list.replaceChildren(...children);
    const anchor = control.closest(".var-anchor") ?? control.parentElement;
    if (list.parentElement !== anchor) anchor.append(list);
    control.setAttribute("aria-controls", listId);
    if (control.getAttribute("role") === "combobox") control.setAttribute("aria-expanded", "true");
    const keep = previous ? state.options.findIndex((o) => o.path === previous) : -1;
    if (state.options.length) setActive(keep >= 0 ? keep : 0);
    else control.removeAttribute("aria-activedescendant");
    if (!wasOpen) {
      const n = state.options.length;
      announce(n ? `${n} ${n === 1 ? "variable" : "variables"}: up and down arrows to choose, Enter to insert, Escape to close.` : "No variables match.");
    }
  }

  function setActive(index) {
    const before = state.options[state.active];
    if (before) before.el.setAttribute("aria-selected", "false");
    state.active = index;
    const now = state.options[index];
    now.el.setAttribute("aria-selected", "true");
    state.control.setAttribute("aria-activedescendant", now.el.id);
    now.el.scrollIntoView({ block: "nearest" });
  }

  function close() {
    if (!state) return;
    const { control } = state;
    control.removeAttribute("aria-activedescendant");
    control.removeAttribute("aria-controls");
    if (control.getAttribute("role") === "combobox") control.setAttribute("aria-expanded", "false");
    list.remove();
    state = null;
  }

  /** Replaces `{{` and what was typed after it (and a closing `}}` already there) with the reference. */
  function insert(path) {
    const { control, open } = state;
    const caret = control.selectionStart ?? control.value.length;
    const tail = /^[^\s{}]*\s*\}\}/.exec(control.value.slice(caret));
    const text = `{{${path}}}`;
    control.setRangeText(text, open, caret + (tail ? tail[0].length : 0), "end");
    close();
    control.dispatchEvent(new Event("input", { bubbles: true }));
    announce(`Inserted ${text}.`);
  }

  /** Says under the field what its references point at (nothing when all is well). */
  function flag(control, ctx) {
    const problems = referenceProblems(control.value, ctx);
    const id = `${control.id}-vars`;
    let note = root.querySelector(`#${CSS.escape(id)}`);
    const described = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((x) => x && x !== id);
    if (!problems.length) {
      note?.remove();
      if (described.length) control.setAttribute("aria-describedby", described.join(" "));
      else control.removeAttribute("aria-describedby");
      return;
    }
    if (!note) {
      note = h("div", { class: "field__flags", id });
      const row = control.closest(".kvlist__row");
      (row ? row.lastElementChild : control.closest(".var-anchor") ?? control).after(note);
    }
    note.replaceChildren(...problems.map((p) => h("p", { class: `field__flag field__flag--${p.level}` }, icon(p.level === "error" ? "alert" : "info"), h("span", {}, p.message))));
    control.setAttribute("aria-describedby", [...described, id].join(" "));
  }

  return {
    /** Checks every field again (the flow around the step changed). */
    recheck() {
      const ctx = context();
      for (const control of root.querySelectorAll("input[data-vars], textarea[data-vars]")) flag(control, ctx);
      if (state && !state.control.isConnected) close();
    },
    close,
  };
}
