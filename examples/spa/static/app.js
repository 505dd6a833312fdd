// The page's script: no framework, no build step. The back end's own API
// (/api/) logs in with a password; twofa's JSON API (/2fa/api/) does the
// second step and its settings. Every request goes with the session cookie
// (credentials: "same-origin"), and every error comes as problem+json,
// whose detail is shown in the #error region, which is read out at once.
"use strict";

const $ = (id) => document.getElementById(id);

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

// afterPassword goes on once the password has passed: to the account if
// the second step is passed too (or the user has none), else to the
// challenge.
async function afterPassword(keepMessages) {
  try {
    const acct = await call("GET", "/api/account");
    $("user-email").textContent = acct.email;
    $("passed-with").textContent = acct.passedWith;
    $("passed").hidden = !acct.passedWith;
    $("no-second-step").hidden = !!acct.passedWith;
    show("home", keepMessages);
  } catch (e) {
    if (e.status === 401) {
      await showChallenge();
      return;
    }
    showError(e);
  }
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  busy(ev.target, async () => {
    try {
      await call("POST", "/api/login", { email: $("email").value, password: $("password").value });
    } catch (e) {
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
  show("login");
  showNotice("You are logged out.");
}
$("logout").addEventListener("click", logout);
$("challenge-logout").addEventListener("click", logout);
$("nav-home").addEventListener("click", () => afterPassword());
$("nav-settings").addEventListener("click", () => showSettings());

// The second step, through twofa's JSON API.
async function showChallenge() {
  show("challenge", true);
}

async function showSettings() {
  show("settings");
}

start();
