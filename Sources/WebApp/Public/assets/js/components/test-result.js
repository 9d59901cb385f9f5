// The answer of a connection test (ConnectionTestResult) as a callout: the TLS version, timings
// and the server's capabilities, or the error code with the spec's troubleshooting hint.

import { h } from "../dom.js";
import { icon } from "../icons.js";
import { copyable } from "./copy.js";

// The spec's troubleshooting advice, for a result that arrives without a hint.
const SAME_AS_CONNECTION = "Wrong host or port, or a firewall blocking outbound SMTP. Confirm host and port from the providers table and verify outbound 587/465 is open from the runner.";
export const HINTS = {
  EAUTH: "Wrong password, or a normal password used where an App Password is required. Generate an App Password in your Google/Microsoft account and paste it into the credential.",
  ECONNECTION: SAME_AS_CONNECTION,
  ETIMEDOUT: SAME_AS_CONNECTION,
  EDNS: SAME_AS_CONNECTION,
  ETLS: "The server certificate isn't trusted by default. Re-issue the cert with a proper CA, or tick Accept unverified certificates (security trade-off).",
  EPOLICY: "Port 25 is not allowed: use 587 or 465. Private addresses need an operator allowlist (--allow-private-egress).",
};

// The spec's troubleshooting for a message the node refused (code EMESSAGE, which covers many
// rules): found by the rule's words in the message.
const MESSAGE_HINTS = [
  ["Outbound connection to", "Posthorn does not connect to private and reserved addresses (a mail server, an attachment URL, a request). Use a public address, or ask the operator to allow the range with --allow-private-egress."],
  ["Header value contains forbidden characters", "A \\r or \\n slipped into a header, the subject or an address. Strip newlines from the input variable before passing it to the node."],
  ["Reserved header is not allowed", "You added a custom header that's on the denylist. Use the dedicated parameter (e.g. set From instead of a From: header)."],
];

/** The advice for an error: the server's hint, else the spec's for its code or its rule. */
export function hintFor({ code, message, hint } = {}) {
  const byRule = MESSAGE_HINTS.find(([words]) => String(message ?? "").includes(words))?.[1];
  // A refused egress address is EPOLICY too, but not about port 25: its own advice first.
  if (!hint && code === "EPOLICY" && byRule) return byRule;
  return hint ?? HINTS[code] ?? byRule ?? null;
}

export function testProgress(target) {
  return h(
    "div",
    { class: "callout callout--progress" },
    icon("loader", { className: "icon--spin" }),
    h("div", { class: "callout__body" }, h("p", { class: "callout__title" }, `Testing the connection to ${target}…`), h("p", {}, "Connecting, negotiating encryption and signing in. Nothing is sent.")),
  );
}

export function testResult(result, target) {
  if (result.ok) {
    const timings = result.timingsMs ?? {};
    const timingText = [
      ["connect", "connect"],
      ["tls", "TLS"],
      ["auth", "sign-in"],
    ]
      .filter(([key]) => timings[key] !== undefined)
      .map(([key, label]) => `${label} ${timings[key]} ms`)
      .join(" · ");
    return h(
      "div",
      { class: "callout callout--success" },
      icon("check-circle"),
      h(
        "div",
        { class: "callout__body" },
        h("p", { class: "callout__title" }, `Connection works: ${target}`),
        h(
          "dl",
          { class: "kv" },
          h("dt", {}, "Encryption"),
          h("dd", {}, result.tlsVersion ? h("code", {}, result.tlsVersion) : "None (sent in clear text)"),
          timingText ? [h("dt", {}, "Timings"), h("dd", {}, timingText)] : null,
          result.capabilities?.length
            ? [h("dt", {}, "Server offers"), h("dd", {}, h("span", { class: "result__caps" }, result.capabilities.map((c) => h("code", { class: "result__cap" }, c))))]
            : null,
        ),
      ),
    );
  }
  const error = result.error ?? { code: "ERROR", message: "The test failed." };
  const hint = error.hint ?? HINTS[error.code];
  return h(
    "div",
    { class: "callout callout--danger" },
    icon("x-circle"),
    h(
      "div",
      { class: "callout__body" },
      h("p", { class: "callout__title row" }, `Connection failed: ${target}`, copyable(error.code, { label: "error code" })),
      h("p", {}, error.message),
      error.response ? h("p", { class: "result__response" }, serverReply(error)) : null,
      hint ? h("p", {}, h("strong", {}, "What to do: "), hint) : null,
    ),
  );
}

/** The server's reply as it said it: `response` is the whole reply line, code included (as in
 * nodemailer); the code is added only when the text does not start with it. */
function serverReply(error) {
  const code = error.responseCode ? String(error.responseCode) : "";
  return code && !error.response.startsWith(code) ? `${code} ${error.response}` : error.response;
}
