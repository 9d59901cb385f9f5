// A JSON Schema (OpenAPI 3.1) as an expandable tree. Each property shows its name, type, whether it
// is required or may be null, its constraints (enum, pattern, lengths, bounds), description and
// examples. Nested objects, array items, `oneOf` variants and `$ref`s to `#/components/…` open on
// demand: a `$ref` is looked up only when its node is drawn, and its children are built only when
// the node is opened, so a document of a hundred schemas costs nothing until someone reads it. A
// reference to a schema already open above it (NodeParameter.items) is shown as circular instead.

import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { jsonView } from "./json-view.js";
import { markdown } from "./markdown.js";

/** The value a local reference (`#/components/schemas/Flow`) points at in `doc`, or undefined. */
export function resolveRef(doc, ref) {
  if (typeof ref !== "string" || !ref.startsWith("#/")) return undefined;
  let node = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

/** "Flow" for "#/components/schemas/Flow". */
export function refName(ref) {
  return String(ref).split("/").pop().replace(/~1/g, "/").replace(/~0/g, "~");
}

/** The anchor of a component schema in the reference page's Schemas section. */
export function schemaAnchor(name) {
  return `schema-${name}`;
}

/**
 * Follows `$ref`s (with a guard for a reference to itself) and folds a "X or null" `oneOf`/`anyOf`
 * into X marked nullable. Keywords beside a `$ref` (3.1 allows a description there) win.
 * Returns {schema, ref, name, nullable, missing}.
 */
export function unwrap(doc, schema) {
  let current = schema && typeof schema === "object" ? schema : {};
  let ref = null;
  let missing = null;
  const overrides = {};
  for (let hops = 0; current.$ref && hops < 16; hops += 1) {
    const { $ref, ...siblings } = current;
    for (const [key, value] of Object.entries(siblings)) if (!(key in overrides)) overrides[key] = value; // the outermost wins
    const target = resolveRef(doc, $ref);
    ref = $ref;
    if (!target || typeof target !== "object") {
      missing = $ref;
      current = {};
      break;
    }
    current = target;
  }
  let merged = Object.keys(overrides).length ? { ...current, ...overrides } : current;
  let nullable = typeOf(merged).includes("null") && typeOf(merged).length > 1;
  const alternatives = merged.oneOf ?? merged.anyOf;
  if (Array.isArray(alternatives) && !merged.properties) {
    const others = alternatives.filter((alt) => !isNullSchema(alt));
    if (others.length === 1 && others.length < alternatives.length) {
      const { oneOf, anyOf, ...outer } = merged;
      const inner = unwrap(doc, others[0]);
      return { ...inner, schema: { ...inner.schema, ...stripEmpty(outer) }, nullable: true };
    }
  }
  return { schema: merged, ref, name: ref ? refName(ref) : null, nullable, missing };
}

function stripEmpty(object) {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

function isNullSchema(schema) {
  return schema && typeof schema === "object" && !schema.$ref && (schema.type === "null" || (Array.isArray(schema.type) && schema.type.length === 1 && schema.type[0] === "null"));
}

function typeOf(schema) {
  if (Array.isArray(schema.type)) return schema.type;
  return schema.type ? [schema.type] : [];
}

/** "string", "integer | null", "array of Flow", "object", "one of 3"… */
export function typeLabel(doc, schema) {
  const { schema: s, name } = unwrap(doc, schema);
  const types = typeOf(s).filter((t) => t !== "null");
  if (types.includes("array") || (!types.length && s.items)) {
    const item = s.items && typeof s.items === "object" ? unwrap(doc, s.items) : null;
    const of = item ? item.name ?? (Object.keys(item.schema).length ? typeLabel(doc, item.schema) : "any") : "any";
    return `array of ${of}`;
  }
  if (types.length) return types.join(" | ") + (s.format ? ` (${s.format})` : "");
  if (s.oneOf) return `one of ${s.oneOf.length}`;
  if (s.anyOf) return `any of ${s.anyOf.length}`;
  if (s.allOf) return "all of";
  if (s.properties) return "object";
  if (s.enum) return "enum";
  if ("const" in s) return typeof s.const;
  if (Array.isArray(s.required) && s.required.length) return `with ${s.required.join(", ")}`; // anyOf: [{required: [a]}, {required: [b]}]
  return name ? "object" : "any";
}

/** What a node opens to: the schema itself, or for an array (of arrays) its items', with the ref. */
function target(doc, s) {
  let current = s;
  const refs = [];
  for (let depth = 0; depth < 8 && current.items && typeof current.items === "object" && !current.properties; depth += 1) {
    const item = unwrap(doc, current.items);
    if (item.ref) refs.push(item.ref);
    if (item.missing) return { schema: {}, refs };
    current = item.schema;
  }
  return { schema: current, refs };
}

/** The children a node opens to: properties (of the items, for an array), variants, other names. */
function childrenOf(doc, schema) {
  const s = target(doc, schema).schema;
  const out = [];
  const required = new Set(Array.isArray(s.required) ? s.required : []);
  for (const [name, child] of Object.entries(s.properties ?? {})) out.push({ name, schema: child, required: required.has(name) });
  if (s.additionalProperties && typeof s.additionalProperties === "object" && Object.keys(s.additionalProperties).length) {
    out.push({ name: "{name}", schema: s.additionalProperties, label: "any other name" });
  }
  for (const keyword of ["oneOf", "anyOf", "allOf"]) {
    if (!Array.isArray(s[keyword])) continue;
    s[keyword].forEach((variant, i) => {
      const mapped = s.discriminator?.mapping ? Object.entries(s.discriminator.mapping).find(([, ref]) => ref === variant.$ref)?.[0] : null;
      const word = keyword === "allOf" ? "and" : keyword === "anyOf" ? "any of" : "one of";
      out.push({ name: `${word} ${i + 1}`, schema: variant, variant: true, discriminator: mapped ? `${s.discriminator.propertyName}: ${mapped}` : null });
    });
  }
  if (s.not && typeof s.not === "object") out.push({ name: "not", schema: s.not, variant: true });
  return out;
}

function hasChildren(doc, schema) {
  const s = target(doc, schema).schema;
  if (s.properties && Object.keys(s.properties).length) return true;
  if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf) || Array.isArray(s.allOf) || (s.not && typeof s.not === "object")) return true;
  return Boolean(s.additionalProperties && typeof s.additionalProperties === "object" && Object.keys(s.additionalProperties).length);
}

