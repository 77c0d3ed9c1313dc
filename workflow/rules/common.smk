# Helpers shared by the rules: paths, the experiments' resolved settings, code versions.

import functools
import hashlib
import json
import shlex
import sys
from pathlib import Path

import infogan
from infogan.figures.spec import CODE_FIGURES, load_figure_specs
from infogan.architectures import sweeps_continuous_codes
from infogan.config import load_experiment, run_overrides
from infogan.data import REGISTRY
from infogan.data.real.mnist import FILES as MNIST_FILES

# Jobs call the `infogan` command of the environment Snakemake itself runs in, also when
# that environment is not activated (e.g. `.venv/bin/snakemake ...`). The prefix replaces
# Snakemake's default one, so it repeats its `set -euo pipefail`.
shell.prefix(
    f"set -euo pipefail; export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH; "
)

# The source files whose content decides each step's result. Their hash is a param of the
# step's rules, so Snakemake's params trigger re-runs the jobs of a step whose code changed
# (and, as always, every job after them), judged by content: a comment re-runs the step
# too; `snakemake --touch` then accepts the outputs as they are.
PACKAGE = Path(
    infogan.__file__
).parent  # the code the jobs run (src/infogan when installed editable)
CODE_FILES = {
    "prepare": ["data/*.py", "data/real/*.py", "data/synthetic/*.py"],
    "train": [
        "train.py",
        "nets.py",
        "architectures.py",
        "latent.py",
        "config.py",
        "checkpoint.py",
        "data/hdf5.py",
    ],
    "evaluate": ["evaluate.py", "disentanglement.py", "architectures.py", "sweep.py"],
    "probes": ["probes.py", "disentanglement.py"],
    "figures": ["figures/*.py", "probes.py", "disentanglement.py", "sweep.py"],
    "report": ["report/*.py", "report/*.j2", "report/*.yaml", "planning.py"],
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
    return [
        f"{run_dir(e, s)}/final.pt"
        for e in experiments or config["runs"]
        for s in seeds(e)
    ]


def evaluations(*experiments):
    return [
        f"results/metrics/{e}/seed{s}.json"
        for e in experiments or config["runs"]
        for s in seeds(e)
    ]


def figure_names():
    """figure1, figure2 and the code figures (3-6) of the figures file."""
    return ["figure1", "figure2", *(f"figure{n}" for n in sorted(code_figures()))]


def mnist_experiments():
    """The experiments Figures 1 and 2 compare (config `figures`): the paper's MNIST part."""
    return sorted(
        {
            experiment
            for roles in config["figures"].values()
            for experiment in roles.values()
        }
    )


def benchmark_files(experiments=(), figures=None):
    """The `benchmark:` files of the jobs a report covers (by default every job before the
    main report): its table of wall time per step."""
    experiments = list(experiments or config["runs"])
    figures = figure_names() if figures is None else figures
    datasets = sorted({config["data"][config["runs"][e]["data"]] for e in experiments})
    runs = [f"{e}/seed{s}" for e in experiments for s in seeds(e)]
    return (
        [f"results/benchmarks/prepare/{d}.tsv" for d in datasets]
        + [
            f"results/benchmarks/{step}/{run}.tsv"
            for step in ("train", "evaluate")
            for run in runs
        ]
        + [
            f"results/benchmarks/figures/{name}.tsv"
            for name in (*figures, "l_i_curves")
        ]
    )


def report_inputs(experiments=(), figures=None, plan=None):
    """What a report reads: the figures' sidecars and images, and the runs, evaluations and job
    benchmarks of `experiments` (by default every figure and every configured run), and the
    planning table `plan` when given."""
    figures = figure_names() if figures is None else figures
    inputs = {
        "figures": [f"paper_figures/{name}.json" for name in figures],
        "images": [f"paper_figures/{name}.png" for name in figures],
        "explorers": [
            f"paper_figures/{name}.explorer.json"
            for name in figures
            if name != "figure1"
        ],
        "evaluations": evaluations(*experiments),
        "runs": final_checkpoints(*experiments),
        "benchmarks": benchmark_files(experiments, figures),
    }
    if plan:
        inputs["benchmarks"].append("results/benchmarks/report/plan.tsv")
        inputs["plan"] = plan
    return inputs


def experiment_overrides(name):
    """The experiment keys the config changes for `name`'s runs (see infogan.config.run_overrides)."""
    return run_overrides(config["runs"][name], config["iterations"])


def set_arguments(name):
    """`--set KEY=VALUE` options for `infogan train` of the run's `settings` (dotted keys for nested ones)."""

    def flat(mapping, prefix=""):
        for key, value in mapping.items():
            if isinstance(value, dict):
                yield from flat(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}={json.dumps(value)}"

    return " ".join(
        f"--set {shlex.quote(pair)}"
        for pair in flat(config["runs"][name].get("settings") or {})
    )


@functools.cache
def experiment_settings(name):
    """The experiment's resolved settings; a wrong name or key fails here, before any job."""
    return load_experiment(name, config["experiments_file"], experiment_overrides(name))


def draws_argument(experiment):
    """`--draws N` (config `evaluate.draws`) for the runs whose evaluation sweeps continuous
    codes; nothing for the others, which a change to it then leaves alone."""
    if not sweeps_continuous_codes(experiment_settings(experiment)):
        return ""
    return f"--draws {config['evaluate']['draws']}"


@functools.cache
def figure_specs():
    """Figures 2-6 as described in config `figures_file`, read once per Snakemake run (the
    rules ask for them job by job)."""
    return load_figure_specs(config["figures_file"])


def code_figures():
    """Figures 3-6 as described in config `figures_file`: {number: FigureSpec}."""
    return {
        number: spec
        for number, spec in figure_specs().items()
        if number in CODE_FIGURES
    }


def figure_probe(number):
    """The factor probe of the data Figure `number` (2-6) shows: its `dataset` slot in the figures file."""
    slot = figure_specs()[int(number)].dataset
    return f"results/probes/{config['data'][slot]}.pt"


def probe_rows_argument():
    """`--probe-rows N` where config `probes.rows` sets it; else the figures file's probe_rows."""
    rows = config["probes"].get("rows")
    return f"--probe-rows {rows}" if rows else ""


def code_figure_experiments(number):
    return code_figures()[int(number)].experiments


def synthetic_size_arguments(dataset):
    """`--train-images/--test-images` for a synthetic stand-in when config `synthetic_images` sets
    them, for the splits the stand-in has (some have no test split)."""
    sizes = config["synthetic_images"]
    return " ".join(
        f"--{split}-images {sizes[split]}"
        for split in REGISTRY[dataset].sized_splits
        if sizes[split]
    )


def check_config():
    """What the schema cannot say: names that must refer to each other."""
    for experiment, run in config["runs"].items():
        if run["data"] not in config["data"]:
            raise ValueError(
                f"config runs.{experiment}.data: no data slot {run['data']!r} "
                f"(config data has {sorted(config['data'])})"
            )
        experiment_settings(experiment)
    for figure, roles in config["figures"].items():
        for role, experiment in roles.items():
            if experiment not in config["runs"]:
                raise ValueError(
                    f"config figures.{figure}.{role}: {experiment!r} is not among the runs "
                    f"(config runs has {sorted(config['runs'])})"
                )
    figure2 = figure_specs()[2]
    passed = set(config["figures"]["figure2"].values())
    if not set(figure2.experiments) <= passed:
        raise ValueError(
            f"{config['figures_file']}: figure2 shows "
            f"{sorted(set(figure2.experiments) - passed)}, which config figures.figure2 "
            f"does not pass to it (it passes {sorted(passed)})"
        )
    for number, figure in code_figures().items():
        for experiment in figure.experiments:
            if experiment not in config["runs"]:
                raise ValueError(
                    f"{config['figures_file']}: figure{number} shows {experiment!r}, which is not "
                    f"among the runs (config runs has {sorted(config['runs'])})"
                )


def training_gpus(wildcards):
    """A training job asks for one GPU unless the config pins it to the CPU."""
    return 0 if config["train"]["device"] == "cpu" else 1


def offline_hint():
    """After a failure: for each real dataset that could not be prepared, what to place where
    (MNIST's four archives by name; for the others the last line of the job's log, where
    `infogan prepare` names the missing file and the folder), and the way to the demo.
    """
    failed = [
        dataset
        for dataset in sorted(set(config["data"].values()))
        if REGISTRY[dataset].real
        and not Path(f"data/processed/{dataset}.h5").exists()
        and Path(f"results/logs/prepare/{dataset}.log").exists()
    ]
    for dataset in failed:
        log = Path(f"results/logs/prepare/{dataset}.log")
        if dataset == "mnist":
            names = ", ".join(remote.name for remote in MNIST_FILES.values())
            print(
                f"MNIST could not be prepared (see {log}). Offline, place {names} in data/raw/mnist/ "
                "(they are checked) and run again.",
                file=sys.stderr,
            )
        else:
            lines = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if line.strip()
            ]
            print(
                f"{dataset} could not be prepared (see {log}): {lines[-1] if lines else 'no message'}",
                file=sys.stderr,
            )
    if failed:
        print(
            "Or run the demo on the synthetic stand-ins: snakemake --cores all --profile workflow/profiles/demo",
            file=sys.stderr,
        )
