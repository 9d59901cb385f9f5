// A run history (GET /api/v1/runs, newest first): a status filter, one row per run linking to it,
// "Load more" with the API's `next` cursor, and live rows — `upsert(summary)` takes each
// server-sent event, so a new run appears at the top at once and a running one changes status
// where it is.

import { api } from "../api.js";
import { h, replaceChildren, timeElement, uid } from "../dom.js";
import { icon } from "../icons.js";
import { formAlert } from "./form.js";
import { duration, statusBadge, STATUS_TEXT } from "./run-view.js";

const STATUSES = ["queued", "running", "succeeded", "failed", "ambiguous", "cancelled"];
const TRIGGER_WORD = { webhook: "Webhook", cron: "Schedule", manual: "Manual", unknown: "Unknown trigger" };

export function createRunList({ flowId, flowName, hrefFor, onOpen, pageSize = 25, signal, label = "Runs", emptyText }) {
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

  let items = [];
  let next = null;
  let selectedId = null;
  let loading = false;

  filter.addEventListener("change", () => load());
  more.addEventListener("click", () => load({ append: true }));

  async function load({ append = false } = {}) {
    if (loading && append) return;
    loading = true;
    const query = new URLSearchParams({ limit: String(pageSize) });
    if (flowId) query.set("flowId", flowId);
    if (filter.value) query.set("status", filter.value);
    if (append && next) query.set("cursor", next);
    if (append) {
      more.disabled = true;
      more.replaceChildren(icon("loader", { className: "icon--spin" }), "Loading…");
    } else if (!items.length) {
      list.setAttribute("aria-busy", "true");
      replaceChildren(list, [1, 2, 3].map(() => h("li", { class: "run-row run-row--skeleton" }, h("span", { class: "skeleton skeleton--title" }))));
    }
    try {
      const page = await api(`/runs?${query}`, { signal });
      items = append ? [...items, ...page.items] : page.items;
      next = page.next ?? null;
      alertSlot.hidden = true;
      render();
      if (append) list.children[items.length - page.items.length]?.querySelector("a")?.focus();
    } catch (error) {
      if (error.name === "AbortError") return;
      formAlert(alertSlot, error);
      if (!append) replaceChildren(list);
    } finally {
      loading = false;
      list.removeAttribute("aria-busy");
      more.disabled = false;
      more.replaceChildren("Load more");
    }
  }

  function render() {
    more.hidden = !next;
    if (!items.length) {
      replaceChildren(list, h("li", { class: "run-list__empty" }, filter.value ? `No ${STATUS_TEXT[filter.value].toLowerCase()} runs.` : emptyText ?? "No runs yet."));
      return;
    }
    replaceChildren(list, items.map(row));
  }

  function row(run) {
    const took = run.finishedAt ? duration(run.startedAt, run.finishedAt) : null; // a running one's time moves
    const link = h(
      "a",
      { class: "run-row__link", href: hrefFor(run), "aria-current": run.id === selectedId ? "true" : null },
      statusBadge(run.status),
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
    return h("li", { class: "run-row", "data-run": run.id }, link);
  }

  return {
    root,
    load,
    /** A run as an event announced it. */
    upsert(summary) {
      if (flowId && summary.flowId !== flowId) return;
      const matches = !filter.value || filter.value === summary.status;
      const index = items.findIndex((r) => r.id === summary.id);
      const { steps, ...run } = summary; // a list row needs no step statuses
      if (index >= 0) {
        if (matches) items[index] = { ...items[index], ...run };
        else items.splice(index, 1);
      } else if (matches) {
        // Newest first: in its place when it falls inside what is loaded (or nothing follows).
        const at = items.findIndex((r) => r.createdAt < run.createdAt);
        if (at >= 0) items.splice(at, 0, run);
        else if (!next) items.push(run);
        else return;
      } else {
        return;
      }
      render();
    },
    select(id) {
      selectedId = id;
      for (const a of list.querySelectorAll(".run-row__link")) {
        if (a.closest("[data-run]").dataset.run === id) a.setAttribute("aria-current", "true");
        else a.removeAttribute("aria-current");
      }
    },
  };
}