/**
 * The tree for one schema (a request or response body). The root's head and its first level are
 * drawn at once; everything below opens on demand.
 */
export function schemaTree(doc, schema, { examples = true, head: showHead = true } = {}) {
  const root = unwrap(doc, schema);
  const trail = [root.ref, ...target(doc, root.schema).refs].filter(Boolean);
  const head = h(
    "div",
    { class: "schema__root-head" },
    root.name ? h("a", { class: "schema__ref", href: `#${schemaAnchor(root.name)}` }, root.name) : null,
    h("span", { class: "schema__type" }, typeLabel(doc, schema)),
    root.nullable ? h("span", { class: "schema__flag" }, "nullable") : null,
  );
  const children = childrenOf(doc, root.schema);
  const tree = h("div", { class: "schema" }, showHead ? head : null, facts(doc, root.schema, { examples, root: true }));
  if (children.length) tree.append(childList(doc, children, trail));
  return tree;
}

function childList(doc, children, trail) {
  return h("ul", { class: "schema__list" }, children.map((child) => node(doc, child, trail)));
}

function node(doc, { name, schema, required = false, label, variant = false, discriminator = null }, trail) {
  const info = unwrap(doc, schema);
  const s = info.schema;
  const refs = [info.ref, ...target(doc, s).refs].filter(Boolean);
  const circularRef = refs.find((ref) => trail.includes(ref));
  const circular = Boolean(circularRef);
  const expandable = !circular && !info.missing && hasChildren(doc, s);
  const nameEl = h("span", { class: variant ? "schema__name schema__name--meta" : "schema__name" }, name);
  const bits = [
    h("span", { class: "schema__type" }, typeLabel(doc, schema)),
    info.name ? h("a", { class: "schema__ref", href: `#${schemaAnchor(info.name)}`, "aria-label": `${info.name} schema` }, info.name) : null,
    discriminator ? h("code", { class: "schema__flag" }, discriminator) : null,
    required ? h("span", { class: "schema__flag schema__flag--required" }, "required") : null,
    info.nullable ? h("span", { class: "schema__flag" }, "nullable") : null,
    s.readOnly ? h("span", { class: "schema__flag" }, "read-only") : null,
    s.writeOnly ? h("span", { class: "schema__flag" }, "write-only") : null,
    s.deprecated ? h("span", { class: "schema__flag schema__flag--warning" }, "deprecated") : null,
    circular ? h("span", { class: "schema__flag" }, icon("refresh"), `circular: ${refName(circularRef)}, as above`) : null,
    info.missing ? h("span", { class: "schema__flag schema__flag--warning" }, `unresolved ${info.missing}`) : null,
    label ? h("span", { class: "schema__label" }, label) : null,
  ];
  const li = h("li", { class: "schema__node" });
  if (!expandable) {
    li.append(h("div", { class: "schema__head" }, h("span", { class: "schema__spacer", "aria-hidden": "true" }), nameEl, bits), facts(doc, s, {}) ?? "");
    return li;
  }
  const listId = uid("schema-children");
  const toggle = h("button", { type: "button", class: "schema__toggle", "aria-expanded": "false", "aria-controls": listId }, icon("chevron-right"), nameEl);
  li.append(h("div", { class: "schema__head" }, toggle, bits), facts(doc, s, {}) ?? "");
  let list = null;
  const setOpen = (open) => {
    if (open && !list) {
      list = childList(doc, childrenOf(doc, s), [...trail, ...refs]);
      list.id = listId;
      li.append(list);
    }
    if (list) list.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  toggle.addEventListener("keydown", (event) => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    if (event.key === "ArrowRight" && !open) {
      event.preventDefault();
      setOpen(true);
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      if (open) setOpen(false);
      else li.parentElement?.closest(".schema__node")?.querySelector(":scope > .schema__head > .schema__toggle")?.focus();
    }
  });
  return li;
}

