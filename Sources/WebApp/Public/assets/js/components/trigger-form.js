// The right panel for the trigger card: webhook, schedule (cron), manual, or an email event (a
// message of this workspace bounced, or its recipient complained).
//
// Webhook: the full address (this page's origin + the flow's relative `url`) with a copy button,
// a ready-to-paste curl example, and the shared secret. The server stores only a hash, so "Set a
// secret" makes one here (crypto.getRandomValues), sends it with the next save, and shows it this
// once with a copy button; afterwards the page only knows "A secret is set" (and can remove it).
//
// Schedule: as the expression and time zone are typed, the next five fire times and the schedule
// in plain words, from the server (POST /api/v1/cron/preview).

import { api } from "../api.js";
import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { generateSecret } from "../flow-model.js";
import { copyable, copyButton } from "./copy.js";
import { clearFieldError, setFieldError } from "./form.js";

const TYPES = [
  { value: "webhook", label: "Webhook", help: "Starts when an HTTP POST arrives at the flow's address, e.g. from a form or a CRM." },
  { value: "cron", label: "Schedule", help: "Starts on a cron schedule, e.g. a daily digest at 8:00." },
  { value: "manual", label: "Manual", help: "Starts only when you press Run, or through the API." },
  { value: "email.bounced", label: "Email bounced", help: "Starts when a message this workspace sent bounces, e.g. to tell its author." },
  { value: "email.complained", label: "Spam complaint", help: "Starts when a recipient marks a message of this workspace as spam." },
];

// What an email event's run finds in {{trigger.body.…}}.
const EVENT_FIELDS = [
  ["recipient", "the address that bounced or complained"],
  ["reason", "the receiving server's words"],
  ["code", "the status code, e.g. 5.1.1"],
  ["permanent", "true when the mailbox is gone for good"],
  ["suppressed", "true when the address was added to the suppression list"],
  ["subject", "the subject of the message that bounced"],
  ["runId", "the run that sent it (also flowId, stepId, messageId)"],
  ["source", "raw, ses, sendgrid, mailgun or postmark"],
];

