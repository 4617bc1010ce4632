"""Atomic file writes: a failed or interrupted write leaves the previous file intact."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from typing import Callable, Optional

__all__ = ["TEMP_SUFFIX", "write_atomically"]

#: Suffix of the temporary folder a write goes through next to its target
#: (``.<name>.<random>.fastmlp-tmp``). One can only be left behind when the writing process was
#: killed; it is safe to delete.
TEMP_SUFFIX = ".fastmlp-tmp"


def _new_file_mode(path: str) -> int:
    """The permission bits a plain ``open(path, "wb")`` would leave: those of the file it
    overwrites, or 0o666 minus the umask for a new file (temporary files are created 0o600)."""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    umask: Optional[int] = None
    try:  # Linux >= 4.7 reports it without changing it
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    umask = int(line.split()[1], 8)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    """Makes a rename in `directory` durable. Best effort: not every platform or file system can
    open or fsync a directory."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: str, write: Callable[[str], None], what: str) -> None:
    """Writes `path` through ``write(tmp)``, which must create the file `tmp`.

    `tmp` lies in a private folder next to `path` (``.<name>.<random>.fastmlp-tmp``): a writer
    that makes temporary files of its own (safetensors does) leaves them there, where users
    recognise them as ours. The file is then given the permissions a plain ``open(path, "w")``
    would leave, fsynced, renamed over `path` in one step, and the directory fsynced (best effort).
    On any failure `path` keeps its previous content and the folder is removed.

    Raises OSError (the matching subclass, e.g. FileNotFoundError, PermissionError,
    IsADirectoryError) naming `path`; `what` says what failed, e.g. "save the model".
    """
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    if len(os.fsencode(base)) > 100:  # keep the temporary name under NAME_MAX
        base = base[:24]
    tmpdir: Optional[str] = None
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        tmpdir = tempfile.mkdtemp(prefix=f".{base}.", suffix=TEMP_SUFFIX, dir=directory)
        tmp = os.path.join(tmpdir, base)
        mode = _new_file_mode(path)
        write(tmp)
        fd = os.open(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno is None:
            raise OSError(f"cannot {what} to {path!r}: {exc}") from exc
        # OSError(errno, ...) builds the matching subclass (FileNotFoundError, PermissionError, ...)
        raise OSError(exc.errno, f"cannot {what} ({exc.strerror})", path) from exc
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    _fsync_directory(directory)
