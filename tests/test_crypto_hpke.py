"""HPKE (app/crypto/hpke.py) against RFC 9180's published test vectors (appendix A.3: DHKEM(P-256,
HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode), and the AES-256-GCM path field intake uses:
the same key schedule with a 32-byte key, checked against the vector the browser's code must
also produce (tests/vectors/hpke_p256_sha256_aes256.json; tests/js/hpke.test.js)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.crypto import hpke

VECTORS = Path(__file__).parent / "vectors"
A3 = json.loads((VECTORS / "hpke_p256_sha256.json").read_text())
AES256 = json.loads((VECTORS / "hpke_p256_sha256_aes256.json").read_text())


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def test_the_vector_is_the_suite_implemented():
    assert (A3["mode"], A3["kem_id"], A3["kdf_id"], A3["aead_id"]) == (
        0, hpke.KEM_P256_SHA256, hpke.KDF_SHA256, hpke.AES_128_GCM)
    assert hpke.public_of(h(A3["skRm"])) == h(A3["pkRm"])
    assert hpke.public_of(h(A3["skEm"])) == h(A3["pkEm"])


def test_sender_setup_gives_every_published_intermediate_value():
    enc, ctx = hpke.setup_base_sender(h(A3["pkRm"]), h(A3["info"]), aead=hpke.AES_128_GCM,
                                      ephemeral=h(A3["skEm"]))
    assert enc == h(A3["enc"])
    assert ctx.shared_secret == h(A3["shared_secret"])
    assert ctx.key_schedule_context == h(A3["key_schedule_context"])
    assert ctx.secret == h(A3["secret"])
    assert ctx.key == h(A3["key"])
    assert ctx.base_nonce == h(A3["base_nonce"])
    assert ctx.exporter_secret == h(A3["exporter_secret"])


@pytest.mark.parametrize("side", ["sender", "recipient"])
def test_every_published_encryption(side):
    if side == "sender":
        _, ctx = hpke.setup_base_sender(h(A3["pkRm"]), h(A3["info"]), aead=hpke.AES_128_GCM,
                                        ephemeral=h(A3["skEm"]))
    else:
        ctx = hpke.setup_base_recipient(h(A3["skRm"]), h(A3["enc"]), h(A3["info"]),
                                        aead=hpke.AES_128_GCM)
    for e in A3["encryptions"]:
        ctx.seq = e["seq"]
        assert ctx.nonce() == h(e["nonce"])
        if side == "sender":
            assert ctx.seal(h(e["aad"]), h(e["pt"])) == h(e["ct"])
        else:
            assert ctx.open(h(e["aad"]), h(e["ct"])) == h(e["pt"])


def test_single_shot_open_of_the_first_published_message():
    first = A3["encryptions"][0]
    assert hpke.open(h(A3["skRm"]), enc=h(A3["enc"]), info=h(A3["info"]), aad=h(first["aad"]),
                     ciphertext=h(first["ct"]), aead=hpke.AES_128_GCM) == h(first["pt"])


def test_aes256_path_matches_the_shared_vector():
    """The suite field intake uses (AES-256-GCM): same ephemeral and recipient keys as A.3, so
    the KEM's shared secret is the published one and only the AEAD id and key length differ."""
    v = AES256
    enc, ctx = hpke.setup_base_sender(h(v["pkRm"]), h(v["info"]), ephemeral=h(v["skEm"]))
    assert enc == h(A3["enc"])
    assert ctx.shared_secret == h(A3["shared_secret"])  # the KEM does not depend on the AEAD
    assert len(ctx.key) == 32
    assert (ctx.key.hex(), ctx.base_nonce.hex()) == (v["key"], v["base_nonce"])
    assert ctx.seal(h(v["aad"]), h(v["pt"])).hex() == v["ct"]
    assert hpke.open(h(v["skRm"]), enc=enc, info=h(v["info"]), aad=h(v["aad"]),
                     ciphertext=h(v["ct"])) == h(v["pt"])


