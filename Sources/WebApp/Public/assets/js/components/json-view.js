// A JSON value shown as indented text, built from text nodes (never HTML). What the run history
// keeps instead of data is shown for what it is: binary values as their size and SHA-256
// (`{"$binary": {"size", "sha256"}}`; `$bytes` too, the name WEBAPP.md uses), values over 1 MB as
// `$omitted` with their size, and redacted secrets as a marked word.

import { h } from "../dom.js";

/** `{"$binary": {...}}` (or `$bytes`) → {size, sha256}; anything else → null. */
export function binarySummary(value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  if (keys.length !== 1 || (keys[0] !== "$binary" && keys[0] !== "$bytes")) return null;
  const inner = value[keys[0]];
  return inner && typeof inner === "object" ? { size: inner.size, sha256: inner.sha256 } : null;
}

function omittedSummary(value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === "$omitted" ? value.$omitted : null;
}

const sizeFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
export function formatBytes(size) {
  if (typeof size !== "number") return "unknown size";
  if (size < 1000) return `${size} bytes`;
  if (size < 1_000_000) return `${sizeFormat.format(size / 1000)} kB`;
  return `${sizeFormat.format(size / 1_000_000)} MB`;
}

/** A chip for a binary value: "Binary · 48.2 kB · sha256 9f86d081…" (the full digest on hover). */
export function binaryChip({ size, sha256 }) {
  const digest = typeof sha256 === "string" ? sha256 : "";
  return h(
    "span",
    { class: "json__binary", title: digest ? `SHA-256 ${digest}` : null },
    `Binary · ${formatBytes(size)}`,
    digest ? ` · sha256 ${digest.slice(0, 12)}…` : "",
    digest ? h("span", { class: "visually-hidden" }, ` full digest ${digest}`) : null,
  );
}

export function jsonView(value, { label } = {}) {
  const pre = h("pre", { class: "json", tabindex: "0", "aria-label": label ?? null });
  write(pre, value, 0);
  return pre;
}

function write(parent, value, depth) {
  const pad = "  ".repeat(depth);
  const binary = binarySummary(value);
  if (binary) return parent.append(binaryChip(binary));
  const omitted = omittedSummary(value);
  if (omitted) return parent.append(h("span", { class: "json__binary" }, `Omitted · ${formatBytes(omitted.size)} (too large to keep)`));
  if (value === null) return parent.append(h("span", { class: "json__null" }, "null"));
  if (typeof value === "string") {
    if (value === "<redacted>") return parent.append(h("span", { class: "json__redacted" }, "<redacted>"));
    return parent.append(h("span", { class: "json__string" }, JSON.stringify(value)));
  }
  if (typeof value !== "object") return parent.append(h("span", { class: "json__literal" }, String(value)));
  const entries = Array.isArray(value) ? value.map((v) => [null, v]) : Object.entries(value);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  if (!entries.length) return parent.append(`${open}${close}`);
  parent.append(`${open}\n`);
  entries.forEach(([key, v], i) => {
    parent.append(`${pad}  `);
    if (key !== null) parent.append(h("span", { class: "json__key" }, JSON.stringify(key)), ": ");
    write(parent, v, depth + 1);
    parent.append(i < entries.length - 1 ? ",\n" : "\n");
  });
  parent.append(`${pad}${close}`);
}
