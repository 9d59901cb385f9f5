// Flows (/flows): the workspace's flows — name, trigger, enabled or draft, last run — with New
// flow (a disabled draft, opened at once), Duplicate (a disabled copy) and Delete (confirmed).

import { api } from "../api.js";
import { badge } from "../components/badge.js";
import { confirmDialog } from "../components/dialog.js";
import { formAlert } from "../components/form.js";
import { statusBadge } from "../components/run-view.js";
import { toast } from "../components/toast.js";
import { h, replaceChildren, timeElement } from "../dom.js";
import { icon } from "../icons.js";

export const title = "Flows";

/** `base`, else `base 2`, `base 3`… (flow names are unique in a workspace: 409 otherwise). */
export function freeName(base, taken, { copy = false } = {}) {
  const names = new Set(taken);
  if (!names.has(base)) return base;
  for (let n = 2; ; n += 1) {
    const name = copy ? base.replace(/\(copy\)$/, `(copy ${n})`) : `${base} ${n}`;
    if (!names.has(name)) return name;
  }
}

/** Creates a flow, taking the next free name when another flow took this one meanwhile. */
export async function createFlow(input, taken) {
  const names = [...taken];
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      return await api("/flows", { method: "POST", body: input });
    } catch (error) {
      if (error.status !== 409 || error.code === "version_conflict") throw error;
      names.push(input.name);
      input = { ...input, name: freeName(input.name, names, { copy: input.name.includes("(copy") }) };
    }
  }
  throw new Error("Could not find a free name for the flow. Rename one and try again.");
}

export function triggerSummary(trigger) {
  if (trigger.type === "webhook") return [icon("webhook"), h("span", {}, "Webhook"), trigger.hasSecret ? h("span", { class: "muted", title: "Callers must send X-Webhook-Secret" }, icon("lock", { label: "with a secret" })) : null];
  if (trigger.type === "cron") return [icon("clock"), h("span", {}, "Schedule "), h("code", {}, trigger.expression)];
  if (trigger.type === "email.bounced") return [icon("mail"), h("span", {}, "Email bounced")];
  if (trigger.type === "email.complained") return [icon("alert"), h("span", {}, "Spam complaint")];
  return [icon("hand"), h("span", {}, "Manual")];
}

