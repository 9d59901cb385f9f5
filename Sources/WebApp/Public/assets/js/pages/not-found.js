import { h } from "../dom.js";

export const title = "Page not found";

export function render({ shell, content }) {
  shell.header({ title: "Page not found" });
  content.append(h("div", { class: "tile" }, h("div", { class: "empty" }, h("p", { class: "empty__text" }, "There is no page at this address. Check the link, or go to Credentials."), h("a", { class: "btn", href: "/settings/credentials" }, "Go to Credentials"))));
}
