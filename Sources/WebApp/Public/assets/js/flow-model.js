// Flow Studio's model, without DOM: the editable copy of a flow, the FlowInput it saves as, step
// ids, and where each of the server's `problems` belongs.
//
// Every step in the editor carries a `key` of its own (never sent): a problem arrives as
// `steps[1].parameters.to`, but steps move, so it is pinned to the step that was at index 1 when
// the server answered, and follows that step wherever it goes.

let keyCounter = 0;
const newKey = () => `s${++keyCounter}`;

/** A deep copy through JSON: flows are plain JSON. */
export const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** The editable copy of a `Flow` from the API. */
export function toDraft(flow) {
  const trigger = { type: flow.trigger.type };
  if (flow.trigger.type === "cron") {
    trigger.expression = flow.trigger.expression ?? "";
    trigger.timeZone = flow.trigger.timeZone ?? "UTC";
  }
  // trigger.secret: undefined keeps the stored secret, a string sets one, null removes it.
  return {
    name: flow.name,
    enabled: flow.enabled,
    version: flow.version,
    retry: clone(flow.retry),
    trigger,
    steps: flow.steps.map((step) => ({ key: newKey(), id: step.id, type: step.type, parameters: clone(step.parameters ?? {}), onError: step.onError })),
    // The trigger body to try the flow with (Run, Preview, the variables it suggests): saved with
    // the flow, replaced by every PUT like the rest, so it is always sent back.
    sampleBody: isObject(flow.sampleBody) ? clone(flow.sampleBody) : null,
  };
}

export const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** The body of POST/PUT /flows: FlowInput plus the version read. */
export function toInput(draft, { withVersion = true } = {}) {
  const trigger = { type: draft.trigger.type };
  if (trigger.type === "cron") {
    trigger.expression = draft.trigger.expression ?? "";
    trigger.timeZone = draft.trigger.timeZone || "UTC";
  }
  if (trigger.type === "webhook" && draft.trigger.secret !== undefined) trigger.secret = draft.trigger.secret;
  const input = {
    name: draft.name,
    trigger,
    steps: draft.steps.map((step) => ({ id: step.id, type: step.type, parameters: step.parameters, onError: step.onError })),
    enabled: draft.enabled,
    sampleBody: draft.sampleBody ?? null,
  };
  // PUT replaces the whole definition: without `retry` the flow would fall back to the default.
  if (draft.retry) input.retry = draft.retry;
  if (withVersion && draft.version !== undefined) input.version = draft.version;
  return input;
}

/** What "unsaved changes" compares: the input without the version. */
export const fingerprint = (draft) => JSON.stringify(toInput(draft, { withVersion: false }));

/** A new step for `node`, with the node's default On error and a unique id. */
export function newStep(node, steps, preferredId) {
  return {
    key: newKey(),
    id: uniqueStepId(preferredId ?? baseStepId(node.label), steps),
    type: node.type,
    parameters: {},
    onError: node.defaultOnError ?? "stop",
  };
}

/** "Send SMTP Email" → "send_smtp_email": a valid step id (a letter first, letters, digits, _). */
export function baseStepId(label) {
  const words = label.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim().split(" ").filter(Boolean);
  let id = words.join("_") || "step";
  if (!/^[a-z]/.test(id)) id = `step_${id}`;
  return id.slice(0, 56);
}

/** `base`, or `base_2`, `base_3`… whichever no step has yet. */
export function uniqueStepId(base, steps) {
  const taken = new Set(steps.map((s) => s.id));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n += 1) if (!taken.has(`${base}_${n}`)) return `${base}_${n}`;
}

export const STEP_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Where a server field name points:
 * - `steps[1].parameters.headers[2].name` → { scope: "step", index: 1, path: "headers[2].name", param: "headers" }
 * - `steps[1].id` / `steps[1].onError` → { scope: "step", index: 1, path: "$id" / "$onError" }
 * - `trigger.expression` → { scope: "trigger", name: "expression" }
 * - `name`, `steps`, anything else → { scope: "flow", name }
 */
export function parseField(field = "") {
  const step = /^steps\[(\d+)\](?:\.(.*))?$/.exec(field);
  if (step) {
    const index = Number(step[1]);
    const rest = step[2] ?? "";
    if (rest.startsWith("parameters.")) {
      const path = rest.slice("parameters.".length);
      return { scope: "step", index, path, param: path.split(/[.[]/)[0] };
    }
    if (rest === "parameters" || rest === "") return { scope: "step", index, path: "" };
    return { scope: "step", index, path: `$${rest}` };
  }
  if (field.startsWith("trigger.") || field === "trigger") return { scope: "trigger", name: field.slice("trigger.".length) || "type" };
  return { scope: "flow", name: field };
}

/**
 * The server's problems, pinned to what they are about:
 * { flow: [{field, message}], trigger: [{name, message}], steps: Map(key → [{path, message}]) }.
 * `steps` is the draft's step list in the order the server saw it.
 */
export function pinProblems(problems = [], steps = []) {
  const pinned = { flow: [], trigger: [], steps: new Map() };
  for (const problem of problems) {
    const where = parseField(problem.field);
    if (where.scope === "step" && steps[where.index]) {
      const key = steps[where.index].key;
      if (!pinned.steps.has(key)) pinned.steps.set(key, []);
      pinned.steps.get(key).push({ path: where.path, message: problem.message, field: problem.field });
    } else if (where.scope === "trigger") {
      pinned.trigger.push({ name: where.name, message: problem.message, field: problem.field });
    } else {
      pinned.flow.push({ field: problem.field, message: problem.message });
    }
  }
  return pinned;
}

export function problemCount(pinned) {
  let count = pinned.flow.length + pinned.trigger.length;
  for (const list of pinned.steps.values()) count += list.length;
  return count;
}

/** Forgets the problems about one field (the user changed it; the next save checks again). */
export function dropProblems(pinned, key, path) {
  const list = pinned.steps.get(key);
  if (!list) return;
  const kept = list.filter((p) => p.path !== path && !p.path.startsWith(`${path}[`) && !p.path.startsWith(`${path}.`));
  if (kept.length) pinned.steps.set(key, kept);
  else pinned.steps.delete(key);
}

/** Moves an element of `list` from one index to another (in place). */
export function move(list, from, to) {
  const [item] = list.splice(from, 1);
  list.splice(to, 0, item);
  return list;
}

/** 32 characters of base32 (160 bits) from the platform's cryptographic random source. */
export function generateSecret() {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => alphabet[b & 31]).join("");
}

/** A parameter's value as the form shows it: the step's, else the descriptor's default. */
export function effectiveValue(parameter, values) {
  const value = values?.[parameter.name];
  return value === undefined || value === null ? parameter.default ?? undefined : value;
}

/** Whether a parameter shows, given its siblings' values (`visibleWhen` names one of them). */
export function isVisible(parameter, values, siblings) {
  const rule = parameter.visibleWhen;
  if (!rule) return true;
  const other = siblings.find((p) => p.name === rule.parameter);
  const value = other ? effectiveValue(other, values) : values?.[rule.parameter];
  return (rule.equals ?? []).some((expected) => expected === value);
}
