// Flow Studio (/flows/{id}, /flows/{id}/runs/{runId}): the spec's Steps 2 and 3.
//
// The canvas (trigger, then steps in order) in the middle, the right panel for what is selected
// (a step's form, the trigger, or a run), the toolbar (Rename, Browse nodes, Enabled, Save, Run)
// in the page header, and the flow's runs under the canvas, live over server-sent events.
//
// Everything edits a draft copy of the flow; Save (or Ctrl+S) PUTs it with the `version` read,
// so a save over someone else's is a 409 ("changed elsewhere — reload"). A disabled flow saves
// with problems; the server's `problems` are pinned to the steps they name and shown at their
// cards and fields. Leaving with unsaved changes asks first.
//
// Part 2: the test body is the flow's sample body (saved with it); `{{` in a step's text field
// offers the variables it can use (the sample's fields, the outputs of the steps above — from the
// last run, else each node's declared outputs — run.id and now) and flags references that cannot
// work; a step's Preview tab renders it for the test body without running it (an email step: the
// exact message); the schedule panel reads a cron trigger back from the server; the canvas zooms
// and the run history loads as it is scrolled.

import { api } from "../api.js";
import { badge } from "../components/badge.js";
import { createCanvas } from "../components/flow-canvas.js";
import { openFlowNameDialog } from "../components/flow-name-dialog.js";
import { busy, clearErrors, formAlert } from "../components/form.js";
import { nodeForm, stepIdProblem } from "../components/node-form.js";
import { openPalette } from "../components/node-palette.js";
import { createRunList } from "../components/run-list.js";
import { isActive, runView, STATUS_TEXT } from "../components/run-view.js";
import { stepPreview } from "../components/step-preview.js";
import { toggleSwitch } from "../components/switch.js";
import { testBodyEditor } from "../components/test-body.js";
import { announce, toast } from "../components/toast.js";
import { triggerForm } from "../components/trigger-form.js";
import { h, replaceChildren, timeElement, uid } from "../dom.js";
import { subscribeRuns } from "../events.js";
import { dropProblems, fingerprint, isObject, move, newStep, parseField, pinProblems, problemCount, toDraft, toInput } from "../flow-model.js";
import { icon } from "../icons.js";
import { nodeIcon, preferredStepId } from "../node-rules.js";

export const title = "Flow Studio";

const isMac = /Mac|iPhone|iPad/.test(navigator.platform ?? "");
const MOD = isMac ? "⌘" : "Ctrl";
const phone = matchMedia("(max-width: 760px)");

