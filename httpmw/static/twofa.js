// twofa's pages: security keys through the browser's WebAuthn API, which
// parses and serialises the server's JSON itself
// (PublicKeyCredential.parseCreationOptionsFromJSON, toJSON), and printing.
"use strict";

(() => {
  // The messages come from the page, in its language: data-msg-* on the
  // button or form that starts the ceremony.
  const message = (el, name) => (el && el.dataset["msg" + name]) || (el && el.dataset.msgFailed) || "";

  const showError = (msg) => {
    const el = document.querySelector("[data-twofa-error]");
    if (el) {
      el.textContent = msg;
      el.hidden = false;
    }
  };

  // An answer that is not OK names its message by its status; the
  // server's own text is for developers, in English.
  const statusMessage = { 400: "Name", 401: "Login", 403: "Refused", 409: "Conflict", 422: "Name" };

  class Failed extends Error {
    constructor(name) {
      super(name);
      this.key = name;
    }
  }

  const post = async (url, body) => {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw new Failed(statusMessage[res.status] || "Failed");
    }
    return answer;
  };

  const supported = () => window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON;

  const failure = (el, err) => {
    if (err instanceof Failed) {
      return message(el, err.key);
    }
    if (err && err.name === "NotAllowedError") {
      return message(el, "Cancelled");
    }
    if (err && err.name === "InvalidStateError") {
      return message(el, "Registered");
    }
    return message(el, "Failed");
  };

  // Login with a key: begin, navigator.credentials.get, finish, go on.
  const login = async (button) => {
    const path = button.dataset.path;
    const remember = document.querySelector("input[name=remember]");
    button.disabled = true;
    try {
      if (!supported()) {
        throw new Failed("Unsupported");
      }
      const begin = await post(path + "key/begin");
      const cred = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begin.options.publicKey),
      });
      const query = remember && remember.checked ? "?remember=1" : "";
      await post(path + "key/finish" + query, { ceremony: begin.ceremony, response: cred.toJSON() });
      window.location.assign(button.dataset.next || "/");
    } catch (err) {
      showError(failure(button, err));
      button.disabled = false;
    }
  };

  // Add a key: begin with its name, navigator.credentials.create, finish.
  const register = async (form) => {
    const path = form.dataset.path;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      if (!supported()) {
        throw new Failed("Unsupported");
      }
      const begin = await post(path + "keys/begin", { name: form.elements.name.value });
      const cred = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(begin.options.publicKey),
      });
      await post(path + "keys/finish", { ceremony: begin.ceremony, response: cred.toJSON() });
      window.location.assign(path + "settings");
    } catch (err) {
      showError(failure(form, err));
      button.disabled = false;
    }
  };

  document.addEventListener("DOMContentLoaded", () => {
    for (const b of document.querySelectorAll("[data-twofa-login]")) {
      b.addEventListener("click", () => login(b));
    }
    for (const f of document.querySelectorAll("form[data-twofa-register]")) {
      f.addEventListener("submit", (ev) => {
        ev.preventDefault();
        register(f);
      });
    }
    for (const b of document.querySelectorAll("[data-twofa-print]")) {
      b.addEventListener("click", () => window.print());
    }
  });
})();
