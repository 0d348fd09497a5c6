"""``flask audit``: verify the trail, sign checkpoints of its head, export the verifying key.

``flask audit verify`` compares the trail with every checkpoint in the instance's checkpoint
log (``instance/audit/checkpoints.jsonl``, written automatically; ``--no-checkpoint-file``
skips it) and with any ``--checkpoint`` given (a checkpoint, or a log such as the mirror). A
missing log is said, not an error. Exit status: 0 intact; 1 could not run (or the run could not
be recorded); 2 usage; 3 an event was edited; 4 an event was deleted; 5 two events were
swapped; 6 a forged event; 7 the end was cut off (truncated, or the head moved back below a
checkpoint); 8 the trail differs from a signed checkpoint; 9 a checkpoint file, or a line of a
checkpoint log, is invalid or not signed by the expected key (when the trail is otherwise
intact); 10 the head row was altered. Every run of ``verify`` and ``checkpoint`` is itself
recorded in the trail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from app.audit import alerts, autocheckpoint, service
from app.audit.checkpoint import CheckpointError, public_pem
from app.audit.checkpoint_log import LogRead, looks_like_log
from app.audit.verify import EXIT_BAD_CHECKPOINT, VerifyResult
from app.extensions import real_app
from app.jobs import finished, job_lock, skipped

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
    """A click progress bar on standard error (when it is a terminal), created once the length
    is known."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def start(self, total: int) -> None:
        if not sys.stderr.isatty():
            return  # under a timer, or piped: the one-line summary is enough
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


MAX_BAD_LINES_SHOWN = 10


def _describe_log(read: LogRead) -> int:
    """Say what a checkpoint log holds; returns how many of its lines did not verify."""
    if not read.exists:
        click.echo(f"No checkpoint file at {read.path}: nothing outside the database vouches "
                   "for the end of the trail.")
        return 0
    newest = read.newest()
    if newest is None:
        click.echo(f"Checkpoint file {read.path}: no valid checkpoint.")
    else:
        click.echo(f"Checkpoint file {read.path}: {len(read.checkpoints):,} checkpoint(s); the "
                   f"newest, signed {newest.time:%Y-%m-%d %H:%M} UTC, names event {newest.seq}.")
    for bad in read.bad[:MAX_BAD_LINES_SHOWN]:
        click.echo(f"Checkpoint file {read.path} line {bad.number} refused: {bad.problem}.",
                   err=True)
    if len(read.bad) > MAX_BAD_LINES_SHOWN:
        click.echo(f"... and {len(read.bad) - MAX_BAD_LINES_SHOWN:,} more line(s) refused.",
                   err=True)
    return len(read.bad)


@audit_cli.command("verify")
@click.option("--checkpoint", "checkpoint_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A signed checkpoint, or a checkpoint log such as the mirror, to compare with "
                   "as well (repeatable).")
@click.option("--no-checkpoint-file", "skip_log", is_flag=True, default=False,
              help="Do not compare with the instance's checkpoint log "
                   "(instance/audit/checkpoints.jsonl).")
@click.option("--public-key", "public_key_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check checkpoint signatures with this exported key, not the instance's.")
@click.option("--jobs", type=click.IntRange(1, 16), default=None,
              help="Worker processes for long trails (default: CPUs, at most 4).")