const LIMITS = {
  length: ["minLength", "maxLength", "characters"],
  items: ["minItems", "maxItems", "items"],
  properties: ["minProperties", "maxProperties", "fields"],
};

/** Description, enum values, constant, default, constraints and examples, under a node's head. */
function facts(doc, s, { examples = true, root = false }) {
  const lines = [];
  if (s.description) lines.push(markdown(s.description, { className: "schema__desc" }));
  const chips = (values) => values.flatMap((v, i) => [i ? " " : null, h("code", { class: "schema__value" }, JSON.stringify(v))]);
  if (Array.isArray(s.enum)) lines.push(h("p", { class: "schema__fact" }, h("span", { class: "schema__fact-label" }, "One of"), " ", chips(s.enum)));
  if ("const" in s) lines.push(h("p", { class: "schema__fact" }, h("span", { class: "schema__fact-label" }, "Always"), " ", chips([s.const])));
  if ("default" in s) lines.push(h("p", { class: "schema__fact" }, h("span", { class: "schema__fact-label" }, "Default"), " ", chips([s.default])));
  const constraints = [];
  for (const [min, max, unit] of Object.values(LIMITS)) {
    const text = range(s[min], s[max], unit);
    if (text) constraints.push(text);
  }
  const bounds = numberRange(s);
  if (bounds) constraints.push(bounds);
  if (s.multipleOf !== undefined) constraints.push(`a multiple of ${s.multipleOf}`);
  if (s.uniqueItems) constraints.push("no duplicates");
  if (constraints.length) lines.push(h("p", { class: "schema__fact" }, h("span", { class: "schema__fact-label" }, "Limits"), " ", constraints.join("; ")));
  if (s.pattern) lines.push(h("p", { class: "schema__fact" }, h("span", { class: "schema__fact-label" }, "Pattern"), " ", h("code", { class: "schema__value schema__pattern" }, s.pattern)));
  // An array's item constraints (enum, pattern) where the items have no children of their own.
  if (s.items && typeof s.items === "object" && !hasChildren(doc, unwrap(doc, s.items).schema)) {
    const item = unwrap(doc, s.items).schema;
    if (Array.isArray(item.enum)) lines.push(h("p", { class: "schema__fact" }, h("span", { class: "schema__fact-label" }, "Each one of"), " ", chips(item.enum)));
    if (item.pattern) lines.push(h("p", { class: "schema__fact" }, h("span", { class: "schema__fact-label" }, "Each matches"), " ", h("code", { class: "schema__value schema__pattern" }, item.pattern)));
  }
  if (s.additionalProperties === false && s.properties && !root) lines.push(h("p", { class: "schema__fact schema__fact--muted" }, "No other fields"));
  if (s.additionalProperties === false && root) lines.push(h("p", { class: "schema__fact schema__fact--muted" }, "No other fields: an unknown field is refused."));
  if (examples) {
    const values = [...(Array.isArray(s.examples) ? s.examples : []), ...("example" in s ? [s.example] : [])];
    if (values.length) lines.push(exampleLine(values));
  }
  return lines.length ? h("div", { class: "schema__facts" }, lines) : null;
}

function exampleLine(values) {
  const short = values.every((v) => v === null || typeof v !== "object" || JSON.stringify(v).length <= 60);
  const label = h("span", { class: "schema__fact-label" }, values.length > 1 ? "Examples" : "Example");
  if (short) return h("p", { class: "schema__fact" }, label, " ", values.flatMap((v, i) => [i ? " " : null, h("code", { class: "schema__value" }, JSON.stringify(v))]));
  return h("div", { class: "schema__fact" }, label, values.map((v) => jsonView(v, { label: "Example" })));
}

function range(min, max, unit) {
  if (min === undefined && max === undefined) return "";
  const units = (n) => (n === 1 ? unit.replace(/s$/, "") : unit); // "1 character", "2 characters"
  if (min !== undefined && max !== undefined) return min === max ? `exactly ${min} ${units(min)}` : `${min} to ${max} ${unit}`;
  return min !== undefined ? `at least ${min} ${units(min)}` : `at most ${max} ${units(max)}`;
}

function numberRange(s) {
  const low = s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : s.minimum !== undefined ? `≥ ${s.minimum}` : "";
  const high = s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : s.maximum !== undefined ? `≤ ${s.maximum}` : "";
  return [low, high].filter(Boolean).join(" and ");
}
