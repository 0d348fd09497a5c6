"""``flask audit``: verify the trail, sign checkpoints of its head, export the verifying key.

``flask audit verify`` exit status: 0 intact; 1 could not run (or the run could not be
recorded); 2 usage; 3 an event was edited; 4 an event was deleted; 5 two events were swapped;
6 a forged event; 7 the end was cut off (truncated); 8 the trail differs from a signed
checkpoint; 9 a checkpoint file is invalid or not signed by the expected key; 10 the head row
was altered. Every run of ``verify`` and ``checkpoint`` is itself recorded in the trail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from app.audit import service
from app.audit.checkpoint import CheckpointError, public_pem
from app.audit.verify import EXIT_BAD_CHECKPOINT, VerifyResult

audit_cli = AppGroup("audit", help="Verify the audit trail, sign checkpoints, export the key.")


def _default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _write(out: Path | None, text: str) -> None:
    """Write to ``out`` (never replacing a file) or to standard output."""
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        with out.open("x", encoding="ascii") as fh:
            fh.write(text)
    except FileExistsError:
        raise click.ClickException(f"{out} already exists; choose another name.") from None
    except OSError as exc:
        raise click.ClickException(f"Cannot write {out} ({exc.strerror}).") from None


class _Bar:
    """A click progress bar on standard error, created once the length is known."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def start(self, total: int) -> None:
        self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr,
                                     show_pos=True)
        self.bar.__enter__()

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _report(result: VerifyResult, out: IO[str] | None = None) -> None:
    if result.broken is None:
        click.echo(f"Audit trail intact: {result.count:,} events verified "
                   f"({result.rate:,.0f} events/s), {result.checkpoints} checkpoint(s) matched.",
                   file=out)
    else:
        b = result.broken
        click.echo(f"Audit trail BROKEN at event {b.seq}: {b.kind} ({b.detail}). "
                   f"{result.count:,} events before it verified.", file=out)


@audit_cli.command("verify")
@click.option("--checkpoint", "checkpoint_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A signed checkpoint to compare with (repeatable).")
@click.option("--public-key", "public_key_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check checkpoint signatures with this exported key, not the instance's.")
@click.option("--jobs", type=click.IntRange(1, 16), default=None,
              help="Worker processes for long trails (default: CPUs, at most 4).")
def verify(checkpoint_files: tuple[Path, ...], public_key_file: Path | None,
           jobs: int | None) -> None:
    """Walk the whole trail and say whether it is intact, or where and how it is broken.

    \b
    Exit status: 0 intact, 1 could not run or record the run, 2 usage,
    3 edited, 4 deleted, 5 swapped, 6 forged, 7 truncated,
    8 differs from a signed checkpoint, 9 invalid checkpoint, 10 head row altered.
    """
    try:
        texts = [p.read_bytes() for p in checkpoint_files]
        pem = public_key_file.read_bytes() if public_key_file else None
    except OSError as exc:
        raise click.ClickException(f"Cannot read a file ({exc.strerror}).") from None
    try:
        checkpoints = service.read_checkpoints(texts, pem, via="cli")
    except CheckpointError as exc:
        click.echo(f"Checkpoint refused: {exc}.", err=True)
        sys.exit(EXIT_BAD_CHECKPOINT)
    bar = _Bar("Verifying")
    try:
        result = service.run_verification(checkpoints, jobs=jobs or _default_jobs(),
                                          progress=bar.advance, on_start=bar.start)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"The database cannot be read ({exc.__class__.__name__}).") \
            from None
    finally:
        bar.finish()
    _report(result)
    try:
        service.record_verification(result, via="cli")
    except SQLAlchemyError as exc:
        click.echo(f"This run could not be recorded in the trail ({exc.__class__.__name__}).",
                   err=True)
        sys.exit(result.exit_code or 1)
    sys.exit(result.exit_code)


@audit_cli.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to create (default: standard output). Keep it outside the database.")
@click.option("--jobs", type=click.IntRange(1, 16), default=None,
              help="Worker processes for the verification that comes first.")
def checkpoint(out: Path | None, jobs: int | None) -> None:
    """Verify the trail, then sign a statement of its last event (sequence, MAC, time)."""
    if out is not None and out.exists():
        raise click.ClickException(f"{out} already exists; choose another name.")
    bar = _Bar("Verifying before signing")
    try:
        signed = service.write_checkpoint(jobs=jobs or _default_jobs(), progress=bar.advance,
                                          on_start=bar.start)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"The database cannot be read ({exc.__class__.__name__}).") \
            from None
    finally:
        bar.finish()
    if signed.document is None:
        _report(signed.result, sys.stderr)
        click.echo("No checkpoint written: a broken trail is never signed.", err=True)
        sys.exit(signed.result.exit_code)
    _write(out, signed.document)
    click.echo(f"Checkpoint of event {signed.result.end} signed"
               + (f" and written to {out}." if out else "."), err=True)


@audit_cli.command("export-key")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to create (default: standard output).")
def export_key(out: Path | None) -> None:
    """Print the public key that verifies checkpoints (PEM); it reveals no secret."""
    from flask import current_app

    _write(out, public_pem(current_app.config["KEY_AUDIT_SIGNING"]).decode("ascii"))
