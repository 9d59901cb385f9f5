// Small DOM helpers. Everything from the API goes in as text (textContent / text nodes), never HTML.

import { hydrateIcons } from "./icons.js";

/**
 * Creates an element. `attrs`: strings become attributes, `true` an empty attribute, false/null
 * nothing; functions under `on…` become listeners. Children: nodes, or strings as text.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A deep copy of a `<template id=…>` in index.html, icons filled in. */
export function cloneTemplate(id) {
  const template = document.getElementById(id);
  return hydrateIcons(template.content.cloneNode(true));
}

/** A unique id for label/for and aria-describedby pairs. */
let counter = 0;
export function uid(prefix = "id") {
  counter += 1;
  return `${prefix}-${counter}`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** "3 minutes ago", "yesterday", … */
export function timeAgo(iso) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "";
  const seconds = Math.round((then - Date.now()) / 1000);
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [7, "day"],
    [4.35, "week"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) {
      if (unit === "second") return "just now";
      return relative.format(Math.round(value), unit);
    }
    value /= size;
  }
  return "";
}

/** A <time> showing a relative time, with the full date on hover. */
export function timeElement(iso, { dateOnly: onlyDate = false } = {}) {
  if (!iso) return h("span", { class: "muted" }, "Never");
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h("span", {}, String(iso)); // never let one bad value break a page
  const text = onlyDate ? dateOnly.format(date) : timeAgo(iso);
  return h("time", { datetime: iso, title: absolute.format(date) }, text);
}

export function formatDateTime(iso) {
  return absolute.format(new Date(iso));
}

/** "Ada Lovelace" → "AL"; falls back to the email's first letter. */
export function initials(name, email = "") {
  const words = (name || "").trim().split(/\s+/).filter(Boolean);
  if (words.length >= 2) return (words[0][0] + words[words.length - 1][0]).toUpperCase();
  if (words.length === 1) return words[0].slice(0, 2).toUpperCase();
  return (email[0] || "?").toUpperCase();
}

/** Removes every child of `el` and appends the given ones. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
