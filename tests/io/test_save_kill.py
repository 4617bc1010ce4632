"""save is atomic: a process killed in the middle of a save, or a save that fails, leaves the
previous checkpoint loadable and intact, and only recognisable temporary folders behind."""

from __future__ import annotations

import errno
import os
import re
import select
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import safetensors

import fastmlp as fm
import fastmlp._atomic
from fastmlp import io as fmio

TEMP_NAME = re.compile(r"^\.model\.safetensors\..+" + re.escape(fmio.TEMP_SUFFIX) + "$")

# A 1024-2048-1024 network: 4.2 M parameters, a 16.8 MB file; one save (write + fsync) takes tens of
# ms. Every parameter of version k holds the value k, so a file is checked whole.
CHILD = textwrap.dedent(
    """
    import sys, time
    import fastmlp as fm
    path, first = sys.argv[1], int(sys.argv[2])
    model = fm.Sequential([fm.Dense(2048, activation="relu"), fm.Dense(1024)], input_dim=1024, seed=0)
    def fill(k):
        for p in model.parameters():
            p.fill(k)
    fill(first)
    start = time.perf_counter()
    model.save(path)
    print(f"ready {first} {time.perf_counter() - start:.6f}", flush=True)
    k = first
    while True:
        k += 1
        fill(k)
        print(f"saving {k}", flush=True)
        model.save(path)
        print(f"saved {k}", flush=True)
    """
)


class _Lines:
    """Reads a child's stdout line by line with a deadline (never blocks forever)."""

    def __init__(self, proc):
        self.proc, self.fd, self.buffer, self.seen = proc, proc.stdout.fileno(), b"", []

    def next(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, "the child printed nothing for 30 s"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    return None
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        self.seen.append(line.decode())
        return self.seen[-1]

    def drain(self):
        while self.next() is not None:
            pass


def _version(model):
    """The k a whole model was filled with; fails if the parameters are not all one value."""
    params = model.parameters()
    k = float(params[0].flat[0])
    for p in params:
        assert np.all(p == k), f"a mixed file: values {np.unique(p)[:5]} in a version-{k} file"
    assert k == int(k)
    return int(k)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_save_leaves_a_complete_checkpoint(tmp_path):
    seed = int.from_bytes(os.urandom(4), "little")
    rng = np.random.default_rng(seed)
    path = tmp_path / "model.safetensors"
    mid_save = 0
    kinds = []
    checked = {"model.safetensors"}
    for round_ in range(6):
        first = 1000 * (round_ + 1)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(first)], stdout=subprocess.PIPE)
        lines = _Lines(proc)
        try:
            ready = lines.next()
            assert ready is not None and ready.startswith(f"ready {first} "), ready
            save_seconds = max(float(ready.split()[2]), 0.005)
            # Let 0-2 more saves complete, then kill a random time into the next one.
            for _ in range(int(rng.integers(1, 4))):
                line = lines.next()
                while line is not None and not line.startswith("saving"):
                    line = lines.next()
                assert line is not None, "the child died by itself"
            delay = 0.0 if round_ == 0 else float(rng.uniform(0, 0.8 * save_seconds))
            if delay:
                time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
            lines.drain()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        seen = lines.seen
        saving = [int(s.split()[1]) for s in seen if s.startswith("saving")]
        saved = [first] + [int(s.split()[1]) for s in seen if s.startswith("saved")]
        started, completed = max(saving), max(saved)
        context = f"round {round_}, delay {delay * 1e3:.1f} ms, seed {seed}, output {seen}"
        # The file is the last completed version, or the one being saved if the kill came after
        # its rename.
        allowed = {completed} if completed == started else {completed, started}
        version = _version(fm.load(path))
        assert version in allowed, context
        if completed < started:
            mid_save += 1
            kinds.append("new" if version == started else "previous")

        # Leftovers from the killed save: recognisable names, and never in the way of load.
        for name in sorted(set(os.listdir(tmp_path)) - checked):
            checked.add(name)
            assert TEMP_NAME.match(name), f"unrecognisable leftover {name!r} ({context})"
            leftover = tmp_path / name
            assert leftover.is_dir()
            for inner in os.listdir(leftover):  # a partial file is refused, a whole one is version `started`
                try:
                    assert _version(fm.load(leftover / inner)) == started, context
                except ValueError as exc:
                    assert "cannot load a fastmlp model" in str(exc)
    assert mid_save >= 3, f"only {mid_save} of 6 kills landed during a save (seed {seed}, {kinds})"

    # A later save in the same directory is unaffected by the leftovers.
    model = fm.Sequential([fm.Dense(3)], input_dim=2)
    for p in model.parameters():
        p.fill(7)
    model.save(path)
    assert _version(fm.load(path)) == 7


