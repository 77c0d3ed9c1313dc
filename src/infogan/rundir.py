"""The run directory: the one place that knows its files, and reading runs back.

One training run (an experiment, a seed, a dataset file) owns one directory:

    RUN/config.yaml     the resolved experiment config
    RUN/run.json        provenance: seed, data file and its source, device, versions, times
    RUN/metrics.jsonl   one JSON object per logged iteration (losses, L_I per code type, speed)
    RUN/checkpoint.pt   resumable state, rewritten atomically every N iterations
    RUN/final.pt        the trained networks, written once at the end
    RUN/.train.lock     held (an OS lock) by the one process training the run

`infogan.train` writes them; `infogan.checkpoint` reads the two checkpoints; everything
else (evaluation, figures, the report, planning, the workflow's scripts) reads a run
through `load_run` and `RunFiles`, so a change of layout is a change here only.
"""

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import yaml

from infogan.atomic import refused_write
from infogan.config import ExperimentConfig, config_from_dict
from infogan.errors import InfoganError

CONFIG_NAME = "config.yaml"
INFO_NAME = "run.json"
METRICS_NAME = "metrics.jsonl"
RESUMABLE_NAME = "checkpoint.pt"
FINAL_NAME = "final.pt"
LOCK_NAME = ".train.lock"


class RunFiles(NamedTuple):
    """The paths of one run directory's files (`files(run_dir)` makes one)."""

    root: Path
    config: Path
    info: Path
    metrics: Path
    resumable: Path
    final: Path
    lock: Path


def run_dir_of(path) -> Path:
    """A run directory, given either it or a file in it (Snakemake rules name files, e.g. final.pt)."""
    path = Path(path)
    return path.parent if path.is_file() else path


def files(run_dir) -> RunFiles:
    """The files of the run directory `run_dir` (which need not exist yet)."""
    root = Path(run_dir)
    names = (CONFIG_NAME, INFO_NAME, METRICS_NAME, RESUMABLE_NAME, FINAL_NAME, LOCK_NAME)
    return RunFiles(root, *(root / name for name in names))


@contextlib.contextmanager
def sole_writer(run_dir):
    """Hold the run directory's lock for the duration: one training process per run.

    An OS lock (flock) on RUN/.train.lock, released however the process ends (a kill -9
    included), so a stale lock file never blocks a later run. A second writer is refused
    with the holder's PID before it touches anything in the folder."""
    path = files(run_dir).lock
    if path.parent.exists() and not path.parent.is_dir():
        raise InfoganError(f"{path.parent}: exists and is not a folder; give the run a folder of its own")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b", buffering=0) as handle:  # unbuffered: a refused write fails here, not at close
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().decode().strip() or "unknown"
            raise InfoganError(f"{path.parent}: another process (pid {holder}) is training this run; "
                               "wait for it to finish or stop it, then run the same command again") from None
        handle.seek(0)
        handle.truncate()
        try:
            handle.write(f"{os.getpid()}\n".encode())
        except OSError as exc:
            raise refused_write(path, exc) or exc from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Run:
    """A run as its readers see it: provenance, resolved config and metrics log (final.pt is
    loaded only where the networks are needed, by `infogan.checkpoint.load_trained`)."""

    path: Path
    info: dict  # run.json
    config: ExperimentConfig
    metrics: list[dict]

    @property
    def experiment(self) -> str:
        return self.config.name

    @property
    def seed(self) -> int:
        return int(self.info["seed"])

    @property
    def source(self) -> str:
        return self.info["data"]["source"]

    @property
    def files(self) -> RunFiles:
        return files(self.path)


def read_json(path, what):
    """A JSON file's content; a missing or malformed file raises InfoganError naming it and `what` it should be."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InfoganError(f"{path}: no such {what}") from None
    except json.JSONDecodeError as exc:
        raise InfoganError(f"{path}: {what} is not valid JSON ({exc})") from None


def read_metrics(path) -> list[dict]:
    """The metrics log of the run at `path`, one dict per logged iteration ([] before the first)."""
    metrics_path = files(run_dir_of(path)).metrics
    lines = metrics_path.read_text().splitlines() if metrics_path.is_file() else []
    return [json.loads(line) for line in lines if line.strip()]


def load_run(path) -> Run:
    """Read run.json, config.yaml and metrics.jsonl of the run directory at `path`."""
    run = files(run_dir_of(path))
    info = read_json(run.info, f"{INFO_NAME} (is this a run directory?)")
    if not run.config.is_file():
        raise InfoganError(f"{run.config}: no such file (is {run.root} a run directory?)")
    config = config_from_dict(yaml.safe_load(run.config.read_text()))
    return Run(run.root, info, config, read_metrics(run.root))


def load_evaluation(path) -> dict:
    """An evaluation JSON (see infogan.evaluate), with the file it came from under `path`."""
    return {**read_json(path, "evaluation JSON"), "path": str(path)}


def pair_evaluations(runs, evaluations):
    """[(run, evaluation)] matched by (experiment, seed): file order and path spelling do not matter."""
    by_key = {}
    for evaluation in evaluations:
        key = (evaluation["experiment"], int(evaluation["seed"]))
        if key in by_key:
            raise InfoganError(f"{evaluation['path']} and {by_key[key]['path']}: two evaluations of "
                               f"{key[0]} seed {key[1]}; pass one per run")
        by_key[key] = evaluation
    pairs = []
    for run in runs:
        evaluation = by_key.get((run.experiment, run.seed))
        if evaluation is None:
            raise InfoganError(f"{run.path}: no evaluation of {run.experiment} seed {run.seed} among "
                               f"{', '.join(e['path'] for e in evaluations) or 'none given'}")
        pairs.append((run, evaluation))
    return pairs
