// The canvas: the trigger card on top, the steps below in the order the engine runs them, joined
// by connectors (each with a + to add a step there).
//
// Reordering without HTML5 drag and drop (which neither keyboards nor browser automation drive):
// - keyboard: on a card, ↑/↓ move the focus, Alt+↑/Alt+↓ move the step, Delete removes it;
// - buttons: Move up / Move down / Delete on every card (touch, and discoverable);
// - pointer: press the grip, drag, release — pointer events with pointer capture; the drop
//   position shows as a highlighted connector (no inline styles: the CSP forbids them).
//
// Long flows (up to the API's 100 steps): the canvas scrolls with its column, and zooms out to
// see more at once (−/+ in its corner, or - + 0 while a card has the focus); the zoom is a class
// (CSS zoom), so layout, hit testing and dragging stay exact.

import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { announce } from "./toast.js";
import { nodeIcon } from "../node-rules.js";
import { badge } from "./badge.js";

const ZOOMS = [50, 75, 100, 125];

const TRIGGER_TEXT = {
  webhook: { title: "Webhook", icon: "webhook" },
  cron: { title: "Schedule", icon: "clock" },
  manual: { title: "Manual", icon: "hand" },
  "email.bounced": { title: "Email bounced", icon: "mail" },
  "email.complained": { title: "Spam complaint", icon: "alert" },
};

