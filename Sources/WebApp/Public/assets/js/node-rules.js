// What the descriptors of GET /api/v1/nodes do not say but the page needs: an icon per node type,
// the step id a new step starts with, and Send SMTP Email's form rules from the spec (the Body
// field's label follows Body format; the list limits when a server's descriptor lacks `maxItems`).
// Everything else in a form comes from the descriptor.

// The spec's reserved headers: a custom header may not set them (case-insensitive).
const RESERVED_HEADERS = new Set([
  "from", "sender", "to", "cc", "bcc", "reply-to", "return-path", "message-id", "in-reply-to", "references", "date",
  "content-type", "content-transfer-encoding", "mime-version", "dkim-signature", "received", "authentication-results",
  "x-original-to", "delivered-to", "__proto__", "constructor", "prototype",
]);
const DEDICATED = { from: "From", to: "To", cc: "CC", bcc: "BCC", "reply-to": "Reply-To" };

function customHeaderNameProblem(value) {
  const name = typeof value === "string" ? value.trim() : "";
  const key = name.toLowerCase();
  if (!RESERVED_HEADERS.has(key)) return null;
  return DEDICATED[key]
    ? `Reserved header is not allowed. Use the ${DEDICATED[key]} field instead of a ${name} header.`
    : "Reserved header is not allowed. Posthorn sets this header itself.";
}

const RULES = {
  "smtp.send": {
    icon: "mail",
    stepId: "send_email",
    maxItems: { headers: 50, attachments: 20 },
    visibleWhen: { htmlBody: { parameter: "bodyFormat", equals: ["html"] } },
    /** The spec: with Body format html, Body is the plain-text alternative and the fallback. */
    presentation(parameter, values) {
      if (parameter.name === "body" && values.bodyFormat === "html") {
        return {
          label: "Body (plain-text alternative)",
          help: "Sent beside the HTML body as its plain-text alternative, and used as the fallback if HTML body is empty.",
        };
      }
      if (parameter.name === "htmlBody") return { code: true };
      return null;
    },
    /** Names for a row of a list parameter ("Add custom header"). */
    itemNoun: { headers: "custom header", attachments: "attachment" },
    /** What the page can tell about a row's field as it is typed (the server checks again at save). */
    itemProblem: { headers: { name: customHeaderNameProblem } },
  },
  "http.request": { icon: "globe", stepId: "http_request", itemNoun: { headers: "header" } },
  "debug.echo": { icon: "code", stepId: "echo" },
};

const rules = (type) => RULES[type] ?? {};

export const nodeIcon = (type) => rules(type).icon ?? "zap";
export const preferredStepId = (type) => rules(type).stepId;

/** A parameter as the form draws it: the descriptor's, with the node's rules applied. */
export function presentParameter(type, parameter, values) {
  const r = rules(type);
  const visibleWhen = parameter.visibleWhen ?? r.visibleWhen?.[parameter.name] ?? null;
  const maxItems = parameter.maxItems ?? r.maxItems?.[parameter.name] ?? null;
  const extra = r.presentation?.(parameter, values) ?? {};
  return { ...parameter, visibleWhen, maxItems, ...extra };
}

/** "custom header" for Send SMTP Email's headers; else the label in lower case, singular. */
export function itemNoun(type, parameter) {
  const noun = rules(type).itemNoun?.[parameter.name];
  if (noun) return noun;
  const label = parameter.label.toLowerCase();
  return label.endsWith("s") ? label.slice(0, -1) : label;
}

/** The fields of one row of a list parameter (`items`; an older server's `itemFields`). */
export const itemFields = (parameter) => parameter.items ?? parameter.itemFields ?? null;

/** The problem with one field of a list row as typed (a reserved custom header), or null. */
export function itemProblem(type, parameter, field, value) {
  return rules(type).itemProblem?.[parameter.name]?.[field]?.(value) ?? null;
}
