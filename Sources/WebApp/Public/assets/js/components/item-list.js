// A list parameter (`items`): rows of small forms with Add and Remove, up to `maxItems`.
// Two-field text rows (custom headers: name and value) are a compact key/value list with column
// headings; richer rows (attachments: source, then the fields that source uses, by each field's
// `visibleWhen`) are a card per row. The value is an array of objects without empty fields.

import { h } from "../dom.js";
import { icon } from "../icons.js";
import { isVisible } from "../flow-model.js";
import { clearFieldError, setFieldError } from "./form.js";
import { announce } from "./toast.js";
import { paramField } from "./param-field.js";

/** `problem(fieldName, value)`: what the page can tell about a row's field as it is typed (or null). */
export function itemList({ parameter, fields, noun, id, value, onChange, problem = () => null }) {
  const compact = fields.length <= 2 && fields.every((f) => f.kind === "string");
  // Rows as stored; an object of name → value (an older form of headers) becomes rows.
  let rows = Array.isArray(value)
    ? value.map((row) => ({ ...row }))
    : value && typeof value === "object"
      ? Object.entries(value).map(([name, v]) => ({ name, value: String(v) }))
      : [];
  const max = parameter.maxItems ?? Infinity;
  const helpId = parameter.help ? `${id}-help` : null;
  const rowsSlot = h("div", { class: compact ? "kvlist" : "cards" });
  const add = h("button", { type: "button", class: "btn btn--sm", id: `${id}-add` }, icon("plus"), `Add ${noun}`);
  const limit = h("p", { class: "field__help", hidden: true });
  const root = h(
    "fieldset",
    { class: "field item-list", "data-param": parameter.name, "aria-describedby": helpId },
    h("legend", { class: "field__label" }, h("span", { "data-label-text": "" }, parameter.label)),
    parameter.help ? h("p", { class: "field__help", id: helpId, "data-help": "" }, parameter.help) : null,
    rowsSlot,
    h("div", { class: "row" }, add, limit),
  );

  add.addEventListener("click", () => {
    if (rows.length >= max) return;
    const row = {};
    // A required choice starts at its default (or first option): an attachment starts as url.
    for (const f of fields) if (f.kind === "options" && f.required) row[f.name] = f.default ?? f.options?.[0];
    rows.push(row);
    commit();
    render();
    rowsSlot.lastElementChild?.querySelector("input, select, textarea")?.focus();
  });

  function commit() {
    const clean = rows.map((row) => Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined && v !== "")));
    onChange(clean.length ? clean : undefined);
  }

  function render() {
    const heads = compact && rows.length ? h("div", { class: "kvlist__head", "aria-hidden": "true" }, fields.map((f) => h("span", {}, f.label)), h("span")) : null;
    rowsSlot.replaceChildren(...[heads, ...rows.map(renderRow)].filter(Boolean));
    const full = rows.length >= max;
    add.disabled = full;
    limit.hidden = !full;
    limit.textContent = full ? `That is the most: up to ${max} ${noun}s.` : "";
  }

  function renderRow(row, index) {
    const n = index + 1;
    const remove = h("button", { type: "button", class: "btn btn--ghost btn--icon btn--sm btn--danger-text", "aria-label": `Remove ${noun} ${n}`, title: `Remove ${noun} ${n}` }, icon("trash"));
    remove.addEventListener("click", () => {
      rows.splice(index, 1);
      commit();
      render();
      announce(`${noun[0].toUpperCase()}${noun.slice(1)} ${n} removed`);
      (rowsSlot.querySelectorAll("[data-row]")[Math.min(index, rows.length - 1)]?.querySelector("input, select, textarea") ?? add).focus();
    });

    const fieldEls = [];
    const update = () => {
      for (const { f, root: el } of fieldEls) el.hidden = !isVisible(f, row, fields);
    };
    for (const f of fields) {
      const control = paramField({
        parameter: f,
        id: `${id}-${index}-${f.name}`,
        value: row[f.name],
        compact: true,
        onChange: (v) => {
          row[f.name] = v;
          check();
          commit();
          update();
        },
      });
      const check = () => {
        const message = problem(f.name, row[f.name]);
        if (message) setFieldError(control.control, message);
        else if (control.control.hasAttribute("aria-invalid")) clearFieldError(control.control);
      };
      if (compact) {
        // Column headings show the field names; each control is still labelled in full.
        const label = control.root.querySelector("label");
        label.classList.add("visually-hidden");
        label.querySelector("[data-label-text]").textContent = `${capital(noun)} ${n} ${f.label.toLowerCase()}`;
        control.root.querySelector("[data-help]")?.remove();
        control.control.removeAttribute("aria-describedby");
      }
      fieldEls.push({ f, root: control.root, check });
    }
    update();
    for (const { check } of fieldEls) check();

    if (compact) return h("div", { class: "kvlist__row", "data-row": String(index) }, fieldEls.map((x) => x.root), remove);
    return h(
      "fieldset",
      { class: "cards__item", "data-row": String(index) },
      h("legend", { class: "visually-hidden" }, `${capital(noun)} ${n}`),
      h("div", { class: "cards__head" }, h("span", { class: "cards__title", "aria-hidden": "true" }, `${capital(noun)} ${n}`), remove),
      fieldEls.map((x) => x.root),
    );
  }

  render();
  return {
    root,
    control: add,
    /** The control of `rows[index].field`, for a problem the server named. */
    controlFor(index, field) {
      return root.querySelector(`#${CSS.escape(`${id}-${index}-${field}`)}`);
    },
    present() {},
  };
}

const capital = (text) => text[0].toUpperCase() + text.slice(1);
