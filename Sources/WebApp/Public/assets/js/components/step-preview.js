// A step's preview (POST /api/v1/flows/{id}/steps/{stepId}/preview): what the step would do for
// the test body, worked out by the server as a run would — same templates, guards and rules — and
// never done. An email step's answer is the exact message: the header block as it goes out, the
// HTML body in a sandboxed frame, the plain-text alternative and the attachments
// by name and size. A step that would fail shows the run's error with the spec's advice.

import { h } from "../dom.js";
import { icon } from "../icons.js";
import { badge } from "./badge.js";
import { copyable, copyButton } from "./copy.js";
import { binarySummary, formatBytes, jsonView } from "./json-view.js";
import { errorCallout } from "./run-view.js";

/** The header block's fields, unfolded: [[name, value]]. */
export function headerFields(block) {
  const fields = [];
  for (const line of String(block ?? "").split("\r\n")) {
    if (!line) continue;
    if ((line[0] === " " || line[0] === "\t") && fields.length) fields[fields.length - 1][1] += line;
    else {
      const colon = line.indexOf(":");
      if (colon > 0) fields.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
    }
  }
  return fields;
}

/**
 * `answer`: the StepPreview; `flowId`, `index` (the step's place, to say whether steps above had
 * outputs to use).
 */
export function stepPreview(answer, { flowId, index = 0, open = new Set() } = {}) {
  const disclosure = (key, summary, body, { initially = false } = {}) => {
    const details = h("details", { class: "disclosure run__details", "data-part": key }, h("summary", {}, icon("chevron-right"), h("span", {}, summary)), h("div", { class: "disclosure__body" }, body));
    details.open = open.has(key) || (initially && !open.has(`-${key}`));
    details.addEventListener("toggle", () => {
      open.delete(details.open ? `-${key}` : key);
      open.add(details.open ? key : `-${key}`);
    });
    return details;
  };

  const upstream = answer.upstreamRunId
    ? h("p", {}, "Outputs of the steps above come from the last run, ", h("a", { href: `/flows/${encodeURIComponent(flowId)}/runs/${encodeURIComponent(answer.upstreamRunId)}`, "data-run": answer.upstreamRunId }, answer.upstreamRunId), ".")
    : index > 0
      ? h("p", {}, "This flow has no run yet, so the steps above have no outputs to stand in: references to them can't be filled. Run the flow once.")
      : null;
  const parts = [
    h(
      "div",
      { class: "callout preview__note" },
      icon("eye"),
      h("div", { class: "callout__body" }, h("p", { class: "callout__title" }, "Preview: nothing was sent and no run was created."), h("p", {}, "Rendered for the test body as a run would render it, with the same rules."), upstream),
    ),
  ];

  if (answer.error) {
    parts.push(h("section", { class: "preview__error", "aria-label": "What a run would do" }, h("h3", { class: "preview__heading" }, "A run would fail at this step"), errorCallout(answer.error)));
  }
  const result = answer.result;
  if (result && typeof result.headers === "string") parts.push(emailView(result, { frameUrl: answer.htmlFrameUrl, disclosure }));
  else if (!answer.error) parts.push(h("p", { class: "row" }, badge("succeeded", "Would run", { iconName: "check-circle" }), h("span", { class: "muted text-sm" }, "The step renders without a problem.")));
  if (answer.parameters !== null && answer.parameters !== undefined) {
    parts.push(disclosure("parameters", "Parameters (rendered)", jsonView(answer.parameters, { label: `Rendered parameters of ${answer.stepId}` }), { initially: !result }));
  }
  return h("div", { class: "preview", "data-step": answer.stepId }, parts);
}

