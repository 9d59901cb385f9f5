// A run history (GET /api/v1/runs, newest first): a status filter, one row per run linking to it,
// and live rows — `upsert(summary)` takes each server-sent event, so a new run appears at the top
// at once and a running one changes status where it is.
//
// Long histories (docs/PERFORMANCE.md: 10,000 runs), by random access:
// - the first page (`offset=0`) says how many runs match (`total`), and the list is sized for all
//   of them at once: every row has the same height (`--run-row-height`), and the rows that are not
//   drawn are stood in for by two spacers made of a few fixed-size blocks (1, 2, 4 … 2^19 rows,
//   sized in the stylesheet: the CSP allows no inline style);
// - only the rows around the viewport are in the document; wherever the viewport lands (a drag of
//   the scroll bar, End, a flick), the rows there are asked for by position (`offset`, one page of
//   up to 200 around the viewport, leaving out what is loaded or on its way; at most two requests
//   out, the newest position first, a request for a place left behind is cancelled; nothing for the
//   rows a fast scroll only flies over), and drawn as placeholders ("loading") until they come;
//   when the viewport rests, the page ahead in the direction of travel is asked for too;
// - a history taller than browsers can lay out (Chrome stops at 33,554,428 px, Firefox near 17.9
//   million: 1,000,000 rows would be 45 million px) is drawn scaled: the list is MAX_HEIGHT tall,
//   a scroll position maps to a row in proportion, and the drawn rows are moved under it (a small
//   scroll then moves the rows a little faster than the scroll bar);
// - each row says its place (aria-posinset / aria-setsize) to screen readers; a placeholder takes
//   the focus like a row (Tab goes on through the history) and hands it to the row that replaces it.

import { api } from "../api.js";
import { h, replaceChildren, timeElement, uid } from "../dom.js";
import { formAlert } from "./form.js";
import { duration, statusBadge, STATUS_TEXT } from "./run-view.js";

const STATUSES = ["queued", "waiting", "running", "succeeded", "failed", "ambiguous", "cancelled"];
const TRIGGER_WORD = { webhook: "Webhook", cron: "Schedule", manual: "Manual", "email.bounced": "Email bounced", "email.complained": "Spam complaint", unknown: "Unknown trigger" };
const BUFFER = 30; // rows drawn beyond each edge of the viewport
const SLACK = 10; // … and drawn again only when the viewport comes this close to the window's edge
const ROW_BLOCKS = 20; // spacer blocks of 1 … 2^19 rows (app.css: .run-list__spacer--N)
const PX_BLOCKS = 7; // … and of 1 … 64 px, for a scaled list (.run-list__px--N)
const MAX_HEIGHT = 12_000_000; // px: a longer list is drawn scaled (see above)
const MAX_IN_FLIGHT = 2;
const KEEP = 6000; // runs kept in memory, around the viewport
const RETRY_MS = [250, 1000, 4000]; // after a page failed to load: again soon, then less often
const STATUS_RANK = { queued: 0, running: 1 }; // every other status is an end

/**
 * `pageSize`: the first page (small: it shows at once); `morePageSize`: each page after it (the
 * API takes up to 200). `onLoad(items, {filtered})` after each first page arrives.
 */
