// API reference (/settings/api-reference): the OpenAPI 3.1 document this server serves at
// /api/v1/openapi.json, drawn by the app itself (no third-party renderer). Operations are grouped
// by tag; each is a <details> whose body (description, authentication, a curl example with a copy
// button, parameters, request body, responses) is built the first time it opens, and schemas open
// node by node (components/schema-tree.js). A filter narrows the list (path, summary, operationId,
// tag); `#operationId` opens and scrolls to an operation, `#schema-Name` to a schema.
//
// Keyboard: "/" goes to the filter; from it ↓ (or Enter) goes to the first match; on an operation
// ↑/↓ move between the visible ones, Home/End to the first and last, Esc back to the filter.

import { api } from "../api.js";
import { copyable, copyButton } from "../components/copy.js";
import { formAlert } from "../components/form.js";
import { jsonView } from "../components/json-view.js";
import { inline, markdown, parseBlocks } from "../components/markdown.js";
import { resolveRef, schemaAnchor, schemaTree, typeLabel, unwrap } from "../components/schema-tree.js";
import { h, replaceChildren, uid } from "../dom.js";
import { icon } from "../icons.js";

export const title = "API reference";

const DOCUMENT = "/api/v1/openapi.json";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const REASONS = {
  200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 301: "Moved permanently", 302: "Found", 304: "Not modified",
  400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 409: "Conflict",
  410: "Gone", 413: "Content too large", 415: "Unsupported media type", 422: "Unprocessable content", 429: "Too many requests",
  500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout",
};

let loaded = null; // the document's promise, fetched once per load of the app (it changes only with the server)

export async function render({ shell, content, signal, workspace }) {
  const download = h("a", { class: "btn", href: DOCUMENT, download: "posthorn-openapi.json" }, icon("arrow-down"), "Download openapi.json");
  shell.header({
    title: "API reference",
    lead: ["Every call of the Posthorn API, from the OpenAPI 3.1 document this server serves. Scripts send an API token as ", h("code", {}, "Authorization: Bearer <token>"), "."],
    actions: [download],
    settingsTabs: true,
  });
  const slot = h("div", { "aria-busy": "true", "aria-label": "Loading the API reference" }, skeleton());
  content.append(slot);

  let doc;
  try {
    loaded ??= api("/openapi.json"); // not aborted with the page: the next visit uses it
    doc = await loaded;
    if (!doc?.paths) throw new Error("The API document could not be read. Reload the page to try again.");
  } catch (error) {
    loaded = null;
    if (signal.aborted) return;
    slot.removeAttribute("aria-busy");
    return formAlert(replaceChildren(slot), error);
  }
  if (signal.aborted) return;

  const reference = buildReference(doc, { admin: workspace?.role === "admin", signal });
  slot.removeAttribute("aria-busy");
  slot.removeAttribute("aria-label");
  replaceChildren(slot, reference.root);

  const onHash = () => reference.openHash(location.hash, { focus: true });
  addEventListener("hashchange", onHash);
  signal.addEventListener("abort", () => removeEventListener("hashchange", onHash), { once: true });
  if (location.hash) requestAnimationFrame(() => reference.openHash(location.hash, { focus: true }));
}

function skeleton() {
  return h("div", { class: "stack" }, h("div", { class: "tile apiref-skeleton" }, h("span", { class: "skeleton skeleton--title" }), h("span", { class: "skeleton skeleton--text" })), [1, 2, 3, 4].map(() => h("div", { class: "apiref-skeleton" }, h("span", { class: "skeleton skeleton--text" }))));
}

// MARK: - The document's operations

