// Form fields and their errors, GOV.UK style: the message at the field (aria-invalid, linked
// with aria-describedby), and a summary at the top of the form when there are several.

import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { copyable } from "./copy.js";

/**
 * A labelled text field: label, input, (error), help. Returns the `.field` element; its
 * control is `field.control`.
 */
export function textField({ label, help, name, id = uid(name || "field"), type = "text", value = "", optional = false, ...attrs }) {
  const helpId = help ? `${id}-help` : null;
  const input = h("input", { class: "input", id, name, type, "aria-describedby": helpId, ...attrs });
  input.value = value;
  const field = h(
    "div",
    { class: "field" },
    h("label", { class: "field__label", for: id }, label, optional ? h("span", { class: "field__optional" }, " (optional)") : null),
    input,
    help ? h("p", { class: "field__help", id: helpId }, help) : null,
  );
  field.control = input;
  return field;
}

/** A password field with a show/hide button inside it. */
export function passwordField({ label, help, name = "password", id = uid(name), autocomplete = "current-password", ...attrs }) {
  const field = textField({ label, help, name, id, type: "password", autocomplete, spellcheck: "false", autocapitalize: "off", ...attrs });
  const input = field.control;
  const toggle = h("button", { type: "button", class: "btn btn--ghost btn--icon btn--sm input-group__btn" });
  const group = h("div", { class: "input-group" });
  input.replaceWith(group);
  group.append(input, toggle);
  wirePasswordToggle(toggle, input);
  return field;
}

/** Show/hide for a password input: the button says what it will do and is pressed while shown. */
export function wirePasswordToggle(button, input) {
  const render = () => {
    const shown = input.type === "text";
    button.replaceChildren(icon(shown ? "eye-off" : "eye"));
    button.setAttribute("aria-label", shown ? "Hide password" : "Show password");
    button.setAttribute("aria-pressed", String(shown));
    button.title = shown ? "Hide password" : "Show password";
  };
  button.addEventListener("click", () => {
    input.type = input.type === "password" ? "text" : "password";
    render();
  });
  render();
}

function fieldContainer(control) {
  return control.closest(".field, .radio-group, .check") ?? control.parentElement;
}

/** Puts `message` at the field of `control`. */
export function setFieldError(control, message) {
  // A key/value row (custom headers) is one line of narrow fields: its errors go under the whole row.
  const row = control.closest(".kvlist__row");
  const container = row ?? fieldContainer(control);
  const errorId = `${control.id}-error`;
  let error = container.querySelector(`#${CSS.escape(errorId)}`);
  if (!error) {
    error = h("p", { class: "field__error", id: errorId });
    // After the control (or its input group), before the help text; in a radio group after the legend.
    const anchor = row
      ? row.lastElementChild
      : container.matches(".radio-group")
        ? container.querySelector("legend")
        : control.closest(".input-group, .var-anchor") ?? control;
    anchor.after(error);
  }
  error.replaceChildren(icon("alert"), h("span", {}, message));
  control.setAttribute("aria-invalid", "true");
  const described = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((x) => x && x !== errorId);
  control.setAttribute("aria-describedby", [errorId, ...described].join(" "));
}

export function clearFieldError(control) {
  const errorId = `${control.id}-error`;
  document.getElementById(errorId)?.remove();
  control.removeAttribute("aria-invalid");
  const described = (control.getAttribute("aria-describedby") ?? "").split(" ").filter((x) => x && x !== errorId);
  if (described.length) control.setAttribute("aria-describedby", described.join(" "));
  else control.removeAttribute("aria-describedby");
}

/** Clears every field error, the summary and the form alert. */
export function clearErrors(form) {
  for (const control of form.querySelectorAll("[aria-invalid]")) clearFieldError(control);
  form.querySelector(".error-summary")?.remove();
  const alert = form.querySelector("[data-form-alert]");
  if (alert) {
    alert.hidden = true;
    alert.replaceChildren();
  }
}

/**
 * Shows `errors` ([{control, message}]): each at its field; with more than one, a summary at the
 * top of `summarySlot`'s form that links to each field and takes the focus; with one, the field
 * takes the focus.
 */
export function showErrors(errors, { summarySlot } = {}) {
  if (!errors.length) return;
  for (const { control, message } of errors) setFieldError(control, message);
  if (errors.length === 1 || !summarySlot) {
    revealAndFocus(errors[0].control);
    return;
  }
  const titleId = uid("error-summary-title");
  const list = h("ul", { class: "error-summary__list" });
  for (const { control, message } of errors) {
    const link = h("a", { href: `#${control.id}` }, message);
    link.addEventListener("click", (event) => {
      event.preventDefault(); // keep the URL (the router owns it); just move to the field
      revealAndFocus(control);
    });
    list.append(h("li", {}, link));
  }
  const summary = h(
    "div",
    { class: "error-summary", role: "alert", tabindex: "-1", "aria-labelledby": titleId },
    h("h2", { class: "error-summary__title", id: titleId }, "There is a problem"),
    list,
  );
  summarySlot.prepend(summary);
  summary.focus();
}

function revealAndFocus(control) {
  const details = control.closest("details");
  if (details) details.open = true;
  control.focus();
  control.scrollIntoView?.({ block: "center" });
}

/**
 * A problem that is not about one field (403, 500, network): a danger callout in `slot` with the
 * message and, when there is one, the request id to quote.
 */
export function formAlert(slot, error) {
  slot.hidden = false;
  slot.setAttribute("data-form-alert", "");
  const body = h("div", { class: "callout__body" }, h("p", {}, error.message));
  if (error.requestId) body.append(h("p", { class: "row" }, h("span", { class: "muted" }, "Request id"), copyable(error.requestId, { label: "request id" })));
  slot.replaceChildren(h("div", { class: "callout callout--danger", role: "alert" }, icon("x-circle"), body));
}

// Buttons that had the focus when they became busy: disabling a button drops its focus to the
// page, so a keyboard user would start again from the top. It is given back when they are done.
const focusedWhenBusy = new WeakSet();
// What a busy button showed before (its icon too), to put back when it is done.
const contentBeforeBusy = new WeakMap();

/** Turns a submit button into its busy state (label + spinner) and back. */
export function busy(button, label) {
  if (label) {
    if (!contentBeforeBusy.has(button)) contentBeforeBusy.set(button, [...button.childNodes]);
    if (document.activeElement === button) focusedWhenBusy.add(button);
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.replaceChildren(icon("loader", { className: "icon--spin" }), label);
  } else {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (contentBeforeBusy.has(button)) button.replaceChildren(...contentBeforeBusy.get(button));
    contentBeforeBusy.delete(button);
    // Unless something else took the focus meanwhile (e.g. the field with the error).
    if (focusedWhenBusy.delete(button) && button.isConnected && (!document.activeElement || document.activeElement === document.body)) button.focus();
  }
}
