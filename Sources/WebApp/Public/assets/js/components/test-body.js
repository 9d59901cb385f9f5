// The test body: a JSON editor (a monospace textarea) holding the flow's sample body — what a
// webhook caller would POST, read by the steps as {{trigger.body.…}}. Run and Preview use it, the
// variable picker suggests its fields, and it is saved with the flow (`sampleBody`), so editing it
// is an unsaved change like any other. A flow without one is offered the last run's trigger body.

import { h, timeElement, uid } from "../dom.js";
import { icon } from "../icons.js";
import { isObject } from "../flow-model.js";
import { clearFieldError, setFieldError } from "./form.js";

const EXAMPLE = '{"email": "ada@example.com", "name": "Ada"}';
const MAX_BYTES = 64 * 1024; // the API's bound for a sample body (compact JSON)

/** The body's problem, or null. */
export function testBodyProblem(text) {
  if (!text.trim()) return null; // empty: no sample body, runs with {}
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `This is not valid JSON: ${error.message.replace(/^JSON\.parse: /, "")}. Write an object such as {"email": "ada@example.com"}.`;
  }
  if (!isObject(value)) return 'The test body must be a JSON object, such as {"email": "ada@example.com"}.';
  if (new TextEncoder().encode(JSON.stringify(value)).length > MAX_BYTES) return "The test body is saved with the flow, and may be at most 64 KiB. Keep only the fields the steps use.";
  return null;
}

/** `value`: the flow's sample body (or null); `onChange(objectOrNull)` after each valid edit. */
export function testBodyEditor({ value, onChange }) {
  const id = uid("test-body");
  const area = h("textarea", { class: "textarea textarea--code", id, rows: "6", spellcheck: "false", autocapitalize: "off", placeholder: EXAMPLE, "aria-describedby": `${id}-help` });
  const offerSlot = h("div", { class: "test-body__offer", hidden: true });
  area.value = isObject(value) ? JSON.stringify(value, null, 2) : "";
  area.addEventListener("input", () => {
    const problem = testBodyProblem(area.value);
    if (problem) {
      setFieldError(area, problem);
      return;
    }
    clearFieldError(area);
    offerSlot.hidden = offerSlot.hidden || Boolean(area.value.trim());
    onChange(area.value.trim() ? JSON.parse(area.value) : null);
  });
  const root = h(
    "div",
    { class: "field" },
    h("label", { class: "field__label", for: id }, "Test body (JSON)"),
    offerSlot,
    area,
    h("p", { class: "field__help", id: `${id}-help` }, "Run and Preview send this as the trigger body, and {{ in a field suggests its fields, e.g. {{trigger.body.email}}. It is saved with the flow as its sample body."),
  );

  function current() {
    return area.value.trim() && !testBodyProblem(area.value) ? JSON.parse(area.value) : null;
  }

  return {
    root,
    /** The body for Run and Preview; null after showing the problem at the field (and focusing it). */
    read() {
      const problem = testBodyProblem(area.value);
      if (problem) {
        setFieldError(area, problem);
        area.focus();
        return null;
      }
      return current() ?? {};
    },
    /** The text's problem (the page refuses to save a sample it cannot store), shown and focused. */
    refuse() {
      const problem = testBodyProblem(area.value);
      if (!problem) return false;
      setFieldError(area, problem);
      area.focus();
      area.scrollIntoView({ block: "center" });
      return true;
    },
    /** A problem the server named (`sampleBody`), at the field. */
    showError(message) {
      setFieldError(area, message);
      area.focus();
    },
    /** For the curl example: the body as one line, when it is a valid object. */
    sample() {
      const body = current();
      return body ? JSON.stringify(body) : '{"email": "ada@example.com"}';
    },
    /** The flow was reloaded: show its sample body. */
    set(next) {
      area.value = isObject(next) ? JSON.stringify(next, null, 2) : "";
      clearFieldError(area);
      offerSlot.hidden = true;
    },
    /** A flow without a sample body: offer the trigger body of its last run (one click to use it). */
    offer(run) {
      const body = run?.trigger?.body;
      if (!isObject(body) || !Object.keys(body).length || area.value.trim()) {
        offerSlot.hidden = true;
        return;
      }
      const use = h("button", { type: "button", class: "btn btn--sm" }, icon("copy"), "Use it as the sample body");
      use.addEventListener("click", () => {
        area.value = JSON.stringify(body, null, 2);
        offerSlot.hidden = true;
        area.dispatchEvent(new Event("input", { bubbles: true }));
        area.focus();
      });
      const keys = Object.keys(body);
      offerSlot.replaceChildren(
        h(
          "div",
          { class: "callout" },
          icon("info"),
          h(
            "div",
            { class: "callout__body" },
            h("p", {}, "This flow has no sample body yet. Its last run (", timeElement(run.createdAt), ") had a trigger body with ", keys.slice(0, 4).map((k, i) => [i ? ", " : "", h("code", {}, k)]), keys.length > 4 ? ` and ${keys.length - 4} more` : "", "."),
            h("p", { class: "row" }, use),
          ),
        ),
      );
      offerSlot.hidden = false;
    },
  };
}
