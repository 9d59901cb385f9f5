// Variables in a step's text fields ({{trigger.body.email}}, {{steps.<id>.output.…}}, {{run.id}},
// {{now}}), without DOM: the ones a step can use (what the picker offers as `{{` is typed) and
// what a reference written in a field points at (flagged at the field before saving).
//
// The server is the judge (it parses every template at save and names the problems); this reads
// references the way its template grammar writes them — dotted segments, ["quoted"] and [3]
// brackets, `\{{` as a literal — only to help while typing.

import { isObject } from "./flow-model.js";

/** Characters that end a dotted segment (as the server's template parser has it). */
const STOP = new Set([".", "[", "]", "{", "}", '"', "'", "\\", " ", "\t", "\n", "\r"]);
const ROOTS = ["trigger", "steps", "run", "now"];
const MAX_SUGGESTIONS_PER_SOURCE = 120;
const MAX_DEPTH = 6;

/** Every `{{…}}` in `text`: [{source, segments (null when it does not parse), start, end}]. */
export function references(text) {
  const found = [];
  if (typeof text !== "string") return found;
  let at = 0;
  for (;;) {
    const open = text.indexOf("{{", at);
    if (open < 0) break;
    if (open > 0 && text[open - 1] === "\\") {
      at = open + 2; // `\{{` is a literal {{
      continue;
    }
    const close = text.indexOf("}}", open + 2);
    if (close < 0) break;
    const source = text.slice(open + 2, close).trim();
    found.push({ source, segments: parsePath(source), start: open, end: close + 2 });
    at = close + 2;
  }
  return found;
}

/** `trigger.body["first name"].0` → ["trigger", "body", "first name", "0"]; null when malformed. */
export function parsePath(source) {
  const segments = [];
  let i = 0;
  while (i < source.length) {
    if (source[i] === "[") {
      const quote = source[i + 1];
      if (quote === '"' || quote === "'") {
        let j = i + 2;
        let key = "";
        while (j < source.length && source[j] !== quote) {
          if (source[j] === "\\" && j + 1 < source.length) j += 1;
          key += source[j];
          j += 1;
        }
        if (source[j] !== quote || source[j + 1] !== "]") return null;
        segments.push(key);
        i = j + 2;
      } else {
        const close = source.indexOf("]", i);
        const index = close < 0 ? "" : source.slice(i + 1, close);
        if (!/^\d+$/.test(index)) return null;
        segments.push(index);
        i = close + 1;
      }
      continue;
    }
    if (segments.length) {
      if (source[i] !== ".") return null;
      i += 1;
    }
    let j = i;
    while (j < source.length && !STOP.has(source[j])) j += 1;
    if (j === i) return null;
    segments.push(source.slice(i, j));
    i = j;
  }
  return segments.length ? segments : null;
}