def verify(checkpoint_files: tuple[Path, ...], skip_log: bool, public_key_file: Path | None,
           jobs: int | None) -> None:
    """Walk the whole trail and say whether it is intact, or where and how it is broken.

    By default the trail is also compared with every checkpoint in the instance's checkpoint
    log, so an end cut off (or a head moved back) after a checkpoint is named.

    \b
    Exit status: 0 intact, 1 could not run or record the run, 2 usage,
    3 edited, 4 deleted, 5 swapped, 6 forged, 7 truncated,
    8 differs from a signed checkpoint, 9 invalid checkpoint (a file, or a
    line of a checkpoint log), 10 head row altered.
    """
    try:
        given = [(p, p.read_bytes()) for p in checkpoint_files]
        pem = public_key_file.read_bytes() if public_key_file else None
    except OSError as exc:
        raise click.ClickException(f"Cannot read a file ({exc.strerror}).") from None
    logs = [(p, data) for p, data in given if looks_like_log(data)]
    try:
        checkpoints = service.read_checkpoints(
            [data for _p, data in given if not looks_like_log(data)], pem, via="cli")
        reads = [service.parse_log(data, p, pem) for p, data in logs]
        if not skip_log:
            reads.insert(0, service.read_log(pem))
    except CheckpointError as exc:
        click.echo(f"Checkpoint refused: {exc}.", err=True)
        sys.exit(EXIT_BAD_CHECKPOINT)
    except OSError as exc:
        raise click.ClickException(f"Cannot read the checkpoint file ({exc.strerror}).") \
            from None
    bad_lines = sum(_describe_log(read) for read in reads)
    for read in reads:
        checkpoints += read.checkpoints
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
    code = result.exit_code or (EXIT_BAD_CHECKPOINT if bad_lines else 0)
    if result.ok and bad_lines:
        click.echo(f"{bad_lines:,} line(s) of the checkpoint file(s) did not verify; see above.",
                   err=True)
    try:
        service.record_verification(result, via="cli", bad_lines=bad_lines)
    except SQLAlchemyError as exc:
        click.echo(f"This run could not be recorded in the trail ({exc.__class__.__name__}).",
                   err=True)
        sys.exit(code or 1)
    sys.exit(code)


@audit_cli.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to create (default: standard output). Keep it outside the database.")
@click.option("--jobs", type=click.IntRange(1, 16), default=None,
              help="Worker processes for the verification that comes first.")
@click.option("--if-due", "if_due", is_flag=True, default=False,
              help="The timer's form: sign the head only if the newest checkpoint is older than "
                   "AUDIT_CHECKPOINT_MINUTES or AUDIT_CHECKPOINT_EVENTS behind, without walking "
                   "the trail (as the automatic checkpoints do).")
def checkpoint(out: Path | None, jobs: int | None, if_due: bool) -> None:
    """Verify the trail, then sign a statement of its last event (sequence, MAC, time).

    The checkpoint is also added to the instance's checkpoint log (and its mirror), where
    checkpoints are otherwise made automatically every N events and T minutes. One run at a
    time across every host (``app.jobs``).
    """
    if out is not None and out.exists():
        raise click.ClickException(f"{out} already exists; choose another name.")
    if if_due and out is not None:
        raise click.UsageError("--if-due adds to the checkpoint log only; it takes no --out.")
    with job_lock("audit-checkpoint") as got:
        if not got:
            skipped("audit-checkpoint")
            return
        if if_due:
            _checkpoint_if_due()
        else:
            _checkpoint(out, jobs)


def _checkpoint_if_due() -> None:
    app = real_app()
    try:
        written = autocheckpoint.write(app, "timer")
    except (autocheckpoint.Refused, OSError, SQLAlchemyError) as exc:
        raise click.ClickException(
            f"No checkpoint written: {autocheckpoint.describe(exc)}.") from None
    finished("audit-checkpoint", {"signed": written.seq if written else 0})
    if written is None:
        click.echo("No checkpoint due: the newest one is recent and the trail has not grown "
                   "much since.")
    else:
        click.echo(f"Checkpoint of event {written.seq} signed and added to the log.")


def _checkpoint(out: Path | None, jobs: int | None) -> None:
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
    if signed.log_error:
        click.echo(f"It could not be added to the checkpoint log ({signed.log_error}).", err=True)
        sys.exit(1)
    finished("audit-checkpoint", {"signed": signed.result.end})


@audit_cli.command("alerts")
def alerts_command() -> None:
    """Evaluate the auditor's alerts and remember the counts for the auditor's home page
    (the alerts timer's job; the Alerts page itself always counts afresh). Prints counts per
    kind only."""
    with job_lock("audit-alerts") as got:
        if not got:
            skipped("audit-alerts")
            return
        found = alerts.counts(alerts.compute())
        finished("audit-alerts", dict(found))
    listed = ", ".join(f"{kind}: {n}" for kind, n in sorted(found.items()) if n)
    click.echo(f"open alerts: {sum(found.values())}" + (f" ({listed})" if listed else ""))


@audit_cli.command("export-key")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to create (default: standard output).")
def export_key(out: Path | None) -> None:
    """Print the public key that verifies checkpoints (PEM); it reveals no secret."""
    from flask import current_app

    _write(out, public_pem(current_app.config["KEY_AUDIT_SIGNING"]).decode("ascii"))