def test_a_fresh_seal_opens_only_with_everything_unchanged():
    sk, pk = hpke.generate()
    enc, ct = hpke.seal(pk, info=b"i", aad=b"a", plaintext=b"secret words")
    assert hpke.open(sk, enc=enc, info=b"i", aad=b"a", ciphertext=ct) == b"secret words"
    other, _ = hpke.generate()
    bad_enc = bytes([enc[0]]) + bytes([enc[1] ^ 1]) + enc[2:]
    for kwargs in ({"aad": b"b"}, {"info": b"j"}, {"ciphertext": ct[:-1] + bytes([ct[-1] ^ 1])},
                   {"enc": bad_enc}, {"enc": enc[:-1]}, {"enc": b"\x02" + enc[1:33]}):
        args = {"enc": enc, "info": b"i", "aad": b"a", "ciphertext": ct, **kwargs}
        with pytest.raises(hpke.HpkeError):
            hpke.open(sk, **args)
    with pytest.raises(hpke.HpkeError):
        hpke.open(other, enc=enc, info=b"i", aad=b"a", ciphertext=ct)


def test_keys_that_are_not_p256_keys_are_refused():
    for scalar in (b"", b"\x00" * 32, b"\xff" * 32, b"\x01" * 31):
        with pytest.raises(hpke.HpkeError):
            hpke.load_private(scalar)
    with pytest.raises(hpke.HpkeError):
        hpke.seal(b"\x04" + b"\x01" * 64, info=b"", aad=b"", plaintext=b"x")  # not on the curve


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=64), st.binary(max_size=300))
def test_round_trip_any_input(info, aad, plaintext):
    sk, pk = hpke.generate()
    enc, ct = hpke.seal(pk, info=info, aad=aad, plaintext=plaintext)
    assert len(enc) == 65 and len(ct) == len(plaintext) + 16
    assert hpke.open(sk, enc=enc, info=info, aad=aad, ciphertext=ct) == plaintext


NODE = shutil.which("node")
SEAL_IN_NODE = """
if (!globalThis.crypto) globalThis.crypto = require('node:crypto').webcrypto;
require('node:vm').runInThisContext(require('node:fs').readFileSync(process.argv[1], 'utf8'));
const [pk, info, aad, pt] = process.argv.slice(2).map((x) => Uint8Array.from(Buffer.from(x, 'hex')));
globalThis.AmanaHPKE.seal(pk, info, aad, pt).then(({ enc, ct }) =>
  console.log(Buffer.from(enc).toString('hex') + ' ' + Buffer.from(ct).toString('hex')));
"""


@pytest.mark.skipif(NODE is None and not os.environ.get("CI"),
                    reason="Node is not installed (CI installs it and runs this)")
def test_what_the_browser_code_seals_the_server_opens():
    """A fresh key pair, the browser's script run by Node, opened here: the whole path with
    random keys, the field intake's own info and associated data, and Arabic text."""
    assert NODE is not None, "CI must install Node (.ci/run)"
    sk, pk = hpke.generate()
    info, aad = b"amana/field-intake/v1", b"amana/field-intake/v1\nk\nu\nd\n1764800000000\ns"
    plaintext = "فاطمة canary".encode()
    script = Path(__file__).parents[1] / "app" / "static" / "js" / "field-intake.js"
    out = subprocess.run([NODE, "-e", SEAL_IN_NODE, str(script), pk.hex(), info.hex(), aad.hex(),
                          plaintext.hex()], capture_output=True, text=True, timeout=60, check=True)
    enc, ct = (bytes.fromhex(x) for x in out.stdout.split())
    assert hpke.open(sk, enc=enc, info=info, aad=aad, ciphertext=ct) == plaintext
    with pytest.raises(hpke.HpkeError):
        hpke.open(sk, enc=enc, info=info, aad=aad.replace(b"\nu\n", b"\nv\n"), ciphertext=ct)
