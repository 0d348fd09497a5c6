// The browser's HPKE sealing (the script the field intake page loads) against RFC 9180's
// appendix A.3 values (DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode) and the
// AES-256-GCM vector app/crypto/hpke.py also checks (tests/test_crypto_hpke.py), so both sides
// agree byte for byte. Run with Node's built-in runner: `node --test tests/js/` (make test-js).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

// Node 18 (Debian 12's nodejs) has WebCrypto but not yet as a global.
if (!globalThis.crypto) globalThis.crypto = require('node:crypto').webcrypto;

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'app', 'static', 'js', 'field-intake.js');
vm.runInThisContext(fs.readFileSync(SCRIPT, 'utf8'), { filename: SCRIPT });
const { AmanaHPKE } = globalThis;
const { setupBaseS, encrypt, nonce, AES_128_GCM, AES_256_GCM } = AmanaHPKE.testing;

const vectors = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'vectors', name), 'utf8'));
const A3 = vectors('hpke_p256_sha256.json');
const AES256 = vectors('hpke_p256_sha256_aes256.json');
const h = (hex) => Uint8Array.from(Buffer.from(hex, 'hex'));
const hex = (bytes) => Buffer.from(bytes).toString('hex');

test('A.3: the sender setup gives every published intermediate value', async () => {
  assert.deepEqual([A3.mode, A3.kem_id, A3.kdf_id, A3.aead_id], [0, 16, 1, AES_128_GCM]);
  const { enc, context } = await setupBaseS(h(A3.pkRm), h(A3.info), AES_128_GCM,
                                            { d: h(A3.skEm), pub: h(A3.pkEm) });
  assert.equal(hex(enc), A3.enc);
  assert.equal(hex(context.sharedSecret), A3.shared_secret);
  assert.equal(hex(context.keyScheduleContext), A3.key_schedule_context);
  assert.equal(hex(context.secret), A3.secret);
  assert.equal(hex(context.key), A3.key);
  assert.equal(hex(context.baseNonce), A3.base_nonce);
  assert.equal(hex(context.exporterSecret), A3.exporter_secret);
});

test('A.3: every published encryption, sequence numbers 0 to 256', async () => {
  const { context } = await setupBaseS(h(A3.pkRm), h(A3.info), AES_128_GCM,
                                       { d: h(A3.skEm), pub: h(A3.pkEm) });
  assert.equal(A3.encryptions.length, 6);
  for (const e of A3.encryptions) {
    assert.equal(hex(nonce(context.baseNonce, e.seq)), e.nonce);
    assert.equal(hex(await encrypt(context, e.seq, h(e.aad), h(e.pt))), e.ct);
  }
});

test('AES-256-GCM: the same bytes as the server side computes', async () => {
  const { enc, context } = await setupBaseS(h(AES256.pkRm), h(AES256.info), AES_256_GCM,
                                            { d: h(AES256.skEm), pub: h(AES256.pkEm) });
  assert.equal(AES256.aead_id, AES_256_GCM);
  assert.equal(hex(enc), AES256.enc);
  assert.equal(hex(context.sharedSecret), A3.shared_secret);  // the KEM ignores the AEAD
  assert.equal(context.key.length, 32);
  assert.equal(hex(context.key), AES256.key);
  assert.equal(hex(context.baseNonce), AES256.base_nonce);
  assert.equal(hex(await encrypt(context, 0, h(AES256.aad), h(AES256.pt))), AES256.ct);
});

test('seal: a fresh ephemeral key each time, AES-256-GCM, 16-byte tag', async () => {
  const pt = new TextEncoder().encode('canary');
  const one = await AmanaHPKE.seal(h(A3.pkRm), h(A3.info), new Uint8Array(0), pt);
  const two = await AmanaHPKE.seal(h(A3.pkRm), h(A3.info), new Uint8Array(0), pt);
  assert.equal(one.enc.length, 65);
  assert.equal(one.enc[0], 4);
  assert.notEqual(hex(one.enc), hex(two.enc));
  assert.notEqual(hex(one.ct), hex(two.ct));
  assert.equal(one.ct.length, pt.length + 16);
  assert.ok(!Buffer.from(one.ct).includes(Buffer.from('canary')));
});

test('seal refuses a key that is not a P-256 public point', async () => {
  const pt = new Uint8Array(1);
  await assert.rejects(AmanaHPKE.seal(new Uint8Array(65), pt, pt, pt));          // no 0x04 prefix
  await assert.rejects(AmanaHPKE.seal(h(A3.pkRm).slice(0, 64), pt, pt, pt));     // too short
  const offCurve = h(A3.pkRm); offCurve[64] ^= 1;
  await assert.rejects(AmanaHPKE.seal(offCurve, pt, pt, pt));                    // not on the curve
});
