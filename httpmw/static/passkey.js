// twofa's passkeys, for pages that are not twofa's own: sign-in from the
// application's login form through the browser's autofill (conditional
// mediation), and the invitation to create a passkey after a login with a
// code. Where the browser cannot do either, it does nothing and says
// nothing: the password form works as it did without it.
"use strict";

(() => {
  // The pages' path: this script is served at Path + "static/passkey.js".
  const script = document.currentScript;
  const base = script ? new URL("..", script.src).pathname : "/2fa/";

  const post = async (path, body) => {
    const res = await fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = new Error(answer.detail || answer.error || "The request failed (" + res.status + ").");
      err.problem = answer.type;
      throw err;
    }
    return answer;
  };

  const hasJSON = () =>
    window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function";

  const say = (msg) => {
    const el = document.querySelector("[data-twofa-error]");
    if (el) {
      el.textContent = msg;
      el.hidden = false;
    }
  };

  // The next page after a sign-in: the input's data-twofa-next, the
  // form's "next" field, or the login page's own ?next=.
  const nextOf = (input) => {
    if (input.dataset.twofaNext) {
      return input.dataset.twofaNext;
    }
    const field = input.form && input.form.elements.namedItem("next");
    if (field && field.value) {
      return field.value;
    }
    return new URLSearchParams(window.location.search).get("next") || "";
  };

  // One sign-in: begin, the browser's passkey (chosen in the autofill, or
  // in the browser's own dialog when mediation is ""), finish, go on. It
  // is exposed as window.twofaPasskey.signIn for a "Sign in with a
  // passkey" button of the application's own.
  const signIn = async (mediation, input, signal) => {
    const begin = await post("api/passkey/begin");
    const options = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begin.options.publicKey) };
    if (mediation) {
      options.mediation = mediation;
    }
    if (signal) {
      options.signal = signal;
    }
    const cred = await navigator.credentials.get(options);
    const done = await post("api/passkey/finish", {
      ceremony: begin.ceremony,
      response: cred.toJSON(),
      next: input ? nextOf(input) : "",
    });
    window.location.assign(done.next || "/");
  };

  // Autofill: on the first <input autocomplete="username webauthn">, the
  // browser offers the passkeys of this site among its suggestions. A
  // ceremony expires after a while (PasskeyTimeout); a new one starts then.
  const autofill = async (input) => {
    if (!hasJSON() || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") {
      return;
    }
    if (!(await PublicKeyCredential.isConditionalMediationAvailable().catch(() => false))) {
      return;
    }
    for (let tries = 0; tries < 20; tries++) {
      const started = Date.now();
      try {
        await signIn("conditional", input);
        return;
      } catch (err) {
        if (err && err.name === "AbortError") {
          return;
        }
        if (err && err.name === "NotAllowedError" && Date.now() - started > 10000) {
          continue; // the ceremony timed out unused: offer it again
        }
        if (err && err.name === "NotAllowedError") {
          return; // refused at once: no passkey here, or it cannot verify the user
        }
        if (err && err.problem) {
          say(err.message); // refused: the password form is still there
        }
        return;
      }
    }
  };

  // The invitation: where the browser can make a passkey with this
  // device's own lock, offer it; where it cannot, go on at once, and the
  // "Not now" it posts keeps the page away for a while.
  const invite = async (card) => {
    const form = card.querySelector("form");
    const create = card.querySelector("#invite-create");
    const later = card.querySelector("#invite-later");
    let able = false;
    if (hasJSON() && typeof PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable === "function") {
      able = await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().catch(() => false);
    }
    if (!able) {
      form.submit();
      return;
    }
    later.textContent = later.dataset.later;
    create.hidden = false;
    create.addEventListener("click", async () => {
      create.disabled = true;
      try {
        // No name: the key is named after its model ("iCloud Keychain").
        const begin = await post("keys/begin", { name: "" });
        const pk = begin.options.publicKey;
        // A passkey the device keeps (discoverable) and that checks who
        // uses it: what signs in alone.
        pk.authenticatorSelection = Object.assign({}, pk.authenticatorSelection, {
          residentKey: "required",
          requireResidentKey: true,
          userVerification: "required",
        });
        const cred = await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(pk),
        });
        await post("keys/finish", { ceremony: begin.ceremony, response: cred.toJSON() });
        window.location.assign(card.dataset.next || "/");
      } catch (err) {
        // The page gives the messages in its language.
        say(err && err.name === "NotAllowedError" ? card.dataset.msgNotCreated : (err && err.message) || card.dataset.msgFailed);
        create.disabled = false;
      }
    });
  };

  window.twofaPasskey = {
    signIn: () => signIn("", null),
  };

  const start = () => {
    const input = document.querySelector('input[autocomplete~="webauthn"]');
    if (input) {
      autofill(input);
    }
    const card = document.querySelector("[data-twofa-invite]");
    if (card) {
      invite(card);
    }
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
