// A run history (GET /api/v1/runs, newest first): a status filter, one row per run linking to it,
// and live rows — `upsert(summary)` takes each server-sent event, so a new run appears at the top
// at once and a running one changes status where it is.
//
// Long histories (docs/PERFORMANCE.md: 10,000 runs):
// - pages come with the API's `next` cursor as the end of what is loaded nears (scrolling, or the
//   focus moving down the rows); "Load more" stays, for the keyboard and as the fallback;
// - only the rows around the viewport are in the document (a window of rows, drawn again only
//   when the viewport nears its edge; rows already drawn are kept). Every row has the same height
//   (`--run-row-height`), so the rows above and below the window are stood in for by spacers
//   made of a few fixed-size blocks (1, 2, 4 … rows each, sized in the stylesheet: no inline
//   style). Each row says its place (aria-posinset / aria-setsize) to screen readers.

import { api } from "../api.js";
import { h, replaceChildren, timeElement, uid } from "../dom.js";
import { icon } from "../icons.js";
import { formAlert } from "./form.js";
import { duration, statusBadge, STATUS_TEXT } from "./run-view.js";
import { announce } from "./toast.js";

const STATUSES = ["queued", "running", "succeeded", "failed", "ambiguous", "cancelled"];
const TRIGGER_WORD = { webhook: "Webhook", cron: "Schedule", manual: "Manual", unknown: "Unknown trigger" };
const BUFFER = 30; // rows drawn beyond each edge of the viewport
const SLACK = 10; // … and drawn again only when the viewport comes this close to the window's edge
const AHEAD = 150; // the next page is asked for when the viewport is this many rows from the end of what is loaded
const BLOCKS = 15; // spacer blocks of 1 … 2^14 rows (app.css: .run-list__spacer--N)

/**
 * `pageSize`: the first page (small: it shows at once); `morePageSize`: each page after it (the
 * API takes up to 200). `onLoad(items, {filtered})` after each first page arrives.
 */