export async function render({ shell, content, signal, navigate }) {
  const create = h("button", { type: "button", class: "btn btn--primary" }, icon("plus"), "New flow");
  shell.header({ title: "Flows", lead: "A flow starts from a trigger — a webhook, a schedule or a click — and runs its steps in order, such as Send SMTP Email.", actions: [create] });
  const slot = h("div", {}, skeleton());
  content.append(slot);
  let flows = [];

  create.addEventListener("click", () => newFlow(create));

  async function load() {
    try {
      flows = (await api("/flows", { signal })).flows ?? [];
      replaceChildren(slot, flows.length ? table() : empty());
    } catch (error) {
      if (error.name === "AbortError") return;
      formAlert(slot, error);
    }
  }

  async function newFlow(button) {
    const label = button.textContent;
    button.disabled = true;
    button.replaceChildren(icon("loader", { className: "icon--spin" }), "Creating…");
    try {
      const input = { name: freeName("Untitled flow", flows.map((f) => f.name)), trigger: { type: "manual" }, steps: [], enabled: false };
      const flow = await createFlow(input, flows.map((f) => f.name));
      navigate(`/flows/${encodeURIComponent(flow.id)}`);
    } catch (error) {
      toast(`Could not create a flow: ${error.message}`, { kind: "error" });
      button.disabled = false;
      button.replaceChildren(icon("plus"), label);
    }
  }

  async function duplicate(flow, button) {
    button.disabled = true;
    try {
      const full = await api(`/flows/${encodeURIComponent(flow.id)}`, { signal });
      const trigger = { type: full.trigger.type };
      if (full.trigger.type === "cron") Object.assign(trigger, { expression: full.trigger.expression, timeZone: full.trigger.timeZone });
      const input = {
        name: freeName(`${full.name} (copy)`, flows.map((f) => f.name), { copy: true }),
        trigger,
        steps: full.steps.map(({ id, type, parameters, onError }) => ({ id, type, parameters, onError })),
        enabled: false,
        retry: full.retry,
        sampleBody: full.sampleBody ?? null,
      };
      const copy = await createFlow(input, flows.map((f) => f.name));
      const note = full.trigger.type === "webhook" ? " It has its own webhook address, and no secret." : "";
      toast(`“${copy.name}” created as a draft.${note}`);
      await load();
      slot.querySelector(`[data-flow="${CSS.escape(copy.id)}"] a`)?.focus();
    } catch (error) {
      if (error.name === "AbortError") return;
      toast(`Could not duplicate “${flow.name}”: ${error.message}`, { kind: "error" });
      button.disabled = false;
    }
  }

  async function remove(flow, button) {
    const deleted = await confirmDialog({
      title: `Delete “${flow.name}”?`,
      body: h(
        "p",
        {},
        flow.trigger.type === "webhook" ? "Its webhook address stops answering at once. " : flow.trigger.type === "cron" ? "Its schedule stops. " : "",
        "Its run history stays in Runs. This can't be undone.",
      ),
      confirmLabel: "Delete flow",
      progressLabel: "Deleting…",
      opener: button,
      fallbackFocus: () => create,
      action: () => api(`/flows/${encodeURIComponent(flow.id)}`, { method: "DELETE" }),
    });
    if (deleted) {
      toast(`“${flow.name}” deleted.`);
      await load();
      create.focus();
    }
  }

  function table() {
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden" }, "Flows of this workspace"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Trigger"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Last run"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
        h("tbody", {}, flows.map(row)),
      ),
    );
  }

  function row(flow) {
    const dup = h("button", { type: "button", class: "btn btn--sm btn--ghost btn--icon", "aria-label": `Duplicate ${flow.name}`, title: "Duplicate" }, icon("duplicate"));
    const del = h("button", { type: "button", class: "btn btn--sm btn--ghost btn--icon btn--danger-text", "aria-label": `Delete ${flow.name}`, title: "Delete" }, icon("trash"));
    dup.addEventListener("click", () => duplicate(flow, dup));
    del.addEventListener("click", () => remove(flow, del));
    const problems = flow.problems?.length ?? 0;
    const status = flow.enabled
      ? badge("succeeded", "Enabled", { iconName: "check-circle" })
      : badge("neutral", problems ? `Draft · ${problems} ${problems === 1 ? "problem" : "problems"}` : "Draft", { iconName: problems ? "alert" : "minus-circle" });
    const last = flow.lastRun
      ? h("a", { class: "last-run", href: `/runs/${encodeURIComponent(flow.lastRun.id)}` }, statusBadge(flow.lastRun.status), h("span", { class: "visually-hidden" }, " run, "), timeElement(flow.lastRun.finishedAt ?? flow.lastRun.createdAt))
      : h("span", { class: "muted" }, "Never run");
    return h(
      "tr",
      { "data-flow": flow.id },
      h("td", { "data-label": "Name" }, h("div", {}, h("a", { class: "table__primary", href: `/flows/${encodeURIComponent(flow.id)}` }, flow.name), h("div", { class: "table__sub" }, `${flow.steps.length} ${flow.steps.length === 1 ? "step" : "steps"}`))),
      h("td", { "data-label": "Trigger" }, h("span", { class: "trigger-summary" }, triggerSummary(flow.trigger))),
      h("td", { "data-label": "Status" }, status),
      h("td", { "data-label": "Last run" }, last),
      h("td", { class: "table__actions" }, dup, del),
    );
  }

  function empty() {
    return h(
      "div",
      { class: "tile" },
      h(
        "div",
        { class: "empty" },
        h("span", { class: "empty__icon" }, icon("flows", { className: "icon--lg" })),
        h("h2", { class: "empty__title" }, "No flows yet"),
        h("p", { class: "empty__text" }, "Create a flow, pick how it starts, and add a Send SMTP Email step to send from your own server."),
        h("button", { type: "button", class: "btn", onclick: (event) => newFlow(event.currentTarget) }, icon("plus"), "New flow"),
      ),
    );
  }

  await load();
}

function skeleton() {
  return h("div", { class: "table-wrap", "aria-busy": "true", "aria-label": "Loading flows" }, [1, 2, 3].map(() => h("div", { class: "item" }, h("div", { class: "item__main" }, h("span", { class: "skeleton skeleton--title" }), h("span", { class: "skeleton skeleton--text" })))));
}
