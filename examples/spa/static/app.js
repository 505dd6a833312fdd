// The page's script: no framework, no build step. The back end's own API
// (/api/) logs in with a password; twofa's JSON API (/2fa/api/) does the
// second step and its settings. Every request goes with the session cookie
// (credentials: "same-origin"), and every error comes as problem+json,
// whose detail is shown in the #error region, which is read out at once.
"use strict";

const $ = (id) => document.getElementById(id);

// twofa's JSON API, under the mount of its pages.
const TWOFA = "/2fa/api";

// then is where the page goes once the second step is passed: the account,
// or the settings that asked for a fresh step.
let then = () => afterPassword(true);

// A problem the server answered with, or a network failure.
class Problem extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.detail) || (body && body.title) || "Something went wrong (" + status + "). Please try again.");
    this.status = status;
    this.type = (body && body.type) || "about:blank";
    this.body = body || {};
    this.retryAfter = retryAfter;
  }
}

// A problem's type names its case for good; the last part is enough here.
const problemIs = (e, kind) => e instanceof Problem && e.type.endsWith(":" + kind);

// call sends a JSON request and returns the parsed answer (null for no
// content); it throws a Problem for any status that is not 2xx.
async function call(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new Problem(0, { detail: "The server cannot be reached. Check your connection and try again." });
  }
  const type = res.headers.get("Content-Type") || "";
  const data = res.status === 204 ? null : type.includes("json") ? await res.json().catch(() => null) : null;
  if (!res.ok) {
    throw new Problem(res.status, data, res.headers.get("Retry-After"));
  }
  return data;
}

