// The test body for Run: a JSON editor (a monospace textarea) that must hold a JSON object — what
// a webhook caller would POST, read by the steps as {{trigger.body.…}}. Kept in localStorage per
// flow, so the next visit runs with the same data.

import { h, uid } from "../dom.js";
import { clearFieldError, setFieldError } from "./form.js";

const KEY = (flowId) => `posthorn.testBody.${flowId}`;
const SAMPLE = '{\n  "email": "ada@example.com",\n  "name": "Ada"\n}';

function stored(flowId) {
  try {
    return localStorage.getItem(KEY(flowId));
  } catch {
    return null; // storage off: start from the sample each time
  }
}

/** The body's problem, or null. */
export function testBodyProblem(text) {
  if (!text.trim()) return null; // empty runs with {}
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `This is not valid JSON: ${error.message.replace(/^JSON\.parse: /, "")}. Write an object such as {"email": "ada@example.com"}.`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return 'The test body must be a JSON object, such as {"email": "ada@example.com"}.';
  return null;
}

export function testBodyEditor({ flowId }) {
  const id = uid("test-body");
  const area = h("textarea", { class: "textarea textarea--code", id, rows: "6", spellcheck: "false", autocapitalize: "off", "aria-describedby": `${id}-help` });
  area.value = stored(flowId) ?? SAMPLE;
  area.addEventListener("input", () => {
    const problem = testBodyProblem(area.value);
    if (problem) setFieldError(area, problem);
    else clearFieldError(area);
    try {
      localStorage.setItem(KEY(flowId), area.value);
    } catch {
      /* see stored() */
    }
  });
  const root = h(
    "div",
    { class: "field" },
    h("label", { class: "field__label", for: id }, "Test body (JSON)"),
    area,
    h("p", { class: "field__help", id: `${id}-help` }, "Run sends this as the trigger body: steps read it as {{trigger.body.email}}. Kept in this browser for this flow."),
  );
  return {
    root,
    /** The body as an object; null after showing the problem at the field (and focusing it). */
    read() {
      const problem = testBodyProblem(area.value);
      if (problem) {
        setFieldError(area, problem);
        area.focus();
        return null;
      }
      return area.value.trim() ? JSON.parse(area.value) : {};
    },
    /** For the curl example: the body as one line, when it is a valid object. */
    sample() {
      if (testBodyProblem(area.value) || !area.value.trim()) return '{"email": "ada@example.com"}';
      return JSON.stringify(JSON.parse(area.value));
    },
  };
}
