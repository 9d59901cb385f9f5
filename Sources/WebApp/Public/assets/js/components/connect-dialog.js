// "Connect your email": create or edit an SMTP credential (the spec's Step 1).
//
// The form is the <template id="tpl-connect-dialog"> of index.html, cloned on every open so no
// value (the password above all) outlives the dialog. Behaviour added here:
// - quick settings from GET /credential-presets fill server, port, security (and SendGrid's
//   username) and show the provider's hints; AWS SES adds a region select;
// - choosing a security option moves the port between 465 and 587 unless the user typed one;
// - port 25 and other broken values are shown at the field before anything is sent;
// - Test connection (POST /credentials/test, the whole form) shows progress at once, then the
//   TLS version and capabilities, or the error code with its troubleshooting hint;
// - Save credential (POST, or PATCH with only the changed fields) closes the dialog; every 422
//   lands at the field it names.
// - Sign in instead of a password (OAuth, XOAUTH2): GET /credentials/oauth/providers when the
//   dialog opens; the Gmail and Microsoft 365 quick settings offer "Sign in with Google" /
//   "Sign in with Microsoft" when those providers are configured, other configured providers are
//   offered as they are. Signing in needs only the name: POST /credentials/oauth/start, then the
//   browser goes to the provider, which sends it back to /settings/oauth/callback.
// - Editing an OAuth credential: the server, security and sign-in come from the provider, so only
//   the name, limits, client identifier and delivery reports are shown; Reconnect signs in again.

import { api } from "../api.js";
import { cloneTemplate, h, replaceChildren } from "../dom.js";
import { openDialog } from "./dialog.js";
import { testProgress, testResult } from "./test-result.js";
import { busy, clearErrors, clearFieldError, formAlert, setFieldError, showErrors, wirePasswordToggle } from "./form.js";
import { icon } from "../icons.js";

const PORT_FOR = { "implicit-tls": 465, starttls: 587, plaintext: 587 };
const DEFAULT_PORTS = new Set([465, 587]);
const HOST_PATTERN = /^[A-Za-z0-9.:-]+$/;
const EHLO_PATTERN = /^(\[[A-Za-z0-9.:]+\]|[A-Za-z0-9.-]+)$/;
// The quick settings whose provider has a sign-in (OAuth) of its own: preset id → provider id.
const PRESET_PROVIDER = { gmail: "google", microsoft365: "microsoft" };
const BUILT_IN_PROVIDERS = new Set(Object.values(PRESET_PROVIDER));
const NAME_MISSING = "Enter a name to identify this connection, e.g. Marketing — SendGrid.";

let presetsPromise = null;
function loadPresets() {
  presetsPromise ??= api("/credential-presets")
    .then((answer) => answer.presets ?? [])
    .catch((error) => {
      presetsPromise = null; // try again at the next open
      throw error;
    });
  return presetsPromise;
}

/** The sign-in providers the operator configured; none when the list cannot be read. */
async function loadProviders() {
  try {
    const answer = await api("/credentials/oauth/providers");
    return Array.isArray(answer?.providers) ? answer.providers.filter((p) => p && typeof p.id === "string" && p.id) : [];
  } catch {
    return []; // a sign-in that cannot be offered is simply not offered: the password form stays
  }
}

/**
 * Starts a sign-in at the provider: POST /credentials/oauth/start with `body` ({provider, name}
 * for a new credential, {credentialId} to reconnect one), then the browser goes to the provider's
 * page. Resolves only when that fails (the ApiError is thrown).
 */
export async function startOAuth(body) {
  const { authorizeURL } = await api("/credentials/oauth/start", { method: "POST", body });
  let url;
  try {
    url = new URL(authorizeURL);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new Error("Posthorn answered without a sign-in address. Try again; if it keeps happening, ask your operator to check the provider settings.");
  }
  location.assign(url.href);
}

/** The sign-in button of a provider (brand as words only, a neutral icon). */
export function signInButton(provider, { small = false } = {}) {
  return h(
    "button",
    { type: "button", class: `btn${small ? " btn--sm" : ""}`, "data-testid": `oauth-signin-${provider.id}`, "data-provider": provider.id },
    icon("key"),
    `Sign in with ${provider.name || provider.id}`,
  );
}

