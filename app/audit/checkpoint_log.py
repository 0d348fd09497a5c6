"""The checkpoint log: signed checkpoints of the chain head, kept outside the database.

One checkpoint per line (``app.audit.checkpoint.make_line``), appended to a file in the instance
folder (``instance/audit/checkpoints.jsonl`` unless ``AUDIT_CHECKPOINT_FILE`` says otherwise)
and, when ``AUDIT_CHECKPOINT_MIRROR`` names one, to a second destination: ``syslog`` or an
absolute path (another volume). Someone who can rewrite the database but not these cannot cut the
end off the trail unseen: ``flask audit verify`` compares the trail with every checkpoint here.

The file is only ever appended to, never rewritten or truncated. It is opened with ``O_APPEND``
(created 0600, in a folder created 0700) and locked with ``flock`` while a line is appended and
synced, so several processes on one host add whole lines; readers take a shared lock while
they copy it. A line left unfinished by a crash is closed with a newline before the next one,
so it spoils only itself; ``read`` reports it (and any line that does not verify) by number.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import syslog
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.audit.checkpoint import Checkpoint, CheckpointError, load

SYSLOG = "syslog"
SYSLOG_IDENT = "amana-audit"
TAIL_BYTES = 16 * 1024  # the last fifty lines or so: enough to find the newest checkpoint


@dataclass(frozen=True)
class BadLine:
    """A line of the log that is not a checkpoint signed by the expected key."""

    number: int
    problem: str


@dataclass
class LogRead:
    """What a checkpoint log holds: the checkpoints that verify and the lines that do not."""

    path: Path
    exists: bool
    checkpoints: list[Checkpoint] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)

    def newest(self) -> Checkpoint | None:
        """The most recently signed checkpoint."""
        return max(self.checkpoints, key=lambda c: (c.time, c.seq), default=None)


def _open(path: Path, flags: int) -> int:
    """Open the log, creating its folder (0700) and the file (0600) if needed."""
    if not path.parent.is_dir():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_IMODE(mode) & 0o077:
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _sync_folder(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Locked:
    """The log, open and locked for appending (see ``locked``)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def tail(self) -> bytes:
        """The end of the file, from the first whole line in its last ``TAIL_BYTES``."""
        size = os.fstat(self.fd).st_size
        start = max(0, size - TAIL_BYTES)
        data = os.pread(self.fd, size - start, start)
        if start > 0:
            data = data[data.find(b"\n") + 1:] if b"\n" in data else b""
        return data

    def append(self, line: str) -> None:
        """Append one line and wait until it is on disk."""
        data = line.encode("ascii")
        size = os.fstat(self.fd).st_size
        if size and os.pread(self.fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # close a line a crash left unfinished
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        os.fsync(self.fd)


@contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[Locked]:
    """Open the log for appending under an exclusive lock (released on exit). Without
    ``wait``, raises ``BlockingIOError`` at once if another process holds the lock."""
    created = not path.exists()
    fd = _open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        if created:
            _sync_folder(path)
        yield Locked(fd)
    finally:
        os.close(fd)


def append(path: Path, line: str) -> None:
    """Append one checkpoint line to the log at ``path``."""
    with locked(path) as log:
        log.append(line)


def mirror(destination: str, line: str) -> None:
    """Send a checkpoint line to the second destination: syslog, or another file."""
    if destination == SYSLOG:
        syslog.openlog(SYSLOG_IDENT, syslog.LOG_PID, syslog.LOG_AUTH)
        syslog.syslog(syslog.LOG_NOTICE, "checkpoint " + line.strip())
    elif destination:
        append(Path(destination), line)


def _read_bytes(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def looks_like_log(data: bytes) -> bool:
    """Whether ``data`` is a log (several one-line checkpoints), not one indented document."""
    lines = [line for line in data.split(b"\n", 2) if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return isinstance(json.loads(lines[0]), dict)
    except ValueError:
        return False


def parse(data: bytes, public: Ed25519PublicKey, path: Path, *, first_line: int = 1) -> LogRead:
    """Check every line of a log; blank lines are skipped, every other one must verify."""
    found = LogRead(path, True)
    for number, raw in enumerate(data.split(b"\n"), start=first_line):
        if not raw.strip():
            continue
        try:
            found.checkpoints.append(load(raw, public))
        except CheckpointError as exc:
            found.bad.append(BadLine(number, str(exc)))
    return found


def read(path: Path, public: Ed25519PublicKey) -> LogRead:
    """Every checkpoint in the log at ``path`` (``exists`` is False when there is no file)."""
    data = _read_bytes(path)
    if data is None:
        return LogRead(path, False)
    return parse(data, public, path)


def read_tail(path: Path, public: Ed25519PublicKey) -> LogRead:
    """The checkpoints at the end of the log (enough to find the newest), under a shared lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return LogRead(path, False)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        data = Locked(fd).tail()
    finally:
        os.close(fd)
    return parse(data, public, path, first_line=0)
