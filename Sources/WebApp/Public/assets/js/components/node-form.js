// The right panel's form for one step, generated from its node's descriptor: labels, help,
// required marks, defaults, `visibleWhen`, lists with `items`/`maxItems`, credentials; then the
// step's id and On error (which belong to the step, not to the node's parameters).
//
// The form edits `step` in place and calls `onChange(path)` after each change, `path` being the
// parameter's name, `$id` or `$onError` (the studio marks the flow unsaved and forgets the
// server's problems about that field). Problems are shown at their field with `showProblems`.
// `variables()` tells the variable picker what this step can use (variable-assist.js).

import { h } from "../dom.js";
import { icon } from "../icons.js";
import { isVisible, STEP_ID_PATTERN } from "../flow-model.js";
import { itemFields, itemNoun, itemProblem, presentParameter } from "../node-rules.js";
import { credentialField } from "./credential-field.js";
import { clearFieldError, setFieldError } from "./form.js";
import { itemList } from "./item-list.js";
import { paramField } from "./param-field.js";
import { variableAssist } from "./variable-assist.js";

export function nodeForm({ step, node, steps, store, onChange, variables }) {
  const base = `f-${step.key}`;
  const fields = [];
  const values = step.parameters;
  const alert = h("div", { class: "panel__alert", hidden: true, role: "alert", tabindex: "-1" });

  const present = (parameter) => presentParameter(step.type, parameter, values);

  for (const raw of node.parameters) {
    const parameter = present(raw);
    const id = `${base}-${raw.name}`;
    const change = (value) => {
      if (value === undefined) delete values[raw.name];
      else values[raw.name] = value;
      refresh();
      onChange(raw.name);
    };
    let field;
    const rows = itemFields(raw);
    if (raw.kind === "credential") {
      field = credentialField({ parameter, id, value: values[raw.name], store, onChange: change });
    } else if (raw.kind === "json" && rows) {
      field = itemList({ parameter, fields: rows, noun: itemNoun(step.type, raw), id, value: values[raw.name], onChange: change, problem: (name, value) => itemProblem(step.type, raw, name, value) });
    } else {
      field = paramField({ parameter, id, value: values[raw.name], onChange: change });
    }
    fields.push({ raw, field });
  }

  // ---- The step's own settings ------------------------------------------------------------------

  const idInput = h("input", { class: "input input--mono", id: `${base}-$id`, type: "text", autocomplete: "off", spellcheck: "false", autocapitalize: "off", maxlength: "64", "aria-describedby": `${base}-$id-help` });
  idInput.value = step.id;
  idInput.addEventListener("input", () => {
    step.id = idInput.value.trim();
    const problem = stepIdProblem(step, steps);
    if (problem) setFieldError(idInput, problem);
    else clearFieldError(idInput);
    onChange("$id");
  });

  const onError = h(
    "select",
    { class: "select select--medium", id: `${base}-$onError`, "aria-describedby": `${base}-$onError-help` },
    h("option", { value: "stop" }, "stop"),
    h("option", { value: "continue" }, "continue"),
  );
  onError.value = step.onError ?? node.defaultOnError ?? "stop";
  onError.addEventListener("change", () => {
    step.onError = onError.value;
    onChange("$onError");
  });

  const root = h(
    "form",
    { class: "node-form", novalidate: true, "aria-label": `${node.label} settings` },
    alert,
    h(
      "p",
      { class: "node-form__tip" },
      icon("info"),
      h("span", {}, "Text fields accept variables: type ", h("kbd", { class: "kbd" }, "{{"), " to pick one — ", h("code", {}, "{{trigger.body.email}}"), " from the trigger, ", h("code", {}, "{{steps.<id>.output.…}}"), " from an earlier step."),
    ),
    h("p", { class: "field__help" }, "Fields marked ", h("span", { class: "field__required", "aria-hidden": "true" }, "*"), h("span", { class: "visually-hidden" }, "with an asterisk"), " are required."),
    h("div", { class: "node-form__fields" }, fields.map((f) => f.field.root)),
    h(
      "div",
      { class: "node-form__step section" },
      h("h3", { class: "section__title" }, "Step"),
      h("div", { class: "field" }, h("label", { class: "field__label", for: idInput.id }, "Step id"), idInput, h("p", { class: "field__help", id: `${base}-$id-help` }, "Later steps use this step's output as {{steps.", h("span", { "data-step-id": "" }, step.id), ".output…}}. Letters, digits and _, starting with a letter.")),
      h(
        "div",
        { class: "field" },
        h("label", { class: "field__label", for: onError.id }, "On error"),
        onError,
        h("p", { class: "field__help", id: `${base}-$onError-help` }, "stop ends the run at this step; continue records the error as the step's output and runs the next step. Default for new nodes is stop — fail fast instead of swallowing send errors."),
      ),
    ),
  );
  root.addEventListener("submit", (event) => event.preventDefault()); // Enter in a field does not reload

  function refresh() {
    for (const { raw, field } of fields) {
      const parameter = present(raw);
      field.root.hidden = !isVisible(parameter, values, node.parameters.map(present));
      field.present(parameter);
    }
    const idEcho = root.querySelector("[data-step-id]");
    if (idEcho) idEcho.textContent = step.id;
  }
  idInput.addEventListener("input", refresh);
  refresh();
  const assist = variables ? variableAssist(root, variables) : null;
  assist?.recheck();

  /** The control a problem's path names: `to`, `headers[2].name`, `$id`, `$onError`. */
  function controlFor(path) {
    if (path === "$id") return idInput;
    if (path === "$onError") return onError;
    const match = /^([^.[]+)(?:\[(\d+)\](?:\.(\w+))?)?/.exec(path);
    if (!match) return null;
    const entry = fields.find((f) => f.raw.name === match[1]);
    if (!entry) return null;
    if (match[2] !== undefined && entry.field.controlFor) return entry.field.controlFor(Number(match[2]), match[3] ?? "") ?? entry.field.control;
    return entry.field.control;
  }

  return {
    root,
    /** Puts each problem ({path, message}) at its field; those without one at the top. */
    showProblems(problems) {
      const loose = [];
      for (const problem of problems) {
        const control = controlFor(problem.path);
        const container = control?.closest("[data-param]");
        if (control && !(container?.hidden)) setFieldError(control, problem.message);
        else loose.push(problem);
      }
      alert.hidden = !loose.length;
      alert.replaceChildren(...loose.map((p) => h("p", { class: "callout callout--warning" }, icon("alert"), h("span", {}, p.message))));
    },
    /** Focuses the field of a problem (after the server named it). */
    focus(path) {
      const control = controlFor(path);
      if (!control) return alert.hidden ? false : (alert.focus(), true);
      const details = control.closest("details");
      if (details) details.open = true;
      control.focus();
      control.scrollIntoView({ block: "center" });
      return true;
    },
    /** The first field that holds text the page refused to store (invalid JSON, a bad step id). */
    firstClientError() {
      if (stepIdProblem(step, steps)) return idInput;
      return root.querySelector("[data-client-error]");
    },
    stepIdProblem: () => stepIdProblem(step, steps),
    /** Reads every field's {{…}} references again (the flow around the step changed). */
    recheckVariables: () => assist?.recheck(),
  };
}

export function stepIdProblem(step, steps) {
  if (!step.id) return "Enter a step id, e.g. send_email.";
  if (!STEP_ID_PATTERN.test(step.id)) return "Use letters, digits and _ only, starting with a letter (at most 64).";
  if (steps.some((s) => s !== step && s.id === step.id)) return `Another step is already called ${step.id}. Step ids are unique in a flow.`;
  return null;
}
