// One run (GET /api/v1/runs/{id}): its status, what triggered it, and each step with its status,
// resolved parameters (secret ones arrive `<redacted>`), output and error. An email step's output
// is shown as Postmark shows a sent message: Message-ID, accepted and rejected recipients, the
// server's response, TLS version and timings. Errors carry the spec's hint (`details.hint`).
//
// The view is drawn again on every update (server-sent events); `open` remembers which
// disclosures the user opened, so an update does not fold them away.

import { formatDateTime, h, timeElement } from "../dom.js";
import { icon } from "../icons.js";
import { nodeIcon } from "../node-rules.js";
import { badge } from "./badge.js";
import { copyable } from "./copy.js";
import { jsonView } from "./json-view.js";
import { hintFor } from "./test-result.js";

export const STATUS_TEXT = {
  queued: "Queued",
  waiting: "Waiting",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  ambiguous: "Ambiguous",
  cancelled: "Cancelled",
  retrying: "Retrying",
  pending: "Not reached",
  upcoming: "Upcoming",
};
const BADGE_KIND = { retrying: "waiting", pending: "neutral", upcoming: "queued" };

export function statusBadge(status) {
  return badge(BADGE_KIND[status] ?? status, STATUS_TEXT[status] ?? status);
}

export const isActive = (status) => status === "queued" || status === "waiting" || status === "running";

