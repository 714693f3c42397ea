"""Building the PyInstaller bundle for tests and benchmarks, through scripts/build-bundle.

A build takes about a minute on two cores, so callers reuse one: the test session
builds once, and `AW_TEST_BUNDLE=/path/to/dist/aw-qt` points at an existing folder
instead (for iterating on the test itself, not for CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-bundle"
EXE_NAME = "aw-qt.exe" if os.name == "nt" else "aw-qt"


@dataclass(frozen=True)
class Bundle:
    folder: Path  # dist/aw-qt
    seconds: float | None  # wall time of the build; None when an existing one was reused
    log: Path | None

    @property
    def exe(self) -> Path:
        return self.folder / EXE_NAME

    @property
    def internal(self) -> Path:
        """PyInstaller's library folder (`sys._MEIPASS` of the running bundle)."""
        return self.folder / "_internal"


class BuildError(RuntimeError):
    pass


def build_bundle(dist: Path, work: Path, *, tarball: bool = False,
                 timeout: float = 1200.0) -> Bundle:
    """Run scripts/build-bundle with this interpreter's packages; its output goes to a log."""
    dist.mkdir(parents=True, exist_ok=True)
    log = dist.parent / "build-bundle.log"
    argv = ["bash", str(BUILD_SCRIPT), "--python", sys.executable, "--dist", str(dist),
            "--work", str(work)]
    if not tarball:
        argv.append("--no-tarball")
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.run(argv, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
    seconds = time.monotonic() - started
    bundle = Bundle(dist / "aw-qt", seconds, log)
    if proc.returncode != 0 or not bundle.exe.is_file():
        raise BuildError(f"build-bundle failed ({proc.returncode}):\n"
                         f"{log.read_text(errors='replace')[-4000:]}")
    return bundle


def existing_bundle() -> Bundle | None:
    folder = os.environ.get("AW_TEST_BUNDLE")
    if not folder:
        return None
    bundle = Bundle(Path(folder).resolve(), None, None)
    if not bundle.exe.is_file():
        raise BuildError(f"AW_TEST_BUNDLE={folder} has no {EXE_NAME}")
    return bundle
