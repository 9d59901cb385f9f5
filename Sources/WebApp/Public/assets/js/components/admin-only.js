// What a person sees on a page whose role they do not have: a member on an admins' page, or anyone
// but the instance owner on the owner's.

import { h } from "../dom.js";
import { icon } from "../icons.js";

export function restricted(title, text) {
  return h(
    "div",
    { class: "tile" },
    h(
      "div",
      { class: "empty" },
      h("span", { class: "empty__icon" }, icon("lock", { className: "icon--lg" })),
      h("h2", { class: "empty__title" }, title),
      h("p", { class: "empty__text" }, text),
    ),
  );
}

export function adminOnly(what) {
  return restricted(
    "Only admins can see this page",
    `${what} are managed by the admins of this workspace. Ask one of them, or switch to a workspace you administer in the menu at the bottom left.`,
  );
}