export function triggerForm({ draft, saved, flowId, revealedSecret, sampleBody, onChange }) {
  const groupName = uid("trigger-type");
  const sectionSlot = h("div", { class: "trigger-form__section" });
  const controls = {};
  const stash = { cron: { expression: "0 9 * * *", timeZone: localZone() } };

  const radios = TYPES.map((t) => {
    const id = `${groupName}-${t.value}`;
    const input = h("input", { type: "radio", name: groupName, id, value: t.value, "aria-describedby": `${id}-help` });
    input.checked = draft.trigger.type === t.value;
    input.addEventListener("change", () => {
      if (draft.trigger.type === "cron") stash.cron = { expression: draft.trigger.expression, timeZone: draft.trigger.timeZone };
      draft.trigger = t.value === "cron" ? { type: "cron", ...stash.cron } : { type: t.value };
      renderSection();
      onChange("type");
    });
    return h("div", { class: "radio" }, input, h("label", { class: "radio__label", for: id }, t.label), h("p", { class: "radio__help", id: `${id}-help` }, t.help));
  });
  controls.type = radios[0].querySelector("input");

  const root = h(
    "form",
    { class: "node-form", novalidate: true, "aria-label": "Trigger settings" },
    h("fieldset", { class: "radio-group" }, h("legend", { class: "radio-group__legend" }, "How this flow starts"), h("div", { class: "radio-group__options" }, radios)),
    sectionSlot,
  );
  root.addEventListener("submit", (event) => event.preventDefault());

  function renderSection() {
    const type = draft.trigger.type;
    if (type === "webhook") sectionSlot.replaceChildren(webhookSection());
    else if (type === "cron") sectionSlot.replaceChildren(cronSection());
    else if (type.startsWith("email.")) sectionSlot.replaceChildren(emailSection(type));
    else sectionSlot.replaceChildren(manualSection());
  }

  // ---- Email events -------------------------------------------------------------------------

  function emailSection(type) {
    const what = type === "email.bounced" ? "a message sent by one of this workspace's flows bounces" : "a recipient marks a message of this workspace as spam";
    return h(
      "div",
      {},
      h("p", { class: "callout" }, icon("info"), h("span", {}, `This flow starts once for each recipient when ${what} — reported by a delivery status notification or a provider's webhook (Credentials → the credential's bounce intake). Mail this flow sends never starts it again, so a notification that bounces cannot loop.`)),
      h(
        "div",
        { class: "field" },
        h("span", { class: "field__label" }, "What the run gets"),
        h("dl", { class: "event-fields" }, EVENT_FIELDS.flatMap(([name, text]) => [h("dt", {}, h("code", {}, `{{trigger.body.${name}}}`)), h("dd", {}, text)])),
      ),
    );
  }

  // ---- Webhook --------------------------------------------------------------------------------

  function webhookSection() {
    const url = saved.type === "webhook" && saved.url ? `${location.origin}${saved.url}` : null;
    const pending = draft.trigger.secret; // undefined: as stored; a string: new; null: to remove
    const hasSecret = typeof pending === "string" || (pending === undefined && saved.type === "webhook" && saved.hasSecret);
    const secretText = typeof pending === "string" ? pending : revealedSecret;

    const address = h(
      "div",
      { class: "field" },
      h("span", { class: "field__label", id: "webhook-url-label" }, "Webhook URL"),
      url
        ? h("div", { role: "group", "aria-labelledby": "webhook-url-label" }, copyable(url, { label: "webhook URL", block: true }))
        : h("p", { class: "callout" }, icon("info"), h("span", {}, "Save the flow to get its webhook address.")),
      h("p", { class: "field__help" }, "Send a POST with a JSON or form body; the flow reads it as {{trigger.body.…}}. The address is the key: share it only with the service that calls it."),
    );

    const curl = curlExample({ url: url ?? `${location.origin}/hooks/<saved-flow-address>`, secret: hasSecret ? secretText ?? "YOUR_SECRET" : null, body: sampleBody() });
    const example = h(
      "div",
      { class: "field" },
      h("div", { class: "row row--between" }, h("span", { class: "field__label", id: "curl-label" }, "Try it with curl"), copyButton(curl, "curl example")),
      h("pre", { class: "code-block", "aria-labelledby": "curl-label", tabindex: "0" }, h("code", {}, curl)),
    );

    return h("div", { class: "stack" }, address, secretBlock({ pending, hasSecret, secretText }), example);
  }

  function secretBlock({ pending, hasSecret, secretText }) {
    const title = h("h3", { class: "field__label" }, "Secret");
    if (typeof pending === "string" || secretText) {
      const undo = typeof pending === "string" ? button("Don't set a secret", () => setSecret(undefined)) : null;
      return h(
        "div",
        { class: "callout callout--warning secret-panel", role: "region", "aria-label": "New webhook secret" },
        icon("alert"),
        h(
          "div",
          { class: "callout__body" },
          h("p", { class: "callout__title" }, typeof pending === "string" ? "Copy the secret now. After you save, it is never shown again." : "Secret saved. Copy it now: it won't be shown again."),
          h("p", {}, "Callers send it in the X-Webhook-Secret header; a request without it gets 401."),
          copyable(secretText, { label: "webhook secret", block: true }),
          undo ? h("p", { class: "row" }, undo) : null,
        ),
      );
    }
    if (pending === null) {
      return h("div", { class: "stack-sm" }, title, h("p", { class: "callout callout--warning" }, icon("alert"), h("span", {}, "The secret will be removed when you save: anyone with the address can then start this flow.")), button("Keep the secret", () => setSecret(undefined)));
    }
    if (hasSecret) {
      return h(
        "div",
        { class: "stack-sm" },
        title,
        h("p", { class: "row" }, h("span", { class: "badge badge--succeeded" }, icon("lock"), "A secret is set"), h("span", { class: "muted text-sm" }, "Callers must send it in X-Webhook-Secret.")),
        h("p", { class: "row" }, button("Replace secret", () => setSecret(generateSecret())), button("Remove secret", () => setSecret(null), "btn--danger-text")),
      );
    }
    return h(
      "div",
      { class: "stack-sm" },
      title,
      h("p", { class: "field__help" }, "No secret: anyone who knows the address can start this flow. A secret makes callers prove they are allowed."),
      button("Set a secret", () => setSecret(generateSecret()), "", "key"),
    );
  }

  function setSecret(value) {
    if (value === undefined) delete draft.trigger.secret;
    else draft.trigger.secret = value;
    revealedSecret = null;
    renderSection();
    onChange("secret");
    // The focus was on the button just replaced: keep it in the secret area.
    sectionSlot.querySelector(".secret-panel .copy-btn, .stack-sm .btn")?.focus();
  }

  // ---- Schedule -------------------------------------------------------------------------------

  function cronSection() {
    const expressionId = uid("cron-expression");
    const zoneId = uid("cron-zone");
    const expression = h("input", { class: "input input--mono", id: expressionId, type: "text", autocomplete: "off", spellcheck: "false", autocapitalize: "off", "aria-describedby": `${expressionId}-help`, "aria-required": "true" });
    expression.value = draft.trigger.expression ?? "";
    const zones = timeZones(draft.trigger.timeZone);
    const zone = h("select", { class: "select", id: zoneId, "aria-describedby": `${zoneId}-help` }, zones.map((z) => h("option", { value: z }, z.replaceAll("_", " "))));
    zone.value = draft.trigger.timeZone || "UTC";
    const glance = schedulePreview({ expression, zone });
    expression.addEventListener("input", () => {
      draft.trigger.expression = expression.value.trim();
      onChange("expression");
      glance.update();
    });
    zone.addEventListener("change", () => {
      draft.trigger.timeZone = zone.value;
      onChange("timeZone");
      glance.update({ now: true });
    });
    controls.expression = expression;
    controls.timeZone = zone;
    glance.update({ now: true });
    return h(
      "div",
      { class: "node-form__fields" },
      h(
        "div",
        { class: "field" },
        h("label", { class: "field__label", for: expressionId }, "Cron expression", h("span", { class: "field__required", "aria-hidden": "true" }, " *")),
        expression,
        h("p", { class: "field__help", id: `${expressionId}-help` }, "Five fields — minute, hour, day of month, month, day of week — e.g. 0 8 * * MON-FRI for 8:00 on weekdays; or @daily, @hourly."),
      ),
      h("div", { class: "field" }, h("label", { class: "field__label", for: zoneId }, "Time zone"), zone, h("p", { class: "field__help", id: `${zoneId}-help` }, "The schedule follows this zone's clock, daylight saving time included.")),
      glance.root,
    );
  }

  function manualSection() {
    return h(
      "p",
      { class: "callout" },
      icon("info"),
      h("span", {}, "This flow starts when you press Run (", h("kbd", { class: "kbd" }, "Ctrl"), "+", h("kbd", { class: "kbd" }, "Enter"), ") with the test body, or from a script: ", h("code", {}, `POST /api/v1/flows/${flowId}/runs`), "."),
    );
  }

  function button(text, action, extra = "", iconName) {
    const b = h("button", { type: "button", class: `btn btn--sm ${extra}`.trim() }, iconName ? icon(iconName) : null, text);
    b.addEventListener("click", action);
    return b;
  }

  renderSection();
  return {
    root,
    /** Problems about the trigger: [{name: "expression" | "timeZone" | …, message}]. */
    showProblems(problems) {
      for (const p of problems) {
        const control = controls[p.name] ?? controls.type;
        if (control?.isConnected) setFieldError(control, p.message);
      }
    },
    focus(name) {
      const control = controls[name]?.isConnected ? controls[name] : controls.type;
      control?.focus();
    },
  };
}