export function createRunList({ flowId, flowName, hrefFor, onOpen, onLoad, pageSize = 25, morePageSize = 100, signal, label = "Runs", emptyText }) {
  const filterId = uid("run-status");
  const filter = h("select", { class: "select select--medium", id: filterId }, h("option", { value: "" }, "All statuses"), STATUSES.map((s) => h("option", { value: s }, STATUS_TEXT[s])));
  const list = h("ul", { class: "run-list", "aria-label": label });
  const more = h("button", { type: "button", class: "btn btn--sm", hidden: true }, "Load more");
  const alertSlot = h("div", { hidden: true });
  const root = h(
    "div",
    { class: "run-history" },
    h("div", { class: "run-history__bar" }, h("label", { class: "field__label", for: filterId }, "Status"), filter),
    alertSlot,
    list,
    h("div", { class: "run-history__more" }, more),
  );

  let items = []; // every run loaded, newest first
  let next = null;
  let selectedId = null;
  let loading = null; // the page request in flight
  let generation = 0; // a new filter (or reload) makes older answers moot
  let shown = { from: 0, to: 0 }; // the window of rows in the document: items[from..<to]
  const rows = new Map(); // run id → its drawn <li>
  const topSpacer = h("li", { class: "run-list__spacers", "aria-hidden": "true" });
  const bottomSpacer = h("li", { class: "run-list__spacers", "aria-hidden": "true" });

  filter.addEventListener("change", () => load());
  more.addEventListener("click", () => load({ append: true, byHand: true }));

  // Scrolling anywhere (the window, or the studio's own column) may move the viewport over the list.
  let frame = 0;
  const onScroll = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (list.isConnected && items.length) {
        place();
        nearEnd();
      }
    });
  };
  addEventListener("scroll", onScroll, { capture: true, passive: true });
  addEventListener("resize", onScroll, { passive: true });
  signal?.addEventListener("abort", () => {
    removeEventListener("scroll", onScroll, { capture: true });
    removeEventListener("resize", onScroll);
  }, { once: true });

  /** `before`: a promise to wait for before drawing the first page (the /runs page's flow names). */
  async function load({ append = false, byHand = false, before } = {}) {
    if (append && (loading || !next)) return;
    const ticket = append ? generation : ++generation;
    const query = new URLSearchParams({ limit: String(append ? morePageSize : pageSize) });
    if (flowId) query.set("flowId", flowId);
    if (filter.value) query.set("status", filter.value);
    if (append) query.set("cursor", next);
    if (append) {
      more.disabled = true;
      more.replaceChildren(icon("loader", { className: "icon--spin" }), "Loading…");
    } else if (!items.length) {
      list.setAttribute("aria-busy", "true");
      replaceChildren(list, [1, 2, 3].map(() => h("li", { class: "run-row run-row--skeleton" }, h("span", { class: "skeleton skeleton--title" }))));
    }
    const request = api(`/runs?${query}`, { signal });
    loading = request;
    let added = [];
    try {
      const page = await request;
      if (before) await before;
      if (ticket !== generation) return;
      next = page.next ?? null;
      loading = null;
      alertSlot.hidden = true;
      if (append) {
        const known = new Set(items.map((r) => r.id)); // a live event may have brought one already
        added = page.items.filter((run) => !known.has(run.id));
        // Someone waiting at the very end scrolls fast: the page after this one is asked for at once,
        // before this one is drawn, so the pages keep coming while they keep going.
        const waiting = !byHand && visible().bottom >= items.length - SLACK;
        items.push(...added);
        if (waiting) nearEnd({ eager: true });
        else if (!byHand) nearEnd();
      } else {
        items = page.items;
        rows.clear();
        shown = { from: 0, to: 0 };
        if (items.length) replaceChildren(list, topSpacer, bottomSpacer);
        else replaceChildren(list, h("li", { class: "run-list__empty" }, filter.value ? `No ${STATUS_TEXT[filter.value].toLowerCase()} runs.` : emptyText ?? "No runs yet."));
        onLoad?.(items, { filtered: Boolean(filter.value) });
      }
      list.dataset.loaded = String(items.length);
      if (items.length) place({ force: true });
      if (byHand && added.length) {
        const first = items.indexOf(added[0]);
        place({ force: true, around: first });
        rows.get(added[0].id)?.querySelector("a")?.focus();
        announce(`${added.length} more ${added.length === 1 ? "run" : "runs"} loaded.`);
      }
    } catch (error) {
      if (error.name === "AbortError" || ticket !== generation) return;
      formAlert(alertSlot, error);
      if (!append) replaceChildren(list);
    } finally {
      if (loading === request) loading = null;
      list.removeAttribute("aria-busy");
      if (!loading) {
        more.disabled = false;
        more.replaceChildren("Load more");
      }
      more.hidden = !next;
    }
    // Still near the end (a short first page, a page that brought nothing new): the next one at once.
    if (ticket === generation && next && !byHand) nearEnd();
  }

  /** The rows the viewport shows now (as item indexes), from the list's place on the screen. */
  function visible() {
    const height = rowHeight();
    const box = list.getBoundingClientRect();
    const top = Math.floor((0 - box.top) / height);
    const bottom = Math.ceil((innerHeight - box.top) / height);
    return { top: Math.max(0, Math.min(items.length, top)), bottom: Math.max(0, Math.min(items.length, bottom)) };
  }

  let measured = 0;
  function rowHeight() {
    const row = list.querySelector(".run-row[data-run]");
    if (row) measured = row.getBoundingClientRect().height || measured;
    return measured || 45;
  }

  /** Draws the window of rows around the viewport (or `around` an index), when it moved enough. */
  function place({ force = false, around } = {}) {
    const view = around === undefined ? visible() : { top: around, bottom: around + 1 };
    const nearTop = shown.from > 0 && view.top - shown.from < SLACK;
    const nearBottom = shown.to < items.length && shown.to - view.bottom < SLACK;
    if (!force && !nearTop && !nearBottom && shown.to > shown.from) return;
    const from = Math.max(0, view.top - BUFFER);
    const to = Math.min(items.length, Math.max(view.bottom, view.top + 1) + BUFFER);
    // Keep the rows still in the window, draw the new ones, drop the rest.
    const wanted = items.slice(from, to);
    const keep = new Set(wanted.map((r) => r.id));
    for (const [id, li] of rows) {
      if (!keep.has(id)) {
        li.remove();
        rows.delete(id);
      }
    }
    let cursor = topSpacer;
    wanted.forEach((run, i) => {
      const li = rows.get(run.id) ?? row(run);
      li.setAttribute("aria-posinset", String(from + i + 1));
      if (cursor.nextSibling !== li) cursor.after(li);
      cursor = li;
    });
    shown = { from, to };
    spacer(topSpacer, from);
    spacer(bottomSpacer, items.length - to);
    const total = next ? "-1" : String(items.length);
    for (const li of rows.values()) li.setAttribute("aria-setsize", total);
  }

  /** `count` rows of height as a handful of blocks of 1, 2, 4 … rows. */
  function spacer(el, count) {
    const blocks = [];
    let left = count;
    for (let bit = BLOCKS - 1; bit >= 0 && left > 0; bit -= 1) {
      const size = 2 ** bit;
      while (left >= size) {
        blocks.push(h("span", { class: `run-list__spacer run-list__spacer--${size}` }));
        left -= size;
      }
    }
    el.replaceChildren(...blocks);
    el.hidden = count === 0;
  }

  /** Asks for the next page when the viewport is near the end of what is loaded (`eager`: at once). */
  function nearEnd({ eager = false } = {}) {
    if (!next || loading || !list.isConnected) return;
    const { bottom } = visible();
    if (eager || (items.length - bottom <= AHEAD && list.getBoundingClientRect().top < innerHeight)) load({ append: true });
  }

  // A row's badge is a copy of one drawn per status (cloning is cheaper than drawing its icon again).
  const badges = new Map();
  function badgeFor(status) {
    if (!badges.has(status)) badges.set(status, statusBadge(status));
    return badges.get(status).cloneNode(true);
  }

  function row(run) {
    const took = run.finishedAt ? duration(run.startedAt, run.finishedAt) : null; // a running one's time moves
    const link = h(
      "a",
      { class: "run-row__link", href: hrefFor(run), "aria-current": run.id === selectedId ? "true" : null },
      badgeFor(run.status),
      h("span", { class: "run-row__main" }, flowName ? h("span", { class: "run-row__flow" }, flowName(run.flowId)) : null, h("span", { class: "run-row__when" }, timeElement(run.createdAt)), h("span", { class: "muted" }, TRIGGER_WORD[run.triggerKind] ?? run.triggerKind)),
      h("span", { class: "run-row__meta" }, run.error?.code ? h("code", { class: "run-row__code" }, run.error.code) : null, took ? h("span", { class: "muted" }, took) : null, h("code", { class: "run-row__id" }, run.id)),
    );
    if (onOpen) {
      link.addEventListener("click", (event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault(); // the studio opens it in its panel (and sets the address itself)
        onOpen(run);
      });
    }
    const li = h("li", { class: "run-row", "data-run": run.id }, link);
    rows.set(run.id, li);
    return li;
  }

  return {
    root,
    load,
    /** A run as an event announced it: its row changes in place, or a new row goes where it belongs. */
    upsert(summary) {
      if (flowId && summary.flowId !== flowId) return;
      const matches = !filter.value || filter.value === summary.status;
      const index = items.findIndex((r) => r.id === summary.id);
      const { steps, ...run } = summary; // a list row needs no step statuses
      if (index >= 0) {
        const old = rows.get(run.id);
        if (matches) {
          items[index] = { ...items[index], ...run };
          if (old) {
            const focused = old.contains(document.activeElement);
            const fresh = row(items[index]);
            fresh.setAttribute("aria-posinset", old.getAttribute("aria-posinset") ?? "");
            fresh.setAttribute("aria-setsize", old.getAttribute("aria-setsize") ?? "");
            old.replaceWith(fresh);
            if (focused) fresh.querySelector("a")?.focus();
          }
        } else {
          items.splice(index, 1);
          rows.delete(run.id);
          old?.remove();
          place({ force: true });
        }
        list.dataset.loaded = String(items.length);
        return;
      }
      if (!matches) return;
      // Newest first: in its place when it falls inside what is loaded (or nothing follows).
      const at = items.findIndex((r) => r.createdAt < run.createdAt);
      if (at < 0 && next) return; // older than everything loaded: a later page brings it
      if (!items.length) replaceChildren(list, topSpacer, bottomSpacer);
      if (at >= 0) items.splice(at, 0, run);
      else items.push(run);
      list.dataset.loaded = String(items.length);
      place({ force: true });
    },
    select(id) {
      const before = selectedId ? rows.get(selectedId) : null;
      before?.querySelector("a")?.removeAttribute("aria-current");
      selectedId = id;
      if (id) rows.get(id)?.querySelector("a")?.setAttribute("aria-current", "true");
    },
    /** How many runs are loaded (drawn or not). */
    get size() {
      return items.length;
    },
  };
}
