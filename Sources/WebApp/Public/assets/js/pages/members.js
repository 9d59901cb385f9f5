// Members (/settings/members): who is in the workspace, their role (changeable), removal, and
// invites by one-time link (role, optional email → the URL, shown once, with a copy button).

import { api } from "../api.js";
import { adminOnly } from "../components/admin-only.js";
import { copyable } from "../components/copy.js";
import { confirmDialog, dialogHeader, openDialog } from "../components/dialog.js";
import { busy, clearErrors, formAlert, showErrors, textField } from "../components/form.js";
import { toast } from "../components/toast.js";
import { formatDateTime, h, initials, replaceChildren, timeElement, uid } from "../dom.js";
import { icon } from "../icons.js";
import { loadSession } from "../session.js";

export const title = "Members";

export async function render({ shell, content, signal, workspace, session, navigate }) {
  const admin = workspace?.role === "admin";
  const invite = admin ? h("button", { type: "button", class: "btn btn--primary" }, icon("plus"), "Invite people") : null;
  shell.header({
    title: "Members",
    lead: `People in ${workspace?.name ?? "this workspace"}. Admins manage credentials, members and API tokens; members build and run flows.`,
    actions: [invite],
    settingsTabs: true,
  });
  if (!admin) return content.append(adminOnly("Members"));

  const inviteSlot = h("div");
  const tableSlot = h("div", {}, h("div", { class: "table-wrap", "aria-busy": "true", "aria-label": "Loading members" }, h("div", { class: "item" }, h("span", { class: "skeleton skeleton--title" }))));
  content.append(h("div", { class: "stack" }, inviteSlot, tableSlot));
  invite.addEventListener("click", () => inviteDialog(invite));

  async function load() {
    try {
      const { items } = await api("/members", { signal });
      replaceChildren(tableSlot, table(items));
    } catch (error) {
      if (error.name === "AbortError") return;
      formAlert(tableSlot, error);
    }
  }

  function table(items) {
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden" }, "Members of this workspace"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Joined"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
        h("tbody", {}, items.map(row)),
      ),
    );
  }

  function row(member) {
    const you = member.userId === session.user.id;
    const selectId = uid("role");
    const role = h("select", { class: "select", id: selectId, "aria-label": `Role of ${member.name}` }, h("option", { value: "admin" }, "Admin"), h("option", { value: "member" }, "Member"));
    role.value = member.role;
    role.addEventListener("change", async () => {
      const previous = member.role;
      role.disabled = true;
      try {
        const updated = await api(`/members/${encodeURIComponent(member.userId)}`, { method: "PATCH", body: { role: role.value } });
        member.role = updated?.role ?? role.value;
        toast(`${member.name} is now ${member.role === "admin" ? "an admin" : "a member"}.`);
        if (you) await refreshSelf();
      } catch (error) {
        role.value = previous;
        toast(error.code === "last_admin" ? "A workspace needs at least one admin. Make someone else an admin first." : error.message, { kind: "error" });
      } finally {
        role.disabled = false;
      }
    });
    const remove = h("button", { type: "button", class: "btn btn--sm btn--danger-text", "aria-label": you ? "Leave this workspace" : `Remove ${member.name}` }, you ? "Leave" : "Remove");
    remove.addEventListener("click", async () => {
      const done = await confirmDialog({
        title: you ? `Leave ${workspace.name}?` : `Remove ${member.name}?`,
        body: h("p", {}, you ? "You will lose access to its credentials, flows and runs until an admin invites you again." : `${member.name} (${member.email}) loses access to this workspace at once. Their account stays, and flows they built keep running.`),
        confirmLabel: you ? "Leave workspace" : "Remove member",
        progressLabel: "Removing…",
        opener: remove,
        fallbackFocus: () => invite,
        action: () => api(`/members/${encodeURIComponent(member.userId)}`, { method: "DELETE" }),
      }).catch(() => false);
      if (!done) return;
      if (you) {
        await loadSession();
        navigate("/settings/credentials", { replace: true });
        toast(`You left ${workspace.name}.`);
      } else {
        toast(`${member.name} removed.`);
        await load();
      }
    });
    return h(
      "tr",
      {},
      h(
        "td",
        { "data-label": "Name" },
        h("div", { class: "row" }, h("span", { class: "avatar", "aria-hidden": "true" }, initials(member.name, member.email)), h("div", {}, h("div", { class: "table__primary" }, member.name, you ? h("span", { class: "muted" }, " (you)") : null), h("div", { class: "table__sub" }, member.email))),
      ),
      h("td", { "data-label": "Role" }, role),
      h("td", { "data-label": "Joined" }, timeElement(member.joinedAt, { dateOnly: true })),
      h("td", { class: "table__actions" }, remove),
    );
  }

  async function refreshSelf() {
    await loadSession();
    navigate(location.pathname, { replace: true });
  }

  function inviteDialog(opener) {
    const titleId = uid("invite-title");
    const roleGroup = h(
      "fieldset",
      { class: "radio-group" },
      h("legend", { class: "radio-group__legend" }, "Role"),
      h(
        "div",
        { class: "radio-group__options" },
        radio("member", "Member", "Builds and runs flows. Sees credentials by name only.", true),
        radio("admin", "Admin", "Also manages credentials, members and API tokens."),
      ),
    );
    const email = textField({ label: "Email", name: "email", type: "email", optional: true, help: "Who the invite is for. It fills in the email on the invite page.", autocomplete: "off", spellcheck: "false" });
    const alertSlot = h("div", { hidden: true });
    const submit = h("button", { type: "submit", class: "btn btn--primary" }, "Create invite link");
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const form = h("form", { class: "dialog__form", novalidate: true }, dialogHeader("Invite people", { titleId, subtitle: `To ${workspace.name}` }), h("div", { class: "dialog__body" }, alertSlot, roleGroup, email), h("footer", { class: "dialog__footer" }, h("span", { class: "grow" }), cancel, submit));
    const dialog = h("dialog", { class: "dialog dialog--sm", "aria-labelledby": titleId }, form);
    let created = null;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { role: form.querySelector('input[name="invite-role"]:checked').value };
      const address = email.control.value.trim();
      if (address) body.email = address;
      busy(submit, "Creating…");
      try {
        created = await api("/invites", { method: "POST", body });
        dialog.close();
      } catch (error) {
        busy(submit);
        if (error.field === "email") showErrors([{ control: email.control, message: error.message }]);
        else formAlert(alertSlot, error);
      }
    });
    openDialog(dialog, {
      opener,
      onClose: () => {
        if (created) showInvite(created);
      },
    });
    form.querySelector('input[name="invite-role"]:checked').focus();
  }

  function radio(value, label, help, checked = false) {
    const id = uid("invite-role");
    return h(
      "div",
      { class: "radio" },
      h("input", { type: "radio", name: "invite-role", id, value, checked, "aria-describedby": `${id}-help` }),
      h("label", { class: "radio__label", for: id }, label),
      h("p", { class: "radio__help", id: `${id}-help` }, help),
    );
  }

  function showInvite(created) {
    const url = new URL(created.url, location.origin).href;
    const dismiss = h("button", { type: "button", class: "btn btn--sm" }, "Done");
    const panel = h(
      "div",
      { class: "callout callout--warning secret-panel", role: "region", "aria-label": "New invite link" },
      icon("link"),
      h(
        "div",
        { class: "callout__body" },
        h("p", { class: "callout__title" }, `Invite link for ${created.email || "a new " + (created.role === "admin" ? "admin" : "member")}: copy it now, it is shown only once.`),
        h("p", {}, `Send it yourself. It works once, until ${formatDateTime(created.expiresAt)}.`),
        copyable(url, { label: "invite link", block: true }),
        h("p", { class: "row" }, dismiss),
      ),
    );
    dismiss.addEventListener("click", () => {
      panel.remove();
      invite.focus();
    });
    replaceChildren(inviteSlot, panel);
    panel.querySelector(".copy-btn").focus();
  }

  await load();
}
