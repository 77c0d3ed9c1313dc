"""Fault injection through the command line (`infogan.cli.main`, in this process: what a
shell would print and the status it would get): a full disk and a read-only one under every
subcommand that writes. Each must end with one line naming the file and the fix, exit 1, no
traceback, and leave nothing that looks finished (no destination file, no `.part` left).

The disks are real: small tmpfs mounts, which need root (skipped elsewhere, failed under
CI=true). Kills at chosen moments and concurrent writers are driven in test_train.py (exact
resume after SIGKILL or SIGTERM at any point, a second writer refused with the holder's PID).
"""

import os
import subprocess
from pathlib import Path

import pytest
from conftest import skip_or_fail

from infogan.cli import main
from infogan.data.synthetic import synthetic_digits


def mount_tmpfs(folder: Path, options: str):
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        skip_or_fail("mounting a small or read-only disk needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def disks(tmp_path):
    """(a 1 MB disk filled to the brim, a read-only disk), unmounted afterwards."""
    full, read_only = tmp_path / "full", tmp_path / "read_only"
    mount_tmpfs(full, "size=1m")
    try:
        mount_tmpfs(read_only, "size=1m,ro")
        try:
            with open(full / "filler", "wb") as filler:  # fill it: every later write fails
                while True:
                    try:
                        filler.write(b"\0" * 65536)
                        filler.flush()
                    except OSError:
                        break
            yield full, read_only
        finally:
            subprocess.run(["umount", str(read_only)], check=False)
    finally:
        subprocess.run(["umount", "--lazy", str(full)], check=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A tiny finished run, its data file, its evaluation and its Figure 1 sidecar, on a good disk."""
    root = tmp_path_factory.mktemp("good")
    data = root / "digits.h5"
    synthetic_digits.prepare(data, n_train=64, n_test=32, seed=0)
    run = root / "run"
    for args in (["train", "mnist_infogan", "--data", data, "--out", run, "--iterations", "2", "--device", "cpu",
                  "--set", "batch_size=8"],
                 ["evaluate", run, "--data", data, "--out", root / "eval.json", "--samples", "32", "--draws", "2"],
                 ["figure", "1", "--infogan-runs", run, "--gan-runs", run, "--out-dir", root / "figures"]):
        assert main([str(a) for a in args]) == 0
    return {"data": data, "run": run, "evaluation": root / "eval.json", "figure": root / "figures" / "figure1.json"}


def commands(out: Path, good):
    """Every writing subcommand, writing under `out`: {name: (arguments, the file it must name)}."""
    return {
        "prepare": (["prepare", "synthetic_digits", "--out", out / "digits.h5", "--train-images", "2000"],
                    out / "digits.h5"),
        "train": (["train", "mnist_infogan", "--data", good["data"], "--out", out / "run", "--iterations", "2",
                   "--device", "cpu", "--set", "batch_size=8"], out / "run"),
        "evaluate": (["evaluate", good["run"], "--data", good["data"], "--out", out / "eval.json",
                      "--samples", "32", "--draws", "2"], out / "eval.json"),
        "figure": (["figure", "1", "--infogan-runs", good["run"], "--gan-runs", good["run"], "--out-dir",
                    out / "figures"], out / "figures"),
        "report": (["report", "--figures", good["figure"], "--evaluations", good["evaluation"], "--runs",
                    good["run"], "--out", out / "report" / "index.html"], out / "report" / "index.html"),
    }


class Done:
    """A command's exit status and what it printed to stderr."""

    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


@pytest.fixture
def run_cli(capsys):
    def run(args):
        capsys.readouterr()
        status = main([str(a) for a in args])
        return Done(status, capsys.readouterr().err)

    return run


def assert_one_line_naming(done, command, named: Path, reason):
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("infogan ")]
    assert lines, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    last = lines[-1]
    assert last.startswith(f"infogan {command}: error: {named}"), last
    assert reason in last, last


def leftovers(folder: Path):
    """What a failed write left: any file but the filler."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "filler")


@pytest.mark.parametrize("command", ["prepare", "train", "evaluate", "figure", "report"])
def test_a_full_disk_is_named_in_one_line_and_nothing_looks_finished(command, disks, finished_run, run_cli):
    full, _ = disks
    args, named = commands(full, finished_run)[command]
    assert_one_line_naming(run_cli(args), command, named, "no space left on the disk")
    assert set(leftovers(full)) <= {"run/.train.lock"}  # the lock of a run that never started


@pytest.mark.parametrize("command", ["prepare", "train", "evaluate", "figure", "report"])
def test_a_read_only_disk_is_named_in_one_line(command, disks, finished_run, run_cli):
    _, read_only = disks
    args, named = commands(read_only, finished_run)[command]
    assert_one_line_naming(run_cli(args), command, named, "read-only")
    assert leftovers(read_only) == []


def test_a_disk_that_fills_during_training_is_named_and_the_run_is_not_finished(tmp_path, finished_run, run_cli):
    """Room for the run's small files but not for a checkpoint (about 7 MB for batch 8)."""
    small = tmp_path / "small"
    mount_tmpfs(small, "size=2m")
    try:
        done = run_cli(["train", "mnist_infogan", "--data", finished_run["data"], "--out", small / "run",
                        "--iterations", "2", "--checkpoint-every", "1", "--device", "cpu", "--set", "batch_size=8"])
        assert_one_line_naming(done, "train", small / "run" / "checkpoint.pt", "no space left on the disk")
        assert not (small / "run" / "final.pt").exists()
        assert '"finished": false' in (small / "run" / "run.json").read_text()
        assert not list((small / "run").glob(".*.part"))
    finally:
        subprocess.run(["umount", "--lazy", str(small)], check=False)


@pytest.mark.parametrize("command", ["prepare", "evaluate", "report"])
def test_a_folder_given_for_a_file_is_named(command, tmp_path, finished_run, run_cli):
    folder = tmp_path / "a_folder"
    (folder / "kept").mkdir(parents=True)
    args, _ = commands(tmp_path, finished_run)[command]
    args = [*args[:args.index("--out") + 1], folder, *args[args.index("--out") + 2:]]
    assert_one_line_naming(run_cli(args), command, folder, "is a folder, not a file")
    assert [p.name for p in folder.iterdir()] == ["kept"]