export async function render({ shell, content, signal, params, workspace, setLeaveGuard }) {
  const flowId = params.flowId;
  shell.setWide(true);
  shell.header({ title: "Flow Studio" });
  content.append(h("div", { class: "studio-loading", "aria-busy": "true", "aria-label": "Loading the flow" }, h("span", { class: "skeleton skeleton--title" }), h("span", { class: "skeleton skeleton--text" })));

  let flow;
  let nodeList;
  let credentials = [];
  try {
    [flow, nodeList, credentials] = await Promise.all([
      api(`/flows/${encodeURIComponent(flowId)}`, { signal }),
      api("/nodes", { signal }).then((a) => a.nodes ?? []),
      // A flow opens without them (the dropdown then says so); only the credential field needs them.
      api("/credentials", { signal }).then((a) => a.credentials ?? [], () => []),
    ]);
  } catch (error) {
    if (error.name === "AbortError") return;
    shell.setTitle(error.status === 404 ? "Flow not found" : "Flow Studio");
    const slot = h("div");
    formAlert(slot, error.status === 404 ? { message: "This flow does not exist in this workspace. It may have been deleted, or it belongs to another workspace." } : error);
    replaceChildren(content, slot, h("p", {}, h("a", { href: "/flows" }, "Back to Flows")));
    return;
  }
  if (signal.aborted) return;

  const nodes = new Map(nodeList.map((n) => [n.type, n]));
  const store = {
    list: credentials.filter((c) => (c.type ?? "smtp") === "smtp"),
    admin: workspace?.role === "admin",
    add(credential) {
      if (!this.list.some((c) => c.id === credential.id)) this.list.push({ id: credential.id, type: credential.type ?? "smtp", name: credential.name });
    },
  };

  // ---- State ------------------------------------------------------------------------------------

  let draft = toDraft(flow);
  let baseline = fingerprint(draft);
  let pinned = pinProblems(flow.problems, draft.steps);
  let savedPrints = stepPrints(draft.steps);
  let selected = null; // {kind: "trigger"} | {kind: "step", key} | {kind: "run", id}
  let sheetOpen = false; // phone: the panel is a full-screen sheet
  let revealedSecret = null; // a secret just saved, shown until the panel shows something else
  let panelForm = null;
  let saving = false;
  let shownRun = null;
  let problemsAlertShown = false; // the alert is about the flow's problems (and goes with them)
  const runDisclosures = new Set();
  let lastRun = null; // the flow's newest run (GET /runs/{id}): outputs and trigger body to suggest
  let stepView = "settings"; // a step's panel: "settings" | "preview"
  let showPreviewTab = null; // the open step panel's tab switch
  const previewDisclosures = new Set();

  // ---- Toolbar ----------------------------------------------------------------------------------

  const renameButton = h("button", { type: "button", class: "btn btn--ghost btn--icon", "aria-label": "Rename flow", title: "Rename flow" }, icon("pencil"));
  const browseButton = h("button", { type: "button", class: "btn", title: `Browse nodes (${MOD}+K)`, "aria-keyshortcuts": isMac ? "Meta+K" : "Control+K" }, icon("search"), "Browse nodes", h("kbd", { class: "kbd hide-on-phone", "aria-hidden": "true" }, `${MOD} K`));
  const enabled = toggleSwitch({ label: "Enabled", checked: flow.enabled, onToggle: (next) => setEnabled(next) });
  const saveButton = h("button", { type: "button", class: "btn", title: `Save (${MOD}+S)`, "aria-keyshortcuts": isMac ? "Meta+S" : "Control+S" }, "Save");
  const runButton = h("button", { type: "button", class: "btn btn--primary", title: `Run with the test body (${MOD}+Enter)`, "aria-keyshortcuts": isMac ? "Meta+Enter" : "Control+Enter" }, icon("play"), "Run");
  shell.header({ title: draft.name, actions: [renameButton, browseButton, enabled.root, saveButton, runButton] });
  document.title = `${draft.name} · Posthorn`;

  // ---- Layout -----------------------------------------------------------------------------------

  const statusLine = h("div", { class: "studio__status" });
  const alertSlot = h("div", { class: "studio__alert" });
  const problemsSlot = h("div");
  const canvas = createCanvas({ onSelect: (sel) => select(sel, { from: "canvas" }), onMove: moveStep, onDelete: deleteStep, onInsert: (index, opener) => browse(opener, index) });
  const testBody = testBodyEditor({
    value: draft.sampleBody,
    onChange: (value) => {
      draft.sampleBody = value;
      changed();
      previewStale();
    },
  });
  const runList = createRunList({
    flowId,
    signal,
    pageSize: 10,
    morePageSize: 50,
    onLoad: (items, { filtered }) => {
      if (!filtered && items[0]) loadLastRun(items[0].id);
    },
    label: "Runs of this flow",
    emptyText: "No runs yet. Press Run to send a test with the body above.",
    hrefFor: (run) => `/flows/${encodeURIComponent(flowId)}/runs/${encodeURIComponent(run.id)}`,
    onOpen: (run) => openRun(run.id, { push: true }),
  });
  const runsSection = h(
    "section",
    { class: "studio__runs tile", "aria-labelledby": "studio-runs-title" },
    h("div", { class: "tile__header" }, h("span", { class: "tile__icon" }, icon("runs")), h("div", { class: "grow" }, h("h2", { class: "tile__title", id: "studio-runs-title" }, "Runs"), h("p", { class: "tile__desc" }, "Test the flow with a body — preview a step, or run it all and follow each step live."))),
    h("div", { class: "studio__runs-body" }, testBody.root, runList.root),
  );

  const panelTitle = h("h2", { class: "panel__title", id: "studio-panel-title", tabindex: "-1" });
  const panelClose = h("button", { type: "button", class: "btn btn--ghost btn--icon panel__close", "aria-label": "Close panel", title: "Close (Esc)" }, icon("x"));
  const panelBody = h("div", { class: "panel__body" });
  const panel = h("aside", { class: "studio__panel", "aria-labelledby": "studio-panel-title" }, h("header", { class: "panel__header" }, panelTitle, panelClose), panelBody);
  const main = h("div", { class: "studio__main" }, statusLine, alertSlot, problemsSlot, canvas.root, runsSection);
  const root = h("div", { class: "studio" }, main, panel);
  replaceChildren(content, root);

  // ---- Drawing ----------------------------------------------------------------------------------

  function isDirty() {
    return fingerprint(draft) !== baseline;
  }

  function renderStatus() {
    const dirty = isDirty();
    saveButton.classList.toggle("btn--dirty", dirty);
    saveButton.setAttribute("aria-label", dirty ? "Save (unsaved changes)" : "Save");
    const count = problemCount(pinned);
    // Unchanged (a keystroke in a field): nothing to draw — a long flow's column is not laid out again.
    const sig = JSON.stringify([draft.enabled, count, dirty, flow.updatedAt]);
    if (sig === statusLine.dataset.sig) return;
    statusLine.dataset.sig = sig;
    replaceChildren(
      statusLine,
      draft.enabled ? badge("succeeded", "Enabled", { iconName: "check-circle" }) : badge("neutral", "Draft", { iconName: "minus-circle" }),
      count ? badge("warning", count === 1 ? "1 problem" : `${count} problems`) : null,
      dirty ? h("span", { class: "studio__dirty" }, h("span", { class: "dot", "aria-hidden": "true" }), "Unsaved changes") : h("span", { class: "muted" }, "Saved ", timeElement(flow.updatedAt)),
    );
  }

  function renderCanvas() {
    const unsaved = new Set(draft.steps.filter((s) => savedPrints.get(s.key) !== stepPrint(s)).map((s) => s.key));
    canvas.render({
      trigger: draft.trigger,
      triggerDetail: triggerDetail(),
      triggerProblems: pinned.trigger,
      steps: draft.steps,
      nodes,
      selected,
      stepProblems: pinned.steps,
      unsaved,
    });
  }

  function triggerDetail() {
    const t = draft.trigger;
    if (t.type === "cron") return `${t.expression || "No schedule yet"} · ${(t.timeZone || "UTC").replaceAll("_", " ")}`;
    if (t.type === "webhook") return flow.trigger.type === "webhook" && flow.trigger.url ? `POST ${flow.trigger.url}` : "Address assigned on save";
    if (t.type === "email.bounced") return "When a message of this workspace bounces";
    if (t.type === "email.complained") return "When a recipient reports spam";
    return "Run here or through the API";
  }

  function renderProblems() {
    const items = [];
    for (const p of pinned.flow) items.push({ text: p.message, go: () => (p.field === "steps" ? browse(browseButton) : null) });
    for (const p of pinned.trigger) items.push({ text: `Trigger: ${p.message}`, go: () => goTo({ kind: "trigger" }, p.name) });
    for (const step of draft.steps) {
      for (const p of pinned.steps.get(step.key) ?? []) items.push({ text: `${nodes.get(step.type)?.label ?? step.type} (${step.id}): ${p.message}`, go: () => goTo({ kind: "step", key: step.key }, p.path) });
    }
    const sig = JSON.stringify([draft.enabled, items.map((item) => item.text)]);
    if (sig === problemsSlot.dataset.sig) return;
    problemsSlot.dataset.sig = sig;
    if (!items.length) return replaceChildren(problemsSlot);
    replaceChildren(
      problemsSlot,
      h(
        "div",
        { class: "callout callout--warning problems", role: "region", "aria-label": "Problems" },
        icon("alert"),
        h(
          "div",
          { class: "callout__body" },
          h("p", { class: "callout__title" }, draft.enabled ? `${items.length} ${items.length === 1 ? "problem" : "problems"} to fix` : `This draft has ${items.length} ${items.length === 1 ? "problem" : "problems"}`),
          h("p", {}, draft.enabled ? "An enabled flow saves only without problems: fix them, or turn Enabled off to save a draft." : "A draft saves with problems; fix them to enable the flow or run it."),
          h(
            "ul",
            { class: "problems__list" },
            items.map((item) => {
              const link = h("button", { type: "button", class: "link-button" }, item.text);
              link.addEventListener("click", item.go);
              return h("li", {}, link);
            }),
          ),
        ),
      ),
    );
  }

  function renderAll() {
    renderStatus();
    renderProblems();
    renderCanvas();
  }

  /** After any edit: unsaved marks, card badges, the problem list. */
  function changed() {
    renderAll();
    panelForm?.recheckVariables?.(); // a step moved or renamed, the sample changed: references read again
    // "Fix these problems…" goes once the last problem was dealt with.
    if (problemsAlertShown && !problemCount(pinned)) clearAlert();
  }

  // ---- Selection and the panel ------------------------------------------------------------------

  function select(sel, { from, focusField = false } = {}) {
    const same = sel && selected && sel.kind === selected.kind && sel.key === selected.key && sel.id === selected.id;
    if (selected?.kind === "run" && sel?.kind !== "run") history.replaceState(null, "", `/flows/${encodeURIComponent(flowId)}`);
    selected = sel;
    if (!same) stepView = "settings";
    if (!same || !panelForm) {
      revealedSecret = sel?.kind === "trigger" ? revealedSecret : null;
      renderPanel();
    }
    sheetOpen = Boolean(sel);
    applySheet();
    renderCanvas();
    if (from === "canvas" && sel) {
      if (phone.matches) panelTitle.focus();
      else canvas.focusCard(sel.kind === "trigger" ? "trigger" : sel.key);
    }
    if (focusField) panelBody.querySelector("input:not([type=hidden]), select, textarea")?.focus();
  }

  function renderPanel() {
    panelForm = null;
    shownRun = null;
    showPreviewTab = null;
    root.classList.remove("studio--preview");
    runList.select(selected?.kind === "run" ? selected.id : null);
    panelClose.hidden = !selected;
    if (!selected) {
      panelTitle.textContent = "Nothing selected";
      return replaceChildren(
        panelBody,
        h(
          "div",
          { class: "empty" },
          h("span", { class: "empty__icon" }, icon("flows", { className: "icon--lg" })),
          h("h3", { class: "empty__title" }, "Select the trigger or a step"),
          h("p", { class: "empty__text" }, "Its settings open here. Press ", h("kbd", { class: "kbd" }, `${MOD} K`), " or Browse nodes to add a step, such as Send SMTP Email."),
        ),
      );
    }
    if (selected.kind === "trigger") {
      panelTitle.textContent = "Trigger";
      const form = triggerForm({
        draft,
        saved: flow.trigger,
        flowId,
        revealedSecret,
        sampleBody: () => testBody.sample(),
        onChange: (name) => {
          // A new trigger type makes every old trigger problem moot; otherwise only that field's.
          pinned.trigger = name === "type" ? [] : pinned.trigger.filter((p) => p.name !== name);
          changed();
        },
      });
      form.showProblems(pinned.trigger);
      panelForm = form;
      return replaceChildren(panelBody, form.root);
    }
    if (selected.kind === "step") {
      const step = draft.steps.find((s) => s.key === selected.key);
      const node = step && nodes.get(step.type);
      if (!step) {
        selected = null;
        return renderPanel();
      }
      panelTitle.replaceChildren(h("span", { class: "panel__icon" }, icon(nodeIcon(step.type))), h("span", {}, node?.label ?? step.type));
      if (!node) {
        return replaceChildren(panelBody, h("p", { class: "callout callout--warning" }, icon("alert"), h("span", {}, `This server has no node of type ${step.type}. Delete the step, or add the node back to the server.`)));
      }
      const form = nodeForm({
        step,
        node,
        steps: draft.steps,
        store,
        onChange: (path) => {
          dropProblems(pinned, step.key, path);
          changed();
        },
        variables: () => variableContext(step),
      });
      form.showProblems(pinned.steps.get(step.key) ?? []);
      return renderStepPanel(step, node, form);
    }
    // A run.
    panelTitle.textContent = "Run";
    replaceChildren(panelBody, h("div", { "aria-busy": "true" }, h("span", { class: "skeleton skeleton--title" }), h("span", { class: "skeleton skeleton--text" })));
    refreshRun();
  }

  /** What the variable picker offers at `step`, and what its references are checked against. */
  function variableContext(step) {
    const runBody = isObject(lastRun?.trigger?.body) && Object.keys(lastRun.trigger.body).length ? lastRun.trigger.body : null;
    return {
      sample: draft.sampleBody ?? runBody,
      sampleSource: draft.sampleBody ? "sample" : "run",
      steps: draft.steps,
      index: draft.steps.findIndex((s) => s.key === step.key),
      nodes,
      lastRun,
    };
  }

  /** A step's panel: its settings (the form) and its preview, as two tabs. */
  function renderStepPanel(step, node, form) {
    const ids = { settings: uid("step-settings"), preview: uid("step-preview") };
    const tab = (name, label, iconName) =>
      h("button", { type: "button", role: "tab", class: "panel__tab", id: `${ids[name]}-tab`, "aria-controls": ids[name], "aria-selected": "false", tabindex: "-1" }, iconName ? icon(iconName) : null, label);
    const tabs = { settings: tab("settings", "Settings"), preview: tab("preview", "Preview", "eye") };
    const views = {
      settings: h("div", { role: "tabpanel", class: "panel__tabpanel", id: ids.settings, "aria-labelledby": `${ids.settings}-tab` }, h("p", { class: "panel__summary" }, node.summary), form.root),
      preview: h("div", { role: "tabpanel", class: "panel__tabpanel", id: ids.preview, "aria-labelledby": `${ids.preview}-tab`, tabindex: "-1", hidden: true }),
    };
    const list = h("div", { class: "panel__tabs", role: "tablist", "aria-label": `${node.label} ${step.id}` }, tabs.settings, tabs.preview);
    const again = h("button", { type: "button", class: "btn btn--sm", title: "Render the step again for the test body (saves the flow first when it has changes)" }, icon("refresh"), "Preview again");
    again.addEventListener("click", () => previewStep(step, views.preview, again));
    const bar = h("div", { class: "panel__tabbar" }, list, again);

    function show(name, { focus = false, run = true } = {}) {
      stepView = name;
      for (const key of ["settings", "preview"]) {
        tabs[key].setAttribute("aria-selected", String(key === name));
        tabs[key].tabIndex = key === name ? 0 : -1;
        views[key].hidden = key !== name;
      }
      root.classList.toggle("studio--preview", name === "preview");
      again.hidden = name !== "preview";
      if (focus) tabs[name].focus();
      if (name === "preview" && run) previewStep(step, views.preview, again);
    }
    showPreviewTab = (name, options) => show(name, options);
    for (const key of ["settings", "preview"]) tabs[key].addEventListener("click", () => show(key));
    list.addEventListener("keydown", (event) => {
      if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
      event.preventDefault();
      const next = event.key === "Home" ? "settings" : event.key === "End" ? "preview" : stepView === "settings" ? "preview" : "settings";
      show(next, { focus: true });
    });

    // The studio's own calls (a problem's field, a client error) open the settings first.
    panelForm = {
      ...form,
      focus(path) {
        if (stepView !== "settings") show("settings", { run: false });
        return form.focus(path);
      },
    };
    replaceChildren(panelBody, bar, views.settings, views.preview);
    show(stepView === "preview" ? "preview" : "settings", { run: stepView === "preview" });
  }

  let previewTicket = 0;
  /** Renders the step for the test body (POST …/steps/{id}/preview) into `view`; saves first when needed. */
  async function previewStep(step, view, again) {
    const ticket = ++previewTicket;
    const slot = h("div", { class: "preview__slot" }); // what it says is announced in a word (below), not read out whole
    replaceChildren(view, slot);
    const progress = (text) => replaceChildren(slot, h("div", { class: "callout callout--progress", "aria-busy": "true" }, icon("loader", { className: "icon--spin" }), h("div", { class: "callout__body" }, h("p", { class: "callout__title" }, text), h("p", {}, "Nothing is sent."))));
    const body = testBody.read();
    if (!body) {
      replaceChildren(slot, h("p", { class: "callout callout--warning" }, icon("alert"), h("span", {}, "The test body is not a JSON object yet: fix it at its field, then Preview again.")));
      return;
    }
    busy(again, "Rendering…");
    try {
      if (isDirty()) {
        progress("Saving the flow first…");
        if (!(await save())) {
          if (ticket === previewTicket) replaceChildren(slot, h("p", { class: "callout callout--warning" }, icon("alert"), h("span", {}, "Not saved, so there is nothing to preview yet: fix what the page shows, then Preview again.")));
          return;
        }
      }
      progress("Rendering the step…");
      const index = draft.steps.findIndex((s) => s.key === step.key);
      const answer = await api(`/flows/${encodeURIComponent(flowId)}/steps/${encodeURIComponent(step.id)}/preview`, { method: "POST", body: { body }, signal });
      if (ticket !== previewTicket || !view.isConnected) return;
      replaceChildren(slot, stepPreview(answer, { flowId, index, open: previewDisclosures }));
      announce(answer.error ? `Preview: a run would fail at this step. ${answer.error.message}` : "Preview ready. Nothing was sent.");
    } catch (error) {
      if (error.name === "AbortError" || ticket !== previewTicket) return;
      const alert = h("div");
      formAlert(alert, error);
      replaceChildren(slot, alert);
    } finally {
      busy(again);
    }
  }

  /** The test body changed under an open preview: say so (previewing again saves the flow). */
  function previewStale() {
    const view = panelBody.querySelector(".panel__tabpanel:not([hidden]) .preview__slot");
    if (!view || view.querySelector(".preview__stale")) return;
    view.prepend(h("p", { class: "callout callout--warning preview__stale" }, icon("alert"), h("span", {}, "The test body changed since this preview: press Preview again.")));
  }

  function applySheet() {
    const open = phone.matches && sheetOpen && Boolean(selected);
    root.classList.toggle("studio--sheet", open);
    // Behind a full-screen sheet nothing may take the focus (as behind a modal dialog).
    main.inert = open;
    for (const el of [document.querySelector(".page-header"), document.querySelector(".topbar")]) if (el) el.inert = open;
  }
  phone.addEventListener("change", applySheet, { signal });

  panelClose.addEventListener("click", closePanel);
  function closePanel() {
    const was = selected;
    sheetOpen = false;
    if (!phone.matches) {
      if (was?.kind === "run") history.replaceState(null, "", `/flows/${encodeURIComponent(flowId)}`);
      selected = null;
      renderPanel();
      renderCanvas();
    }
    applySheet();
    if (was?.kind === "run") runList.root.querySelector('[aria-current="true"]')?.focus();
    else if (was) canvas.focusCard(was.kind === "trigger" ? "trigger" : was.key);
  }

  /** Opens what a problem is about and focuses its field. */
  function goTo(sel, path) {
    select(sel);
    requestAnimationFrame(() => panelForm?.focus(path));
  }

  // ---- Editing the canvas -----------------------------------------------------------------------

  function browse(opener, index) {
    if (document.querySelector("dialog[open]")) return;
    const at = index ?? insertionIndex();
    const where = at >= draft.steps.length ? "at the end" : at === 0 ? "as the first step" : `after ${draft.steps[at - 1].id}`;
    openPalette({ nodes: nodeList, opener, where, onPick: (node) => addNode(node, at) });
  }

  /** After the selected step, or at the end (after the trigger when it is selected). */
  function insertionIndex() {
    if (selected?.kind === "trigger") return 0;
    if (selected?.kind === "step") {
      const i = draft.steps.findIndex((s) => s.key === selected.key);
      if (i >= 0) return i + 1;
    }
    return draft.steps.length;
  }

  function addNode(node, index) {
    const step = newStep(node, draft.steps, preferredStepId(node.type));
    draft.steps.splice(index, 0, step);
    pinned.flow = pinned.flow.filter((p) => p.field !== "steps");
    select({ kind: "step", key: step.key });
    changed();
    root.querySelector(`[data-key="${CSS.escape(step.key)}"]`)?.classList.add("is-new");
    announce(`${node.label} added as step ${index + 1} of ${draft.steps.length}, with id ${step.id}. Its settings are open.`);
    if (phone.matches) panelTitle.focus();
    else panelBody.querySelector("select, input, textarea")?.focus();
  }

  function moveStep(from, to, { focus } = {}) {
    if (to < 0 || to >= draft.steps.length || from === to) return;
    const step = draft.steps[from];
    move(draft.steps, from, to);
    if (!(selected?.kind === "step" && selected.key === step.key)) {
      selected = { kind: "step", key: step.key }; // the moved step is the selected one (not opened as a sheet)
      renderPanel();
    }
    changed();
    if (focus === "card") canvas.focusCard(step.key);
    else canvas.focusMove(step.key, focus);
    announce(`${step.id} moved to position ${to + 1} of ${draft.steps.length}.`);
  }

  function deleteStep(index) {
    const [step] = draft.steps.splice(index, 1);
    pinned.steps.delete(step.key);
    if (selected?.kind === "step" && selected.key === step.key) {
      selected = null;
      renderPanel();
      applySheet();
    }
    changed();
    const next = draft.steps[Math.min(index, draft.steps.length - 1)];
    canvas.focusCard(next ? next.key : "trigger");
    announce(`Step ${step.id} deleted. Save to keep the change.`);
  }

  renameButton.addEventListener("click", () =>
    openFlowNameDialog({
      name: draft.name,
      opener: renameButton,
      onRename: (name) => {
        draft.name = name;
        shell.setTitle(name);
        pinned.flow = pinned.flow.filter((p) => p.field !== "name");
        changed();
      },
    }),
  );
  browseButton.addEventListener("click", () => browse(browseButton));

  // ---- Saving -----------------------------------------------------------------------------------

  /** Saves the draft (optionally with a new `enabled`); true when the server took it. */
  async function save({ enable } = {}) {
    if (saving) return false;
    if (enable === undefined && !isDirty()) {
      announce("No changes to save.");
      return true;
    }
    // What the page can tell before asking: step ids, and fields holding unstorable text.
    for (const step of draft.steps) {
      if (stepIdProblem(step, draft.steps)) {
        goTo({ kind: "step", key: step.key }, "$id");
        return false;
      }
    }
    const local = panelForm?.firstClientError?.();
    if (local) {
      showPreviewTab?.("settings", { run: false });
      local.focus();
      return false;
    }
    if (testBody.refuse()) return false; // the sample body is saved with the flow: it must be valid

    const input = toInput(draft);
    if (enable !== undefined) input.enabled = enable;
    const sentSteps = [...draft.steps];
    // What is saved if this succeeds (the secret is sent once and then forgotten).
    const { secret: _sent, ...triggerKept } = draft.trigger;
    const sentPrint = fingerprint({ ...draft, enabled: input.enabled, trigger: triggerKept });
    const sentSecret = typeof draft.trigger.secret === "string" ? draft.trigger.secret : null;
    saving = true;
    busy(saveButton, "Saving…");
    clearAlert();
    try {
      const saved = await api(`/flows/${encodeURIComponent(flowId)}`, { method: "PUT", body: input });
      flow = saved;
      draft.version = saved.version;
      draft.enabled = saved.enabled;
      delete draft.trigger.secret;
      // Edits made while the request was on its way stay unsaved.
      baseline = sentPrint;
      savedPrints = stepPrints(sentSteps);
      pinned = pinProblems(saved.problems, sentSteps);
      enabled.set(saved.enabled);
      if (sentSecret) revealedSecret = sentSecret;
      // No toast: it would cover the panel's lower fields. The status line under the title says
      // "Saved just now" (and the problem list what is left); screen readers hear it.
      const count = problemCount(pinned);
      const what = enable === true ? "Enabled and saved" : enable === false ? "Disabled and saved as a draft" : count ? "Saved as a draft" : "Saved";
      announce(count ? `${what}, with ${count} ${count === 1 ? "problem" : "problems"} to fix.` : `${what}.`);
      refreshPanelAfterSave();
      renderAll();
      return true;
    } catch (error) {
      if (error.name === "AbortError") return false;
      showSaveError(error, sentSteps, enable);
      return false;
    } finally {
      saving = false;
      busy(saveButton);
    }
  }

  /** The panel shows the saved state: problems at their fields, a new secret once. */
  function refreshPanelAfterSave() {
    if (selected?.kind === "trigger") {
      const focused = document.activeElement;
      renderPanel();
      if (focused && !focused.isConnected) panelBody.querySelector(".copy-btn")?.focus();
    } else {
      showPanelProblems();
    }
  }

  /** The open form shows the problems pinned to what it edits (and no older ones). */
  function showPanelProblems() {
    if (!panelForm) return;
    if (selected?.kind === "step") {
      clearErrors(panelForm.root);
      panelForm.showProblems(pinned.steps.get(selected.key) ?? []);
    } else if (selected?.kind === "trigger") {
      panelForm.showProblems(pinned.trigger);
    }
  }

  function showSaveError(error, sentSteps, enable) {
    if (error.code === "version_conflict") return showConflict();
    if (error.code === "flow_has_problems") {
      pinned = pinProblems(error.problems ?? [{ field: error.field, message: error.message }], sentSteps);
      renderAll();
      if (enable === true) {
        showAlert({ message: "Fix these problems to enable the flow." }, { kind: "warning" });
        problemsAlertShown = true;
      } else {
        // The problem list above the canvas says it (an enabled flow saves only without problems).
        announce("Not saved: an enabled flow can't be saved with problems. Fix them, or turn Enabled off to save a draft.");
      }
      goToField(error.field, error.message, sentSteps);
      return;
    }
    if (error.field === "sampleBody") return testBody.showError(error.message);
    if (error.field && error.status === 422) return goToField(error.field, error.message, sentSteps, { alsoAlert: true });
    if (error.status === 409 && error.field === "name") return showAlert({ ...error, message: `${error.message}. Flow names are unique in a workspace: rename this one.` }, { action: ["Rename", () => renameButton.click()] });
    showAlert(error);
  }

  /** A field the server named (`steps[1].parameters.to`): select its step and focus it there. */
  function goToField(field, message, steps = draft.steps, { alsoAlert = false } = {}) {
    const where = parseField(field);
    if (where.scope === "step" && steps[where.index]) {
      const key = steps[where.index].key;
      const list = pinned.steps.get(key) ?? [];
      if (!list.some((p) => p.path === where.path)) pinned.steps.set(key, [...list, { path: where.path, message, field }]);
      renderAll();
      select({ kind: "step", key });
      showPanelProblems(); // select() keeps a panel already open on this step: put them there too
      requestAnimationFrame(() => panelForm?.focus(where.path));
    } else if (where.scope === "trigger") {
      if (!pinned.trigger.some((p) => p.name === where.name)) pinned.trigger.push({ name: where.name, message, field });
      renderAll();
      select({ kind: "trigger" });
      showPanelProblems();
      requestAnimationFrame(() => panelForm?.focus(where.name));
    } else if (alsoAlert || where.name !== "steps") {
      showAlert({ message });
    }
  }

  function showConflict() {
    const reload = h("button", { type: "button", class: "btn btn--sm" }, icon("refresh"), "Reload");
    reload.addEventListener("click", async () => {
      busy(reload, "Reloading…");
      try {
        const fresh = await api(`/flows/${encodeURIComponent(flowId)}`, { signal });
        reset(fresh);
        clearAlert();
        toast("Reloaded: you see the latest version now.", { kind: "info" });
        canvas.focusCard("trigger");
      } catch (error) {
        busy(reload);
        showAlert(error);
      }
    });
    replaceChildren(
      alertSlot,
      h(
        "div",
        { class: "callout callout--warning", role: "alert" },
        icon("alert"),
        h("div", { class: "callout__body" }, h("p", { class: "callout__title" }, "This flow was changed elsewhere — reload to see the latest"), h("p", {}, "Someone (or another tab) saved it after you opened it. Reloading shows their version; your unsaved changes here are lost."), h("p", { class: "row" }, reload)),
      ),
    );
    reload.focus();
  }

  function showAlert(error, { kind = "danger", action } = {}) {
    const slot = h("div");
    if (kind === "danger") formAlert(slot, error);
    else slot.append(h("div", { class: `callout callout--${kind}`, role: "alert" }, icon("alert"), h("div", { class: "callout__body" }, h("p", {}, error.message))));
    if (action) {
      const button = h("button", { type: "button", class: "btn btn--sm" }, action[0]);
      button.addEventListener("click", action[1]);
      slot.querySelector(".callout__body").append(h("p", { class: "row" }, button));
    }
    problemsAlertShown = false;
    replaceChildren(alertSlot, slot);
  }

  function clearAlert() {
    problemsAlertShown = false;
    replaceChildren(alertSlot);
  }

  async function setEnabled(next) {
    const ok = await save({ enable: next });
    if (!ok) enabled.button.focus();
    return ok;
  }

  /** Starts over from a flow the server sent (after Reload). */
  function reset(fresh) {
    flow = fresh;
    draft = toDraft(fresh);
    baseline = fingerprint(draft);
    pinned = pinProblems(fresh.problems, draft.steps);
    savedPrints = stepPrints(draft.steps);
    selected = null;
    revealedSecret = null;
    enabled.set(fresh.enabled);
    testBody.set(fresh.sampleBody);
    if (!fresh.sampleBody) testBody.offer(lastRun);
    shell.setTitle(fresh.name);
    renderPanel();
    renderAll();
  }

  saveButton.addEventListener("click", () => save());

  // ---- Running ----------------------------------------------------------------------------------

  async function runFlow() {
    if (runButton.disabled) return;
    const body = testBody.read();
    if (!body) return;
    if (isDirty() && !(await save())) return;
    busy(runButton, "Starting…");
    try {
      const { runId } = await api(`/flows/${encodeURIComponent(flowId)}/runs`, { method: "POST", body });
      const now = new Date().toISOString();
      runList.upsert({ id: runId, flowId, status: "queued", triggerKind: "manual", error: null, createdAt: now, startedAt: null, finishedAt: null });
      announce("Run started.");
      openRun(runId, { push: true });
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error.code === "flow_has_problems") {
        pinned = pinProblems(error.problems ?? [{ field: error.field, message: error.message }], draft.steps);
        renderAll();
        showAlert({ message: "Fix these problems to run the flow." }, { kind: "warning" });
        problemsAlertShown = true;
        goToField(error.field, error.message);
      } else {
        showAlert(error);
      }
    } finally {
      busy(runButton);
    }
  }
  runButton.addEventListener("click", runFlow);

  function openRun(runId, { push = false } = {}) {
    const path = `/flows/${encodeURIComponent(flowId)}/runs/${encodeURIComponent(runId)}`;
    if (push && location.pathname !== path) history.pushState(null, "", path);
    select({ kind: "run", id: runId });
    if (phone.matches) panelTitle.focus();
  }

  let runRequest = null;
  let runAgain = false;
  /** Fetches the open run; events that arrive meanwhile fetch once more after. */
  async function refreshRun() {
    if (selected?.kind !== "run") return;
    if (runRequest) {
      runAgain = true;
      return;
    }
    const id = selected.id;
    runRequest = api(`/runs/${encodeURIComponent(id)}`, { signal });
    try {
      const run = await runRequest;
      if (selected?.kind !== "run" || selected.id !== id) return;
      const before = shownRun;
      // Unchanged (an event about something else): keep the view, and what the user has focused.
      if (before && JSON.stringify(before) === JSON.stringify(run)) return;
      shownRun = run;
      drawRun(run);
      if (before && before.status !== run.status) announce(`Run ${STATUS_TEXT[run.status]?.toLowerCase() ?? run.status}.`);
      else if (before) {
        for (const step of run.steps) {
          const old = before.steps.find((s) => s.id === step.id);
          if (!old || old.status !== step.status) announce(`Step ${step.id} ${STATUS_TEXT[step.status]?.toLowerCase() ?? step.status}.`);
        }
      }
    } catch (error) {
      if (error.name === "AbortError") return;
      const slot = h("div");
      formAlert(slot, error.status === 404 ? { message: "This run was not found in this workspace." } : error);
      replaceChildren(panelBody, slot);
    } finally {
      runRequest = null;
      if (runAgain) {
        runAgain = false;
        refreshRun();
      }
    }
  }

  function drawRun(run) {
    const focusedInside = panelBody.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = focusedInside?.closest("details")?.querySelector("summary") === focusedInside ? [...panelBody.querySelectorAll("summary")].indexOf(focusedInside) : -1;
    replaceChildren(
      panelBody,
      h("p", { class: "row row--between" }, h("a", { href: `/runs/${encodeURIComponent(run.id)}`, class: "text-sm" }, "Open the run's own page"), h("span", { class: "muted text-sm" }, "Updates live")),
      runView(run, {
        nodes,
        planned: run.flowId === flowId ? flow.steps.map(({ id, type }) => ({ id, type })) : [],
        open: runDisclosures,
        onCancel: async (button) => {
          busy(button, "Cancelling…");
          try {
            await api(`/runs/${encodeURIComponent(run.id)}/cancel`, { method: "POST" });
            announce("Cancellation requested.");
            panelTitle.focus(); // the button goes away with the next update
          } catch (error) {
            toast(error.message, { kind: "error" });
            busy(button);
          }
        },
      }),
    );
    // Keep a keyboard user where they were (the view was drawn again under them).
    if (focusKey >= 0) panelBody.querySelectorAll("summary")[focusKey]?.focus();
    else if (focusedInside && !focusedInside.isConnected) panelTitle.focus();
  }

  // Live: one stream for this flow's runs.
  subscribeRuns({
    flowId,
    signal,
    onRun: (summary) => {
      runList.upsert(summary);
      if (summary.flowId === flowId && !isActive(summary.status)) loadLastRun(summary.id);
      if (selected?.kind === "run" && selected.id === summary.id) refreshRun();
    },
    // Back from the back/forward cache: what happened meanwhile came without events.
    onResume: () => {
      runList.load();
      refreshRun();
    },
  });

  /** The newest run, for the variables the steps above produced and a trigger body to offer. */
  let lastRunRequest = null;
  async function loadLastRun(runId) {
    if (lastRun?.id === runId && !isActive(lastRun.status)) return;
    if (lastRunRequest === runId) return;
    lastRunRequest = runId;
    try {
      const run = await api(`/runs/${encodeURIComponent(runId)}`, { signal });
      if (lastRun && run.createdAt < lastRun.createdAt) return;
      lastRun = run;
      if (!draft.sampleBody) testBody.offer(run);
      panelForm?.recheckVariables?.();
    } catch {
      // Suggestions then come from the declared outputs; nothing to tell.
    } finally {
      if (lastRunRequest === runId) lastRunRequest = null;
    }
  }

  // ---- Keyboard ---------------------------------------------------------------------------------

  document.addEventListener(
    "keydown",
    (event) => {
      const mod = isMac ? event.metaKey : event.ctrlKey;
      const dialogOpen = Boolean(document.querySelector("dialog[open]"));
      if (mod && !event.altKey && event.key.toLowerCase() === "k") {
        event.preventDefault();
        if (!dialogOpen) browse(document.activeElement instanceof HTMLElement ? document.activeElement : browseButton);
      } else if (mod && !event.altKey && event.key.toLowerCase() === "s") {
        event.preventDefault(); // never the browser's "Save page as"
        if (!dialogOpen) save();
      } else if (mod && event.key === "Enter") {
        event.preventDefault();
        if (!dialogOpen) runFlow();
      } else if (event.altKey && !mod && (event.key === "ArrowUp" || event.key === "ArrowDown") && selected?.kind === "step" && !dialogOpen) {
        if (event.target.closest?.(".node-card") || isTyping(event.target)) return; // the card handles it; a field keeps its keys
        event.preventDefault();
        const from = draft.steps.findIndex((s) => s.key === selected.key);
        moveStep(from, from + (event.key === "ArrowUp" ? -1 : 1), { focus: "card" });
      } else if (event.key === "Escape" && !dialogOpen && phone.matches && sheetOpen) {
        event.preventDefault();
        closePanel();
      }
    },
    { signal },
  );

  setLeaveGuard((to) => isDirty() && !(to && isStudioPath(to)));

  // ---- Start ------------------------------------------------------------------------------------

  renderAll();
  if (params.runId) openRun(params.runId);
  else renderPanel();
  runList.load();

  return {
    /** Another run of this flow (or none) is the same page: open it in the panel. */
    onLocation(path) {
      const match = /^\/flows\/([^/]+)(?:\/runs\/([^/]+))?$/.exec(path);
      if (!match || decodeURIComponent(match[1]) !== flowId) return false;
      if (match[2]) openRun(decodeURIComponent(match[2]));
      else if (selected?.kind === "run") select(null);
      return true;
    },
  };

  function isStudioPath(to) {
    const match = /^\/flows\/([^/]+)(?:\/runs\/[^/]+)?\/?$/.exec(to);
    return Boolean(match) && decodeURIComponent(match[1]) === flowId;
  }
}

function stepPrint(step) {
  return JSON.stringify([step.id, step.type, step.parameters, step.onError]);
}

function stepPrints(steps) {
  return new Map(steps.map((s) => [s.key, stepPrint(s)]));
}

function isTyping(target) {
  return target instanceof HTMLElement && (target.matches("input, textarea, select") || target.isContentEditable);
}