/** A key as a path segment: `.email`, or `["first name"]` when a dotted segment cannot spell it. */
function segment(key) {
  return key !== "" && ![...key].some((c) => STOP.has(c)) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** The value at `segments` inside `value` (a digit segment indexes an array), or `undefined`. */
export function resolve(value, segments) {
  let current = value;
  for (const key of segments) {
    if (Array.isArray(current) && /^\d+$/.test(key)) current = current[Number(key)];
    else if (isObject(current) && Object.hasOwn(current, key)) current = current[key];
    else return undefined;
  }
  return current;
}

const isBinary = (value) => isObject(value) && (Object.hasOwn(value, "$binary") || Object.hasOwn(value, "$omitted")) && Object.keys(value).length === 1;

/** A short reading of a value for the picker: "ada@example.com", 42, {3 fields}, [2 items]. */
export function valuePreview(value) {
  if (value === null) return "null";
  if (typeof value === "string") return value.length > 48 ? `“${value.slice(0, 47)}…”` : `“${value}”`;
  if (typeof value !== "object") return String(value);
  if (isBinary(value)) return value.$binary ? `binary, ${value.$binary.size ?? "?"} bytes` : "not kept (too large)";
  if (Array.isArray(value)) return value.length === 1 ? "[1 item]" : `[${value.length} items]`;
  const n = Object.keys(value).length;
  return n === 1 ? "{1 field}" : `{${n} fields}`;
}

/** Every path inside `value` below `prefix` (objects and their fields; an array and its first item). */
function flatten(value, prefix, detail, out, depth = 0) {
  if (out.length >= MAX_SUGGESTIONS_PER_SOURCE || depth > MAX_DEPTH || isBinary(value)) return;
  if (Array.isArray(value)) {
    if (value.length) {
      const path = `${prefix}.0`;
      out.push({ path, detail: detail(value[0]) });
      if (value[0] !== null && typeof value[0] === "object") flatten(value[0], path, detail, out, depth + 1);
    }
    return;
  }
  if (!isObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    if (out.length >= MAX_SUGGESTIONS_PER_SOURCE) return;
    const path = `${prefix}${segment(key)}`;
    out.push({ path, detail: detail(inner) });
    if (inner !== null && typeof inner === "object") flatten(inner, path, detail, out, depth + 1);
  }
}

/**
 * What a step can use, in groups: [{label, items: [{path, detail}]}].
 * - `sample`: the trigger body to suggest fields from ({sampleBody} or the last run's body), with
 *   `sampleSource` saying which;
 * - `steps`: the flow's steps in order, `index` the step being edited (only those above count);
 * - `lastRun`: a Run, whose recorded outputs stand in for the steps above; else each node's
 *   declared `outputs` (debug.echo's output is its parameters).
 */
export function suggestions({ sample, sampleSource, steps, index, nodes, lastRun }) {
  const groups = [];
  const body = [];
  if (isObject(sample)) flatten(sample, "trigger.body", valuePreview, body);
  groups.push({
    label: sampleSource === "run" ? "Trigger body · from the last run" : "Trigger body · from the sample body",
    items: body,
    empty: "Add a sample body (the test body under the canvas) to get its fields here.",
  });
  const outputs = new Map((lastRun?.steps ?? []).map((s) => [s.id, s]));
  for (const step of steps.slice(0, Math.max(0, index))) {
    if (!step.id) continue;
    const items = [];
    const prefix = `steps${segment(step.id)}.output`;
    const recorded = outputs.get(step.id);
    let from = "from the last run";
    if (recorded && recorded.type === step.type && recorded.output !== null && typeof recorded.output === "object" && !isBinary(recorded.output)) {
      flatten(recorded.output, prefix, valuePreview, items);
    }
    if (!items.length) {
      from = "declared output";
      for (const output of nodes.get(step.type)?.outputs ?? []) items.push({ path: `${prefix}.${output.path}`, detail: output.help });
      if (!items.length && step.type === "debug.echo") {
        // Its output is its parameters.
        from = "its parameters";
        for (const key of Object.keys(step.parameters ?? {})) items.push({ path: `${prefix}${segment(key)}`, detail: "Its parameter, echoed" });
      }
    }
    if (items.length) groups.push({ label: `${nodes.get(step.type)?.label ?? step.type} · ${step.id} · ${from}`, items });
  }
  groups.push({
    label: "This run",
    items: [
      { path: "run.id", detail: "The run's id" },
      { path: "now", detail: "The time the step runs, ISO 8601 in UTC" },
    ],
  });
  return groups;
}

/** The groups filtered by what was typed after `{{`: paths starting with it first, then containing it. */
export function filterSuggestions(groups, query) {
  const q = query.trim().toLowerCase();
  if (!q) return groups;
  return groups
    .map((group) => {
      const starts = [];
      const contains = [];
      for (const item of group.items) {
        const path = item.path.toLowerCase();
        if (path.startsWith(q)) starts.push(item);
        else if (path.includes(q)) contains.push(item);
      }
      return { ...group, items: [...starts, ...contains], empty: null };
    })
    .filter((group) => group.items.length);
}

/**
 * What is wrong with the references in one field's text, for the step at `index`:
 * [{level: "error" | "warning", message}]. A step below (or the step itself), an unknown step, an
 * unknown root, and — when there is a sample — a field the sample body does not have.
 */
export function referenceProblems(text, { steps, index, sample }) {
  const problems = [];
  const seen = new Set();
  for (const ref of references(text)) {
    const s = ref.segments;
    if (!s || seen.has(ref.source)) continue;
    seen.add(ref.source);
    const shown = `{{${ref.source}}}`;
    if (!ROOTS.includes(s[0])) {
      problems.push({ level: "error", message: `${shown} is not a variable: variables start with trigger.body, steps.<id>.output, run.id or now.` });
    } else if (s[0] === "steps" && s.length > 1) {
      const at = steps.findIndex((step) => step.id === s[1]);
      if (at < 0) problems.push({ level: "error", message: `${shown} refers to step ${s[1]}, which is not in this flow.` });
      else if (at === index) problems.push({ level: "error", message: `${shown} refers to this step itself: a step can use only the outputs of the steps above it.` });
      else if (at > index) problems.push({ level: "error", message: `${shown} refers to step ${s[1]}, which does not come earlier in the flow: a step can use only the outputs of the steps above it.` });
    } else if (s[0] === "trigger" && s[1] === "body" && s.length > 2 && isObject(sample) && resolve(sample, s.slice(2)) === undefined) {
      problems.push({ level: "warning", message: `The sample body has no ${s.slice(2).join(".")}: check the spelling, or add it to the test body.` });
    }
  }
  return problems;
}

/** Where the caret is inside an unfinished `{{…`: {open (index of `{{`), query}, or null. */
export function openReference(text, caret) {
  const before = text.slice(0, caret);
  const open = before.lastIndexOf("{{");
  if (open < 0 || before.lastIndexOf("}}") > open || (open > 0 && text[open - 1] === "\\")) return null;
  const query = before.slice(open + 2);
  if (/[\n{}]/.test(query) || /\S\s+\S/.test(query.trim()) || query.length > 200) return null;
  return { open, query: query.trimStart() };
}
