"""Running the project's Snakemake pipeline from tests: a committed git copy of the checkout,
and the tools of this environment called in it with the copy's own code.

Shared by tests/test_pipeline.py (local runs, DVC) and tests/test_slurm.py (the same pipeline
through a real SLURM scheduler), so both run exactly the same way.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GIT_IDENTITY = ["-c", "user.name=pipeline test", "-c", "user.email=pipeline-test@localhost"]


def env_for(root):
    """Jobs run the copy's code (PYTHONPATH) with the tools of this environment (PATH), one thread each."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(root / "src"),
            "OMP_NUM_THREADS": "1", "DVC_NO_ANALYTICS": "1", "INFOGAN_MNIST_MIRRORS": ""}


def run(root, *args, check=True, timeout=600, env=None):
    result = subprocess.run([str(a) for a in args], cwd=root, env=env or env_for(root), capture_output=True,
                            text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                    f"{result.stderr[-5000:]}")
    return result


def snakemake(root, *args, **kwargs):
    return run(root, BIN / "snakemake", *args, **kwargs)


def dvc(root, *args, **kwargs):
    return run(root, BIN / "dvc", *args, **kwargs)


def git(root, *args):
    return run(root, "git", *GIT_IDENTITY, *args)


def copy_project(root):
    """A git repository at `root` holding this checkout's files (tracked and new, not ignored), committed."""
    if not (REPO / ".git").exists():
        pytest.skip("needs a git checkout of the project to copy")
    listed = run(REPO, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git(root, "init", "-q")
    if not (root / ".dvc").is_dir():
        dvc(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "project copy")
    return root
