// Passkeys on the portal's pages: a button with `data-passkey` ("get" to
// sign in, "create" to add one) asks `data-start` for the options, runs
// the browser's ceremony and posts its result to `data-finish`; the answer
// says where to go (`to`) or what went wrong (`error`). The sentences for
// the browser's own refusals come from `#passkey-state`'s data attributes.
"use strict";
(function () {
  const state = document.getElementById("passkey-state");
  const buttons = document.querySelectorAll("button[data-passkey]");
  if (!state || buttons.length === 0) return;
  const words = state.dataset;
  function say(sentence) {
    state.textContent = sentence || words.failed;
    state.hidden = false;
  }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    say(words.unsupported);
    buttons.forEach(function (b) { b.disabled = true; });
    return;
  }

  function bytes(b64url) {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "===".slice((b64.length + 3) % 4);
    return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0); });
  }
  function b64url(buffer) {
    if (!buffer) return undefined;
    let s = "";
    new Uint8Array(buffer).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: bytes(c.id) }); });
  }
  // The server's options (byte fields base64url) as the browser takes them.
  function creation(o) {
    const pk = Object.assign({}, o.publicKey);
    pk.challenge = bytes(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: bytes(pk.user.id) });
    pk.excludeCredentials = withIds(pk.excludeCredentials);
    return { publicKey: pk };
  }
  function request(o) {
    const pk = Object.assign({}, o.publicKey);
    pk.challenge = bytes(pk.challenge);
    pk.allowCredentials = withIds(pk.allowCredentials);
    return { publicKey: pk };
  }
  // The browser's credential as JSON, byte fields base64url.
  function asJSON(c) {
    const r = c.response;
    const response = r.attestationObject
      ? { attestationObject: b64url(r.attestationObject), clientDataJSON: b64url(r.clientDataJSON),
          transports: r.getTransports ? r.getTransports() : undefined }
      : { authenticatorData: b64url(r.authenticatorData), clientDataJSON: b64url(r.clientDataJSON),
          signature: b64url(r.signature), userHandle: b64url(r.userHandle) };
    return { id: c.id, rawId: b64url(c.rawId), type: c.type, response: response,
             extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {} };
  }
  function refusal(e) {
    switch (e && e.name) {
      case "NotAllowedError": return words.notAllowed;
      case "InvalidStateError": return words.invalidState;
      case "SecurityError": return words.security;
      case "AbortError": return words.abort;
      default: return words.failed;
    }
  }
  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    return res.json();
  }
  // An answer that says where to go is followed; else its sentence shown.
  function follow(answer) {
    if (answer.to) window.location.assign(answer.to);
    else say(answer.error);
  }

  async function run(button) {
    const d = button.dataset;
    state.hidden = true;
    const started = await post(d.start, { csrf: d.csrf });
    if (!started.options) { follow(started); return; }
    let credential;
    try {
      credential = d.passkey === "create"
        ? await navigator.credentials.create(creation(started.options))
        : await navigator.credentials.get(request(started.options));
    } catch (e) {
      say(refusal(e));
      return;
    }
    if (!credential) { say(words.notAllowed); return; }
    const body = { csrf: d.csrf, rd: d.rd || "", credential: asJSON(credential) };
    const label = d.label && document.getElementById(d.label);
    if (label && label.value.trim()) body.label = label.value.trim();
    follow(await post(d.finish, body));
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      button.disabled = true;
      run(button).catch(function () { say(); }).finally(function () { button.disabled = false; });
    });
  });
})();
