/* Part 1 of field-intake.js. HPKE (RFC 9180), base mode, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, on WebCrypto.
 *
 * The sender's half only: the device seals to the organisation's intake public key and holds no
 * key that opens what it sealed. The same steps as app/crypto/hpke.py (which opens), checked in
 * tests/js/hpke.test.js against RFC 9180's appendix A.3 values (AES-128-GCM) and the shared
 * AES-256-GCM vector. globalThis.AmanaHPKE.seal(publicKey, info, aad, plaintext) gives
 * {enc, ct}: the 65-byte ephemeral public point and the ciphertext with its tag.
 */
(function (root) {
  'use strict';
  const subtle = root.crypto.subtle;
  const te = new TextEncoder();
  const KEM_ID = 0x0010, KDF_ID = 0x0001;
  const AES_128_GCM = 0x0001, AES_256_GCM = 0x0002;
  const KEY_LENGTH = { 1: 16, 2: 32 };
  const NONCE_LENGTH = 12, HASH_LENGTH = 32;
  const VERSION = te.encode('HPKE-v1');

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }
  function i2osp(value, length) {
    const out = new Uint8Array(length);
    for (let i = length - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
    return out;
  }
  const KEM_SUITE = concat(te.encode('KEM'), i2osp(KEM_ID, 2));
  function hpkeSuite(aead) {
    return concat(te.encode('HPKE'), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(aead, 2));
  }

  async function hmac(key, data) {
    // An empty HMAC key is the same key as HASH_LENGTH zero bytes (HMAC pads keys with zeros);
    // WebCrypto refuses empty keys, so the zeros are passed.
    const raw = key.length ? key : new Uint8Array(HASH_LENGTH);
    const k = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await subtle.sign('HMAC', k, data));
  }
  async function expand(prk, info, length) {
    let out = new Uint8Array(0), block = new Uint8Array(0);
    for (let counter = 1; out.length < length; counter++) {
      block = await hmac(prk, concat(block, info, Uint8Array.of(counter)));
      out = concat(out, block);
    }
    return out.slice(0, length);
  }
  function labeledExtract(suite, salt, label, ikm) {
    return hmac(salt, concat(VERSION, suite, te.encode(label), ikm));
  }
  function labeledExpand(suite, prk, label, info, length) {
    return expand(prk, concat(i2osp(length, 2), VERSION, suite, te.encode(label), info), length);
  }

  function b64url(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  // A P-256 point (65 bytes, uncompressed) and, for the published test vectors, its private
  // scalar, as the JWK WebCrypto imports (it has no raw import of an ECDH private key).
  function jwk(point, scalar) {
    const key = { kty: 'EC', crv: 'P-256', x: b64url(point.slice(1, 33)), y: b64url(point.slice(33, 65)),
                  ext: true };
    if (scalar) key.d = b64url(scalar);
    return key;
  }

  async function keySchedule(sharedSecret, info, aead) {
    const suite = hpkeSuite(aead);
    const pskIdHash = await labeledExtract(suite, new Uint8Array(0), 'psk_id_hash', new Uint8Array(0));
    const infoHash = await labeledExtract(suite, new Uint8Array(0), 'info_hash', info);
    const context = concat(Uint8Array.of(0), pskIdHash, infoHash);
    const secret = await labeledExtract(suite, sharedSecret, 'secret', new Uint8Array(0));
    return {
      sharedSecret, secret, keyScheduleContext: context,
      key: await labeledExpand(suite, secret, 'key', context, KEY_LENGTH[aead]),
      baseNonce: await labeledExpand(suite, secret, 'base_nonce', context, NONCE_LENGTH),
      exporterSecret: await labeledExpand(suite, secret, 'exp', context, HASH_LENGTH),
    };
  }

  // SetupBaseS: the ephemeral key pair (fresh, or given for the test vectors), the ECDH with
  // the recipient's point, the KEM's shared secret and the key schedule.
  async function setupBaseS(recipient, info, aead, ephemeral) {
    if (!(recipient instanceof Uint8Array) || recipient.length !== 65 || recipient[0] !== 4) {
      throw new Error('The intake key is not a P-256 public key.');
    }
    const alg = { name: 'ECDH', namedCurve: 'P-256' };
    const pkR = await subtle.importKey('jwk', jwk(recipient), alg, false, []);
    let skE, enc;
    if (ephemeral) {
      skE = await subtle.importKey('jwk', jwk(ephemeral.pub, ephemeral.d), alg, false, ['deriveBits']);
      enc = ephemeral.pub;
    } else {
      const pair = await subtle.generateKey(alg, false, ['deriveBits']);
      skE = pair.privateKey;
      enc = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
    }
    const dh = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: pkR }, skE, 256));
    const prk = await labeledExtract(KEM_SUITE, new Uint8Array(0), 'eae_prk', dh);
    const shared = await labeledExpand(KEM_SUITE, prk, 'shared_secret', concat(enc, recipient), HASH_LENGTH);
    return { enc, context: await keySchedule(shared, info, aead) };
  }

  function nonce(baseNonce, seq) {
    const counter = i2osp(seq, NONCE_LENGTH);
    return baseNonce.map((b, i) => b ^ counter[i]);
  }
  async function encrypt(context, seq, aad, plaintext) {
    const key = await subtle.importKey('raw', context.key, 'AES-GCM', false, ['encrypt']);
    const out = await subtle.encrypt({ name: 'AES-GCM', iv: nonce(context.baseNonce, seq),
                                       additionalData: aad, tagLength: 128 }, key, plaintext);
    return new Uint8Array(out);
  }

  root.AmanaHPKE = Object.freeze({
    // Single-shot Seal (message 0) with AES-256-GCM: what field intake uses.
    async seal(publicKey, info, aad, plaintext) {
      const { enc, context } = await setupBaseS(publicKey, info, AES_256_GCM, null);
      return { enc, ct: await encrypt(context, 0, aad, plaintext) };
    },
    // For tests/js/hpke.test.js only: the published vectors fix the ephemeral key and the AEAD.
    testing: Object.freeze({ setupBaseS, encrypt, nonce, AES_128_GCM, AES_256_GCM }),
  });
})(globalThis);

