// The user menu at the bottom of the sidebar: avatar, name and workspace; it opens upwards with
// the workspaces to switch to, the settings pages and Sign out. A disclosure (button +
// aria-expanded) whose items also move with the arrow keys; Esc closes it and returns focus.

import { h, initials } from "../dom.js";
import { icon } from "../icons.js";

export function userMenu({ session, workspace, onSwitch, onSignOut, onCreateWorkspace }) {
  const admin = workspace?.role === "admin";
  const panelId = "user-menu-panel";
  const button = h(
    "button",
    { type: "button", class: "user-menu__button", "aria-expanded": "false", "aria-controls": panelId },
    h("span", { class: "avatar", "aria-hidden": "true" }, initials(session.user.name, session.user.email)),
    h(
      "span",
      { class: "user-menu__who" },
      h("span", { class: "user-menu__name" }, session.user.name || session.user.email),
      h("span", { class: "user-menu__ws" }, workspace ? workspace.name : "No workspace"),
    ),
    icon("chevron-up-down"),
  );
  button.setAttribute("aria-label", `Account and workspace: ${session.user.name || session.user.email}, ${workspace?.name ?? "no workspace"}`);

  const workspaceItems = session.workspaces.map((w) => {
    const current = w.id === workspace?.id;
    const item = h(
      "button",
      { type: "button", class: "menu__item", "aria-current": current ? "true" : null },
      icon(current ? "check" : "building"),
      h("span", { class: "menu__item-text" }, w.name),
      h("span", { class: "menu__item-meta" }, w.role === "admin" ? "Admin" : "Member"),
    );
    item.addEventListener("click", () => {
      close();
      if (!current) onSwitch(w);
    });
    return h("li", {}, item);
  });

  const link = (href, iconName, text) => h("li", {}, h("a", { class: "menu__item", href }, icon(iconName), h("span", { class: "menu__item-text" }, text)));
  const newWorkspace = session.user.isOwner
    ? h("li", {}, h("button", { type: "button", class: "menu__item", onclick: () => { close(); onCreateWorkspace(button); } }, icon("plus"), h("span", { class: "menu__item-text" }, "New workspace")))
    : null;
  const signOut = h("button", { type: "button", class: "menu__item" }, icon("sign-out"), h("span", { class: "menu__item-text" }, "Sign out"));
  signOut.addEventListener("click", () => {
    close();
    onSignOut();
  });

  const panel = h(
    "div",
    { class: "menu", id: panelId, hidden: true },
    h("div", { class: "menu__header" }, h("div", { class: "user-menu__name" }, session.user.name), h("div", { class: "menu__email" }, session.user.email)),
    h("hr", { class: "menu__sep" }),
    h("div", { class: "menu__label", id: "menu-ws-label" }, "Workspaces"),
    h("ul", { class: "menu__list", "aria-labelledby": "menu-ws-label" }, workspaceItems, newWorkspace),
    h("hr", { class: "menu__sep" }),
    h(
      "ul",
      { class: "menu__list", "aria-label": "Settings" },
      link("/settings/credentials", "key", "Credentials"),
      admin ? link("/settings/tokens", "lock", "API tokens") : null,
      admin ? link("/settings/members", "users", "Members") : null,
      link("/settings/suppressions", "shield-check", "Suppressions"),
      link("/settings/api-reference", "code", "API reference"),
    ),
    h("hr", { class: "menu__sep" }),
    h("ul", { class: "menu__list" }, h("li", {}, signOut)),
  );

  const root = h("div", { class: "user-menu" }, panel, button);
  const items = () => [...panel.querySelectorAll(".menu__item")];

  function open() {
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    (panel.querySelector('[aria-current="true"]') ?? items()[0])?.focus();
    document.addEventListener("pointerdown", outside, true);
  }
  function close({ focus = false } = {}) {
    if (panel.hidden) return;
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", outside, true);
    if (focus) button.focus();
  }
  function outside(event) {
    if (!root.contains(event.target)) close();
  }

  button.addEventListener("click", () => (panel.hidden ? open() : close()));
  root.addEventListener("keydown", (event) => {
    if (panel.hidden) return;
    const list = items();
    const index = list.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close({ focus: true });
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      list[(index + step + list.length) % list.length]?.focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      list[event.key === "Home" ? 0 : list.length - 1]?.focus();
    }
  });
  // Tabbing out of the menu closes it.
  root.addEventListener("focusout", (event) => {
    if (!root.contains(event.relatedTarget)) close();
  });
  panel.addEventListener("click", (event) => {
    if (event.target.closest("a")) close();
  });
  return root;
}
