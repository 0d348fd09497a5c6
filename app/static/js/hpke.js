/* HPKE (RFC 9180), base mode, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, on WebCrypto.
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
