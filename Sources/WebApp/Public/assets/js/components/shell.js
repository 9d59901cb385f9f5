// The workspace shell: sidebar (mark, wordmark, Flows/Runs/Credentials/Domains, user menu at the bottom)
// and the main area (page title, one primary action, content). On a phone the sidebar slides in
// behind a menu button; the rest of the page is inert while it is open.

import { h, replaceChildren } from "../dom.js";
import { icon } from "../icons.js";
import { userMenu } from "./user-menu.js";

const NAV = [
  { href: "/flows", text: "Flows", icon: "flows", match: /^\/flows(\/|$)/ },
  { href: "/runs", text: "Runs", icon: "runs", match: /^\/runs(\/|$)/ },
  { href: "/settings/credentials", text: "Credentials", icon: "key", match: /^\/settings\// },
  { href: "/domains", text: "Domains", icon: "globe", match: /^\/domains(\/|$)/ },
];

const SETTINGS_TABS = [
  { href: "/settings/credentials", text: "Credentials" },
  { href: "/settings/tokens", text: "API tokens", admin: true },
  { href: "/settings/members", text: "Members", admin: true },
  { href: "/settings/suppressions", text: "Suppressions" },
  { href: "/settings/sign-in-providers", text: "Sign-in providers", owner: true }, // the instance owner's, for every workspace
  { href: "/settings/api-reference", text: "API reference" },
];

export function createShell({ onSwitchWorkspace, onSignOut, onCreateWorkspace }) {
  const brand = () =>
    h("a", { class: "brand", href: "/" }, h("img", { class: "brand__mark", src: "/assets/img/posthorn.svg", alt: "", width: "28", height: "28" }), h("span", {}, "Posthorn"));

  const navLinks = NAV.map((item) => {
    const a = h("a", { class: "nav__link", href: item.href }, icon(item.icon), h("span", {}, item.text));
    a.dataset.match = item.match.source;
    return a;
  });
  const menuSlot = h("div");
  const sidebar = h(
    "aside",
    { class: "sidebar", id: "sidebar", "aria-label": "Sidebar" },
    brand(),
    h("nav", { class: "nav", "aria-label": "Main" }, navLinks),
    h("div", { class: "sidebar__spacer" }),
    menuSlot,
  );

  const menuButton = h("button", { type: "button", class: "btn btn--ghost btn--icon", "aria-label": "Open navigation", "aria-expanded": "false", "aria-controls": "sidebar" }, icon("menu"));
  const topbar = h("div", { class: "topbar" }, menuButton, brand());
  const scrim = h("div", { class: "scrim", hidden: true });

  const title = h("h1", { tabindex: "-1" });
  const actions = h("div", { class: "page-header__actions" });
  const lead = h("p", { class: "page-lead", hidden: true });
  const tabs = h("nav", { class: "tabs", "aria-label": "Settings", hidden: true });
  const content = h("div");
  const main = h("main", { class: "main", id: "main", tabindex: "-1" }, h("div", { class: "main__inner" }, h("header", { class: "page-header" }, title, actions), lead, tabs, content));

  const root = h("div", { class: "app" }, sidebar, scrim, h("div", { class: "app__column" }, topbar, main));

  // Phone navigation.
  const setNav = (open) => {
    root.classList.toggle("app--nav-open", open);
    menuButton.setAttribute("aria-expanded", String(open));
    scrim.hidden = !open;
    main.inert = open;
    topbar.inert = open;
    if (open) sidebar.querySelector(".nav__link")?.focus();
  };
  menuButton.addEventListener("click", () => setNav(true));
  scrim.addEventListener("click", () => {
    setNav(false);
    menuButton.focus();
  });
  sidebar.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && root.classList.contains("app--nav-open")) {
      setNav(false);
      menuButton.focus();
    }
  });

  return {
    root,
    content,
    /** Marks the current page in the navigation and redraws the user menu. */
    update({ path, session, workspace }) {
      setNav(false);
      for (const a of navLinks) {
        if (new RegExp(a.dataset.match).test(path)) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
      }
      replaceChildren(menuSlot, userMenu({ session, workspace, onSwitch: onSwitchWorkspace, onSignOut, onCreateWorkspace }));
      this.path = path;
      this.admin = workspace?.role === "admin";
      this.owner = session?.user?.isOwner === true;
    },
    /** The page's title, lead text, primary action(s) and, for settings pages, the tabs. */
    header({ title: text, lead: leadText, actions: buttons = [], settingsTabs = false }) {
      title.textContent = text;
      this.titleText = text;
      replaceChildren(actions, buttons);
      lead.hidden = !leadText;
      replaceChildren(lead, leadText ?? ""); // text, or nodes (e.g. with <code>)
      const visible = settingsTabs ? SETTINGS_TABS.filter((t) => (!t.admin || this.admin) && (!t.owner || this.owner)) : [];
      tabs.hidden = visible.length < 2; // a member has only Credentials: no tabs then
      replaceChildren(tabs, visible.map((t) => h("a", { class: "tabs__link", href: t.href, "aria-current": t.href === this.path ? "page" : null }, t.text)));
      if (!tabs.hidden) tabs.querySelector('[aria-current="page"]')?.scrollIntoView({ block: "nearest", inline: "nearest" }); // a phone shows the current tab
    },
    focusTitle() {
      title.focus();
    },
    /** A new title without touching the actions (Flow Studio's rename keeps the focus where it is). */
    setTitle(text) {
      title.textContent = text;
      this.titleText = text;
      document.title = `${text} · Posthorn`;
    },
    /** Flow Studio uses the whole width of the main area (app.js resets this for every page). */
    setWide(wide) {
      main.classList.toggle("main--wide", wide);
    },
  };
}
