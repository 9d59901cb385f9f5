// A DNS record to publish (a DKIM key's, the recommended SPF and DMARC): its name, type and value,
// each with a copy button, and — for a value longer than one DNS string — the same value split
// into strings of at most 255 bytes, quoted, the form BIND zone files and several DNS hosts want.

import { h } from "../dom.js";
import { icon } from "../icons.js";
import { copyable } from "./copy.js";

/**
 * `record`: {name, type, value, strings?}. `label` names it for the copy buttons ("the SPF record
 * for example.com" → "Copy value of the SPF record for example.com"). `note`: a line under it.
 */
export function dnsRecord(record, { label, note } = {}) {
  const strings = Array.isArray(record.strings) ? record.strings : [];
  return h(
    "div",
    { class: "dns-record" },
    h(
      "dl",
      { class: "dns-record__fields" },
      h("dt", {}, "Name"),
      h("dd", {}, copyable(record.name, { label: `name of ${label}` })),
      h("dt", {}, "Type"),
      h("dd", {}, h("code", { class: "dns-record__type" }, record.type ?? "TXT")),
      h("dt", {}, "Value"),
      h("dd", {}, copyable(record.value, { label: `value of ${label}`, block: true })),
    ),
    strings.length > 1 ? splitForm(strings, label) : null,
    note ? h("p", { class: "field__help" }, note) : null,
  );
}

/** The value as quoted strings: `"…" "…"`. */
export function quotedStrings(strings) {
  return strings.map((s) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(" ");
}

function splitForm(strings, label) {
  const text = quotedStrings(strings);
  return h(
    "details",
    { class: "disclosure dns-record__split" },
    h("summary", {}, icon("chevron-right"), h("span", {}, `Split into ${strings.length} strings of at most 255 characters`)),
    h(
      "div",
      { class: "disclosure__body stack-sm" },
      h("p", { class: "field__help" }, "For DNS hosts that take a long TXT value only as several strings (BIND zone files, Route 53, some registrars): paste this, quotes included. Hosts that take the value as one piece join it themselves."),
      copyable(text, { label: `${label} as 255-character strings`, block: true }),
    ),
  );
}
