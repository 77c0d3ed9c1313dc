# Helpers shared by the rules: paths, the experiments' resolved settings, code versions.

import functools
import hashlib
import shlex
import sys
from pathlib import Path

import infogan
from infogan.config import load_experiment
from infogan.data.mnist import FILES as MNIST_FILES

# Jobs call the `infogan` command of the environment Snakemake itself runs in, also when
# that environment is not activated (e.g. `.venv/bin/snakemake ...`). The prefix replaces
# Snakemake's default one, so it repeats its `set -euo pipefail`.
shell.prefix(f"set -euo pipefail; export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH; ")

# The source files whose content decides each step's result. Their hash is a param of the
# step's rules, so Snakemake's params trigger re-runs the jobs of a step whose code changed
# (and, as always, every job after them), judged by content: a comment re-runs the step
# too; `snakemake --touch` then accepts the outputs as they are.
PACKAGE = Path(infogan.__file__).parent  # the code the jobs run (src/infogan when installed editable)
CODE_FILES = {
    "prepare": ["data/*.py"],
    "train": ["train.py", "nets.py", "latent.py", "config.py", "checkpoint.py", "data/hdf5.py"],
    "evaluate": ["evaluate.py"],
    "figures": ["figures.py"],
    "report": ["report/*.py", "report/*.j2", "report/*.yaml"],
}


def code_version(step):
    """`step`, and a short sha256 over the names and contents of its source files."""
    digest = hashlib.sha256()
    for pattern in CODE_FILES[step]:
        for path in sorted(PACKAGE.glob(pattern)):
            digest.update(path.relative_to(PACKAGE).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return f"{step} code {digest.hexdigest()[:16]}"


CODE = {step: code_version(step) for step in CODE_FILES}


def dataset_file(slot):
    """The HDF5 file that fills data slot `slot` (config `data`)."""
    return f"data/processed/{config['data'][slot]}.h5"


def run_dataset(experiment):
    """The dataset `experiment` trains on: config runs.<experiment>.data names its slot."""
    return config["data"][config["runs"][experiment]["data"]]


def run_data(wildcards):
    return f"data/processed/{run_dataset(wildcards.experiment)}.h5"


def seeds(experiment):
    return config["runs"][experiment]["seeds"]


def run_dir(experiment, seed):
    return f"results/runs/{experiment}/seed{seed}"


def final_checkpoints(*experiments):
    """final.pt of every configured seed of `experiments` (all configured runs by default)."""
    return [f"{run_dir(e, s)}/final.pt" for e in experiments or config["runs"] for s in seeds(e)]


def evaluations(*experiments):
    return [f"results/metrics/{e}/seed{s}.json" for e in experiments or config["runs"] for s in seeds(e)]


def benchmark_files():
    """The `benchmark:` files of every job before the report: its table of wall time per step."""
    datasets = sorted({config["data"][run["data"]] for run in config["runs"].values()})
    runs = [f"{e}/seed{s}" for e in config["runs"] for s in seeds(e)]
    return ([f"results/benchmarks/prepare/{d}.tsv" for d in datasets]
            + [f"results/benchmarks/{step}/{run}.tsv" for step in ("train", "evaluate") for run in runs]
            + [f"results/benchmarks/figures/{name}.tsv" for name in ("figure1", "figure2", "l_i_curves")])


@functools.cache
def experiment_settings(name):
    """The experiment's resolved settings; a wrong name or key fails here, before any job."""
    overrides = {"iterations": config["iterations"]} if config["iterations"] else None
    return load_experiment(name, config["experiments_file"], overrides)


def check_config():
    """What the schema cannot say: names that must refer to each other."""
    for experiment, run in config["runs"].items():
        if run["data"] not in config["data"]:
            raise ValueError(f"config runs.{experiment}.data: no data slot {run['data']!r} "
                             f"(config data has {sorted(config['data'])})")
        experiment_settings(experiment)
    for figure, roles in config["figures"].items():
        for role, experiment in roles.items():
            if experiment not in config["runs"]:
                raise ValueError(f"config figures.{figure}.{role}: {experiment!r} is not among the runs "
                                 f"(config runs has {sorted(config['runs'])})")


def training_gpus(wildcards):
    """A training job asks for one GPU unless the config pins it to the CPU."""
    return 0 if config["train"]["device"] == "cpu" else 1


def mnist_offline_hint():
    """After a failure: if MNIST could not be prepared, say which files to place where."""
    missing = [slot for slot, dataset in config["data"].items()
               if dataset == "mnist" and not Path(dataset_file(slot)).exists()]
    log = Path("results/logs/prepare/mnist.log")
    if missing and log.exists():
        names = ", ".join(remote.name for remote in MNIST_FILES.values())
        print(f"MNIST could not be prepared (see {log}). Offline, place {names} in data/raw/mnist/ "
              "(they are checked) and run again; or run the demo on synthetic digits: "
              "snakemake --cores all --profile workflow/profiles/demo", file=sys.stderr)
