"""`pip install .` a second time must not recompile what did not change.

pip builds in an isolated environment at a new temporary path each time, so pybind11 lies at a new
path on every build. If that path reached the compiler's command line, Ninja would see every
object's command change and recompile all of fastmlp. CMakeLists.txt compiles against a copy of
pybind11's headers in the build folder that is rewritten only where the content changed; this test
configures the same build folder against two copies of pybind11 at different paths (touched, as a
fresh install would be) and requires identical compile commands, free of either path, and the
header copy untouched by the second configure. (cmake/wheel_superbuild.cmake keeps the objects
themselves out of the folder scikit-build-core wipes; measured by hand in the README.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pybind11 = pytest.importorskip("pybind11")

ROOT = Path(__file__).resolve().parents[2]
CMAKE = shutil.which("cmake")
pytestmark = pytest.mark.skipif(CMAKE is None or shutil.which(os.environ.get("CXX", "c++")) is None,
                                reason="needs cmake and a C++ compiler")


def _pybind11_copy(dest: Path) -> Path:
    """pybind11's package at a new path with fresh modification times; returns its CMake dir."""
    package = Path(pybind11.__file__).parent
    shutil.copytree(package, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for path in dest.rglob("*"):
        os.utime(path)
    return dest / "share" / "cmake" / "pybind11"


def _configure(build: Path, pybind11_dir: Path) -> str:
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run([CMAKE, "-S", str(ROOT), "-B", str(build), *generator, "-DCMAKE_BUILD_TYPE=Release",
                    "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON", f"-DPython_EXECUTABLE={sys.executable}",
                    f"-Dpybind11_DIR={pybind11_dir}"],
                   check=True, capture_output=True, text=True, timeout=300)
    commands = json.loads((build / "compile_commands.json").read_text())
    return json.dumps(sorted((c["file"], c["command"]) for c in commands))


def test_compile_commands_do_not_depend_on_where_pybind11_lies(tmp_path):
    build = tmp_path / "build"
    first_env, second_env = tmp_path / "env-one" / "pybind11", tmp_path / "env-two" / "pybind11"
    first = _configure(build, _pybind11_copy(first_env))
    header = build / "pybind11-include" / "pybind11" / "pybind11.h"
    mtime = header.stat().st_mtime_ns if header.exists() else None
    shutil.rmtree(first_env.parent)  # pip deletes the isolated environment after the build

    second = _configure(build, _pybind11_copy(second_env))
    assert second == first
    assert "env-one" not in first and "env-two" not in second
    assert "pybind11-include" in first  # the copy is what the bindings are compiled against
    assert header.read_bytes() == (second_env / "include" / "pybind11" / "pybind11.h").read_bytes()
    assert header.stat().st_mtime_ns == mtime  # Ninja would rebuild every object after a rewrite


def _configure_outer(build: Path, *defines: str) -> str:
    """Configures the project as scikit-build-core does (SKBUILD set) after wiping the cache as it
    does at a new path; returns the settings written for the inner build."""
    (build / "CMakeCache.txt").unlink(missing_ok=True)
    shutil.rmtree(build / "CMakeFiles", ignore_errors=True)
    subprocess.run([CMAKE, "-S", str(ROOT), "-B", str(build), "-DSKBUILD=2", "-DSKBUILD_SOABI=abi",
                    "-DCMAKE_BUILD_TYPE=Release", *defines], check=True, capture_output=True, text=True, timeout=300)
    return (build / "core-init.cmake").read_text()


def test_an_option_left_out_of_the_next_install_does_not_stay_in_the_inner_build(tmp_path):
    """A sanitizer (or -march=native) install must not leave its objects for the next plain
    `pip install .`: the inner build starts again when the options given change."""
    build = tmp_path / "build"
    init = _configure_outer(build, "-DFASTMLP_SANITIZE=ON")
    assert "FASTMLP_SANITIZE" in init
    marker = build / "core" / "objects-of-the-sanitizer-build"
    marker.parent.mkdir()
    marker.write_text("")
    assert "FASTMLP_SANITIZE" not in _configure_outer(build)
    assert not marker.exists()
    marker.parent.mkdir()
    marker.write_text("")
    _configure_outer(build)  # the same settings again: the inner build is kept
    assert marker.exists()