KILL_AT = textwrap.dedent(
    """
    import os, signal, sys
    import fastmlp as fm
    from fastmlp import io as fmio
    path, where = sys.argv[1], sys.argv[2]
    model = fm.Sequential([fm.Dense(64, activation="relu"), fm.Dense(8)], input_dim=32, seed=0)
    for p in model.parameters():
        p.fill(1)
    model.save(path)
    for p in model.parameters():
        p.fill(2)
    die = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
    if where == "during_write":  # half the file is written, then the process dies
        real = fmio.save_file
        def save_file(tensors, filename, metadata=None):
            real(tensors, filename, metadata=metadata)
            with open(filename, "r+b") as f:
                f.truncate(os.path.getsize(filename) // 2)
            die()
        fmio.save_file = save_file
    else:  # the whole file is written and synced, the process dies before the rename
        os.replace = die
    model.save(path)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("where", ["during_write", "before_rename"])
def test_a_killed_save_leaves_a_recognisable_temp_that_does_not_affect_load(tmp_path, where):
    path = tmp_path / "model.safetensors"
    result = subprocess.run([sys.executable, "-c", KILL_AT, str(path), where], timeout=120)
    assert result.returncode == -signal.SIGKILL
    assert _version(fm.load(path)) == 1
    leftovers = [name for name in os.listdir(tmp_path) if name != "model.safetensors"]
    assert len(leftovers) == 1 and TEMP_NAME.match(leftovers[0]), leftovers
    inner = os.listdir(tmp_path / leftovers[0])
    assert inner == ["model.safetensors"]
    temp = tmp_path / leftovers[0] / inner[0]
    if where == "during_write":
        with pytest.raises(ValueError, match="cannot load a fastmlp model"):
            fm.load(temp)
    else:
        assert _version(fm.load(temp)) == 2
    # saving again works beside the leftover, which stays for the user to delete
    _model(3).save(path)
    assert _version(fm.load(path)) == 3
    assert sorted(os.listdir(tmp_path)) == sorted(leftovers + ["model.safetensors"])


# --------------------------------------------------------------------------- failing saves
def _model(k):
    model = fm.Sequential([fm.Dense(6, activation="tanh"), fm.Dense(2)], input_dim=3, seed=0)
    for p in model.parameters():
        p.fill(k)
    return model


@pytest.fixture
def previous(tmp_path):
    """A directory holding one good checkpoint (version 1); returns its path and bytes."""
    path = tmp_path / "model.safetensors"
    _model(1).save(path)
    return path, path.read_bytes()


def _assert_intact(path, content):
    assert os.listdir(path.parent) == [path.name], "a failed save left something behind"
    assert path.read_bytes() == content
    assert _version(fm.load(path)) == 1


def test_save_into_a_missing_directory_raises_file_not_found(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "model.safetensors"
    with pytest.raises(FileNotFoundError, match="cannot save the model") as info:
        _model(2).save(path)
    assert str(path) in str(info.value) and info.value.filename == str(path)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write read-only directories")
def test_save_into_a_read_only_directory_raises_permission_error(previous):
    path, content = previous
    os.chmod(path.parent, 0o555)
    try:
        with pytest.raises(PermissionError, match="cannot save the model") as info:
            _model(2).save(path)
        assert str(path) in str(info.value)
    finally:
        os.chmod(path.parent, 0o755)
    _assert_intact(path, content)


def test_save_into_an_unwritable_directory_raises_permission_error(previous, monkeypatch):
    """The read-only directory case as root sees it never: creating the temporary folder fails."""
    path, content = previous

    def mkdtemp(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", os.path.join(kwargs["dir"], ".x"))

    monkeypatch.setattr(fastmlp._atomic.tempfile, "mkdtemp", mkdtemp)
    with pytest.raises(PermissionError, match=r"cannot save the model \(Permission denied\)") as info:
        _model(2).save(path)
    assert info.value.filename == str(path)
    monkeypatch.undo()
    _assert_intact(path, content)


def test_save_over_a_directory_raises_and_leaves_it(tmp_path):
    target = tmp_path / "model.safetensors"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(IsADirectoryError, match="cannot save the model"):
        _model(2).save(target)
    assert os.listdir(tmp_path) == ["model.safetensors"] and os.listdir(target) == ["keep"]


def _partial_write_then(exc):
    """A stand-in for safetensors' save_file that writes half a file, then fails with `exc`."""

    def save_file(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"__metadata")
        raise exc

    return save_file


@pytest.mark.parametrize(
    "failure, exc_type",
    [
        (OSError(errno.ENOSPC, "No space left on device"), OSError),
        (safetensors.SafetensorError("Error while serializing: I/O error"), OSError),
    ],
    ids=["disk_full", "safetensors_error"],
)
def test_a_failed_write_leaves_the_previous_file_and_no_temp(previous, monkeypatch, failure, exc_type):
    path, content = previous
    monkeypatch.setattr(fmio, "save_file", _partial_write_then(failure))
    with pytest.raises(exc_type, match="cannot save the model") as info:
        _model(2).save(path)
    assert str(path) in str(info.value)
    if isinstance(failure, OSError):
        assert info.value.errno == errno.ENOSPC
    _assert_intact(path, content)


def test_a_failed_fsync_leaves_the_previous_file_and_no_temp(previous, monkeypatch):
    path, content = previous

    def fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match=r"cannot save the model \(Input/output error\)") as info:
        _model(2).save(path)
    assert info.value.errno == errno.EIO and info.value.filename == str(path)
    monkeypatch.undo()
    _assert_intact(path, content)


