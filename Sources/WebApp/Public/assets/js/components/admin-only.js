// What a member sees on a page that only admins can use.

import { h } from "../dom.js";
import { icon } from "../icons.js";

export function adminOnly(what) {
  return h(
    "div",
    { class: "tile" },
    h(
      "div",
      { class: "empty" },
      h("span", { class: "empty__icon" }, icon("lock", { className: "icon--lg" })),
      h("h2", { class: "empty__title" }, "Only admins can see this page"),
      h("p", { class: "empty__text" }, `${what} are managed by the admins of this workspace. Ask one of them, or switch to a workspace you administer in the menu at the bottom left.`),
    ),
  );
}