/** Every operation: {method, path, op, pathItem, id, tag, haystack}. */
export function operationsOf(doc) {
  const out = [];
  for (const [path, pathItem] of Object.entries(doc.paths ?? {})) {
    if (!pathItem || typeof pathItem !== "object") continue;
    for (const method of METHODS) {
      const op = pathItem[method];
      if (!op || typeof op !== "object") continue;
      const id = op.operationId || `${method}${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
      const tag = op.tags?.[0] ?? "other";
      const haystack = [method, path, op.summary, op.operationId, ...(op.tags ?? [])].filter(Boolean).join("\n").toLowerCase();
      out.push({ method, path, op, pathItem, id, tag, haystack });
    }
  }
  return out;
}

/** The path item's parameters with the operation's (which win, by name and place), refs followed. */
function parametersOf(doc, { op, pathItem }) {
  const byKey = new Map();
  for (const raw of [...(pathItem.parameters ?? []), ...(op.parameters ?? [])]) {
    const parameter = raw?.$ref ? resolveRef(doc, raw.$ref) : raw;
    if (parameter?.name) byKey.set(`${parameter.in}:${parameter.name}`, parameter);
  }
  const order = { path: 0, query: 1, header: 2, cookie: 3 };
  return [...byKey.values()].sort((a, b) => (order[a.in] ?? 9) - (order[b.in] ?? 9));
}

function follow(doc, value) {
  let current = value;
  for (let hops = 0; current?.$ref && hops < 8; hops += 1) current = resolveRef(doc, current.$ref);
  return current ?? {};
}

/** How an operation is authenticated: {none, optional, schemes: [{key, label, scheme}]}. */
function securityOf(doc, op) {
  const requirements = op.security ?? doc.security ?? [];
  const alternatives = requirements.map((requirement) => Object.keys(requirement ?? {}));
  const schemes = [...new Set(alternatives.flat())].map((key) => {
    const scheme = doc.components?.securitySchemes?.[key] ?? {};
    return { key, scheme, label: schemeLabel(key, scheme) };
  });
  return { none: alternatives.length === 0, optional: alternatives.some((names) => names.length === 0), schemes };
}

function schemeLabel(key, scheme) {
  if (scheme.type === "http" && String(scheme.scheme).toLowerCase() === "bearer") return "Bearer token";
  if (scheme.type === "http") return `HTTP ${scheme.scheme ?? ""}`.trim();
  if (scheme.type === "apiKey" && scheme.in === "cookie") return "Session cookie";
  if (scheme.type === "apiKey") return `${scheme.name} ${scheme.in}`;
  return key;
}

function isBearer(scheme) {
  return scheme.type === "http" && String(scheme.scheme).toLowerCase() === "bearer";
}

// MARK: - curl

/** A POSIX shell word. */
function quote(text) {
  return `'${String(text).replace(/'/g, "'\\''")}'`;
}

function firstExample(doc, media) {
  if (!media) return undefined;
  if ("example" in media) return media.example;
  const named = Object.values(media.examples ?? {}).map((e) => follow(doc, e));
  if (named.length && "value" in named[0]) return named[0].value;
  const schema = unwrap(doc, media.schema).schema;
  if ("example" in schema) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  return undefined;
}

function parameterExample(doc, parameter) {
  if ("example" in parameter) return parameter.example;
  const named = Object.values(parameter.examples ?? {}).map((e) => follow(doc, e));
  if (named.length && "value" in named[0]) return named[0].value;
  const schema = unwrap(doc, parameter.schema).schema;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if ("default" in schema) return schema.default;
  return Array.isArray(schema.enum) ? schema.enum[0] : undefined;
}