// Messages. An error names the field it is about (aria-invalid) so that a
// screen reader says which; the next view or success clears both.
function showError(err, field) {
  if (problemIs(err, "not-logged-in")) {
    loggedOut("Your session has ended. Please log in again.");
    return;
  }
  $("notice").textContent = "";
  $("error").textContent = err instanceof Problem ? err.message : String(err && err.message || err);
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

function showNotice(text) {
  clearMessages();
  $("notice").textContent = text;
}

function clearMessages() {
  $("error").textContent = "";
  $("notice").textContent = "";
  for (const f of document.querySelectorAll("[aria-invalid]")) f.removeAttribute("aria-invalid");
}

// show makes view the one seen, and moves the focus to its heading so that
// a screen reader announces the new view as a new page.
function show(view, keepMessages) {
  if (!keepMessages) clearMessages();
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== "view-" + view;
  $("nav").hidden = view === "login" || view === "challenge" || view === "loading";
  document.title = $("view-" + view).querySelector("h1").textContent + " – twofa SPA example";
  $("view-" + view).querySelector("h1").focus();
}

// busy disables a form's buttons while its request runs, so that a double
// click sends one request.
async function busy(form, f) {
  const buttons = form.querySelectorAll("button");
  for (const b of buttons) b.disabled = true;
  try {
    await f();
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

// start decides the first view: logged in or not, and the second step
// passed or not.
async function start(keepMessages) {
  try {
    await call("GET", "/api/me");
  } catch (e) {
    if (e.status !== 401) showError(e);
    show("login", true);
    return;
  }
  await afterPassword(keepMessages);
}

const methodWords = {
  totp: "an authenticator app",
  webauthn: "a security key",
  email: "a code by e-mail",
  backup: "a backup code",
  browser: "a remembered browser",
};

// afterPassword goes on once the password has passed: to the account if
// the second step is passed too (or the user has none), else to the
// challenge.
async function afterPassword(keepMessages) {
  try {
    const acct = await call("GET", "/api/account");
    $("user-email").textContent = acct.email;
    $("passed-with").textContent = methodWords[acct.passedWith] || acct.passedWith;
    $("passed").hidden = !acct.passedWith;
    $("no-second-step").hidden = !!acct.passedWith;
    show("home", keepMessages);
  } catch (e) {
    if (e.status === 401 && e.body.error === "not logged in") {
      loggedOut("Your session has ended. Please log in again.");
      return;
    }
    if (e.status === 401) {
      await showChallenge();
      return;
    }
    showError(e);
  }
}

// loggedOut shows the login, with why.
function loggedOut(why) {
  then = () => afterPassword(true);
  show("login");
  showNotice(why);
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  busy(ev.target, async () => {
    try {
      await call("POST", "/api/login", { email: $("email").value, password: $("password").value });
    } catch (e) {
      // The address stays, the password is typed again.
      $("password").value = "";
      showError(e, $("password"));
      return;
    }
    $("password").value = "";
    await afterPassword();
  });
});

async function logout() {
  try {
    await call("POST", "/api/logout");
  } catch (e) {
    showError(e);
    return;
  }
  loggedOut("You are logged out.");
}
$("logout").addEventListener("click", logout);
$("challenge-logout").addEventListener("click", logout);
$("nav-home").addEventListener("click", () => afterPassword());
$("nav-settings").addEventListener("click", () => showSettings());

// showChallenge asks for the second step with the methods twofa offers.
async function showChallenge(next) {
  if (next) then = next;
  let ch;
  try {
    ch = await call("GET", TWOFA + "/challenge");
  } catch (e) {
    showError(e);
    return;
  }
  if (ch.passed && ch.fresh) {
    await passed();
    return;
  }
  const codes = ch.offered.filter((m) => m !== "webauthn");
  $("challenge-key").hidden = !ch.offered.includes("webauthn");
  $("challenge-email").hidden = !ch.offered.includes("email");
  $("verify-form").hidden = codes.length === 0;
  // Backup codes have letters: the number pad only for app codes alone.
  $("code").inputMode = codes.includes("backup") ? "text" : "numeric";
  $("remember-row").hidden = !ch.offerRemember;
  $("remember").checked = false;
  show("challenge", true);
  if (ch.throttle) showWait(ch.detail, ch.throttle.retryAt, null);
}

async function passed() {
  const next = then;
  then = () => afterPassword(true);
  await next();
}

// showWait tells how long the throttle makes the user wait: the problem's
// words, and the time of the next try, from Retry-After (seconds) or else
// retryAt. The time is the browser's clock plus the wait, so that it is
// right even when the server's clock and the browser's differ.
function showWait(detail, retryAt, retryAfter) {
  let secs = Number(retryAfter);
  if (!retryAfter && retryAt) secs = Math.max(0, Math.ceil((Date.parse(retryAt) - Date.now()) / 1000));
  let text = detail || "Too many tries.";
  if (secs > 0 && secs < 86400) {
    const at = new Date(Date.now() + secs * 1000);
    text += " Next try at " + at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }) + ".";
  }
  $("notice").textContent = "";
  $("error").textContent = text;
}

$("verify-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  busy(ev.target, async () => {
    try {
      await call("POST", TWOFA + "/verify", { code: $("code").value.trim(), remember: $("remember").checked });
    } catch (e) {
      $("code").value = "";
      if (problemIs(e, "throttled")) {
        showWait(e.message, e.body.retryAt, e.retryAfter);
        $("code").setAttribute("aria-invalid", "true");
      } else {
        showError(e, $("code"));
      }
      return;
    }
    $("code").value = "";
    await passed();
  });
});

// send-email asks twofa to mail a code for this login; the code is then
// typed in the same field as the others.
$("send-email").addEventListener("click", () => {
  busy($("challenge-email"), async () => {
    try {
      await call("POST", TWOFA + "/email");
    } catch (e) {
      if (problemIs(e, "throttled")) showWait(e.message, e.body.retryAt, e.retryAfter);
      else showError(e);
      return;
    }
    showNotice("A code is on its way to your e-mail address.");
    $("code").focus();
  });
});

