"""The workflow follows Snakemake's own conventions: `snakefmt` formatting and `snakemake --lint`.

One lint stays, on purpose: "Specify a conda environment or container for each rule".
Every rule runs the same `infogan` command from one Python environment, pinned by
requirements.lock (README, "Install"); a conda environment per rule would be a second,
drifting copy of that lock. Any other lint fails this test.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEFILES = ["Snakefile", *sorted(str(p.relative_to(REPO)) for p in (REPO / "workflow" / "rules").glob("*.smk"))]
EXPLAINED_LINTS = {"Specify a conda environment or container for each rule."}


def test_snakefiles_are_formatted_by_snakefmt():
    if not (BIN / "snakefmt").exists():
        pytest.skip("snakefmt is not installed (pip install -e '.[dev]')")
    checked = subprocess.run([str(BIN / "snakefmt"), "--check", *SNAKEFILES], cwd=REPO, capture_output=True, text=True)
    assert checked.returncode == 0, f"run `snakefmt {' '.join(SNAKEFILES)}`:\n{checked.stderr}"


def test_snakemake_lint_finds_only_the_explained_lint():
    linted = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300)
    titles = set(re.findall(r"^    \* (.+?):?$", linted.stdout + linted.stderr, flags=re.MULTILINE))
    assert titles, f"no lint output to check:\n{linted.stdout}{linted.stderr}"  # the explained one is always there
    assert titles <= EXPLAINED_LINTS, titles - EXPLAINED_LINTS
