"""Field capture benchmark: prints one table, asserts nothing.

1. HPKE (RFC 9180, P-256, AES-256-GCM) on the server: sealing (what a test or a device does)
   and opening (what every synced envelope costs) a typical field intake (~2 KB of fields) and
   the largest one (a 20,000-character Arabic narrative), each the best of the same number of
   interleaved runs.
2. The browser's sealing code (``app/static/js/field-intake.js``) under Node's WebCrypto, per
   envelope, the typical and the largest (Node stands in for a phone's browser: a phone is
   slower; the figure is what the code costs, not what a device takes).
3. Uploading through ``POST /field/sync`` on a throw-away SQLite database: batches of 20 fresh
   envelopes (each checked, opened, validated and kept as a pending intake in its own
   transaction, audited), then the same batches again (all duplicates), per envelope; then the
   caseworker's list of pending intakes, one review page (its search before create) and the
   supervisor's team page (hand-over).

    .venv/bin/python bench/bench_field.py [--batches 10] [--rounds 200]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measure import bench_app, login, ms, organisation_with_staff, timed  # noqa: E402

from app.crypto import hpke  # noqa: E402
from app.db import db  # noqa: E402
from app.field import keys  # noqa: E402
from app.field.sync import INFO  # noqa: E402
from tests.helpers.field_envelopes import aad as aad_of  # noqa: E402
from tests.helpers.field_envelopes import at_ms, intake_fields, make_envelope  # noqa: E402

PASSWORD = "bench password for field capture"
DEVICE = "bench-device-0123456789"
ROOT = Path(__file__).resolve().parent.parent
LONG = "قالت إنها أوقفت على الطريق إلى البئر. " * 540  # about 20,000 characters


def payloads() -> dict[str, bytes]:
    typical = json.dumps({"fields": intake_fields()}, ensure_ascii=False).encode()
    largest = json.dumps({"fields": intake_fields(**{"incident-narrative": LONG[:20000]})},
                         ensure_ascii=False).encode()
    return {"typical": typical, "largest": largest}


def best(fn: Any, rounds: int) -> float:
    """Seconds of the fastest of ``rounds`` calls (after one untimed)."""
    fn()
    out = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def python_hpke(rounds: int) -> list[tuple[str, float, str]]:
    sk, pk = hpke.generate()
    aad = aad_of(str(uuid.uuid4()), str(uuid.uuid4()), DEVICE, 1764800000000, str(uuid.uuid4()))
    rows = []
    for name, plaintext in payloads().items():
        enc, ct = hpke.seal(pk, info=INFO, aad=aad, plaintext=plaintext)
        seal = best(lambda p=plaintext: hpke.seal(pk, info=INFO, aad=aad, plaintext=p), rounds)
        opened = best(lambda e=enc, c=ct: hpke.open(sk, enc=e, info=INFO, aad=aad, ciphertext=c),
                      rounds)
        size = f"{len(plaintext) / 1024:.1f} kB -> {len(ct) / 1024:.1f} kB + 65 B"
        rows += [(f"Python seal, {name}", seal, size), (f"Python open, {name}", opened, size)]
    return rows


NODE_BENCH = """
if (!globalThis.crypto) globalThis.crypto = require('node:crypto').webcrypto;
require('node:vm').runInThisContext(require('node:fs').readFileSync(process.argv[1], 'utf8'));
const [pk, aad] = process.argv.slice(2, 4).map((x) => Uint8Array.from(Buffer.from(x, 'hex')));
const rounds = Number(process.argv[4]);
const info = new TextEncoder().encode('amana/field-intake/v1');
(async () => {
  const out = {};
  for (const [name, path] of [['typical', process.argv[5]], ['largest', process.argv[6]]]) {
    const pt = require('node:fs').readFileSync(path);
    await globalThis.AmanaHPKE.seal(pk, info, aad, pt);
    let bestTime = Infinity;
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      await globalThis.AmanaHPKE.seal(pk, info, aad, pt);
      bestTime = Math.min(bestTime, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    out[name] = bestTime;
  }
  console.log(JSON.stringify(out));
})();
"""


def node_hpke(rounds: int, tmp: Path) -> list[tuple[str, float, str]]:
    node = shutil.which("node")
    if node is None:
        return [("browser code under Node: skipped (no node)", float("nan"), "")]
    _sk, pk = hpke.generate()
    paths = []
    for name, plaintext in payloads().items():
        path = tmp / f"{name}.json"
        path.write_bytes(plaintext)
        paths.append(str(path))
    aad = aad_of(str(uuid.uuid4()), str(uuid.uuid4()), DEVICE, 1764800000000, str(uuid.uuid4()))
    out = subprocess.run([node, "-e", NODE_BENCH, str(ROOT / "app/static/js/field-intake.js"),
                          pk.hex(), aad.hex(), str(rounds), *paths], capture_output=True,
                         text=True, check=True, timeout=600)
    found = json.loads(out.stdout)
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return [(f"browser code seal (Node {version}), {n}", s, "") for n, s in found.items()]


def sync_run(tmp: Path, batches: int) -> tuple[list[tuple[str, list[float], str]], int]:
    app = bench_app(tmp, FIELD_SYNC_LIMIT="100000 per minute",
                    CASE_SEARCH_LIMIT="100000 per minute")
    with app.app_context():
        org, staff = organisation_with_staff(
            {"bench-caseworker": "caseworker", "bench-supervisor": "supervisor"}, PASSWORD)
        user, secret = staff["bench-caseworker"]
        supervisor_secret = staff["bench-supervisor"][1]
        key = keys.active_key(org.id)
        kid, public, uid = str(key.id), key.public_key, str(user.id)
    client = login(app, "bench-caseworker", PASSWORD, secret)
    fields = intake_fields()
    made = [[make_envelope(public, kid, uid, DEVICE, at_ms(datetime.now(UTC)),
                           str(uuid.uuid4()), fields) for _ in range(20)]
            for _ in range(batches)]

    def upload(batch: list[dict[str, Any]], want: str) -> float:
        token = client.get("/field/sync").get_json()["csrf_token"]
        t0 = time.perf_counter()
        resp = client.post("/field/sync", json={"envelopes": batch},
                           headers={"X-CSRFToken": token})
        took = time.perf_counter() - t0
        assert resp.status_code == 200, resp.status_code
        assert {r["status"] for r in resp.get_json()["results"]} == {want}, resp.get_json()
        return took / len(batch)

    fresh = [upload(b, "accepted") for b in made]
    again = [upload(b, "duplicate") for b in made]
    with app.app_context():
        from app.field.models import FieldIntake

        one = db.session.query(FieldIntake.id).first()[0]
        waiting = db.session.query(FieldIntake).count()

    def listing() -> None:
        assert client.get("/field/intakes").status_code == 200

    def review() -> None:
        assert client.get(f"/field/intakes/{one}").status_code == 200

    supervisor = login(app, "bench-supervisor", PASSWORD, supervisor_secret)

    def team() -> None:
        assert supervisor.get("/field/team").status_code == 200

    rows = [("upload, new envelope (20 per request), per envelope", fresh, ""),
            ("upload, duplicate (20 per request), per envelope", again, ""),
            (f"pending list ({waiting} waiting)", timed(listing, 20), ""),
            ("review page (opened, checked, searched)", timed(review, 20), ""),
            (f"supervisor's team page ({waiting} waiting, 50 shown)", timed(team, 20), "")]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return rows, waiting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; times in ms")
    print(f"  {'operation':<58} {'best':>9}  size")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for what, seconds, size in python_hpke(args.rounds) + node_hpke(args.rounds, tmp):
            print(f"  {what:<58} {seconds * 1000:>9.3f}  {size}")
        rows, _ = sync_run(tmp, args.batches)
    print(f"\n  {'operation (SQLite, test client)':<58} {'runs':>5} {'median':>9} {'p95':>9}")
    for what, samples, _note in rows:
        med, p95 = ms(samples)
        print(f"  {what:<58} {len(samples):>5} {med:>9.2f} {p95:>9.2f}")


if __name__ == "__main__":
    main()