// use-key passes the second step with a security key: twofa's options go
// to navigator.credentials.get, and the credential back as JSON.
$("use-key").addEventListener("click", () => {
  busy($("challenge-key"), async () => {
    try {
      const c = await call("POST", TWOFA + "/key/begin");
      const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(c.options.publicKey) });
      await call("POST", TWOFA + "/key/finish", { ceremony: c.ceremony, response: cred.toJSON(), remember: $("remember").checked });
    } catch (e) {
      showError(keyError(e));
      return;
    }
    await passed();
  });
});

// keyError says what a failed key ceremony means to a person: the browser's
// own errors (a cancelled prompt) are DOMExceptions, not problems.
function keyError(e) {
  if (e instanceof Problem) return e;
  if (e && e.name === "NotAllowedError") return "The security key was not used: the request was cancelled or timed out.";
  return "The security key did not work: " + (e && e.message || e);
}

// The settings, which twofa opens only after a recent second step: asked
// for it (step-up-needed), the page takes the challenge and comes back.
async function showSettings(keepMessages) {
  let acct;
  try {
    acct = await call("GET", TWOFA + "/account");
  } catch (e) {
    if (problemIs(e, "step-up-needed") || problemIs(e, "second-step-needed")) {
      await showChallenge(() => showSettings(true));
      return;
    }
    showError(e);
    return;
  }
  renderAccount(acct);
  show("settings", keepMessages);
}

const statusWords = { not_set_up: "not set up", pending: "being set up", enabled: "on", disabled: "off" };

function renderAccount(acct) {
  const state = (m) => (acct.methods.find((s) => s.method === m) || { status: "not_set_up" }).status;
  const totp = state("totp");
  $("totp-state").textContent = "Authenticator app: " + statusWords[totp] + ".";
  $("totp-setup").textContent = totp === "not_set_up" || totp === "pending" ? "Set up an authenticator app" : "Move to a different phone";
  $("totp-disable").hidden = totp !== "enabled";
  $("totp-enable").hidden = totp !== "disabled";
  const email = state("email");
  $("email-state").textContent = "Codes by e-mail: " + statusWords[email] + ".";
  $("email-enable").hidden = email === "enabled";
  $("email-disable").hidden = email !== "enabled";
  $("backup-state").textContent = state("backup") === "not_set_up"
    ? "No backup codes yet."
    : acct.backupRemaining + (acct.backupRemaining === 1 ? " unused code left." : " unused codes left.");
  const list = $("keys");
  list.replaceChildren();
  acct.keys.forEach((k, i) => {
    const li = document.createElement("li");
    // textContent and value: a key's name is the user's text, never markup.
    const name = document.createElement("span");
    name.className = "key-name";
    name.textContent = k.name;
    // Rename: a field of its own, labelled for the key it renames.
    const form = document.createElement("form");
    form.className = "key-rename";
    const label = document.createElement("label");
    label.htmlFor = "key-rename-" + i;
    label.textContent = "New name";
    const input = document.createElement("input");
    input.id = "key-rename-" + i;
    input.maxLength = 64;
    input.required = true;
    input.value = k.name;
    const rename = document.createElement("button");
    rename.type = "submit";
    rename.className = "secondary";
    rename.textContent = "Rename";
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      busy(form, () => settingsAction("PATCH", "/keys/" + encodeURIComponent(k.id), { name: input.value }, input));
    });
    form.append(label, input, rename);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary key-remove";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove " + k.name);
    remove.addEventListener("click", () => settingsAction("DELETE", "/keys/" + encodeURIComponent(k.id)));
    li.append(name, form, remove);
    list.append(li);
  });
  if (acct.keys.length === 0) {
    const li = document.createElement("li");
    li.textContent = "No security key yet.";
    list.append(li);
  }
  const browsers = $("browsers");
  browsers.replaceChildren();
  for (const b of acct.browsers) {
    const li = document.createElement("li");
    li.id = "browser-" + b.id;
    li.textContent = b.label + (b.id === acct.thisBrowser ? " (this browser)" : "") + ", until " + new Date(b.expires).toLocaleDateString() + " ";
    const forget = document.createElement("button");
    forget.type = "button";
    forget.className = "secondary";
    forget.textContent = "Forget";
    forget.setAttribute("aria-label", "Forget " + b.label);
    forget.addEventListener("click", () => settingsAction("DELETE", "/browsers/" + encodeURIComponent(b.id)));
    li.append(forget);
    browsers.append(li);
  }
  if (acct.browsers.length === 0) {
    const li = document.createElement("li");
    li.textContent = "No remembered browser.";
    browsers.append(li);
  }
  $("browsers-forget-all").hidden = acct.browsers.length === 0;
}

