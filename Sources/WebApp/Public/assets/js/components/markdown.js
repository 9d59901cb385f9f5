// The small Markdown subset the OpenAPI document's descriptions use, built as DOM (text nodes and a
// few elements), never as HTML: paragraphs (blank lines), bullet and numbered lists ("- ", "* ",
// "1. "), `code spans`, **bold**, *emphasis* and [links](https://…) with a safe address. Anything
// else, angle brackets included, stays text.

import { h } from "../dom.js";

/** A description as block elements: `<p>`, `<ul>`, `<ol>`, in a `<div class="md">`. */
export function markdown(text, { className = "" } = {}) {
  return h("div", { class: `md ${className}`.trim() }, blocks(String(text ?? "")));
}

/** The blocks of `text`: [{kind: "p" | "ul" | "ol", lines | items}]. */
export function parseBlocks(text) {
  const out = [];
  for (const chunk of text.replace(/\r\n?/g, "\n").split(/\n\s*\n/)) {
    const lines = chunk.split("\n").filter((line) => line.trim() !== "");
    if (!lines.length) continue;
    let list = null;
    let paragraph = null;
    for (const line of lines) {
      const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
      const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      const item = bullet ?? numbered;
      if (item) {
        const kind = bullet ? "ul" : "ol";
        if (!list || list.kind !== kind) {
          list = { kind, items: [] };
          out.push(list);
        }
        list.items.push(item[1]);
        paragraph = null;
      } else if (list && /^\s+\S/.test(line)) {
        list.items[list.items.length - 1] += ` ${line.trim()}`; // a list item's continuation line
      } else {
        list = null;
        if (!paragraph) {
          paragraph = { kind: "p", lines: [] };
          out.push(paragraph);
        }
        paragraph.lines.push(line.trim());
      }
    }
  }
  return out;
}

function blocks(text) {
  return parseBlocks(text).map((block) =>
    block.kind === "p" ? h("p", {}, inline(block.lines.join(" "))) : h(block.kind, {}, block.items.map((item) => h("li", {}, inline(item)))),
  );
}

/** Inline Markdown as an array of nodes and strings (for a `<p>`, a `<summary>` or a cell). */
export function inline(text) {
  const out = [];
  let plain = "";
  const flush = () => {
    if (plain) out.push(plain);
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    // `code` (or ``code with a ` inside``): everything between is text, nothing else applies.
    const ticks = /^`+/.exec(rest);
    if (ticks) {
      const fence = ticks[0];
      const end = text.indexOf(fence, i + fence.length);
      if (end > i) {
        flush();
        let code = text.slice(i + fence.length, end);
        if (fence.length > 1 && code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
        out.push(h("code", {}, code));
        i = end + fence.length;
        continue;
      }
      plain += fence;
      i += fence.length;
      continue;
    }
    // **bold**
    if (rest.startsWith("**") && rest.length > 4 && rest[2] !== " ") {
      const end = findClosing(text, "**", i + 2);
      if (end > i + 2) {
        flush();
        out.push(h("strong", {}, inline(text.slice(i + 2, end))));
        i = end + 2;
        continue;
      }
    }
    // *emphasis* (not "5 * 3": the opening star is followed and the closing one preceded by a non-space)
    if (rest[0] === "*" && rest[1] && rest[1] !== " " && rest[1] !== "*") {
      const end = findClosing(text, "*", i + 1);
      if (end > i + 1 && text[end - 1] !== " ") {
        flush();
        out.push(h("em", {}, inline(text.slice(i + 1, end))));
        i = end + 1;
        continue;
      }
    }
    // [text](address): only https, http, and this site's own paths and anchors become links.
    if (rest[0] === "[") {
      const link = /^\[([^\]]+)\]\(([^)\s]+)\)/.exec(rest);
      if (link && safeHref(link[2])) {
        flush();
        const external = /^https?:/i.test(link[2]);
        out.push(h("a", { href: link[2], rel: external ? "noopener noreferrer" : null, target: external ? "_blank" : null }, inline(link[1])));
        i += link[0].length;
        continue;
      }
    }
    plain += text[i];
    i += 1;
  }
  flush();
  return out;
}

/** The index of the closing `marker` at or after `from`, skipping code spans; -1 when none. */
function findClosing(text, marker, from) {
  let i = from;
  while (i < text.length) {
    if (text[i] === "`") {
      const fence = /^`+/.exec(text.slice(i))[0];
      const end = text.indexOf(fence, i + fence.length);
      i = end < 0 ? i + fence.length : end + fence.length;
      continue;
    }
    if (text.startsWith(marker, i) && (marker !== "*" || text[i + 1] !== "*")) return i;
    if (marker === "*" && text.startsWith("**", i)) {
      const end = text.indexOf("**", i + 2); // bold inside emphasis
      i = end < 0 ? i + 2 : end + 2;
      continue;
    }
    i += 1;
  }
  return -1;
}

function safeHref(href) {
  return /^https?:\/\//i.test(href) || /^\/(?!\/)/.test(href) || href.startsWith("#");
}