// ---- Cron at a glance ---------------------------------------------------------------------------

const CRON_WAIT_MS = 250; // after the last keystroke
const readings = new Map(); // "expression\u0000zone" → the server's answer (or its refusal), this page's life

/**
 * As the expression and zone are typed: the next five fire times and the schedule in plain words,
 * from POST /api/v1/cron/preview — the server's one cron implementation (the scheduler's own); the
 * page never parses cron itself. A refused expression or zone gets the server's words at its field.
 */
function schedulePreview({ expression, zone }) {
  const reading = h("p", { class: "schedule__reading", "aria-live": "polite" });
  const times = h("ol", { class: "schedule__times", "aria-label": "The next five runs" });
  const root = h("section", { class: "schedule", "aria-label": "When it runs" }, reading, times);
  let timer = 0;
  let asked = 0;

  function update({ now = false } = {}) {
    clearTimeout(timer);
    timer = setTimeout(ask, now ? 0 : CRON_WAIT_MS);
  }

  async function ask() {
    const text = expression.value.trim();
    const timeZone = zone.value || "UTC";
    const ticket = ++asked;
    if (!text) {
      show({ error: { field: "expression", message: "Enter a cron expression, e.g. 0 9 * * * for 9:00 every day." } });
      return;
    }
    const key = `${text}\u0000${timeZone}`;
    let answer = readings.get(key);
    if (!answer) {
      root.setAttribute("aria-busy", "true");
      try {
        answer = { preview: await api("/cron/preview", { method: "POST", body: { expression: text, timeZone, count: 5 } }) };
      } catch (error) {
        if (error.name === "AbortError") return;
        answer = { error: { field: error.field, message: error.message, status: error.status } };
      }
      if (answer.preview || answer.error.status === 422) readings.set(key, answer);
    }
    if (ticket !== asked || !root.isConnected) return; // a newer question is on its way, or the panel closed
    root.removeAttribute("aria-busy");
    show(answer);
  }

  function show({ preview, error }) {
    clearFieldError(expression);
    clearFieldError(zone);
    if (error) {
      const control = error.field === "timeZone" ? zone : error.field === "expression" ? expression : null;
      if (control) setFieldError(control, error.message);
      reading.replaceChildren(icon("clock"), h("span", { class: "muted" }, control ? `Fix the ${control === zone ? "time zone" : "expression"} to see when it runs.` : error.message));
      times.replaceChildren();
      root.dataset.state = "error";
      return;
    }
    reading.replaceChildren(icon("clock"), h("span", {}, "Runs ", h("strong", { "data-description": "" }, preview.description)));
    times.replaceChildren(
      ...preview.next.map((fire) =>
        h("li", { class: "schedule__time" }, h("time", { datetime: fire.at, "data-local": fire.local }, wallTime(fire.local)), h("span", { class: "muted" }, offsetText(fire.local)), h("span", { class: "muted schedule__until" }, timeUntil(fire.at))),
      ),
    );
    root.dataset.state = "ok";
  }

  return { root, update };
}