// settingsAction runs a change of the settings and shows its notice; a
// step-up asked for takes the challenge first, then the settings again.
async function settingsAction(method, path, body, field) {
  let done;
  try {
    done = await call(method, TWOFA + path, body);
  } catch (e) {
    if (problemIs(e, "step-up-needed") || problemIs(e, "second-step-needed")) {
      await showChallenge(() => showSettings(true));
      return null;
    }
    showError(e, field);
    return null;
  }
  renderAccount(done.account);
  showNotice(done.notice);
  return done;
}

// showCodes shows new backup codes, which twofa sends this once.
function showCodes(codes) {
  const list = $("codes");
  list.replaceChildren(...codes.map((c) => {
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = c;
    li.append(code);
    return li;
  }));
  $("backup-new").hidden = false;
}

$("totp-setup").addEventListener("click", async () => {
  let setup;
  try {
    setup = await call("POST", TWOFA + "/totp/begin");
  } catch (e) {
    if (problemIs(e, "step-up-needed") || problemIs(e, "second-step-needed")) {
      await showChallenge(() => showSettings(true));
      return;
    }
    showError(e);
    return;
  }
  clearMessages();
  $("secret").textContent = setup.secret;
  $("qr").src = setup.qrCode;
  $("totp-enroll").hidden = false;
  $("totp-code").focus();
});

$("totp-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  busy(ev.target, async () => {
    let done;
    try {
      done = await call("POST", TWOFA + "/totp/confirm", { code: $("totp-code").value.trim() });
    } catch (e) {
      showError(e, $("totp-code"));
      return;
    }
    $("totp-code").value = "";
    $("totp-enroll").hidden = true;
    renderAccount(done.account);
    showNotice(done.notice);
    if (done.codes) showCodes(done.codes);
  });
});

$("email-enable").addEventListener("click", () => settingsAction("POST", "/methods/email/enable"));
$("email-disable").addEventListener("click", () => settingsAction("POST", "/methods/email/disable"));
$("totp-disable").addEventListener("click", () => settingsAction("POST", "/methods/totp/disable"));
$("totp-enable").addEventListener("click", () => settingsAction("POST", "/methods/totp/enable"));
$("browsers-forget-all").addEventListener("click", () => settingsAction("DELETE", "/browsers"));

$("backup-generate").addEventListener("click", async () => {
  const done = await settingsAction("POST", "/backup");
  if (done && done.codes) showCodes(done.codes);
});

// Adding a key: twofa's creation options go to navigator.credentials.create
// as they are, the new credential back as JSON.
$("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  busy(ev.target, async () => {
    let c, cred;
    try {
      c = await call("POST", TWOFA + "/keys/begin", { name: $("key-name").value });
      cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(c.options.publicKey) });
    } catch (e) {
      if (problemIs(e, "step-up-needed") || problemIs(e, "second-step-needed")) {
        await showChallenge(() => showSettings(true));
        return;
      }
      showError(keyError(e), problemIs(e, "invalid-name") ? $("key-name") : null);
      return;
    }
    if (await settingsAction("POST", "/keys/finish", { ceremony: c.ceremony, response: cred.toJSON() })) {
      $("key-name").value = "";
    }
  });
});

start();
