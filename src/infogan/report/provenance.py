"""Where the report's numbers came from: code version, data files, checkpoints, software.

Each helper degrades to a stated "unknown" rather than failing, because a report made
outside a git checkout, or after a data file was moved, is still worth reading, as long
as it says what it could not establish.
"""

import csv
import hashlib
import importlib.metadata
import platform
import subprocess
from pathlib import Path

from infogan.data.hdf5 import read_info
from infogan.errors import InfoganError

PACKAGES = ("infogan-repro", "torch", "numpy", "h5py", "jinja2", "seaborn", "matplotlib")


def git_state(cwd="."):
    """Commit and dirty flag of the checkout at `cwd`, or a note saying why they are unknown."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)

    try:
        head = git("rev-parse", "HEAD")
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        return {"commit": None, "dirty": None, "changed": [], "note": f"git unavailable ({type(exc).__name__})"}
    if head.returncode != 0:
        reason = (head.stderr.strip().splitlines() or ["git rev-parse failed"])[0]
        return {"commit": None, "dirty": None, "changed": [], "note": f"no commit known: {reason}"}
    changed = git("status", "--porcelain").stdout.splitlines()
    return {"commit": head.stdout.strip(), "dirty": bool(changed), "changed": changed[:30],
            "note": f"{len(changed)} changed or untracked file(s)" if changed else "clean"}


LOCK_FILE = "requirements.lock"


def lock_state(cwd="."):
    """The sha256 of the environment's lock file (requirements.lock in the checkout at `cwd`),
    or a note saying it is not there (e.g. a report made outside the checkout)."""
    path = Path(cwd) / LOCK_FILE
    if not path.is_file():
        return {"file": LOCK_FILE, "sha256": None, "note": f"{path} not found"}
    return {"file": LOCK_FILE, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "note": ""}


def package_versions(names=PACKAGES):
    """Installed versions of the packages the results depend on, as seen by the report step."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {"python": platform.python_version(), **versions}


def md5_of(path):
    """MD5 of a file (the hash DVC records for it), or None when the file is not there."""
    path = Path(path)
    if not path.is_file():
        return None
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_files(runs, evaluations):
    """Each data file used for training or evaluation, once: what run.json recorded, and what
    the file now says about itself (source, raw checksums, md5) if it is still there."""
    files = {}
    for run in runs:
        recorded = run.info["data"]
        entry = files.setdefault(recorded["path"], {"path": recorded["path"], "used_by": []})
        entry.update(dataset=recorded["dataset"], source=recorded["source"],
                     description=recorded.get("description", ""), raw_checksums=recorded.get("raw_checksums", {}))
        entry["used_by"].append(f"train {run.experiment} seed {run.seed}")
    for evaluation in evaluations:
        recorded = evaluation["data"]
        entry = files.setdefault(recorded["path"], {"path": recorded["path"], "used_by": []})
        entry.setdefault("dataset", recorded["dataset"])
        entry.setdefault("source", recorded["source"])
        entry["used_by"].append(f"evaluate {evaluation['experiment']} seed {evaluation['seed']}")
    return [_check_file(entry) for entry in files.values()]


def _check_file(entry):
    entry = {"description": "", "raw_checksums": {}, **entry, "md5": md5_of(entry["path"]), "warning": None}
    if entry["md5"] is None:
        entry["warning"] = "file not found here; its checksum could not be taken"
        return entry
    try:
        info = read_info(entry["path"])
    except InfoganError as exc:
        entry["warning"] = str(exc)
        return entry
    if info.source != entry["source"]:
        entry["warning"] = f"the file now says source {info.source!r}, the runs recorded {entry['source']!r}"
    entry["raw_checksums"] = entry["raw_checksums"] or info.raw_checksums
    return entry


def checkpoints(runs):
    """md5 and size of each run's final.pt."""
    rows = []
    for run in runs:
        path = run.files.final
        rows.append({"path": str(path), "experiment": run.experiment, "seed": run.seed, "md5": md5_of(path),
                     "megabytes": path.stat().st_size / 1e6 if path.is_file() else None})
    return rows


def step_times(benchmark_files):
    """Wall time and peak memory of each pipeline job, from the TSV files Snakemake's
    `benchmark:` directive writes (columns `s` and `max_rss`, in seconds and MB). The step
    is the file's folder under results/benchmarks/, the job the rest of its path."""
    rows = []
    for path in map(Path, benchmark_files):
        below = path.with_suffix("").parts
        below = below[below.index("benchmarks") + 1:] if "benchmarks" in below[:-1] else below[-2:]
        row = {"path": str(path), "step": below[0], "job": "/".join(below[1:]) or below[0], "seconds": None,
               "max_rss_mb": None, "warning": None}
        try:
            with open(path, newline="") as f:
                measured = list(csv.DictReader(f, delimiter="\t"))[-1]
            row["seconds"] = float(measured["s"])
            rss = measured.get("max_rss")
            row["max_rss_mb"] = float(rss) if rss not in (None, "", "NA", "-") else None
        except FileNotFoundError:
            row["warning"] = "file not found"
        except (IndexError, KeyError, ValueError, csv.Error) as exc:
            row["warning"] = f"not a Snakemake benchmark file ({type(exc).__name__}: {exc})"
        rows.append(row)
    return sorted(rows, key=lambda r: (r["step"], r["job"]))