/* Amana field intake: the offline form's one script (a classic script, served from our origin).

   - Reads the setup (the user id and the organisation's intake public key): network first,
     the service worker's cached copy offline.
   - Before sealing, checks the form with the rules its fields declare, and nothing else:
     required, maxlength, min/max (the browser's constraint validation), data-not-future
     against the device's local date, data-must-be; each message is the field's own
     (data-*-message), in the page's language, beside the field.
   - Seals {"fields": {...}} with globalThis.AmanaHPKE (HPKE, RFC 9180) to the organisation's
     key, the user, device, time and submission id bound in the associated data; keeps ONLY
     the envelope in IndexedDB ("amana-field" / "envelopes"), empties the form.
   - Sends the waiting envelopes of the signed-in user when online (20 per request) and
     deletes those the server took or refused for good.
   Nothing typed is written anywhere else: no localStorage, sessionStorage, Cache Storage or
   cookie. */
(function () {
  "use strict";
  if (typeof document === "undefined") return;  // Node's test runner: only AmanaHPKE is used

  const INFO = "amana/field-intake/v1";
  const DB_NAME = "amana-field";
  const ENVELOPES = "envelopes";
  const META = "meta";
  const BATCH = 20;
  const FINAL = new Set(["tampered", "expired", "unknown_key", "malformed"]);

  let texts, form, setup = null, syncing = false;

  /* ---- bytes ---- */
  function b64url(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 1) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function unb64url(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i += 1) out[i] = s.charCodeAt(i);
    return out;
  }

  /* ---- IndexedDB: the sealed envelopes, and this browser's device id ---- */
  function openDb() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(ENVELOPES)) db.createObjectStore(ENVELOPES, { keyPath: "sid" });
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function withStore(name, mode, work) {
    const db = await openDb();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(name, mode);
        const req = work(tx.objectStore(name));
        tx.oncomplete = () => resolve(req ? req.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }
  const allEnvelopes = () => withStore(ENVELOPES, "readonly", (s) => s.getAll());
  const keepEnvelope = (env) => withStore(ENVELOPES, "readwrite", (s) => s.add(env));
  const dropEnvelope = (sid) => withStore(ENVELOPES, "readwrite", (s) => s.delete(sid));

  async function deviceId() {
    const known = await withStore(META, "readonly", (s) => s.get("device_id"));
    if (typeof known === "string" && /^[A-Za-z0-9_-]{16,64}$/.test(known)) return known;
    const made = b64url(crypto.getRandomValues(new Uint8Array(24)));
    await withStore(META, "readwrite", (s) => s.put(made, "device_id"));
    return made;
  }

  /* ---- what the page says ---- */
  function say(text) {
    document.getElementById("field-message").textContent = text || "";
  }
  function counted(el, n) {
    const category = new Intl.PluralRules(document.documentElement.lang).select(n);
    return (el.dataset[category] || el.dataset.other).replace("{n}", String(n));
  }
  async function updateCount() {
    const all = await allEnvelopes();
    const uid = setup && setup.user_id;
    const mine = uid ? all.filter((e) => e.uid === uid).length : all.length;
    const count = document.getElementById("field-count");
    const others = document.getElementById("field-others");
    count.textContent = counted(count, mine);
    others.hidden = all.length === mine;
    others.textContent = others.hidden ? "" : counted(others, all.length - mine);
    warnAgeing(uid ? all.filter((e) => e.uid === uid) : all);
  }
  /* The server refuses an envelope made more than max_age_days ago: say so two days before,
     with the time the first of them stops being accepted, and once it has passed. */
  const SOON_MS = 2 * 86400000;
  function warnAgeing(envelopes) {
    const days = setup && Number.isInteger(setup.max_age_days) ? setup.max_age_days : 7;
    const now = Date.now();
    const ends = envelopes.map((e) => e.at + days * 86400000).filter((t) => t - now < SOON_MS);
    const passed = ends.filter((t) => t <= now).length;
    const soon = ends.filter((t) => t > now);
    const ageing = document.getElementById("field-ageing");
    const tooOld = document.getElementById("field-too-old");
    ageing.hidden = soon.length === 0;
    ageing.textContent = ageing.hidden ? "" : counted(ageing, soon.length).replace(
      "{date}", new Intl.DateTimeFormat(document.documentElement.lang,
        { dateStyle: "medium", timeStyle: "short" }).format(new Date(Math.min(...soon))));
    tooOld.hidden = passed === 0;
    tooOld.textContent = tooOld.hidden ? "" : counted(tooOld, passed);
  }
  function signIn(shown) {
    document.getElementById("field-sign-in").hidden = !shown;
    if (shown) say(texts.signIn);
  }

  /* ---- the setup ---- */
  async function readSetup() {
    let res = null;
    try {
      res = await fetch(texts.setupUrl, { credentials: "same-origin", cache: "no-store" });
    } catch (offline) {
      res = null;
    }
    if (!res || !res.ok) res = await caches.match(texts.setupUrl);  // not yet controlled
    if (!res) return null;
    try {
      const data = await res.json();
      return data && data.user_id && data.key && data.key.id && data.key.public_key ? data : null;
    } catch (notJson) {
      return null;  // the login page: not prepared
    }
  }

  /* ---- checking the form with the fields' own rules ---- */
  function pad(n) { return String(n).padStart(2, "0"); }
  function localToday() {
    const d = new Date();
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }
  function valueOf(el) {
    if (el.type !== "radio") return el.value;
    const chosen = form.querySelector(`input[type=radio][name="${CSS.escape(el.name)}"]:checked`);
    return chosen ? chosen.value : "";
  }
  function problemOf(el) {
    const v = el.validity;
    const d = el.dataset;
    if (v.valueMissing) return d.requiredMessage || el.validationMessage;
    if (v.badInput || v.typeMismatch || v.stepMismatch) return d.formatMessage || el.validationMessage;
    if (v.tooLong) return d.maxlengthMessage || el.validationMessage;
    if (v.rangeUnderflow || v.rangeOverflow) return d.rangeMessage || el.validationMessage;
    const value = valueOf(el);
    if (d.notFuture !== undefined && value && value > localToday()) return d.notFutureMessage;
    if (d.mustBe !== undefined && value && value !== d.mustBe) return d.mustBeMessage;
    return "";
  }
  function groupOf(el) {
    return el.type === "radio" ? document.getElementById(`${el.name}-group`) : el.closest(".field");
  }
  function labelOf(el) {
    if (el.type === "radio") {
      const legend = document.getElementById(`${el.name}-legend`);
      return legend ? legend.textContent : el.name;
    }
    const label = form.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    return label ? label.textContent : el.name;
  }
  function clearProblems() {
    for (const p of form.querySelectorAll(".js-error")) p.remove();
    for (const g of form.querySelectorAll(".js-field-error")) g.classList.remove("field-error", "js-field-error");
    for (const el of form.querySelectorAll("[data-js-invalid]")) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("data-js-invalid");
      const rest = (el.getAttribute("aria-describedby") || "").split(" ")
        .filter((id) => id && !id.endsWith("-error-js")).join(" ");
      if (rest) el.setAttribute("aria-describedby", rest); else el.removeAttribute("aria-describedby");
    }
    document.getElementById("field-error-list").replaceChildren();
    document.getElementById("field-errors").hidden = true;
  }
  function check() {
    const problems = [];
    const seen = new Set();
    for (const el of form.elements) {
      if (!el.name || ["hidden", "submit", "button"].includes(el.type) || seen.has(el.name)) continue;
      if (el.type === "radio") seen.add(el.name);
      const message = problemOf(el);
      if (message) problems.push({ el, message });
    }
    return problems;
  }
  function showProblems(problems) {
    const list = document.getElementById("field-error-list");
    for (const { el, message } of problems) {
      const group = groupOf(el);
      const id = `${el.type === "radio" ? el.name : el.id}-error-js`;
      const p = document.createElement("p");
      p.className = "error-message js-error";
      p.id = id;
      p.textContent = message;
      if (group) {
        group.classList.add("field-error", "js-field-error");
        const after = group.querySelector("legend, label");
        if (after && after.parentNode === group) after.after(p); else group.prepend(p);
      }
      const inputs = el.type === "radio"
        ? form.querySelectorAll(`input[type=radio][name="${CSS.escape(el.name)}"]`) : [el];
      for (const input of inputs) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("data-js-invalid", "");
        const before = input.getAttribute("aria-describedby");
        input.setAttribute("aria-describedby", before ? `${before} ${id}` : id);
      }
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `#${el.id}`;
      a.textContent = labelOf(el);
      li.append(a);
      list.append(li);
    }
    const box = document.getElementById("field-errors");
    box.hidden = false;
    box.focus();
  }

  /* ---- sealing ---- */
  function collect() {
    const fields = {};
    for (const [name, value] of new FormData(form)) {
      if (typeof value !== "string") continue;
      fields[name] = name in fields ? [].concat(fields[name], value) : value;
    }
    return fields;
  }
  async function save(event) {
    event.preventDefault();
    const button = document.getElementById("field-save");
    if (button.disabled) return;
    clearProblems();
    if (!setup) { say(texts.notReady); return; }
    if (!globalThis.AmanaHPKE || !globalThis.crypto || !crypto.subtle) { say(texts.noSeal); return; }
    form.elements["incident-reported_date"].value = localToday();
    const problems = check();
    if (problems.length) { showProblems(problems); say(texts.refused); return; }
    button.disabled = true;
    try {
      const env = { v: 1, kid: setup.key.id, sid: crypto.randomUUID(), uid: setup.user_id,
                    did: await deviceId(), at: Date.now() };
      const encoder = new TextEncoder();
      const aad = [INFO, env.kid, env.uid, env.did, String(env.at), env.sid].join("\n");
      let plaintext = encoder.encode(JSON.stringify({ fields: collect() }));
      let sealed;
      try {
        sealed = await globalThis.AmanaHPKE.seal(unb64url(setup.key.public_key),
                                                 encoder.encode(INFO), encoder.encode(aad), plaintext);
      } finally {
        plaintext.fill(0);
        plaintext = null;
      }
      env.enc = b64url(sealed.enc);
      env.ct = b64url(sealed.ct);
      await keepEnvelope(env);
      form.reset();
      form.elements["incident-reported_date"].value = "";
      say(texts.saved);
      await updateCount();
      if (navigator.onLine) sync();
    } catch (failure) {
      say(texts.noSeal);
    } finally {
      button.disabled = false;
    }
  }

  /* ---- sending ---- */
  async function whoIsSignedIn() {
    const res = await fetch(texts.syncUrl, { credentials: "same-origin", cache: "no-store",
                                             redirect: "manual", headers: { Accept: "application/json" } });
    if (!res.ok) return null;
    try {
      const data = await res.json();
      return data && data.user_id && data.csrf_token ? data : null;
    } catch (notJson) {
      return null;
    }
  }
  function showRefusals(refused) {
    const list = document.getElementById("field-refusals");
    list.replaceChildren();
    for (const { count, message } of Object.values(refused)) {
      const li = document.createElement("li");
      li.textContent = `${count} × ${message}`;
      list.append(li);
    }
    list.hidden = !list.children.length;
    if (!list.hidden) list.prepend(Object.assign(document.createElement("li"), { textContent: texts.refusedList }));
  }
  async function sync() {
    if (syncing) return;
    if (!navigator.onLine) { say(texts.offline); return; }
    syncing = true;
    try {
      let who;
      try {
        who = await whoIsSignedIn();
      } catch (offline) {
        say(texts.offline);
        return;
      }
      if (!who) { signIn(true); return; }
      signIn(false);
      const mine = (await allEnvelopes()).filter((e) => e.uid === who.user_id);
      if (!mine.length) return;
      say(texts.sending);
      const refused = {};
      let stopped = false;
      for (let i = 0; i < mine.length && !stopped; i += BATCH) {
        const batch = mine.slice(i, i + BATCH);
        const sent = new Set(batch.map((e) => e.sid));
        const res = await fetch(texts.syncUrl, {
          method: "POST", credentials: "same-origin", cache: "no-store", redirect: "manual",
          headers: { "Content-Type": "application/json", Accept: "application/json",
                     "X-CSRFToken": who.csrf_token },
          body: JSON.stringify({ envelopes: batch }),
        });
        if (!res.ok) {
          if (res.type === "opaqueredirect" || res.status === 401 || res.status === 403) signIn(true);
          else say(texts.failed);
          stopped = true;
          break;
        }
        const answer = await res.json();
        const drop = [];
        for (const r of answer.results || []) {
          if (!sent.has(r.sid)) continue;
          if (r.status === "accepted" || r.status === "duplicate") drop.push(r.sid);
          else if (r.status === "refused" && FINAL.has(r.reason)) {
            const seen = refused[r.reason] || { count: 0, message: r.message || r.reason };
            seen.count += 1;
            refused[r.reason] = seen;
            drop.push(r.sid);
          }
        }
        showRefusals(refused);
        for (const sid of drop) await dropEnvelope(sid);
      }
      if (!stopped) say(texts.done);
    } catch (failure) {
      say(texts.failed);
    } finally {
      syncing = false;
      await updateCount();
    }
  }

  /* ---- start ---- */
  async function start() {
    texts = document.getElementById("field-texts").dataset;
    form = document.getElementById("field-form");
    if (!form) return;
    form.addEventListener("submit", save);
    document.getElementById("field-send").addEventListener("click", () => sync());
    window.addEventListener("online", () => sync());
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(texts.workerUrl, { scope: texts.scope }).catch(() => {});
    }
    setup = await readSetup();
    if (!setup) say(texts.notReady);
    await updateCount();
    if (setup && navigator.onLine) await sync();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}());
