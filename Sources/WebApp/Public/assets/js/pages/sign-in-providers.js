// Sign-in providers (/settings/sign-in-providers): the instance owner's page for the OAuth clients
// of Google and Microsoft, which let people connect Gmail / Google Workspace and Microsoft 365 by
// signing in (docs/OAUTH.md). GET /oauth-clients lists each built-in provider's client, where it
// comes from and the redirect URI to register; PUT /oauth-clients/{provider} sets one here (the
// secret is sealed on the server and never comes back), DELETE removes it. A client set by the
// server's environment or providers file is shown read-only.

import { api } from "../api.js";
import { restricted } from "../components/admin-only.js";
import { badge } from "../components/badge.js";
import { copyable } from "../components/copy.js";
import { confirmDialog } from "../components/dialog.js";
import { busy, clearErrors, formAlert, passwordField, showErrors, textField } from "../components/form.js";
import { toast } from "../components/toast.js";
import { h, replaceChildren, uid } from "../dom.js";
import { icon } from "../icons.js";

export const title = "Sign-in providers";

// What each provider is for, and the one line that says what to register there.
const GUIDES = {
  google: {
    service: "Gmail and Google Workspace",
    env: "POSTHORN_OAUTH_GOOGLE_CLIENT_ID",
    register: () => [
      "In Google Cloud console, create an OAuth client ID of type Web application with the redirect URI above. Its consent screen needs the scopes ",
      h("code", {}, "openid"), ", ", h("code", {}, "email"), " and ", h("code", {}, "https://mail.google.com/"),
      ". While the app is in Testing, Google ends each connection after 7 days: publish it, or make it Internal.",
    ],
    idHelp: "Ends in .apps.googleusercontent.com.",
  },
  microsoft: {
    service: "Microsoft 365 and Outlook.com",
    env: "POSTHORN_OAUTH_MICROSOFT_CLIENT_ID",
    register: () => [
      "In the Microsoft Entra admin center, register an app with a redirect URI of type Web (the one above), add the delegated permissions ",
      h("code", {}, "SMTP.Send"), " (Office 365 Exchange Online) and ", h("code", {}, "offline_access"),
      ", and create a client secret.",
    ],
    idHelp: "The application (client) ID of the app registration.",
  },
};

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export async function render({ shell, content, signal, session }) {
  shell.header({
    title: "Sign-in providers",
    lead: "Let people connect Gmail, Google Workspace and Microsoft 365 by signing in with their account, without an App Password. Register Posthorn with each provider once, then enter its client here.",
    settingsTabs: true,
  });
  if (!session?.user?.isOwner) return content.append(ownerOnly());

  const alertSlot = h("div", { hidden: true });
  const slot = h("div", { class: "stack" }, skeleton());
  content.append(h("div", { class: "stack" }, alertSlot, slot));

  let data = null;

  async function load() {
    try {
      data = await api("/oauth-clients", { signal });
      draw();
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error.code === "owner_required") return replaceChildren(slot, ownerOnly());
      replaceChildren(slot);
      formAlert(alertSlot, error);
    }
  }

  function draw() {
    replaceChildren(slot, redirectCard(data.redirectURI), (data.clients ?? []).map(providerCard));
  }

  function providerCard(client) {
    const guide = GUIDES[client.provider] ?? { service: "", env: "", register: () => [], idHelp: "" };
    const titleId = uid(`provider-${client.provider}`);
    const heading = h("h2", { class: "tile__title", id: titleId, tabindex: "-1" }, client.name);
    const card = h(
      "section",
      { class: "tile provider", "aria-labelledby": titleId, "data-provider": client.provider },
      h(
        "div",
        { class: "tile__header" },
        h("span", { class: "tile__icon" }, icon("key")),
        h("div", { class: "grow" }, h("div", { class: "item__title-row" }, heading, status(client)), h("p", { class: "tile__desc" }, guide.service)),
      ),
    );
    if (client.source === "environment") {
      card.append(
        h(
          "div",
          { class: "tile__body provider__body" },
          h("dl", { class: "kv" }, h("dt", {}, "Client ID"), h("dd", {}, client.clientId ? copyable(client.clientId, { label: `${client.name} client ID` }) : "—"), h("dt", {}, "Client secret"), h("dd", {}, client.hasSecret ? "Set on the server" : "Not set")),
          h("p", { class: "provider__note" }, "It comes from ", h("code", {}, guide.env), " and its secret, or from the providers file (", h("code", {}, "POSTHORN_OAUTH_PROVIDERS"), "). To change it, change it there and restart Posthorn."),
        ),
      );
      return card;
    }
    card.append(clientForm(client, guide));
    if (client.source === "settings") {
      const remove = h("button", { type: "button", class: "btn btn--danger-text", "data-testid": `oauth-client-remove-${client.provider}` }, icon("trash"), "Remove client");
      remove.addEventListener("click", () => removeClient(client, remove));
      card.append(h("div", { class: "tile__footer provider__danger" }, h("p", {}, `Removing the client takes Sign in with ${client.name} away.`), remove));
    }
    return card;
  }

  function clientForm(client, guide) {
    const set = client.source === "settings";
    const formAlertSlot = h("div", { hidden: true });
    const clientId = textField({ label: "Client ID", name: "clientId", class: "input input--mono", value: set ? client.clientId ?? "" : "", autocomplete: "off", spellcheck: "false", autocapitalize: "off", maxlength: "512", required: true, help: guide.idHelp });
    const secret = passwordField({
      label: "Client secret",
      name: "clientSecret",
      autocomplete: "new-password",
      maxlength: "512",
      required: true,
      help: set ? "Secret stored. It is never shown: enter it again, or a new one, to save a change." : "Shown once by the provider when you create it. Posthorn keeps it encrypted and never shows it again.",
    });
    const save = h("button", { type: "submit", class: "btn btn--primary" }, set ? "Save changes" : "Save client");
    const form = h(
      "form",
      { class: "tile__body provider__body provider__form", novalidate: true, "aria-label": `${client.name} client` },
      h("p", { class: "provider__note" }, guide.register()),
      formAlertSlot,
      clientId,
      secret,
      h("div", { class: "row" }, save),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { clientId: clientId.control.value.trim(), clientSecret: secret.control.value.trim() };
      const missing = [];
      if (!body.clientId) missing.push({ control: clientId.control, message: `Enter the client ID from ${client.provider === "microsoft" ? "the app registration" : "Google Cloud console"}.` });
      if (!body.clientSecret) missing.push({ control: secret.control, message: set ? "Enter the client secret again: the stored one is never shown." : "Enter the client secret." });
      if (missing.length) return showErrors(missing);
      busy(save, "Saving…");
      try {
        data = await api(`/oauth-clients/${encodeURIComponent(client.provider)}`, { method: "PUT", body });
        secret.control.value = "";
        draw();
        toast(`${client.name}'s client saved. People can now sign in with ${client.name}.`);
        titleOf(client.provider)?.focus();
      } catch (error) {
        busy(save);
        const control = { clientId: clientId.control, clientSecret: secret.control }[error.field];
        if (control) showErrors([{ control, message: error.message }]);
        else formAlert(formAlertSlot, error);
      }
    });
    return form;
  }

  /** The title of a provider's card (after a redraw: the keyboard stays where it was). */
  function titleOf(provider) {
    return slot.querySelector(`[data-provider="${CSS.escape(provider)}"] h2`);
  }

  async function removeClient(client, opener) {
    const done = await confirmDialog({
      title: `Remove ${client.name}'s client?`,
      body: h(
        "div",
        { class: "stack-sm" },
        h("p", {}, `Sign in with ${client.name} goes away from the Connect your email dialog.`),
        h("p", {}, "Credentials connected with it keep working until their next refresh, then fail until a client is set here again."),
      ),
      confirmLabel: "Remove client",
      progressLabel: "Removing…",
      opener,
      fallbackFocus: () => titleOf(client.provider) ?? slot,
      action: () => api(`/oauth-clients/${encodeURIComponent(client.provider)}`, { method: "DELETE" }),
    });
    if (!done) return;
    toast(`${client.name}'s client removed.`);
    await load();
    titleOf(client.provider)?.focus();
  }

  await load();
}