def test_a_failed_rename_leaves_the_previous_file_and_no_temp(previous, monkeypatch):
    path, content = previous

    def replace(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError, match="cannot save the model"):
        _model(2).save(path)
    monkeypatch.undo()
    _assert_intact(path, content)


def test_an_interrupted_save_leaves_the_previous_file_and_no_temp(previous, monkeypatch):
    path, content = previous
    monkeypatch.setattr(fmio, "save_file", _partial_write_then(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        _model(2).save(path)
    _assert_intact(path, content)


def test_a_diverged_model_is_not_saved_over_a_good_checkpoint(previous):
    path, content = previous
    model = _model(2)
    model.parameters()[1][3] = np.nan
    with pytest.raises(ValueError, match=r"layers.0.bias contains NaN or infinite values"):
        model.save(path)
    _assert_intact(path, content)


def test_a_successful_save_replaces_the_file_and_leaves_nothing_else(previous):
    path, _ = previous
    _model(2).save(path)
    assert os.listdir(path.parent) == [path.name]
    assert _version(fm.load(path)) == 2


@pytest.mark.skipif(not hasattr(os, "umask"), reason="POSIX permissions")
def test_saved_files_get_ordinary_permissions(tmp_path):
    """Like open(path, "wb"): 0o666 minus the umask for a new file, the old bits for an existing
    one (not the 0o600 of temporary files)."""
    old = os.umask(0o022)
    try:
        _model(1).save(tmp_path / "a.safetensors")
        assert stat.S_IMODE(os.stat(tmp_path / "a.safetensors").st_mode) == 0o644
        os.umask(0o007)
        _model(1).save(tmp_path / "b.safetensors")
        assert stat.S_IMODE(os.stat(tmp_path / "b.safetensors").st_mode) == 0o660
        os.chmod(tmp_path / "a.safetensors", 0o640)
        _model(2).save(tmp_path / "a.safetensors")
        assert stat.S_IMODE(os.stat(tmp_path / "a.safetensors").st_mode) == 0o640
    finally:
        os.umask(old)
