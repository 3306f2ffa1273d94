"""Writing a result file so that no failure loses or corrupts one: a unique temporary file in
the target's folder, renamed over the target only once it is complete and on disk.

* a unique name (never ``<name>.tmp``: a user's own file of that name is not touched, and two
  saves to one path do not write into one temporary file); it is removed on any failure;
* a write-protected file is refused (PermissionError), never replaced through the rename; an
  existing file keeps its permissions; a symlink stays a symlink (its target is replaced);
* a folder where the file should be is refused before anything is written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it (Linux reports it in /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path`` as given (a Path)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path`` as given (a Path)."""
    given = Path(path)
    target = Path(os.path.realpath(given))
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way of the file", str(given))
    mode = 0o666 & ~_umask()
    if target.exists():
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, "the file is write-protected; greenlove leaves "
                                  "it as it is", str(given))
        mode = stat.S_IMODE(target.stat().st_mode)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return given
