// twofa's pages: security keys through the browser's WebAuthn API, which
// parses and serialises the server's JSON itself
// (PublicKeyCredential.parseCreationOptionsFromJSON, toJSON), and printing.
"use strict";

(() => {
  const showError = (msg) => {
    const el = document.querySelector("[data-twofa-error]");
    if (el) {
      el.textContent = msg;
      el.hidden = false;
    }
  };

  const post = async (url, body) => {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw new Error(answer.error || "The request failed (" + res.status + ").");
    }
    return answer;
  };

  const supported = () => window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON;

  const failure = (err) => {
    if (err && err.name === "NotAllowedError") {
      return "The security key did not answer, or the request was cancelled.";
    }
    if (err && err.name === "InvalidStateError") {
      return "This security key is already registered.";
    }
    return (err && err.message) || "Something went wrong.";
  };

  // Login with a key: begin, navigator.credentials.get, finish, go on.
  const login = async (button) => {
    const path = button.dataset.path;
    const remember = document.querySelector("input[name=remember]");
    button.disabled = true;
    try {
      if (!supported()) {
        throw new Error("This browser cannot use security keys.");
      }
      const begin = await post(path + "key/begin");
      const cred = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begin.options.publicKey),
      });
      const query = new URLSearchParams({ next: button.dataset.next || "/" });
      if (remember && remember.checked) {
        query.set("remember", "1");
      }
      const done = await post(path + "key/finish?" + query, { ceremony: begin.ceremony, response: cred.toJSON() });
      // done.next: the invitation to make a passkey, when there is one.
      window.location.assign(done.next || button.dataset.next || "/");
    } catch (err) {
      showError(failure(err));
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
        throw new Error("This browser cannot use security keys.");
      }
      const begin = await post(path + "keys/begin", { name: form.elements.name.value });
      const cred = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(begin.options.publicKey),
      });
      await post(path + "keys/finish", { ceremony: begin.ceremony, response: cred.toJSON() });
      window.location.assign(path + "settings");
    } catch (err) {
      showError(failure(err));
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