function emailView(result, { frameUrl, disclosure }) {
  const fields = headerFields(result.headers);
  const header = (name) => fields.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1] ?? null;
  const to = header("To");
  const cc = header("Cc");
  const inHeaders = `${to ?? ""} ${cc ?? ""}`.toLowerCase();
  const hidden = (result.envelope?.recipients ?? []).filter((r) => !inHeaders.includes(r.toLowerCase()));

  const head = h(
    "header",
    { class: "email-preview__head" },
    h("p", { class: "email-preview__kicker" }, "Subject"),
    h("h3", { class: "email-preview__subject" }, result.subject || h("span", { class: "muted" }, "(no subject)")),
    h(
      "dl",
      { class: "kv" },
      h("dt", {}, "From"),
      h("dd", {}, h("code", {}, header("From") ?? result.envelope?.mailFrom ?? "")),
      h("dt", {}, "To"),
      h("dd", {}, to ? h("code", {}, to) : h("span", { class: "muted" }, "None")),
      cc ? [h("dt", {}, "Cc"), h("dd", {}, h("code", {}, cc))] : null,
      hidden.length ? [h("dt", {}, "Bcc"), h("dd", {}, h("code", {}, hidden.join(", ")), h("span", { class: "muted" }, " (envelope only, never in the headers)"))] : null,
      h("dt", {}, "Envelope"),
      h("dd", {}, h("code", {}, `MAIL FROM:<${result.envelope?.mailFrom ?? ""}>`), " → ", h("code", {}, (result.envelope?.recipients ?? []).join(", "))),
      h("dt", {}, "Message-ID"),
      h("dd", {}, copyable(result.messageId, { label: "Message-ID" })),
      h("dt", {}, "Date"),
      h("dd", {}, h("code", {}, header("Date") ?? "")),
      h("dt", {}, "Size"),
      h("dd", {}, `${formatBytes(result.size)} (${result.size} octets)`),
      h("dt", {}, "Sent with"),
      h("dd", {}, result.credential?.name ?? ""),
    ),
    h("p", { class: "field__help" }, icon("lock"), " Date and Message-ID are pinned to this preview: a send sets its own (and the MIME boundaries, which follow the Message-ID). Everything else goes out byte for byte."),
  );

  const body = [];
  if (typeof result.html === "string") {
    // The server keeps the body for ten minutes behind an unguessable address and serves it under
    // its own policy: inline CSS applies (so it looks as a mail client draws it), nothing remote
    // loads, no script runs; the empty sandbox gives it an opaque origin besides.
    const frame = h("iframe", { class: "email-frame", sandbox: "", title: "HTML body, as the recipient sees it", referrerpolicy: "no-referrer", loading: "eager", src: frameUrl ?? "about:blank" });
    body.push(
      h(
        "section",
        { class: "email-preview__html", "aria-label": "HTML body" },
        h("div", { class: "row row--between" }, h("h4", { class: "preview__heading" }, "HTML body"), h("span", { class: "muted text-sm" }, "Sandboxed: no scripts, nothing remote, no forms")),
        h("div", { class: "email-frame__wrap" }, frame),
        h("p", { class: "field__help email-preview__left" }, "Remote images and fonts are not loaded here, as most mail clients do until the reader allows them."),
        disclosure("html-source", "HTML source", h("pre", { class: "code-block code-block--wrap email-preview__source" }, h("code", {}, result.html))),
      ),
    );
  }
  if (typeof result.text === "string") {
    const pre = h("pre", { class: "code-block code-block--wrap email-preview__text", tabindex: "0", "aria-label": "Plain-text body" }, result.text);
    body.push(typeof result.html === "string" ? disclosure("text", "Plain-text alternative", pre) : h("section", { "aria-label": "Plain-text body" }, h("h4", { class: "preview__heading" }, "Plain-text body"), pre));
  }

  const attachments = result.attachments ?? [];
  body.push(
    h(
      "section",
      { class: "email-preview__attachments", "aria-label": "Attachments" },
      h("h4", { class: "preview__heading" }, attachments.length ? `Attachments (${attachments.length})` : "Attachments"),
      attachments.length
        ? h(
            "ul",
            { class: "attachment-list" },
            attachments.map((a) => {
              const bytes = binarySummary(a.content);
              return h(
                "li",
                { class: "attachment" },
                icon("paperclip"),
                h(
                  "span",
                  { class: "attachment__main" },
                  h("span", { class: "attachment__name" }, a.filename),
                  h(
                    "span",
                    { class: "attachment__meta", title: bytes?.sha256 ? `SHA-256 ${bytes.sha256}` : null },
                    [a.contentType, bytes ? formatBytes(bytes.size) : null, a.contentId ? `inline as cid:${a.contentId}` : null, bytes?.sha256 ? `sha256 ${bytes.sha256.slice(0, 12)}…` : null].filter(Boolean).join(" · "),
                  ),
                ),
              );
            }),
          )
        : h("p", { class: "muted text-sm" }, "None."),
    ),
  );

  const headers = h("pre", { class: "code-block email-preview__headers", tabindex: "0", "aria-label": "Headers as they go out" }, h("code", {}, result.headers));
  body.push(
    disclosure(
      "headers",
      "Headers, exactly as they go out",
      h("div", { class: "stack-sm" }, h("div", { class: "row row--end" }, copyButton(result.headers, "headers")), headers),
      { initially: true },
    ),
  );
  return h("section", { class: "email-preview", "aria-label": "The email" }, head, body);
}