/** A ready-to-paste curl command: this page's origin, the token from $POSTHORN_TOKEN, the example body. */
export function curlCommand(doc, entry, origin) {
  const parameters = parametersOf(doc, entry);
  const server = doc.servers?.[0]?.url ?? "/";
  const base = new URL(server, `${origin}/`).href.replace(/\/+$/, "");
  const path = entry.path.replace(/\{([^}]+)\}/g, (_, name) => {
    const parameter = parameters.find((p) => p.in === "path" && p.name === name);
    const example = parameter ? parameterExample(doc, parameter) : undefined;
    return example === undefined ? `:${name}` : encodeURIComponent(String(example));
  });
  const query = parameters
    .filter((p) => p.in === "query" && p.required)
    .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(String(parameterExample(doc, p) ?? ""))}`);
  const url = `${base}${path}${query.length ? `?${query.join("&")}` : ""}`;

  const security = securityOf(doc, entry.op);
  const required = !security.none && !security.optional;
  const bearer = required && security.schemes.some((s) => isBearer(s.scheme));
  // A call only a browser session may make (GET/DELETE /api/v1/session): the cookie, from
  // $POSTHORN_SESSION, and for a change the Origin the server checks.
  const cookie = required && !bearer ? security.schemes.find((s) => s.scheme.type === "apiKey" && s.scheme.in === "cookie") : null;
  const responses = Object.values(entry.op.responses ?? {}).map((r) => follow(doc, r));
  const streams = responses.some((r) => r.content && "text/event-stream" in r.content);

  const first = ["curl"];
  if (streams) first.push("-N");
  if (entry.method !== "get") first.push("-X", entry.method.toUpperCase());
  first.push(quote(url));
  const lines = [first.join(" ")];
  if (bearer) lines.push(`-H "Authorization: Bearer $POSTHORN_TOKEN"`);
  if (cookie) {
    lines.push(`-b "${cookie.scheme.name}=$POSTHORN_SESSION"`);
    if (!["get", "head", "options"].includes(entry.method)) lines.push(`-H ${quote(`Origin: ${origin}`)}`);
  }
  const body = follow(doc, entry.op.requestBody);
  const content = body.content ?? {};
  const type = "application/json" in content ? "application/json" : Object.keys(content)[0];
  if (type) {
    const example = firstExample(doc, content[type]);
    lines.push(`-H ${quote(`Content-Type: ${type}`)}`);
    if (type === "application/json") lines.push(`-d ${quote(JSON.stringify(example ?? {}, null, 2).replace(/\n/g, "\n  "))}`);
    else if (typeof example === "string") lines.push(`-d ${quote(example)}`);
    else if (example && typeof example === "object" && type === "application/x-www-form-urlencoded") lines.push(`-d ${quote(new URLSearchParams(example).toString())}`);
  }
  return lines.join(" \\\n  ");
}

// MARK: - The page

function buildReference(doc, { admin, signal }) {
  const entries = operationsOf(doc);
  const origin = location.origin;

  // Tags in the document's order, then any others in order of appearance.
  const tagInfo = new Map((doc.tags ?? []).map((t) => [t.name, t]));
  const order = [...tagInfo.keys()];
  for (const entry of entries) if (!order.includes(entry.tag)) order.push(entry.tag);
  const groups = order.map((name) => ({ name, info: tagInfo.get(name) ?? { name }, entries: entries.filter((e) => e.tag === name) })).filter((g) => g.entries.length);

  // The filter.
  const filterId = uid("apiref-filter");
  const filter = h("input", {
    class: "input apiref-filter__input",
    id: filterId,
    type: "search",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "Filter by path, summary, id or tag",
    "aria-describedby": `${filterId}-count`,
    "aria-keyshortcuts": "/",
  });
  const count = h("p", { class: "apiref-filter__count", id: `${filterId}-count`, "aria-live": "polite" });
  const tagLinks = groups.map((group) => {
    const number = h("span", { class: "apiref-tags__count" }, String(group.entries.length));
    const a = h("a", { class: "apiref-tags__link", href: `#${tagAnchor(group.name)}` }, label(group.name), number);
    return { group, a, number };
  });
  const filterBar = h(
    "div",
    { class: "apiref-filter", role: "search" },
    h("label", { class: "visually-hidden", for: filterId }, "Filter operations"),
    h("div", { class: "apiref-filter__field" }, icon("search"), filter, h("kbd", { class: "kbd apiref-filter__kbd hide-on-phone", "aria-hidden": "true" }, "/")),
    count,
  );
  const tagNav = h("nav", { class: "apiref-tags", "aria-label": "Tags" }, tagLinks.map((t) => t.a));

  // Operations.
  const rows = [];
  const sections = groups.map((group) => {
    const headingId = `${tagAnchor(group.name)}-title`;
    const ops = group.entries.map((entry) => {
      const row = operationRow(doc, entry, origin);
      rows.push({ entry, el: row, group: group.name });
      return row;
    });
    const description = group.info.description ? markdown(group.info.description, { className: "apiref-tag__desc" }) : null;
    return { group, el: h("section", { class: "apiref-tag", id: tagAnchor(group.name), "aria-labelledby": headingId }, h("h2", { class: "apiref-tag__title", id: headingId, tabindex: "-1" }, label(group.name)), description, h("div", { class: "apiref-ops" }, ops)) };
  });

  // Schemas.
  const schemaNames = Object.keys(doc.components?.schemas ?? {});
  const schemaRows = schemaNames.map((name) => ({ name, el: schemaRow(doc, name) }));
  const schemasSection = schemaNames.length
    ? h("section", { class: "apiref-tag", id: "schemas", "aria-labelledby": "schemas-title" }, h("h2", { class: "apiref-tag__title", id: "schemas-title", tabindex: "-1" }, "Schemas"), h("div", { class: "apiref-tag__desc md" }, h("p", {}, "The shapes of request and response bodies, each with its own anchor.")), h("div", { class: "apiref-ops" }, schemaRows.map((r) => r.el)))
    : null;

  const empty = h("div", { class: "tile", hidden: true }, h("div", { class: "empty" }, h("span", { class: "empty__icon" }, icon("search", { className: "icon--lg" })), h("h2", { class: "empty__title" }, "No operation matches"), h("p", { class: "empty__text" }, "Try part of a path (flows), a summary word (token), an operation id (createFlow) or a tag."), h("button", { type: "button", class: "btn", onclick: () => setFilter("", { focus: true }) }, "Clear the filter")));

  const root = h("div", { class: "apiref" }, intro(doc, { admin, origin }), filterBar, tagNav, empty, sections.map((s) => s.el), schemasSection);

  function apply() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const match = words.every((w) => row.entry.haystack.includes(w));
      row.el.hidden = !match;
      if (match) shown += 1;
    }
    for (const section of sections) section.el.hidden = section.group.entries.every((e) => rows.find((r) => r.entry === e).el.hidden);
    for (const t of tagLinks) {
      const visible = rows.filter((r) => r.group === t.group.name && !r.el.hidden).length;
      t.a.hidden = visible === 0;
      t.number.textContent = String(visible);
    }
    let schemasShown = 0;
    for (const row of schemaRows) {
      const match = words.every((w) => row.name.toLowerCase().includes(w));
      row.el.hidden = !match;
      if (match) schemasShown += 1;
    }
    if (schemasSection) schemasSection.hidden = words.length > 0 && schemasShown === 0;
    empty.hidden = shown > 0 || schemasShown > 0;
    count.textContent = words.length ? `${shown} of ${rows.length} operations${schemasShown ? `, ${schemasShown} schemas` : ""}` : `${rows.length} operations, ${schemaRows.length} schemas`;
  }
  function setFilter(value, { focus = false } = {}) {
    filter.value = value;
    apply();
    if (focus) filter.focus();
  }
  filter.addEventListener("input", apply);
  apply();

  // Keyboard.
  const visibleSummaries = () => [...root.querySelectorAll(".apiref-op:not([hidden]) > summary")].filter((s) => !s.closest("[hidden]"));
  filter.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || (event.key === "Enter" && filter.value)) {
      const first = visibleSummaries()[0];
      if (first) {
        event.preventDefault();
        if (event.key === "Enter") first.parentElement.open = true;
        first.focus();
      }
    } else if (event.key === "Escape" && filter.value) {
      event.preventDefault();
      setFilter("");
    }
  });
  root.addEventListener("keydown", (event) => {
    const summary = event.target.closest?.(".apiref-op > summary");
    if (!summary || event.target !== summary || event.altKey || event.ctrlKey || event.metaKey) return;
    const list = visibleSummaries();
    const index = list.indexOf(summary);
    let next = null;
    if (event.key === "ArrowDown") next = list[index + 1];
    else if (event.key === "ArrowUp") next = index > 0 ? list[index - 1] : filter;
    else if (event.key === "Home") next = list[0];
    else if (event.key === "End") next = list[list.length - 1];
    else if (event.key === "Escape") next = filter;
    if (next) {
      event.preventDefault();
      next.focus();
      if (next !== filter) next.scrollIntoView({ block: "nearest" });
    }
  });
  const onSlash = (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || !root.isConnected) return;
    const target = event.target;
    if (target.closest?.("input, textarea, select, [contenteditable], dialog")) return;
    event.preventDefault();
    filter.focus();
    filter.select();
  };
  document.addEventListener("keydown", onSlash, { signal }); // removed when the user navigates on

  // In-page anchors (#operationId, #schema-Name, #tag-name): open, scroll, and keep Back working.
  root.addEventListener("click", (event) => {
    const a = event.target.closest?.("a[href^='#']");
    if (!a || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    if (location.hash !== a.hash) history.pushState(null, "", a.hash);
    openHash(a.hash, { focus: true });
  });

  function openHash(hash, { focus = false } = {}) {
    let id = "";
    try {
      id = decodeURIComponent(String(hash).replace(/^#/, ""));
    } catch {
      return false;
    }
    if (!id) return false;
    const target = [...root.querySelectorAll("[id]")].find((el) => el.id === id);
    if (!target) return false;
    if (target.closest("[hidden]") && filter.value) setFilter("");
    if (target.tagName === "DETAILS") target.open = true;
    target.scrollIntoView({ block: "start" });
    if (focus) (target.querySelector(":scope > summary") ?? target.querySelector("h2") ?? target).focus({ preventScroll: true });
    return true;
  }

  return { root, openHash };
}

/** `#tag-flows`: the tag's name, kept to what an id and a URL fragment hold as is. */
function tagAnchor(name) {
  return `tag-${String(name).replace(/[^A-Za-z0-9_-]+/g, "-")}`;
}

function label(name) {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function intro(doc, { admin, origin }) {
  const info = doc.info ?? {};
  const schemes = Object.entries(doc.components?.securitySchemes ?? {});
  const base = new URL(doc.servers?.[0]?.url ?? "/", `${origin}/`).href.replace(/\/+$/, "");
  const about = h(
    "details",
    { class: "disclosure apiref-about" },
    h("summary", {}, icon("chevron-right"), h("span", {}, "About this API: authentication, workspaces and errors")),
    h(
      "div",
      { class: "disclosure__body stack" },
      info.description ? markdown(info.description) : null,
      schemes.map(([key, scheme]) => h("section", { class: "apiref-scheme", id: `auth-${key}` }, h("h3", {}, schemeLabel(key, scheme), " ", h("code", { class: "apiref-scheme__key" }, key)), scheme.description ? markdown(scheme.description) : null)),
    ),
  );
  return h(
    "section",
    { class: "tile apiref-intro", "aria-labelledby": "apiref-intro-title" },
    h(
      "div",
      { class: "tile__header" },
      h("span", { class: "tile__icon" }, icon("code")),
      h("div", { class: "grow" }, h("h2", { class: "tile__title", id: "apiref-intro-title" }, info.title ?? "API", info.version ? h("span", { class: "muted apiref-intro__version" }, ` · version ${info.version} · OpenAPI ${doc.openapi ?? ""}`) : null), info.summary ? h("p", { class: "tile__desc" }, info.summary) : null),
    ),
    h(
      "div",
      { class: "tile__body apiref-intro__body" },
      h(
        "dl",
        { class: "kv apiref-intro__kv" },
        h("dt", {}, "Base URL"),
        h("dd", {}, copyable(base, { label: "base URL" })),
        h("dt", {}, "Authentication"),
        h("dd", {}, "An API token as ", h("code", {}, "Authorization: Bearer <token>"), ". ", admin ? [h("a", { href: "/settings/tokens" }, "Create a token"), "."] : "A workspace admin creates tokens under API tokens.", " The examples read it from ", h("code", {}, "$POSTHORN_TOKEN"), "."),
      ),
      about,
    ),
  );
}

// MARK: - One operation

function methodBadge(method) {
  return h("span", { class: `method method--${method}` }, method.toUpperCase());
}

function pathText(path) {
  // Path parameters stand out from the fixed parts.
  return h("span", { class: "apiref-op__path" }, path.split(/(\{[^}]+\})/).filter(Boolean).map((part) => (part.startsWith("{") ? h("span", { class: "apiref-op__param" }, part) : part)));
}

function operationRow(doc, entry, origin) {
  const { op, method, path } = entry;
  const security = securityOf(doc, op);
  const open = security.none || security.optional;
  const details = h(
    "details",
    { class: "apiref-op", id: entry.id, "data-method": method, "data-path": path, "data-operation-id": op.operationId ?? "" },
    h(
      "summary",
      { class: "apiref-op__summary" },
      methodBadge(method),
      pathText(path),
      h(
        "span",
        { class: "apiref-op__meta" },
        h("span", { class: "apiref-op__title", title: op.summary ?? null }, op.summary ?? ""),
        open ? h("span", { class: "badge badge--neutral" }, "No token") : null,
        op.deprecated ? h("span", { class: "badge badge--warning" }, "Deprecated") : null,
      ),
      icon("chevron-right", { className: "apiref-op__chevron" }),
    ),
  );
  let built = false;
  details.addEventListener("toggle", () => {
    if (!details.open || built) return;
    built = true;
    details.append(operationBody(doc, entry, origin));
  });
  return details;
}

function operationBody(doc, entry, origin) {
  const { op } = entry;
  const security = securityOf(doc, op);
  const curl = curlCommand(doc, entry, origin);
  const curlLabel = uid("curl");
  const parameters = parametersOf(doc, entry);
  const body = op.requestBody ? follow(doc, op.requestBody) : null;

  return h(
    "div",
    { class: "apiref-op__body" },
    op.description ? markdown(op.description, { className: "apiref-op__desc" }) : null,
    h(
      "dl",
      { class: "kv apiref-op__facts" },
      h("dt", {}, "Authentication"),
      h("dd", {}, securityChips(security)),
      op.operationId ? [h("dt", {}, "Operation id"), h("dd", { class: "row" }, copyable(op.operationId, { label: "operation id" }), h("a", { class: "apiref-op__permalink", href: `#${entry.id}` }, icon("link"), "Link"))] : null,
    ),
    h(
      "section",
      { class: "apiref-section" },
      h("div", { class: "apiref-section__head" }, h("h3", { class: "apiref-section__title", id: curlLabel }, "Example request"), copyButton(curl, "curl command")),
      h("pre", { class: "code-block apiref-curl", "aria-labelledby": curlLabel, tabindex: "0" }, h("code", {}, curl)),
    ),
    parameters.length ? parameterSection(doc, parameters) : null,
    body ? requestBodySection(doc, body) : null,
    responsesSection(doc, op),
  );
}

function securityChips(security) {
  if (security.none) return h("span", { class: "badge badge--neutral" }, "None: no token or session");
  const parts = [];
  if (security.optional) parts.push(h("span", { class: "badge badge--neutral" }, "None"));
  for (const { key, label: text } of security.schemes) parts.push(h("a", { class: "badge badge--queued apiref-auth", href: `#auth-${key}`, title: `How the ${text.toLowerCase()} works` }, icon(key === "sessionCookie" || text === "Session cookie" ? "users" : "lock"), text));
  const words = security.optional ? "(either works; optional)" : security.schemes.length > 1 ? "(either one)" : "";
  return h("span", { class: "row apiref-auth-row" }, parts, words ? h("span", { class: "muted text-sm" }, words) : null);
}

function parameterSection(doc, parameters) {
  const id = uid("params");
  return h(
    "section",
    { class: "apiref-section", "aria-labelledby": id },
    h("h3", { class: "apiref-section__title", id }, "Parameters"),
    h(
      "ul",
      { class: "apiref-params" },
      parameters.map((p) => {
        const example = parameterExample(doc, p);
        return h(
          "li",
          { class: "apiref-param" },
          h(
            "div",
            { class: "apiref-param__head" },
            h("code", { class: "apiref-param__name" }, p.name),
            h("span", { class: "schema__type" }, p.schema ? typeLabel(doc, p.schema) : p.content ? Object.keys(p.content)[0] : "string"),
            h("span", { class: "schema__flag" }, p.in),
            p.required ? h("span", { class: "schema__flag schema__flag--required" }, "required") : null,
            p.deprecated ? h("span", { class: "schema__flag schema__flag--warning" }, "deprecated") : null,
          ),
          p.description ? markdown(p.description, { className: "schema__desc" }) : null,
          p.schema ? constraintLine(doc, p.schema) : null,
          example !== undefined ? h("p", { class: "schema__fact" }, h("span", { class: "schema__fact-label" }, "Example"), " ", h("code", { class: "schema__value" }, typeof example === "string" ? example : JSON.stringify(example))) : null,
        );
      }),
    ),
  );
}

/** A parameter's enum, limits and pattern, as the schema tree shows them for a property. */
function constraintLine(doc, schema) {
  const s = unwrap(doc, schema).schema;
  const bits = [];
  if (Array.isArray(s.enum)) bits.push(h("span", {}, h("span", { class: "schema__fact-label" }, "One of"), " ", s.enum.flatMap((v, i) => [i ? " " : null, h("code", { class: "schema__value" }, JSON.stringify(v))])));
  const limits = [];
  const characters = (n) => `${n} character${n === 1 ? "" : "s"}`;
  if (s.minLength !== undefined || s.maxLength !== undefined) limits.push(s.minLength !== undefined && s.maxLength !== undefined ? `${s.minLength} to ${characters(s.maxLength)}` : s.maxLength !== undefined ? `at most ${characters(s.maxLength)}` : `at least ${characters(s.minLength)}`);
  if (s.minimum !== undefined) limits.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) limits.push(`≤ ${s.maximum}`);
  if (s.default !== undefined) limits.push(`default ${JSON.stringify(s.default)}`);
  if (limits.length) bits.push(h("span", {}, h("span", { class: "schema__fact-label" }, "Limits"), " ", limits.join("; ")));
  if (s.pattern) bits.push(h("span", {}, h("span", { class: "schema__fact-label" }, "Pattern"), " ", h("code", { class: "schema__value schema__pattern" }, s.pattern)));
  return bits.length ? h("p", { class: "schema__fact apiref-param__facts" }, bits.flatMap((b, i) => [i ? " · " : null, b])) : null;
}

function requestBodySection(doc, body) {
  const id = uid("body");
  const content = Object.entries(body.content ?? {});
  return h(
    "section",
    { class: "apiref-section", "aria-labelledby": id },
    h("h3", { class: "apiref-section__title", id }, "Request body", body.required ? h("span", { class: "schema__flag schema__flag--required" }, "required") : h("span", { class: "schema__flag" }, "optional")),
    body.description ? markdown(body.description, { className: "schema__desc" }) : null,
    content.map(([type, media]) => mediaBlock(doc, type, media, { open: true })),
  );
}

/** One media type: its schema as a tree and its examples. */
function mediaBlock(doc, type, media = {}, { open = false } = {}) {
  const examples = examplesOf(doc, media);
  return h(
    "div",
    { class: "apiref-media" },
    h("p", { class: "apiref-media__type" }, h("code", {}, type)),
    media.schema ? schemaTree(doc, media.schema, { examples: false }) : null,
    examples.length ? examplesBlock(examples, { open }) : null,
  );
}

/** [{name, summary, value}] from `example`, `examples`, or the schema's own. */
function examplesOf(doc, media) {
  if ("example" in media) return [{ name: null, value: media.example }];
  const named = Object.entries(media.examples ?? {}).map(([name, e]) => {
    const example = follow(doc, e);
    return { name, summary: example.summary, description: example.description, value: example.value };
  });
  if (named.length) return named;
  if (!media.schema) return [];
  const schema = unwrap(doc, media.schema).schema;
  if ("example" in schema) return [{ name: null, value: schema.example }];
  if (Array.isArray(schema.examples)) return schema.examples.map((value) => ({ name: null, value }));
  return [];
}

function examplesBlock(examples, { open }) {
  const items = examples.map((example) => {
    const value = typeof example.value === "string" ? h("pre", { class: "code-block apiref-example__text", tabindex: "0" }, h("code", {}, example.value)) : jsonView(example.value, { label: example.name ? `Example ${example.name}` : "Example" });
    return h("div", { class: "apiref-example" }, example.name ? h("p", { class: "apiref-example__name" }, h("code", {}, example.name), example.summary ? ` ${example.summary}` : null) : null, example.description ? markdown(example.description, { className: "schema__desc" }) : null, value);
  });
  return h("details", { class: "disclosure apiref-examples", open }, h("summary", {}, icon("chevron-right"), h("span", {}, examples.length > 1 ? `${examples.length} examples` : "Example")), h("div", { class: "apiref-examples__body" }, items));
}

function statusClass(status) {
  const first = String(status)[0];
  return { 2: "succeeded", 3: "queued", 4: "ambiguous", 5: "failed" }[first] ?? "neutral";
}

function responsesSection(doc, op) {
  const id = uid("responses");
  const entries = Object.entries(op.responses ?? {});
  const firstSuccess = entries.find(([status]) => String(status).startsWith("2"))?.[0];
  return h(
    "section",
    { class: "apiref-section", "aria-labelledby": id },
    h("h3", { class: "apiref-section__title", id }, "Responses"),
    h("div", { class: "apiref-responses" }, entries.map(([status, raw]) => responseRow(doc, status, raw, { open: status === firstSuccess }))),
  );
}

function responseRow(doc, status, raw, { open }) {
  const response = follow(doc, raw);
  const blocks = parseBlocks(response.description ?? "");
  let lead = blocks[0]?.kind === "p" ? blocks.shift() : null;
  const reason = REASONS[status] ?? (status === "default" ? "Any other status" : "");
  if (lead && lead.lines.join(" ").replace(/\.$/, "").toLowerCase() === reason.toLowerCase()) lead = null; // "201 Created · Created."
  const head = [
    h("span", { class: `apiref-status apiref-status--${statusClass(status)}` }, h("span", { class: "apiref-status__code" }, status), reason ? h("span", { class: "apiref-status__reason" }, reason) : null),
    lead ? h("span", { class: "apiref-response__lead" }, inline(lead.lines.join(" "))) : null,
  ];
  const content = Object.entries(response.content ?? {});
  const headers = Object.entries(response.headers ?? {});
  const links = Object.entries(response.links ?? {});
  const rest = blocks.length ? markdown(blocks.map((b) => (b.kind === "p" ? b.lines.join(" ") : b.items.map((item, i) => `${b.kind === "ol" ? `${i + 1}.` : "-"} ${item}`).join("\n"))).join("\n\n"), { className: "schema__desc" }) : null;
  if (!content.length && !headers.length && !links.length && !rest) {
    return h("div", { class: "apiref-response apiref-response--flat" }, h("div", { class: "apiref-response__summary" }, h("span", { class: "apiref-response__spacer", "aria-hidden": "true" }), head));
  }
  const details = h("details", { class: "apiref-response" }, h("summary", { class: "apiref-response__summary" }, icon("chevron-right", { className: "apiref-response__chevron" }), head));
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    details.append(
      h(
        "div",
        { class: "apiref-response__body" },
        rest,
        headers.length
          ? h(
              "div",
              { class: "apiref-headers" },
              h("p", { class: "schema__fact-label" }, "Headers"),
              h("ul", { class: "apiref-params" }, headers.map(([name, rawHeader]) => {
                const header = follow(doc, rawHeader);
                return h("li", { class: "apiref-param" }, h("div", { class: "apiref-param__head" }, h("code", { class: "apiref-param__name" }, name), header.schema ? h("span", { class: "schema__type" }, typeLabel(doc, header.schema)) : null), header.description ? markdown(header.description, { className: "schema__desc" }) : null);
              })),
            )
          : null,
        content.map(([type, media]) => mediaBlock(doc, type, media, { open: false })),
        links.length ? h("p", { class: "schema__fact apiref-links" }, h("span", { class: "schema__fact-label" }, "Then"), " ", links.flatMap(([name, link], i) => [i ? ", " : null, link.operationId ? h("a", { href: `#${link.operationId}` }, link.operationId) : h("span", {}, name)])) : null,
      ),
    );
  };
  details.addEventListener("toggle", () => details.open && build());
  if (open) {
    build();
    details.open = true;
  }
  return details;
}

// MARK: - Component schemas

function schemaRow(doc, name) {
  const lead = parseBlocks(doc.components.schemas[name]?.description ?? "").find((block) => block.kind === "p");
  const ref = { $ref: `#/components/schemas/${name.replace(/~/g, "~0").replace(/\//g, "~1")}` };
  const details = h(
    "details",
    { class: "apiref-op apiref-op--schema", id: schemaAnchor(name) },
    h(
      "summary",
      { class: "apiref-op__summary" },
      h("code", { class: "apiref-op__path" }, name),
      h("span", { class: "apiref-op__meta" }, h("span", { class: "apiref-op__title" }, h("span", { class: "schema__type" }, typeLabel(doc, ref)), lead ? [" ", inline(lead.lines.join(" "))] : null)),
      icon("chevron-right", { className: "apiref-op__chevron" }),
    ),
  );
  let built = false;
  details.addEventListener("toggle", () => {
    if (!details.open || built) return;
    built = true;
    details.append(h("div", { class: "apiref-op__body" }, schemaTree(doc, ref, { head: false })));
  });
  return details;
}

