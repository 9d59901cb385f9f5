// One field of a node's form, drawn from its descriptor Parameter: a text field (string), a
// textarea (text), a number field, a checkbox (boolean), a select (options) or a JSON editor
// (json). Lists (`items`) and credentials have components of their own.
//
// `onChange(value)` gets the value to store, `undefined` meaning "leave the parameter out" (an
// empty field, or a checkbox at its default). Every value may also be a {{…}} template, so number
// fields are text fields that turn what looks like a number into one.
//
// Every text control (string, text, number, json) carries `data-vars` and sits in a `.var-anchor`:
// the form's variable picker (variable-assist.js) opens its list under it when `{{` is typed.

import { h } from "../dom.js";
import { clearFieldError, setFieldError } from "./form.js";

const NUMBER = /^-?\d+(\.\d+)?$/;

export function paramLabel(parameter, id) {
  return h(
    "label",
    { class: "field__label", for: id },
    h("span", { "data-label-text": "" }, parameter.label),
    parameter.required ? h("span", { class: "field__required", "aria-hidden": "true", title: "Required" }, " *") : null,
  );
}

export function paramField({ parameter, id, value, onChange, compact = false }) {
  const helpId = parameter.help ? `${id}-help` : null;
  const common = { id, "aria-describedby": helpId, "aria-required": parameter.required ? "true" : null };
  // A text control that takes {{…}} variables: a combobox (an input) or a textbox with a list.
  const vars = (tag) => ({ "data-vars": "", "aria-autocomplete": "list", role: tag === "input" ? "combobox" : null, "aria-expanded": tag === "input" ? "false" : null });
  let control;
  let root;

  switch (parameter.kind) {
    case "boolean": {
      control = h("input", { type: "checkbox", ...common });
      control.checked = Boolean(value ?? parameter.default ?? false);
      control.addEventListener("change", () => onChange(control.checked === Boolean(parameter.default ?? false) ? undefined : control.checked));
      root = h(
        "div",
        { class: "check check--plain field" },
        control,
        h("label", { class: "check__label", for: id }, h("span", { "data-label-text": "" }, parameter.label)),
        parameter.help ? h("p", { class: "check__help", id: helpId, "data-help": "" }, parameter.help) : null,
      );
      return finish();
    }
    case "options": {
      const choices = parameter.options ?? [];
      const blank = !parameter.required && (parameter.default === null || parameter.default === undefined);
      control = h("select", { class: "select", ...common }, blank ? h("option", { value: "" }, "—") : null, choices.map((o) => h("option", { value: o }, o)));
      const shown = value ?? parameter.default ?? (blank ? "" : choices[0]);
      // A stored value that is not a choice (a template, or an old option) stays visible and kept.
      if (shown !== undefined && shown !== "" && !choices.includes(shown)) control.append(h("option", { value: String(shown) }, String(shown)));
      control.value = shown ?? "";
      control.addEventListener("change", () => onChange(control.value === "" ? undefined : control.value));
      break;
    }
    case "text": {
      control = h("textarea", { class: `textarea${parameter.code ? " textarea--code textarea--wrap" : ""}`, rows: compact ? "3" : "5", spellcheck: parameter.code ? "false" : null, ...common, ...vars("textarea") });
      control.value = typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value);
      control.addEventListener("input", () => onChange(control.value === "" ? undefined : control.value));
      break;
    }
    case "number": {
      control = h("input", { class: "input input--narrow", type: "text", inputmode: "decimal", autocomplete: "off", placeholder: parameter.default !== null && parameter.default !== undefined ? String(parameter.default) : null, ...common, ...vars("input") });
      control.value = value === undefined || value === null ? "" : String(value);
      control.addEventListener("input", () => {
        const raw = control.value.trim();
        clearFieldError(control);
        if (raw === "") return onChange(undefined);
        if (NUMBER.test(raw)) return onChange(Number(raw));
        if (!raw.includes("{{")) setFieldError(control, "Enter a number, or a {{…}} reference such as {{trigger.body.count}}.");
        onChange(raw); // kept as typed; the server names it among the draft's problems
      });
      break;
    }
    case "json": {
      control = h("textarea", { class: "textarea textarea--code", rows: "4", spellcheck: "false", ...common, ...vars("textarea") });
      control.value = value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value, null, 2);
      control.addEventListener("input", () => {
        const raw = control.value.trim();
        clearFieldError(control);
        if (raw === "") return onChange(undefined);
        try {
          onChange(JSON.parse(raw));
        } catch {
          if (raw.includes("{{")) return onChange(raw); // a template producing the value
          // Not stored: a JSON parameter takes any JSON value, so the text would be saved as a string.
          setFieldError(control, "This is not valid JSON yet. Check quotes, commas and brackets.");
          control.dataset.clientError = "";
          return;
        }
        delete control.dataset.clientError;
      });
      break;
    }
    default: {
      // string (and anything newer this page does not know: a text field is the safe choice)
      control = h("input", { class: "input", type: "text", autocomplete: "off", ...common, ...vars("input") });
      control.value = value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
      control.addEventListener("input", () => onChange(control.value === "" ? undefined : control.value));
    }
  }

  const body = control.hasAttribute("data-vars") ? h("div", { class: "var-anchor" }, control) : control;
  root = h("div", { class: "field" }, paramLabel(parameter, id), body, parameter.help ? h("p", { class: "field__help", id: helpId, "data-help": "" }, parameter.help) : null);
  return finish();

  function finish() {
    root.dataset.param = parameter.name;
    return {
      root,
      control,
      /** Shows a new label or help (Body's label follows Body format). */
      present({ label, help }) {
        const labelText = root.querySelector("[data-label-text]");
        if (labelText && labelText.textContent !== label) labelText.textContent = label;
        const helpEl = root.querySelector("[data-help]");
        if (helpEl && help && helpEl.textContent !== help) helpEl.textContent = help;
      },
    };
  }
}