/** The status of a provider's client: colour, icon and words. */
function status(client) {
  const [kind, text, iconName] =
    client.source === "environment"
      ? ["neutral", "Set by the server's environment", "lock"]
      : client.source === "settings"
        ? ["succeeded", "Set here", "check-circle"]
        : ["neutral", "Not set up", "minus-circle"];
  const el = badge(kind, text, { iconName });
  el.dataset.testid = "oauth-client-status";
  return el;
}

function redirectCard(redirectURI) {
  const titleId = uid("redirect-title");
  let url = null;
  try {
    url = new URL(redirectURI);
  } catch {
    url = null;
  }
  const insecure = url && url.protocol === "http:" && !LOCAL_HOSTS.has(url.hostname);
  return h(
    "section",
    { class: "tile", "aria-labelledby": titleId, "data-testid": "oauth-redirect" },
    h(
      "div",
      { class: "tile__header" },
      h("span", { class: "tile__icon" }, icon("link")),
      h("div", { class: "grow" }, h("h2", { class: "tile__title", id: titleId }, "Redirect URI"), h("p", { class: "tile__desc" }, "Register this address with each provider, exactly as shown.")),
    ),
    h(
      "div",
      { class: "tile__body provider__body" },
      copyable(redirectURI, { label: "redirect URI", block: true }),
      insecure
        ? h(
            "div",
            { class: "callout callout--warning" },
            icon("alert"),
            h("div", { class: "callout__body" }, h("p", {}, "Google and Microsoft accept http:// redirect URIs only for localhost. Start Posthorn with ", h("code", {}, "--public-url"), " set to its https:// address.")),
          )
        : null,
      h("p", { class: "provider__note" }, "It comes from the server's public URL. Step-by-step registration for both providers: ", h("code", {}, "docs/OAUTH.md"), "."),
    ),
  );
}

function ownerOnly() {
  return restricted(
    "Only the instance owner can see this page",
    "Sign-in providers apply to every workspace on this server, so only the person who set Posthorn up manages them. Ask them to set up Google or Microsoft.",
  );
}

function skeleton() {
  return [1, 2, 3].map(() => h("div", { class: "tile", "aria-busy": "true", "aria-label": "Loading sign-in providers" }, h("div", { class: "tile__header" }, h("div", { class: "grow stack-sm" }, h("span", { class: "skeleton skeleton--title" }), h("span", { class: "skeleton skeleton--text" })))));
}