export function createRunList({ flowId, flowName, hrefFor, onOpen, onLoad, pageSize = 25, morePageSize = 100, signal, label = "Runs", emptyText }) {
  const filterId = uid("run-status");
  const filter = h("select", { class: "select select--medium", id: filterId }, h("option", { value: "" }, "All statuses"), STATUSES.map((s) => h("option", { value: s }, STATUS_TEXT[s])));
  const list = h("ul", { class: "run-list", "aria-label": label });
  const alertSlot = h("div", { hidden: true });
  const root = h("div", { class: "run-history" }, h("div", { class: "run-history__bar" }, h("label", { class: "field__label", for: filterId }, "Status"), filter), alertSlot, list);
  const page = Math.max(1, Math.min(200, morePageSize));

  // What is known, by position (0 = the newest run): a sparse map, filled page by page.
  let total = 0;
  let ready = false; // the first page of this generation has come
  const runs = new Map(); // position → RunSummary
  const where = new Map(); // run id → position
  const gone = new Set(); // runs that left the filter while the list was open (a page in flight may still bring them)
  let unseen = 0; // runs the server counted at the top that no event has brought yet (their places are kept)
  let changes = 0; // positions moved by live events (inserted or removed rows)
  let inserts = 0; // … of which rows inserted
  let status = ""; // the filter of this generation
  let generation = 0; // a new filter (or reload) makes older answers moot
  let inflight = []; // page requests out: {from, to, ticket, controller, total, changes, inserts}
  let retryAt = 0;
  let failures = 0; // pages failed in a row
  let firstOut = false; // the first page of a generation is on its way: no page by position yet
  let selectedId = null;

  // What is drawn: the rows of positions shown.from ..< shown.to, between the two spacers.
  let drawn = new Map(); // position → {li, run} (run null: a placeholder)
  let shown = { from: 0, to: 0 };
  let direction = 0; // +1 scrolling towards older runs, -1 towards newer
  let lastTop = 0;
  const topSpacer = h("li", { class: "run-list__spacers", "aria-hidden": "true" });
  const bottomSpacer = h("li", { class: "run-list__spacers", "aria-hidden": "true" });
  const spacerSize = new Map([[topSpacer, ""], [bottomSpacer, ""]]);

  filter.addEventListener("change", () => load());

  // Scrolling anywhere (the window, or the studio's own column) may move the viewport over the list.
  // While it flies (more than a page in a frame: End's smooth scroll, a drag of the scroll bar, a
  // single jump) the rows it passes are not asked for; the first frame that moves less asks for
  // the rows where it is — a frame after a single jump. Judged one frame at a time, not two in a
  // row: a busy machine draws fewer, longer frames, and the first frame of End's smooth scroll
  // must not ask for rows the scroll is about to leave (CI saw End walk 5 pages that way).
  let frame = 0;
  let frameTop = 0;
  const schedule = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (!list.isConnected || !ready || !total) return;
      const geo = place();
      const moved = Math.abs(geo.top - frameTop);
      frameTop = geo.top;
      if (moved > page) schedule(); // flying: look again next frame
      else want(geo);
    });
  };
  const onResize = () => {
    if (!list.isConnected || !ready || !total) return;
    want(place({ force: true }));
  };
  addEventListener("scroll", schedule, { capture: true, passive: true });
  addEventListener("resize", onResize, { passive: true });
  signal?.addEventListener("abort", () => {
    removeEventListener("scroll", schedule, { capture: true });
    removeEventListener("resize", onResize);
    cancelAnimationFrame(frame);
  }, { once: true });

  function query(offset, limit) {
    const q = new URLSearchParams({ offset: String(offset), limit: String(limit) });
    if (flowId) q.set("flowId", flowId);
    if (status) q.set("status", status);
    return q;
  }

  function abortAll() {
    for (const req of inflight) req.controller.abort();
    inflight = [];
  }

  /**
   * The first page, which says how many runs there are; the list starts over (a new filter, or
   * back from the back/forward cache). `before`: a promise to wait for before drawing it (the
   * /runs page's flow names).
   */
  async function load({ before } = {}) {
    const ticket = ++generation;
    status = filter.value;
    abortAll();
    firstOut = true;
    if (!ready || !total) {
      ready = false;
      list.setAttribute("aria-busy", "true");
      drawn.clear();
      replaceChildren(list, [1, 2, 3].map(() => placeholder()));
    }
    try {
      const first = await api(`/runs?${query(0, Math.min(200, pageSize))}`, { signal });
      if (before) await before;
      if (ticket !== generation || !first) return;
      firstOut = false;
      alertSlot.hidden = true;
      runs.clear();
      where.clear();
      gone.clear();
      unseen = changes = inserts = 0;
      const items = first.items ?? [];
      total = Math.max(items.length, first.total ?? items.length);
      items.forEach((run, i) => keep(i, run));
      ready = true;
      drawn.clear();
      shown = { from: 0, to: 0 };
      spacerSize.set(topSpacer, "").set(bottomSpacer, "");
      if (total) replaceChildren(list, topSpacer, bottomSpacer);
      else empty();
      onLoad?.(items, { filtered: Boolean(status) });
      if (total) want(place({ force: true }));
      else list.removeAttribute("aria-busy");
    } catch (error) {
      if (error.name === "AbortError" || ticket !== generation) return;
      firstOut = false;
      formAlert(alertSlot, error);
      if (!ready) {
        replaceChildren(list);
        list.removeAttribute("aria-busy");
      }
    }
    counted();
  }

  function empty() {
    replaceChildren(list, h("li", { class: "run-list__empty" }, status ? `No ${STATUS_TEXT[status].toLowerCase()} runs.` : emptyText ?? "No runs yet."));
  }

  function counted() {
    list.dataset.total = String(total);
    list.dataset.loaded = String(runs.size);
  }

  function keep(index, run) {
    const before = where.get(run.id);
    if (before !== undefined && before !== index && runs.get(before)?.id === run.id) runs.delete(before);
    const there = runs.get(index);
    if (there && there.id !== run.id && where.get(there.id) === index) where.delete(there.id);
    runs.set(index, run);
    where.set(run.id, index);
  }

  // ---- Geometry ---------------------------------------------------------------------------------

  let measured = 0;
  function rowHeight() {
    const row = list.querySelector(".run-row");
    if (row) measured = row.getBoundingClientRect().height || measured;
    return measured || 45;
  }

  /**
   * Where the viewport is over the list: the rows it shows (`top` ..< `bottom`), and for a scaled
   * list `origin`, the place (px from the list's top) where row 0 would be for the rows under the
   * viewport to be where they are drawn.
   */
  function geometry() {
    const rh = rowHeight();
    const box = list.getBoundingClientRect();
    const y = -(box.top + list.clientTop); // px of the list above the viewport's top
    const natural = total * rh;
    const scaled = natural > MAX_HEIGHT;
    const height = scaled ? MAX_HEIGHT : natural;
    let origin = 0;
    if (scaled) {
      const view = Math.min(innerHeight, height / 2);
      const yc = Math.max(0, Math.min(height - view, y));
      const row = (yc * (natural - view)) / (height - view) / rh; // the row at the viewport's top, fractional
      origin = yc - row * rh;
    }
    const clamp = (n) => Math.max(0, Math.min(total, n));
    const top = clamp(Math.floor((y - origin) / rh));
    const bottom = clamp(Math.ceil((y + innerHeight - origin) / rh));
    return { rh, scaled, height, origin, top, bottom: Math.max(bottom, Math.min(total, top + 1)) };
  }

  // ---- Drawing ----------------------------------------------------------------------------------

  /** Draws the window of rows around the viewport, when it moved enough (a scaled list: always). */
  function place({ force = false, again = false } = {}) {
    const geo = geometry();
    if (geo.top !== lastTop) direction = geo.top > lastTop ? 1 : -1;
    lastTop = geo.top;
    list.classList.toggle("run-list--scaled", geo.scaled);
    const nearTop = shown.from > 0 && geo.top - shown.from < SLACK;
    const nearBottom = shown.to < total && shown.to - geo.bottom < SLACK;
    if (!force && !geo.scaled && !nearTop && !nearBottom && shown.to > shown.from) return geo;

    const { rh, origin } = geo;
    const from = Math.max(0, geo.top - BUFFER, Math.ceil(-origin / rh - 1e-6));
    const to = Math.max(from, Math.min(total, geo.bottom + BUFFER, Math.floor((geo.height - origin) / rh + 1e-6)));
    const focused = list.contains(document.activeElement) ? document.activeElement.closest(".run-row") : null;
    let refocus = null;
    if (topSpacer.parentNode !== list) replaceChildren(list, topSpacer, bottomSpacer);
    const next = new Map();
    let cursor = topSpacer;
    let waiting = false;
    for (let i = from; i < to; i += 1) {
      const run = runs.get(i) ?? null;
      let entry = drawn.get(i);
      if (!entry || entry.run !== run) {
        entry = { li: run ? row(run) : placeholder(), run };
        if (focused && drawn.get(i)?.li === focused) refocus = entry.li; // a keyboard user stays on the row
      }
      if (!run) waiting = true;
      const { li } = entry;
      const pos = String(i + 1);
      if (li.getAttribute("aria-posinset") !== pos) li.setAttribute("aria-posinset", pos);
      if (li.getAttribute("aria-setsize") !== String(total)) li.setAttribute("aria-setsize", String(total));
      if (cursor.nextSibling !== li) cursor.after(li);
      cursor = li;
      next.set(i, entry);
    }
    // Whatever else is between the spacers (rows that left the window, were replaced or removed) goes.
    while (cursor.nextSibling && cursor.nextSibling !== bottomSpacer) cursor.nextSibling.remove();
    while (topSpacer.previousSibling) topSpacer.previousSibling.remove();
    if (bottomSpacer.previousSibling !== cursor) list.insertBefore(bottomSpacer, cursor.nextSibling);
    while (bottomSpacer.nextSibling) bottomSpacer.nextSibling.remove();
    drawn = next;
    (refocus?.querySelector("a") ?? refocus)?.focus({ preventScroll: true });
    shown = { from, to };
    if (geo.scaled) {
      const topPx = Math.max(0, Math.round(origin + from * rh));
      spacer(topSpacer, topPx, rh);
      spacer(bottomSpacer, Math.max(0, geo.height - topPx - (to - from) * rh), rh);
    } else {
      spacer(topSpacer, from * rh, rh, from);
      spacer(bottomSpacer, (total - to) * rh, rh, total - to);
    }
    if (waiting) list.setAttribute("aria-busy", "true");
    else list.removeAttribute("aria-busy");
    // The window was reckoned with a row height measured before (or a guess, before any row was
    // drawn): once more if the rows drawn now say otherwise (a phone's two-line rows).
    if (!again && Math.abs(rowHeight() - rh) > 0.5) return place({ force: true, again: true });
    return geo;
  }

  /**
   * A spacer `px` tall as a handful of blocks: `rows` of 1, 2, 4 … rows (which follow the row
   * height the stylesheet sets), and for a scaled list what is left as blocks of 1 … 64 px.
   */
  function spacer(el, px, rh, rows = Math.floor(px / rh)) {
    const rest = Math.max(0, Math.round(px - rows * rh));
    const key = `${rows}+${rest}`;
    if (spacerSize.get(el) === key) return;
    spacerSize.set(el, key);
    const blocks = [];
    const fill = (count, bits, kind) => {
      let left = count;
      for (let bit = bits - 1; bit >= 0 && left > 0; bit -= 1) {
        const size = 2 ** bit;
        while (left >= size) {
          blocks.push(h("span", { class: `run-list__${kind} run-list__${kind}--${size}` }));
          left -= size;
        }
      }
    };
    fill(rows, ROW_BLOCKS, "spacer");
    fill(rest, PX_BLOCKS, "px");
    el.replaceChildren(...blocks);
    el.hidden = blocks.length === 0;
  }

  // A row's badge is a copy of one drawn per status (cloning is cheaper than drawing its icon again).
  const badges = new Map();
  function badgeFor(runStatus) {
    if (!badges.has(runStatus)) badges.set(runStatus, statusBadge(runStatus));
    return badges.get(runStatus).cloneNode(true);
  }

  function row(run) {
    const took = run.finishedAt ? duration(run.startedAt, run.finishedAt) : null; // a running one's time moves
    const link = h(
      "a",
      { class: "run-row__link", href: hrefFor(run), "aria-current": run.id === selectedId ? "true" : null },
      badgeFor(run.status),
      h("span", { class: "run-row__main" }, flowName ? h("span", { class: "run-row__flow" }, flowName(run.flowId)) : null, h("span", { class: "run-row__when" }, timeElement(run.createdAt)), h("span", { class: "muted" }, TRIGGER_WORD[run.triggerKind] ?? run.triggerKind)),
      h("span", { class: "run-row__meta" }, run.waitingUntil ? h("span", { class: "muted", title: run.waitingReason ?? "" }, "until ", timeElement(run.waitingUntil)) : null, run.error?.code ? h("code", { class: "run-row__code" }, run.error.code) : null, took ? h("span", { class: "muted" }, took) : null, h("code", { class: "run-row__id" }, run.id)),
    );
    if (onOpen) {
      link.addEventListener("click", (event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault(); // the studio opens it in its panel (and sets the address itself)
        onOpen(run);
      });
    }
    return h("li", { class: "run-row", "data-run": run.id }, link);
  }

  /** A row still loading: the shape of a row (a skeleton), "Loading…" to a screen reader. */
  function placeholder() {
    return h(
      "li",
      { class: "run-row run-row--placeholder", tabindex: "0" },
      h("span", { class: "run-row__ghost", "aria-hidden": "true" }, h("span", { class: "skeleton skeleton--badge" }), h("span", { class: "skeleton skeleton--line" }), h("span", { class: "skeleton skeleton--id" })),
      h("span", { class: "visually-hidden" }, "Loading…"),
    );
  }

  // ---- Fetching by position ---------------------------------------------------------------------

  const covers = (i) => runs.has(i) || inflight.some((r) => i >= r.from && i < r.to);

  /** Asks for what the viewport (and the rows drawn around it, then the page ahead) lacks. */
  function want(geo) {
    if (!ready || firstOut || !total || !list.isConnected || performance.now() < retryAt) return;
    const box = list.getBoundingClientRect();
    if (box.top > innerHeight * 2 || box.bottom < -innerHeight) return; // far from the viewport
    const { top, bottom } = geo;
    const lacking = (a, b) => {
      let first = -1;
      let last = -1;
      for (let i = Math.max(0, a); i < Math.min(total, b); i += 1) {
        if (covers(i)) continue;
        if (first < 0) first = i;
        last = i;
      }
      return first < 0 ? null : [first, last];
    };
    // The rows on screen first; the rows drawn around them, and the page ahead, when nothing is out.
    const need = lacking(top, bottom) ?? (inflight.length ? null : lacking(top - BUFFER, bottom + BUFFER));
    if (need) {
      // One page around the viewport, most of it ahead of the way it moves, covering what is lacking.
      const size = Math.min(page, total);
      const slack = size - (bottom - top);
      const lead = Math.floor(slack * (direction > 0 ? 0.15 : direction < 0 ? 0.85 : 0.5));
      const from = Math.max(0, Math.min(total - size, Math.max(Math.min(top - lead, need[0]), need[1] + 1 - size)));
      request(from, from + size, { top, bottom });
      return;
    }
    if (inflight.length) return; // the page ahead waits for a free moment
    if (direction >= 0) {
      for (let i = bottom; i < Math.min(total, bottom + page); i += 1) {
        if (!covers(i)) return request(i, Math.min(total, i + page), { top, bottom });
      }
    } else {
      for (let i = top - 1; i >= Math.max(0, top - page); i -= 1) {
        if (!covers(i)) return request(Math.max(0, i + 1 - page), i + 1, { top, bottom });
      }
    }
  }

  function request(from, to, view) {
    while (from < to && covers(from)) from += 1;
    while (to > from && covers(to - 1)) to -= 1;
    if (from >= to) return;
    if (inflight.length >= MAX_IN_FLIGHT) {
      // The newest position wins: a request for a place the viewport has left is cancelled.
      const moot = inflight.find((r) => r.to <= view.top || r.from >= view.bottom);
      if (!moot) return;
      moot.controller.abort();
      inflight = inflight.filter((r) => r !== moot);
    }
    const controller = new AbortController();
    const req = { from, to, ticket: generation, controller, total, changes, inserts };
    inflight.push(req);
    const signals = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
    api(`/runs?${query(from, to - from)}`, { signal: signals }).then(
      (answer) => receive(req, answer),
      (error) => {
        inflight = inflight.filter((r) => r !== req);
        if (error.name === "AbortError" || req.ticket !== generation) return;
        const wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
        failures += 1;
        if (failures > 1) formAlert(alertSlot, error); // one failure is retried before it is told
        retryAt = performance.now() + wait;
        setTimeout(schedule, wait);
      },
    );
  }

  /** A page by position: its rows go where they belong now (live events may have moved them). */
  function receive(req, answer) {
    inflight = inflight.filter((r) => r !== req);
    if (req.ticket !== generation || req.controller.signal.aborted || !answer) return; // another filter since, or cancelled: dropped
    alertSlot.hidden = true;
    failures = 0;
    const items = answer.items ?? [];
    const serverTotal = answer.total ?? total;
    let shift = 0;
    if (changes === req.changes) {
      // Nothing moved here while it was out: the server's count is the truth.
      if (serverTotal > total) {
        // Runs no event has brought yet (they are the newest): their places at the top.
        const more = serverTotal - total;
        const stay = holdView(0);
        move(0, more);
        total += more;
        unseen += more;
        stay(more);
      } else if (serverTotal < total) {
        // Runs left the filter where nothing was loaded: what is known may have moved; forget it.
        runs.clear();
        where.clear();
        total = serverTotal;
        unseen = 0;
      }
    } else {
      // Rows inserted at the top while it was out, which the server did not count yet.
      shift = Math.max(0, Math.min(total - serverTotal, inserts - req.inserts));
    }
    items.forEach((run, j) => {
      const index = req.from + shift + j;
      if (index >= total || gone.has(run.id)) return;
      const known = runs.get(where.get(run.id));
      if (known?.id === run.id && (STATUS_RANK[known.status] ?? 2) > (STATUS_RANK[run.status] ?? 2)) run = known; // an event told more
      keep(index, run);
    });
    if (req.from + shift === 0 && items.length >= unseen) unseen = 0;
    evict();
    counted();
    if (!list.isConnected) return;
    want(place({ force: true }));
  }

  /** Positions from `at` on move by `by` (a row inserted or removed before them). */
  function move(at, by) {
    const moved = [...runs].filter(([i]) => i >= at);
    for (const [i] of moved) runs.delete(i);
    for (const [i, run] of moved) {
      if (i + by < 0) continue;
      runs.set(i + by, run);
      where.set(run.id, i + by);
    }
    const shifted = [...drawn].filter(([i]) => i >= at);
    for (const [i] of shifted) drawn.delete(i);
    for (const [i, entry] of shifted) drawn.set(i + by, entry);
    if (shown.from >= at) shown.from = Math.max(0, shown.from + by);
    if (shown.to >= at) shown.to = Math.max(shown.from, shown.to + by);
  }

  /** Keeps about KEEP runs in memory: the ones far from the viewport go (they can come again). */
  function evict() {
    if (runs.size <= KEEP) return;
    for (const [i, run] of runs) {
      if (Math.abs(i - lastTop) > KEEP / 2) {
        runs.delete(i);
        if (where.get(run.id) === i) where.delete(run.id);
      }
    }
  }

  function insertAt(at, run) {
    if (!total) {
      replaceChildren(list, topSpacer, bottomSpacer);
      spacerSize.set(topSpacer, "").set(bottomSpacer, "");
      drawn.clear();
      shown = { from: 0, to: 0 };
    }
    const stay = holdView(at);
    move(at, 1);
    total += 1;
    changes += 1;
    inserts += 1;
    keep(at, run);
    stay(1);
  }

  /**
   * Rows about to be inserted (or removed) at `at`: when that is above the rows the viewport shows,
   * the returned function scrolls by as many rows, so the runs someone reads stay where they are (the
   * browser's own scroll anchoring is off for the list: the list places its rows itself).
   */
  function holdView(at) {
    if (!ready || !total || !list.isConnected) return () => {};
    const geo = geometry();
    if (geo.scaled || geo.top === 0 || at > geo.top) return () => {};
    return (rowsMoved) => scroller().scrollBy(0, rowsMoved * geo.rh);
  }

  /** The element the list scrolls in: the page, or a column of its own (the studio's). */
  function scroller() {
    for (let el = list.parentElement; el && el !== document.body; el = el.parentElement) {
      const overflow = getComputedStyle(el).overflowY;
      if ((overflow === "auto" || overflow === "scroll") && el.scrollHeight > el.clientHeight) return el;
    }
    return document.scrollingElement ?? document.documentElement;
  }

  return {
    root,
    load,
    /** A run as an event announced it: its row changes in place, or a new row goes where it belongs. */
    upsert(summary) {
      if (flowId && summary.flowId !== flowId) return;
      if (!ready) return; // the first page, on its way, brings it
      const { steps, ...run } = summary; // a list row needs no step statuses
      const matches = !status || status === run.status;
      const index = where.get(run.id);
      if (index !== undefined && runs.get(index)?.id === run.id) {
        if (matches) {
          runs.set(index, { ...runs.get(index), ...run });
        } else {
          // It left the filter: the rows after it move up.
          const stay = holdView(index);
          runs.delete(index);
          where.delete(run.id);
          gone.add(run.id);
          move(index + 1, -1);
          total -= 1;
          changes += 1;
          stay(-1);
          if (!total) {
            drawn.clear();
            empty();
            list.removeAttribute("aria-busy");
          }
        }
      } else {
        if (!matches) return;
        gone.delete(run.id);
        const newer = (r) => r.createdAt > run.createdAt || (r.createdAt === run.createdAt && r.id > run.id);
        if (unseen > 0 && !runs.has(unseen - 1) && !(runs.has(unseen) && newer(runs.get(unseen)))) {
          // One of the runs the server counted before its event came: its place is kept.
          unseen -= 1;
          keep(unseen, run);
        } else {
          // Newest first: after every known row that is newer, from the top.
          let at = 0;
          while (at < total && runs.has(at) && newer(runs.get(at))) at += 1;
          if (at === total || runs.has(at)) {
            insertAt(at, run);
          } else if (at === 0 ? status || run.status === "queued" || run.status === "waiting" : status) {
            if (at === 0) insertAt(0, run);
            else {
              // New to the filter somewhere below what is known: counted; what follows moved, so it is asked for again.
              for (const [i, r] of runs) if (i >= at) { runs.delete(i); where.delete(r.id); }
              total += 1;
              changes += 1;
            }
          } else {
            return; // an older run of the history, not loaded: a page brings it when it is in view
          }
        }
      }
      counted();
      if (total && list.isConnected) want(place({ force: true }));
    },
    select(id) {
      for (const { li, run } of drawn.values()) {
        if (!run) continue;
        const link = li.querySelector("a");
        if (run.id === id) link?.setAttribute("aria-current", "true");
        else if (run.id === selectedId) link?.removeAttribute("aria-current");
      }
      selectedId = id;
    },
    /** How many runs the history has (loaded or not). */
    get size() {
      return total;
    },
  };
}