export function createCanvas({ onSelect, onMove, onDelete, onInsert }) {
  const hintId = uid("canvas-hint");
  const list = h("ol", { class: "canvas__steps", "aria-label": "Steps, in the order they run" });
  const triggerSlot = h("div", { class: "canvas__trigger" });
  const endSlot = h("div");
  const zoomOut = h("button", { type: "button", class: "btn btn--ghost btn--icon btn--sm", "aria-label": "Zoom out", title: "Zoom out (-)" }, icon("minus"));
  const zoomLevel = h("button", { type: "button", class: "btn btn--ghost btn--sm canvas__zoom-level", title: "Back to 100% (0)" });
  const zoomIn = h("button", { type: "button", class: "btn btn--ghost btn--icon btn--sm", "aria-label": "Zoom in", title: "Zoom in (+)" }, icon("plus"));
  const tools = h("div", { class: "canvas__tools" }, h("div", { class: "canvas__zoom", role: "group", "aria-label": "Zoom" }, zoomOut, zoomLevel, zoomIn));
  const body = h(
    "div",
    { class: "canvas__body" },
    triggerSlot,
    list,
    endSlot,
    h(
      "p",
      { class: "canvas__hint", id: hintId },
      h("kbd", { class: "kbd" }, "Alt"), "+", h("kbd", { class: "kbd" }, "↑"), h("kbd", { class: "kbd" }, "↓"), " move the selected step · ",
      h("kbd", { class: "kbd" }, "Delete"), " removes it · drag the grip to reorder · ",
      h("kbd", { class: "kbd" }, "-"), h("kbd", { class: "kbd" }, "+"), " zoom",
    ),
  );
  const root = h("section", { class: "canvas", "aria-label": "Canvas" }, tools, body);
  let zoom = 100;
  function setZoom(level, { say = true } = {}) {
    zoom = level;
    for (const z of ZOOMS) body.classList.toggle(`canvas__body--zoom-${z}`, z === level && z !== 100);
    zoomLevel.textContent = `${level}%`;
    zoomLevel.setAttribute("aria-label", `Zoom ${level}%: back to 100%`);
    zoomOut.disabled = level === ZOOMS[0];
    zoomIn.disabled = level === ZOOMS[ZOOMS.length - 1];
    if (say) announce(`Zoom ${level}%`);
  }
  const step = (by) => setZoom(ZOOMS[Math.max(0, Math.min(ZOOMS.length - 1, ZOOMS.indexOf(zoom) + by))]);
  zoomOut.addEventListener("click", () => step(-1));
  zoomIn.addEventListener("click", () => step(1));
  zoomLevel.addEventListener("click", () => setZoom(100));
  root.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || !event.target.closest?.(".node-card__main")) return;
    if (event.key === "-") step(-1);
    else if (event.key === "+" || event.key === "=") step(1);
    else if (event.key === "0") setZoom(100);
    else return;
    event.preventDefault();
  });
  setZoom(100, { say: false });
  let current = null;

  function render(view) {
    current = view;
    // Drawing again must not drop the keyboard focus: find the same control afterwards.
    const focused = root.contains(document.activeElement) ? focusKey(document.activeElement) : null;
    const { trigger, steps, selected } = view;
    // Only what changed is drawn again (typing in a field of a 100-step flow redraws no card, or one).
    const triggerProblems = view.triggerProblems ?? [];
    const triggerSig = JSON.stringify([trigger.type, view.triggerDetail, triggerProblems.length, selected?.kind === "trigger"]);
    if (triggerSig !== drawn.trigger) {
      triggerSlot.replaceChildren(triggerCard(trigger, triggerProblems, selected?.kind === "trigger", view.triggerDetail));
      drawn.trigger = triggerSig;
    }
    const wanted = steps.map((step, index) => {
      const sig = stepSignature(step, index, view);
      let entry = drawn.steps.get(step.key);
      if (!entry || entry.sig !== sig) {
        entry = { li: stepItem(step, index, view), sig };
        drawn.steps.set(step.key, entry);
      }
      return entry.li;
    });
    const keys = new Set(steps.map((s) => s.key));
    for (const key of [...drawn.steps.keys()]) if (!keys.has(key)) drawn.steps.delete(key);
    wanted.forEach((li, i) => {
      const at = list.children[i];
      if (at !== li) list.insertBefore(li, at ?? null);
    });
    while (list.children.length > wanted.length) list.lastElementChild.remove();
    if (drawn.end !== steps.length) {
      endSlot.replaceChildren(connector(steps.length, steps.length ? "Add a step at the end" : "Add the first step", { end: true, empty: !steps.length }));
      drawn.end = steps.length;
    }
    if (focused && !root.contains(document.activeElement)) {
      const again = root.querySelector(focused);
      if (again && !again.disabled) again.focus();
      else root.querySelector(".node-card__main")?.focus();
    }
  }
  const drawn = { trigger: null, steps: new Map(), end: null }; // what is on the canvas now, by signature

  /** Everything a step's card shows or acts on: when it changes, the card is drawn again. */
  function stepSignature(step, index, view) {
    const problems = view.stepProblems.get(step.key) ?? [];
    const state = problems.length ? `problems:${problems.length}` : view.unsaved.has(step.key) ? "unsaved" : "valid";
    const isSelected = view.selected?.kind === "step" && view.selected.key === step.key;
    return JSON.stringify([step.id, step.type, view.nodes.get(step.type)?.label, state, isSelected, index, index === view.steps.length - 1]);
  }

  function focusKey(el) {
    if (el.dataset.card) return `[data-card="${CSS.escape(el.dataset.card)}"]`;
    const label = el.getAttribute("aria-label");
    return label ? `[aria-label="${CSS.escape(label)}"]` : null;
  }

  function triggerCard(trigger, problems, isSelected, detail) {
    const text = TRIGGER_TEXT[trigger.type] ?? TRIGGER_TEXT.manual;
    const main = h(
      "button",
      { type: "button", class: "node-card__main", "aria-pressed": String(isSelected), "data-card": "trigger", "aria-describedby": hintId },
      h("span", { class: "node-card__icon node-card__icon--trigger" }, icon(text.icon)),
      h(
        "span",
        { class: "node-card__text" },
        h("span", { class: "node-card__kicker" }, "Trigger"),
        h("span", { class: "node-card__label" }, text.title),
        detail ? h("span", { class: "node-card__detail" }, detail) : null,
      ),
      problems.length ? badge("warning", problems.length === 1 ? "1 problem" : `${problems.length} problems`) : null,
    );
    main.addEventListener("click", () => onSelect({ kind: "trigger" }));
    main.addEventListener("keydown", (event) => cardKeys(event, -1));
    return h("div", { class: `node-card node-card--trigger${isSelected ? " is-selected" : ""}${problems.length ? " has-problems" : ""}` }, main);
  }

  function stepItem(step, index, view) {
    const node = view.nodes.get(step.type);
    const label = node?.label ?? step.type;
    const problems = view.stepProblems.get(step.key) ?? [];
    const state = problems.length ? "problems" : view.unsaved.has(step.key) ? "unsaved" : "valid";
    const isSelected = view.selected?.kind === "step" && view.selected.key === step.key;
    const status =
      state === "problems"
        ? badge("warning", problems.length === 1 ? "1 problem" : `${problems.length} problems`)
        : state === "unsaved"
          ? badge("neutral", "Not saved yet", { iconName: "more-circle" })
          : badge("succeeded", "Valid", { iconName: "check-circle" });

    const main = h(
      "button",
      { type: "button", class: "node-card__main", "aria-pressed": String(isSelected), "data-card": step.key, "aria-describedby": hintId },
      h("span", { class: "node-card__icon" }, icon(nodeIcon(step.type))),
      h(
        "span",
        { class: "node-card__text" },
        h("span", { class: "node-card__kicker" }, `Step ${index + 1}`, h("span", { class: "visually-hidden" }, ":")),
        h("span", { class: "node-card__label" }, label),
        h("code", { class: "node-card__id" }, step.id),
      ),
      status,
    );
    main.addEventListener("click", () => onSelect({ kind: "step", key: step.key }));
    main.addEventListener("keydown", (event) => cardKeys(event, index));

    const grip = h("span", { class: "node-card__grip", title: "Drag to reorder", "aria-hidden": "true" }, icon("grip"));
    wireDrag(grip, index);
    const up = actionButton("arrow-up", `Move ${step.id} up`, () => onMove(index, index - 1, { focus: "up" }), index === 0);
    const down = actionButton("arrow-down", `Move ${step.id} down`, () => onMove(index, index + 1, { focus: "down" }), index === view.steps.length - 1);
    const remove = actionButton("trash", `Delete ${step.id}`, () => onDelete(index));
    remove.classList.add("btn--danger-text");

    return h(
      "li",
      { class: "canvas__item", "data-index": String(index) },
      connector(index, index === 0 ? "Add a step before the first" : `Add a step before ${step.id}`),
      h(
        "div",
        { class: `node-card${isSelected ? " is-selected" : ""}${state === "problems" ? " has-problems" : ""}`, "data-key": step.key },
        grip,
        main,
        h("div", { class: "node-card__actions" }, up, down, remove),
      ),
    );
  }

  function actionButton(iconName, label, action, disabled = false) {
    const button = h("button", { type: "button", class: "btn btn--ghost btn--icon btn--sm", "aria-label": label, title: label, disabled }, icon(iconName));
    button.addEventListener("click", action);
    return button;
  }

  /** The line between two cards, with a + that adds a step at `index`. */
  function connector(index, label, { end = false, empty = false } = {}) {
    const add = h("button", { type: "button", class: `connector__add${empty ? " connector__add--wide" : ""}`, "aria-label": label, title: label }, icon("plus"), empty ? h("span", {}, "Add the first step") : null);
    add.addEventListener("click", () => onInsert(index, add));
    return h("div", { class: `connector${end ? " connector--end" : ""}`, "data-gap": String(index) }, add);
  }

  // ---- Keyboard -----------------------------------------------------------------------------

  function cardKeys(event, index) {
    const cards = [...root.querySelectorAll(".node-card__main")];
    const position = index + 1; // the trigger is card 0
    if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      if (index < 0) return;
      const to = index + (event.key === "ArrowUp" ? -1 : 1);
      if (to >= 0 && to < current.steps.length) onMove(index, to, { focus: "card" });
    } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      cards[Math.max(0, Math.min(cards.length - 1, position + (event.key === "ArrowUp" ? -1 : 1)))]?.focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      cards[event.key === "Home" ? 0 : cards.length - 1]?.focus();
    } else if ((event.key === "Delete" || event.key === "Backspace") && index >= 0) {
      event.preventDefault();
      onDelete(index);
    }
  }

  // ---- Pointer drag -------------------------------------------------------------------------

  function wireDrag(grip, index) {
    let drag = null;
    grip.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      grip.setPointerCapture(event.pointerId);
      drag = { from: index, to: index };
      grip.closest(".node-card").classList.add("is-dragging");
      root.classList.add("canvas--dragging");
    });
    grip.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const cards = [...list.querySelectorAll(".node-card")];
      let to = 0;
      cards.forEach((card, i) => {
        if (i === drag.from) return;
        const box = card.getBoundingClientRect();
        if (event.clientY > box.top + box.height / 2) to += 1;
      });
      drag.to = to;
      // The gap the step lands in, counted in the list as it is now (the dragged step included).
      const gap = to < drag.from ? to : to + 1;
      for (const line of root.querySelectorAll(".connector")) line.classList.toggle("connector--drop", to !== drag.from && line.dataset.gap === String(gap));
    });
    const finish = (commit) => {
      if (!drag) return;
      const { from, to } = drag;
      drag = null;
      root.classList.remove("canvas--dragging");
      for (const el of root.querySelectorAll(".is-dragging, .connector--drop")) el.classList.remove("is-dragging", "connector--drop");
      if (commit && to !== from) onMove(from, to, { focus: "card" });
    };
    grip.addEventListener("pointerup", () => finish(true));
    grip.addEventListener("pointercancel", () => finish(false));
  }

  return {
    root,
    render,
    /** Focuses a card: "trigger" or a step's key. */
    focusCard(key) {
      root.querySelector(`[data-card="${CSS.escape(key)}"]`)?.focus();
    },
    focusMove(key, which) {
      const card = root.querySelector(`[data-key="${CSS.escape(key)}"]`);
      const buttons = card?.querySelectorAll(".node-card__actions .btn");
      const target = which === "up" ? buttons?.[0] : buttons?.[1];
      if (target && !target.disabled) target.focus();
      else card?.querySelector(".node-card__main")?.focus();
    },
  };
}
