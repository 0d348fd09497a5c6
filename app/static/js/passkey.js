// Passkeys (WebAuthn): the browser's side of app/auth/passkeys.py. A button with
// data-passkey="create" (register) or "get" (sign in, confirm an action) carries the server's
// options as JSON in data-passkey-options. On a click the authenticator is asked, its answer is
// put, as JSON, in the hidden field named by data-passkey-answer and the button's form is posted
// (with its CSRF token, as any form). The server checks everything; nothing here is trusted.
// Without this script (or without WebAuthn) the buttons stay hidden and the page says why.
(function () {
  "use strict";

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = window.atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i += 1) { raw += String.fromCharCode(bytes[i]); }
    return window.btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      var d = { type: c.type, id: toBytes(c.id) };
      if (c.transports) { d.transports = c.transports; }
      return d;
    });
  }

  function creationOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return { publicKey: o };
  }

  function requestOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return { publicKey: o };
  }

  function answerOf(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = toText(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      response: response, clientExtensionResults: {}
    });
  }

  function start(button) {
    var form = button.closest("form");
    var field = document.getElementById(button.getAttribute("data-passkey-answer"));
    var status = document.getElementById(button.getAttribute("data-passkey-status"));
    var create = button.getAttribute("data-passkey") === "create";
    var options = JSON.parse(button.getAttribute("data-passkey-options"));
    var asked = create ? navigator.credentials.create(creationOptions(options))
      : navigator.credentials.get(requestOptions(options));
    button.disabled = true;
    asked.then(function (credential) {
      field.value = answerOf(credential);
      form.submit();
    }).catch(function () {
      button.disabled = false;
      if (status) { status.textContent = button.getAttribute("data-passkey-failed"); }
    });
  }

  var buttons = document.querySelectorAll("[data-passkey]");
  var supported = !!(window.PublicKeyCredential && navigator.credentials);
  Array.prototype.forEach.call(buttons, function (button) {
    if (!supported) {
      var status = document.getElementById(button.getAttribute("data-passkey-status"));
      if (status) { status.textContent = button.getAttribute("data-passkey-unsupported"); }
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () { start(button); });
  });
}());