/**
 * Opens the dialog. `credential`: the stored one to edit (from GET /credentials), or nothing for
 * a new one. `onSaved(credential)` runs after a successful save, once the dialog is closed.
 */
export function openConnectDialog({ credential = null, opener, fallbackFocus, onSaved }) {
  const fragment = cloneTemplate("tpl-connect-dialog");
  const dialog = fragment.querySelector("dialog");
  const form = dialog.querySelector("form");
  const $ = (selector) => dialog.querySelector(selector);
  const controls = {
    name: $("#cd-name"),
    host: $("#cd-host"),
    port: $("#cd-port"),
    username: $("#cd-username"),
    password: $("#cd-password"),
    security: $("#cd-sec-starttls"), // where a `security` error is shown (the group)
    acceptUnverifiedCertificates: $("#cd-insecure"),
    deliveryNotifications: $("#cd-dsn"),
    minTLSVersion: $("#cd-min-tls"),
    clientIdentifier: $("#cd-ehlo"),
    caCertificate: $("#cd-ca"),
    "limits.perSecond": $("#cd-limit-second"),
    "limits.perMinute": $("#cd-limit-minute"),
    "limits.perHour": $("#cd-limit-hour"),
    "limits.perDay": $("#cd-limit-day"),
    "limits.counts": $("#cd-limit-counts"),
  };
  const LIMIT_WINDOWS = ["perSecond", "perMinute", "perHour", "perDay"];
  const body = $("[data-body]");
  const alertSlot = $("[data-form-alert]");
  const resultSlot = $("[data-test-result]");
  const testButton = $("[data-test]");
  const saveButton = $("[data-save]");
  const region = $("#cd-region");
  let testController = null;
  let savedCredential = null;

  const editing = Boolean(credential);
  // An OAuth credential: server, security and sign-in come from its provider.
  const oauthEdit = editing && credential.auth === "oauth2";
  // Whether the port holds a number the user chose (then security choices leave it alone).
  let portTyped = false;
  // Whether the name was filled by a quick setting (then the next quick setting may replace it).
  let nameFromPreset = false;

  wirePasswordToggle($("[data-password-toggle]"), controls.password);
  for (const close of dialog.querySelectorAll("[data-close]")) close.addEventListener("click", () => dialog.close("cancel"));

  // ---- Filling in -------------------------------------------------------------------------

  if (oauthEdit) {
    // Only what may change for an OAuth credential stays in the form (the API refuses the rest).
    for (const selector of ["[data-presets-section]", "[data-oauth]", "[data-server]", "[data-access]", "[data-security]", "[data-ca]"]) $(selector)?.remove();
    alertSlot.after(oauthSummary());
  }

  if (editing) {
    $("#cd-title").textContent = "Edit credential";
    $("[data-subtitle]").textContent = `SMTP Server · ${credential.name}`;
    controls.name.value = credential.name;
    controls.host.value = credential.host;
    controls.port.value = String(credential.port);
    controls.username.value = credential.username ?? "";
    setSecurity(credential.security);
    controls.acceptUnverifiedCertificates.checked = credential.acceptUnverifiedCertificates;
    controls.deliveryNotifications.checked = credential.deliveryNotifications !== false;
    controls.minTLSVersion.value = credential.minTLSVersion;
    controls.clientIdentifier.value = credential.clientIdentifier ?? "";
    controls.caCertificate.value = credential.caCertificate ?? "";
    setLimits(credential.limits);
    if (credential.clientIdentifier || (!oauthEdit && credential.caCertificate) || credential.limits || credential.deliveryNotifications === false) $("[data-advanced]").open = true;
    portTyped = !DEFAULT_PORTS.has(credential.port);
    if (credential.hasPassword && !oauthEdit) {
      const keep = $("#cd-password-keep");
      keep.hidden = false;
      controls.password.placeholder = "Stored — leave blank to keep it";
      controls.password.setAttribute("aria-describedby", "cd-password-help cd-password-keep");
    }
  } else {
    controls.port.value = "587";
  }
  showPlaintextWarning();

  /** What an OAuth credential is signed in with, and a way to sign in again. */
  function oauthSummary() {
    const providerName = credential.oauth?.providerName || credential.oauth?.provider || "your provider";
    const reconnect = h("button", { type: "button", class: "btn btn--sm", "data-testid": "oauth-dialog-reconnect" }, icon("refresh"), "Reconnect");
    reconnect.addEventListener("click", async () => {
      clearErrors(form);
      busy(reconnect, "Opening…");
      try {
        await startOAuth({ credentialId: credential.id });
      } catch (error) {
        busy(reconnect);
        showRequestError(error);
      }
    });
    const target = `${credential.host}:${credential.port}`;
    return h(
      "div",
      { class: `callout${credential.oauth?.needsReconnect ? " callout--warning" : ""}`, "data-testid": "oauth-summary" },
      icon(credential.oauth?.needsReconnect ? "alert" : "key"),
      h(
        "div",
        { class: "callout__body" },
        h("p", { class: "callout__title" }, `Signed in with ${providerName}`),
        h(
          "dl",
          { class: "kv" },
          h("dt", {}, "Account"),
          h("dd", {}, credential.username ?? ""),
          h("dt", {}, "Server"),
          h("dd", {}, h("code", {}, target), ` · ${credential.security === "implicit-tls" ? "TLS from the start" : "STARTTLS"}`),
        ),
        h(
          "p",
          {},
          credential.oauth?.needsReconnect
            ? `${providerName} no longer accepts this sign-in. Reconnect to sign in again; the flows that use this credential keep it.`
            : `The server, encryption and sign-in come from ${providerName}. To use another account, reconnect.`,
        ),
        h("p", {}, reconnect),
      ),
    );
  }

  // ---- Sign in with a provider (OAuth) -----------------------------------------------------

  let providers = [];
  let chosenPreset = null;
  if (!editing) {
    loadProviders().then((list) => {
      providers = list;
      renderSignIn();
    });
  }

  /** The sign-in buttons for the chosen quick setting, then any other provider configured. */
  function renderSignIn() {
    const section = $("[data-oauth]");
    if (!section) return;
    const forPreset = chosenPreset ? providers.find((p) => p.id === PRESET_PROVIDER[chosenPreset.id]) : null;
    const others = providers.filter((p) => !BUILT_IN_PROVIDERS.has(p.id));
    const offered = [forPreset, ...others].filter(Boolean);
    section.hidden = offered.length === 0;
    $("[data-oauth-lead]").textContent = forPreset
      ? `Sign in at ${forPreset.name || forPreset.id} instead of creating an App Password: Posthorn never sees your password and keeps the connection working.`
      : "Sign in at your email provider instead of typing a password here. Posthorn keeps the connection working.";
    $("[data-oauth-or]").textContent = forPreset ? "or use an App Password" : "or enter the server and a password";
    replaceChildren(
      $("[data-oauth-buttons]"),
      offered.map((provider) => {
        const button = signInButton(provider);
        button.addEventListener("click", () => signIn(provider, button));
        return button;
      }),
    );
  }

  async function signIn(provider, button) {
    clearErrors(form);
    const name = controls.name.value.trim();
    if (!name) return showErrors([{ control: controls.name, message: NAME_MISSING }]);
    busy(button, `Opening ${provider.name || provider.id}…`);
    try {
      await startOAuth({ provider: provider.id, name });
    } catch (error) {
      busy(button);
      showRequestError(error);
    }
  }

  // ---- Quick settings ---------------------------------------------------------------------

  let presets = [];
  if (!oauthEdit) {
    loadPresets()
      .then((list) => {
        presets = list;
        renderPresets();
      })
      .catch(() => ($("[data-presets-section]").hidden = true));
  }

  function renderPresets() {
    const chips = presets.map((preset) => {
      const input = h("input", { type: "radio", name: "preset", value: preset.id, id: `cd-preset-${preset.id}` });
      input.addEventListener("change", () => applyPreset(preset));
      return h("label", { class: "chip", for: input.id }, input, h("span", {}, preset.name));
    });
    replaceChildren($("[data-presets]"), chips);
    // Editing a credential that points at a provider: show that provider as chosen, with its hints.
    const current = editing ? presets.find((p) => hostMatches(p, credential.host)) : null;
    if (current) {
      $(`#cd-preset-${current.id}`).checked = true;
      showPresetHints(current, { regionFromHost: credential.host });
      showLimitSuggestions(current);
    }
  }

  function hostMatches(preset, host) {
    if (!preset.host.includes("{region}")) return preset.host === host;
    const [before, after] = preset.host.split("{region}");
    return host.startsWith(before) && host.endsWith(after);
  }

  function applyPreset(preset) {
    chosenPreset = preset;
    renderSignIn();
    showPresetHints(preset);
    controls.host.value = presetHost(preset);
    controls.port.value = String(preset.port);
    portTyped = false;
    setSecurity(preset.security);
    if (preset.username) controls.username.value = preset.username;
    if (!controls.name.value.trim() || nameFromPreset) {
      controls.name.value = preset.name;
      nameFromPreset = true;
    }
    for (const key of ["host", "port", "security", "username"]) clearFieldError(controls[key]);
    showPlaintextWarning();
    showLimitSuggestions(preset);
    // A new credential takes the provider's published limits; an edited one keeps its own.
    if (!editing && preset.limits?.length && !currentLimits()) setLimits(preset.limits[0].limits);
  }

  // ---- Sending limits ---------------------------------------------------------------------

  function setLimits(limits) {
    for (const name of LIMIT_WINDOWS) controls[`limits.${name}`].value = limits?.[name] ?? "";
    controls["limits.counts"].value = limits?.counts ?? "messages";
  }

  /** The limits typed, as the API takes them, or null when none is. */
  function currentLimits() {
    const limits = {};
    for (const name of LIMIT_WINDOWS) {
      const raw = controls[`limits.${name}`].value.trim();
      if (raw) limits[name] = Number(raw);
    }
    if (!Object.keys(limits).length) return null;
    limits.counts = controls["limits.counts"].value;
    return limits;
  }

  function showLimitSuggestions(preset) {
    const slot = $("[data-limit-suggestions]");
    const suggestions = preset.limits ?? [];
    slot.hidden = suggestions.length === 0;
    replaceChildren(slot, suggestions.map((suggestion) => {
      const button = h("button", { type: "button", class: "btn", title: suggestion.note }, `Use ${suggestion.name} limits`);
      button.addEventListener("click", () => {
        setLimits(suggestion.limits);
        for (const name of LIMIT_WINDOWS) clearFieldError(controls[`limits.${name}`]);
      });
      return button;
    }));
  }

  function showPresetHints(preset, { regionFromHost } = {}) {
    $("[data-preset-hint]").hidden = false;
    $("[data-preset-name]").textContent = preset.name;
    $("[data-preset-username]").textContent = preset.username ? `${preset.usernameHint} (filled in for you)` : preset.usernameHint;
    $("[data-preset-password]").textContent = preset.passwordHint;
    const regional = Boolean(preset.regions?.length);
    $("[data-region]").hidden = !regional;
    if (regional) {
      replaceChildren(region, preset.regions.map((r) => h("option", { value: r }, r)));
      const [before, after] = preset.host.split("{region}");
      if (regionFromHost) region.value = regionFromHost.slice(before.length, regionFromHost.length - after.length);
      region.onchange = () => {
        controls.host.value = presetHost(preset);
        clearFieldError(controls.host);
      };
    }
  }

  function presetHost(preset) {
    return preset.host.replace("{region}", region.value || preset.regions?.[0] || "");
  }

  // ---- Field behaviour --------------------------------------------------------------------

  controls.name.addEventListener("input", () => (nameFromPreset = false));
  controls.port.addEventListener("input", () => {
    portTyped = controls.port.value.trim() !== "";
    const problem = portProblem(controls.port.value);
    if (problem) setFieldError(controls.port, problem);
    else clearFieldError(controls.port);
  });
  for (const radio of dialog.querySelectorAll('input[name="security"]')) {
    radio.addEventListener("change", () => {
      if (!portTyped) {
        controls.port.value = String(PORT_FOR[radio.value]);
        clearFieldError(controls.port);
      }
      clearFieldError(controls.security);
      showPlaintextWarning();
    });
  }
  // A changed value clears its server error; the next save or test checks again.
  for (const control of Object.values(controls)) {
    if (control !== controls.port) control.addEventListener("input", () => control.getAttribute("aria-invalid") && clearFieldError(control));
  }

  function setSecurity(value) {
    const radio = dialog.querySelector(`input[name="security"][value="${value}"]`);
    if (radio) radio.checked = true;
  }
  function security() {
    return dialog.querySelector('input[name="security"]:checked')?.value ?? "starttls";
  }
  function showPlaintextWarning() {
    const warning = $("[data-plaintext-warning]");
    if (warning) warning.hidden = security() !== "plaintext"; // an OAuth credential has no security choices
  }

  function portProblem(raw) {
    const value = raw.trim();
    if (value === "") return null; // the server picks 465 or 587 from the security choice
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) return "Enter a port number from 1 to 65535.";
    if (Number(value) === 25) return "Port 25 is not allowed. Use 587 or 465.";
    return null;
  }

  /** Checks what can be checked here; returns [{control, message}]. */
  function validate({ forTest = false } = {}) {
    const errors = [];
    const name = controls.name.value.trim();
    const host = controls.host.value.trim();
    if (!forTest && !name) errors.push({ control: controls.name, message: NAME_MISSING });
    if (oauthEdit) {
      // Server and sign-in come from the provider: only the fields still in the form are checked.
    } else if (!host) errors.push({ control: controls.host, message: "Enter the server address, e.g. smtp.gmail.com." });
    else if (!HOST_PATTERN.test(host)) errors.push({ control: controls.host, message: "Enter a host name like smtp.example.com, without https:// or spaces." });
    const portError = oauthEdit ? null : portProblem(controls.port.value);
    if (portError) errors.push({ control: controls.port, message: portError });
    const ehlo = controls.clientIdentifier.value.trim();
    if (ehlo && !EHLO_PATTERN.test(ehlo)) errors.push({ control: controls.clientIdentifier, message: "Enter a domain like mail.example.com, or an address in brackets like [192.0.2.1]." });
    const ca = oauthEdit ? "" : controls.caCertificate.value.trim();
    if (ca && !ca.includes("-----BEGIN CERTIFICATE-----")) errors.push({ control: controls.caCertificate, message: "Paste the certificate in PEM format: it starts with -----BEGIN CERTIFICATE-----." });
    for (const name of LIMIT_WINDOWS) {
      const control = controls[`limits.${name}`];
      const raw = control.value.trim();
      if (raw && (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 10000000)) {
        errors.push({ control, message: "Enter a whole number from 1 to 10,000,000, or leave it blank for no limit." });
      }
    }
    return errors;
  }

  /** The form as the API's CredentialInput (empty optional fields left out). */
  function values() {
    const out = {
      type: "smtp",
      name: controls.name.value.trim(),
      host: controls.host.value.trim(),
      security: security(),
      acceptUnverifiedCertificates: controls.acceptUnverifiedCertificates.checked,
      minTLSVersion: controls.minTLSVersion.value,
      deliveryNotifications: controls.deliveryNotifications.checked,
    };
    if (controls.port.value.trim()) out.port = Number(controls.port.value.trim());
    const username = controls.username.value.trim();
    if (username) out.username = username;
    if (controls.password.value) out.password = controls.password.value; // passwords are not trimmed
    const ehlo = controls.clientIdentifier.value.trim();
    if (ehlo) out.clientIdentifier = ehlo;
    const ca = controls.caCertificate.value.trim();
    if (ca) out.caCertificate = `${ca}\n`;
    const limits = currentLimits();
    if (limits) out.limits = limits;
    return out;
  }

  /** For PATCH: only what changed (`null` clears), plus the version we read. */
  function changes() {
    const now = values();
    const patch = { version: credential.version };
    // An OAuth credential takes only these; its server, security and account come from the provider.
    const scalars = oauthEdit ? ["name", "deliveryNotifications"] : ["name", "host", "port", "security", "acceptUnverifiedCertificates", "minTLSVersion", "deliveryNotifications"];
    const optionals = oauthEdit ? ["clientIdentifier"] : ["username", "clientIdentifier", "caCertificate"];
    for (const key of scalars) {
      if (key in now && now[key] !== credential[key]) patch[key] = now[key];
    }
    for (const key of optionals) {
      const before = (credential[key] ?? "").trim();
      const after = (now[key] ?? "").trim();
      if (before !== after) patch[key] = after ? now[key] : null;
    }
    const limits = now.limits ?? null;
    if (JSON.stringify(limits) !== JSON.stringify(comparableLimits(credential.limits))) patch.limits = limits;
    if (now.password && !oauthEdit) patch.password = now.password;
    return patch;
  }

  /** Stored limits in the shape currentLimits() gives, for comparing. */
  function comparableLimits(limits) {
    if (!limits) return null;
    const out = {};
    for (const name of LIMIT_WINDOWS) if (limits[name] != null) out[name] = limits[name];
    out.counts = limits.counts;
    return out;
  }

  /** Shows a failed request: at its field when it names one, else at the top of the form. */
  function showRequestError(error) {
    const control = controls[error.field];
    // (An OAuth credential's form has no server or password fields: an error about them goes on top.)
    if (control?.isConnected) {
      showErrors([{ control, message: error.message }]);
    } else if (error.code === "version_conflict") {
      formAlert(alertSlot, { ...error, message: "Someone changed this credential while you were editing it. Close this dialog and open it again to see their changes." });
      alertSlot.scrollIntoView({ block: "nearest" });
    } else {
      formAlert(alertSlot, error);
      alertSlot.scrollIntoView({ block: "nearest" });
    }
  }

  // ---- Test connection --------------------------------------------------------------------

  testButton.addEventListener("click", async () => {
    clearErrors(form);
    const errors = validate({ forTest: true });
    if (errors.length) return showErrors(errors, { summarySlot: body });

    const target = `${controls.host.value.trim()}:${controls.port.value.trim() || PORT_FOR[security()]}`;
    busy(testButton, "Testing…");
    renderProgress(target);
    testController = new AbortController();
    try {
      if (oauthEdit) {
        // The stored credential with its current token: the form has nothing to test with.
        const result = await api(`/credentials/${encodeURIComponent(credential.id)}/test`, { method: "POST", signal: testController.signal });
        renderResult(result, target);
        return;
      }
      const payload = values();
      if (!payload.name) delete payload.name; // a test needs no name yet
      if (editing) payload.credentialId = credential.id;
      const result = await api("/credentials/test", { method: "POST", body: payload, signal: testController.signal });
      renderResult(result, target);
    } catch (error) {
      if (error.name === "AbortError") return;
      resultSlot.replaceChildren();
      showRequestError(error);
    } finally {
      busy(testButton);
    }
  });

  function renderProgress(target) {
    replaceChildren(resultSlot, testProgress(target));
    resultSlot.scrollIntoView({ block: "nearest" });
  }

  function renderResult(result, target) {
    replaceChildren(resultSlot, testResult(result, target));
    if (!result.ok && result.error?.code === "EAUTH" && controls.password.isConnected) controls.password.focus();
    resultSlot.scrollIntoView({ block: "nearest" });
  }

  // ---- Save -------------------------------------------------------------------------------

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const errors = validate();
    if (errors.length) return showErrors(errors, { summarySlot: body });

    busy(saveButton, "Saving…");
    try {
      const saved = editing
        ? await api(`/credentials/${encodeURIComponent(credential.id)}`, { method: "PATCH", body: changes() })
        : await api("/credentials", { method: "POST", body: values() });
      controls.password.value = "";
      savedCredential = saved;
      dialog.close("saved");
    } catch (error) {
      busy(saveButton);
      showRequestError(error);
    }
  });

  openDialog(dialog, {
    opener,
    fallbackFocus,
    onClose: () => {
      testController?.abort();
      controls.password.value = ""; // never keep the secret around after the dialog
      if (savedCredential) onSaved?.(savedCredential);
    },
  });
  controls.name.focus();
  return dialog;
}