/** "1.2 s", "340 ms": between two ISO times, or until now while running. */
export function duration(startedAt, finishedAt) {
  if (!startedAt) return null;
  const ms = Date.parse(finishedAt ?? new Date().toISOString()) - Date.parse(startedAt);
  if (!Number.isFinite(ms) || ms < 0) return null;
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function runView(run, { nodes = new Map(), planned = [], flowName, flowHref, open = new Set(), onCancel } = {}) {
  const disclosure = (key, summary, body) => {
    const details = h("details", { class: "disclosure run__details" }, h("summary", {}, icon("chevron-right"), h("span", {}, summary)), h("div", { class: "disclosure__body" }, body));
    details.open = open.has(key);
    details.addEventListener("toggle", () => (details.open ? open.add(key) : open.delete(key)));
    return details;
  };

  const cancel = onCancel && isActive(run.status) ? h("button", { type: "button", class: "btn btn--sm", onclick: (event) => onCancel(event.currentTarget) }, "Cancel run") : null;
  const took = duration(run.startedAt, run.finishedAt);
  const header = h(
    "header",
    { class: "run__header" },
    h("div", { class: "row" }, h("span", { class: "run__status" }, statusBadge(run.status)), copyable(run.id, { label: "run id" }), h("span", { class: "grow" }), cancel),
    h(
      "p",
      { class: "item__meta" },
      flowName ? h("span", {}, "Flow ", flowHref ? h("a", { href: flowHref }, flowName) : h("strong", {}, flowName)) : null,
      h("span", {}, `${triggerWord(run.trigger?.kind)} · `, timeElement(run.createdAt)),
      took && run.status !== "waiting" ? h("span", {}, `${isActive(run.status) ? "Running for" : "Took"} ${took}`) : null,
    ),
  );

  const stepById = new Map(run.steps.map((s) => [s.id, s]));
  // Steps of the flow not reached (yet): upcoming while the run is active, "Not reached" after.
  const rest = planned.filter((p) => !stepById.has(p.id)).map((p) => ({ id: p.id, type: p.type, status: isActive(run.status) ? "upcoming" : "pending" }));
  const stepsList = h("ol", { class: "run__steps", "aria-label": "Steps" }, [...run.steps, ...rest].map((step) => h("li", {}, stepView(step))));

  function stepView(step) {
    const node = nodes.get(step.type);
    const waiting = step.status === "upcoming" || step.status === "waiting";
    const took = duration(step.startedAt, step.finishedAt);
    const parts = [];
    if (step.status === "waiting") parts.push(waitCallout(step.error?.message ?? run.waitingReason, run.waitingUntil));
    else if (step.error && (step.status !== "succeeded" || step.output?.error)) parts.push(errorCallout(step.error));
    if (step.type === "smtp.send" && step.output && step.output.messageId) parts.push(emailSummary(step.output));
    if (step.delivery?.length) parts.push(deliveryList(step.delivery));
    if (step.parameters) parts.push(disclosure(`${run.id}:${step.id}:parameters`, "Parameters (resolved)", jsonView(step.parameters, { label: `Parameters of ${step.id}` })));
    if (step.output !== null && step.output !== undefined) parts.push(disclosure(`${run.id}:${step.id}:output`, "Output", jsonView(step.output, { label: `Output of ${step.id}` })));
    return h(
      "section",
      { class: `run-step run-step--${step.status}`, "aria-label": `Step ${step.id}` },
      h(
        "div",
        { class: "run-step__head" },
        h("span", { class: "node-card__icon" }, icon(nodeIcon(step.type))),
        h("span", { class: "run-step__name" }, h("span", { class: "node-card__label" }, node?.label ?? step.type), h("code", { class: "node-card__id" }, step.id)),
        statusBadge(step.status),
      ),
      waiting || step.status === "pending"
        ? null
        : h("p", { class: "item__meta" }, step.attempts > 1 ? h("span", {}, `${step.attempts} attempts`) : null, took ? h("span", {}, took) : null, step.startedAt ? h("span", { title: formatDateTime(step.startedAt) }, "Started ", timeElement(step.startedAt)) : null),
      parts.length ? h("div", { class: "run-step__body" }, parts) : null,
    );
  }

  const triggerBody = run.trigger?.body ?? {};
  return h(
    "div",
    { class: "run" },
    header,
    run.error && !run.steps.some((s) => s.error && s.error.code === run.error.code) ? errorCallout(run.error) : null,
    run.status === "waiting" && !run.steps.some((s) => s.status === "waiting") ? waitCallout(run.waitingReason, run.waitingUntil) : null,
    disclosure(`${run.id}:trigger`, "Trigger body", jsonView(triggerBody, { label: "Trigger body" })),
    stepsList,
  );
}

function triggerWord(kind) {
  return { webhook: "Webhook", cron: "Schedule", manual: "Manual run", "email.bounced": "Email bounced", "email.complained": "Spam complaint" }[kind] ?? "Run";
}

const DELIVERY = { bounced: ["failed", "Bounced"], delayed: ["waiting", "Delayed"], delivered: ["succeeded", "Delivered"], complained: ["warning", "Spam complaint"] };

/** What bounce reports said of the step's email, per recipient. */
function deliveryList(delivery) {
  return h(
    "div",
    { class: "delivery", "data-delivery": "" },
    h("p", { class: "delivery__title" }, "Delivery reports"),
    h(
      "ul",
      { class: "delivery__list" },
      delivery.map((item) => {
        const [kind, text] = DELIVERY[item.status] ?? ["neutral", item.status];
        return h(
          "li",
          { class: "delivery__item" },
          badge(kind, text),
          h("span", { class: "delivery__recipient" }, item.recipient),
          item.code ? h("code", {}, item.code) : null,
          item.diagnostic ? h("span", { class: "muted" }, item.diagnostic) : null,
          h("span", { class: "muted" }, timeElement(item.at)),
        );
      }),
    ),
  );
}

/** A run held by a rate limit or the provider's back-off: why, and when it resumes. */
export function waitCallout(reason, until) {
  return h(
    "div",
    { class: "callout callout--warning", "data-waiting": "" },
    icon("clock"),
    h(
      "div",
      { class: "callout__body" },
      h("p", { class: "callout__title" }, "Waiting for the sending limit"),
      reason ? h("p", {}, reason) : null,
      until ? h("p", {}, "Resumes ", timeElement(until), ` (${formatDateTime(until)}). It keeps its place in line and holds no worker meanwhile; nothing fails because of a limit.`) : null,
    ),
  );
}

/** The step's (or run's) error: code, message, the server's reply, refused recipients, the hint. */
export function errorCallout(error) {
  const details = error.details && typeof error.details === "object" ? error.details : {};
  const hint = hintFor({ code: error.code, message: error.message, hint: details.hint });
  const rejected = Array.isArray(details.rejected) ? details.rejected : [];
  return h(
    "div",
    { class: "callout callout--danger" },
    icon("x-circle"),
    h(
      "div",
      { class: "callout__body" },
      h("p", { class: "callout__title row" }, copyable(error.code, { label: "error code" }), h("span", {}, error.message)),
      details.response ? h("p", { class: "result__response" }, reply(details)) : null,
      rejected.length ? recipients(rejected) : null,
      hint ? h("p", {}, h("strong", {}, "What to do: "), hint) : null,
    ),
  );
}

function reply({ responseCode, response }) {
  const code = responseCode ? String(responseCode) : "";
  return code && !String(response).startsWith(code) ? `${code} ${response}` : String(response);
}

function recipients(rejected) {
  return h(
    "ul",
    { class: "recipients" },
    rejected.map((r) => h("li", {}, h("code", {}, r.address), " ", h("span", { class: "muted" }, [r.code, r.enhancedCode].filter(Boolean).join(" ")), r.text ? ` — ${r.text}` : "")),
  );
}

/** What an email step's output says, as a reader wants it. */
function emailSummary(output) {
  const t = output.timings ?? {};
  const timing = [
    ["connectMs", "connect"],
    ["tlsMs", "TLS"],
    ["authMs", "sign-in"],
    ["envelopeMs", "envelope"],
    ["dataMs", "data"],
  ]
    .filter(([key]) => typeof t[key] === "number")
    .map(([key, word]) => `${word} ${t[key]} ms`)
    .join(" · ");
  const accepted = output.accepted ?? [];
  const rejected = output.rejected ?? [];
  return h(
    "dl",
    { class: "kv email-summary" },
    h("dt", {}, "Message-ID"),
    h("dd", {}, copyable(output.messageId, { label: "Message-ID" })),
    h("dt", {}, "Accepted"),
    h("dd", {}, accepted.length ? h("ul", { class: "recipients" }, accepted.map((a) => h("li", {}, h("code", {}, a)))) : h("span", { class: "muted" }, "None")),
    h("dt", {}, "Rejected"),
    h("dd", {}, rejected.length ? recipients(rejected) : h("span", { class: "muted" }, "None")),
    output.response ? [h("dt", {}, "Server response"), h("dd", {}, h("code", {}, output.response))] : null,
    h("dt", {}, "Encryption"),
    h("dd", {}, output.tlsVersion ? h("code", {}, output.tlsVersion) : "None (sent in clear text)"),
    timing ? [h("dt", {}, "Timings"), h("dd", {}, timing)] : null,
  );
}