const wallDate = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
const wallDateYear = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "2026-03-30T08:00:00+02:00" → "Mon, 30 Mar, 08:00" (the year when it is not this one): the zone's
 * wall time as the server gave it. */
function wallTime(local) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local ?? "");
  if (!m) return String(local);
  const format = Number(m[1]) === new Date().getFullYear() ? wallDate : wallDateYear;
  return `${format.format(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))))}, ${m[4]}:${m[5]}`;
}

function offsetText(local) {
  const m = /([+-]\d{2}:\d{2}|Z)$/.exec(local ?? "");
  return m ? `UTC${m[1] === "Z" ? "" : m[1]}` : "";
}

/** "in 5 hours", "in 3 days". */
function timeUntil(at) {
  const seconds = (Date.parse(at) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) return "";
  const steps = [[60, "second"], [60, "minute"], [24, "hour"], [30, "day"], [12, "month"], [Infinity, "year"]];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return "";
}

function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function timeZones(current) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    zones = [];
  }
  const all = new Set(["UTC", ...zones]);
  if (current) all.add(current);
  return [...all];
}

/** A curl command for the webhook, quoted for a POSIX shell. */
export function curlExample({ url, secret, body }) {
  const quote = (text) => `'${text.replaceAll("'", "'\\''")}'`;
  const lines = [`curl -X POST ${quote(url)}`, `  -H ${quote("Content-Type: application/json")}`];
  if (secret) lines.push(`  -H ${quote(`X-Webhook-Secret: ${secret}`)}`);
  lines.push(`  -d ${quote(body)}`);
  return lines.join(" \\\n");
}
