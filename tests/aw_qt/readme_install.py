"""README.md's first command, as a new user runs it: in a copy of this checkout, into a
fresh venv, with pip's own cache (the packages come from the registries pip is set up
for, so a second install in the session finds them cached).

The command is read from the README, never written here, so the test follows the
README. It runs as written; what a test must change (port, folders) goes through the
environment and the server's config file, which the product honours.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"


def first_command(readme: Path = README) -> str:
    """The command of the README's first `sh` block (its one non-comment line)."""
    block = re.search(r"^```sh\n(.*?)^```", readme.read_text(encoding="utf-8"), re.S | re.M)
    assert block is not None, "README.md has no ```sh block"
    lines = [line for line in block.group(1).splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) == 1, f"the first sh block should hold one command: {lines}"
    return lines[0].strip()


def copy_checkout(dest: Path) -> Path:
    """The working tree's files (tracked, and new ones not ignored) without .venv,
    build output or .git: what a fresh clone of this change holds."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=REPO_ROOT, check=True,
                            capture_output=True, timeout=60).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def pip_cache_dir() -> str:
    """This machine's pip cache, found before a test moves HOME and XDG_CACHE_HOME."""
    if os.environ.get("PIP_CACHE_DIR"):
        return os.environ["PIP_CACHE_DIR"]
    out = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True,
                         text=True, timeout=60, check=False).stdout.strip()
    return out or str(Path.home() / ".cache" / "pip")


@dataclass
class ReadmeInstall:
    folder: Path  # the copy of the checkout the command runs in
    command: str
    pip_cache: str

    @property
    def bin(self) -> Path:
        return self.folder / ".venv" / "bin"

    def shell(self) -> list[str]:
        return ["bash", "-c", self.command]

    def with_pip_cache(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, "PIP_CACHE_DIR": self.pip_cache}

    def ensure_installed(self, env: dict[str, str], log: Path) -> None:
        """For tests of the installed product: the command's install steps (all but
        its last, which starts the product) if no test has run the command yet."""
        if (self.bin / "aw-qt").exists():
            return
        steps, _sep, start = self.command.rpartition(" && ")
        assert steps and "aw-qt" in start, self.command
        with log.open("ab") as out:
            subprocess.run(["bash", "-c", steps], cwd=self.folder, env=self.with_pip_cache(env),
                           stdout=out, stderr=subprocess.STDOUT, check=True, timeout=900)
