"""The Snakemake pipeline and its DVC stages, run for real in a temporary git copy of the project.

One copy serves the whole module, and the tests build on each other in file order: a dry
run of the paper profile, the test profile (the demo's DAG on synthetic digits, 20
iterations) end to end, a second run that does nothing, a figure-code change that Snakemake
plans to answer with figures and report only, then `dvc repro` twice and after a parameter
change, and `dvc push` / `dvc pull` into a fresh clone that Snakemake does not retrain.
"""

import ast
import json
import os
import re
import time
from pathlib import Path

import pytest
from pipeline_helpers import BIN, REPO, copy_project, dvc, env_for, git, run, snakemake

from infogan.report.panels import probe_verdicts
from infogan.report.render import load_paper_claims

TEST_PROFILE = "workflow/profiles/test"

MISSING = [tool for tool in ("snakemake", "dvc") if not (BIN / tool).exists()]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(MISSING), reason=f"{MISSING} not installed: pip install -e '.[pipeline]'")]


def jobs(output):
    """{rule: [{'wildcards': ..., 'resources': ...}, ...]} from Snakemake's dry-run or run output."""
    found, current = {}, None
    for line in output.splitlines():
        header = re.fullmatch(r"(?:local)?rule (\w+):", line.strip())
        if header and not line.startswith(" "):
            current = {}
            found.setdefault(header.group(1), []).append(current)
        elif current is not None and line.startswith("    ") and ": " in line:
            key, _, value = line.strip().partition(": ")
            current[key] = value
        else:
            current = None
    return found


FIGURE_RULES = {"figure1", "figure2", "code_figure", "l_i_curves"}
PAPER_RUNS = {"mnist_infogan": 5, "mnist_gan": 1, "svhn_infogan": 5, "celeba_infogan": 5, "faces_azimuth": 5,
              "faces_elevation": 5, "faces_lighting": 5, "chairs_rotation": 5, "chairs_width": 5}
REAL_DATASETS = ("mnist", "svhn", "celeba", "chairs", "faces")


def ran(result):
    """Rules that a Snakemake run (or dry run) lists, without the target-only rules."""
    return set(jobs(result.stdout + result.stderr)) - {"all", "datasets", "runs", "evaluations", "figures"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A git repository holding this checkout's files (tracked and new, not ignored), committed."""
    return copy_project(tmp_path_factory.mktemp("pipeline") / "repo")


def test_paper_profile_dry_run_lists_one_gpu_training_job_per_experiment_and_seed(project):
    result = snakemake(project, "-n", "--cores", "all", "--resources", "gpu=1")
    found = jobs(result.stdout)
    trained = sorted(re.sub(r"\s", "", job["wildcards"]) for job in found["train"])
    assert trained == sorted(f"experiment={experiment},seed={seed}"
                             for experiment, n in PAPER_RUNS.items() for seed in range(1, n + 1))
    assert all("gpu=1" in job["resources"] for job in found["train"])
    # The paper profile trains on the real datasets only; it never makes a synthetic stand-in.
    assert sorted(job["output"] for job in found["prepare"]) == sorted(f"data/processed/{d}.h5" for d in REAL_DATASETS)
    assert "synthetic" not in result.stdout
    assert len(found["code_figure"]) == 4


def test_a_wrong_config_key_fails_with_its_name(project):
    result = snakemake(project, "-n", "--config", "train={iteratoins: 5}", check=False)
    assert result.returncode != 0
    assert "iteratoins" in result.stdout + result.stderr


def test_offline_paper_profile_stops_saying_which_files_to_place(project, closed_port_url):
    env = {**env_for(project), **{f"INFOGAN_{d.upper()}_MIRRORS": closed_port_url for d in REAL_DATASETS}}
    result = snakemake(project, "--cores", "1", "data/processed/mnist.h5", check=False, env=env)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "data/raw/mnist/", "workflow/profiles/demo"):
        assert name in message
    assert not (project / "data" / "processed" / "mnist.h5").exists()
    assert not (project / "data" / "processed" / "synthetic_digits.h5").exists()
    # Every other dataset: the job's own last line, which names the file to place and where.
    result = snakemake(project, "--cores", "1", "data/processed/svhn.h5", check=False, env=env)
    message = result.stdout + result.stderr
    assert result.returncode != 0 and "svhn could not be prepared" in message and "data/raw/svhn" in message
    assert not (project / "data" / "processed" / "svhn.h5").exists()
    assert not list((project / "data" / "processed").glob("synthetic_*.h5"))


@pytest.fixture(scope="module")
def demo_run(project):
    """The test profile end to end: the demo's DAG on synthetic digits with 20 iterations."""
    started = time.monotonic()
    result = snakemake(project, "--profile", TEST_PROFILE)
    return result, time.monotonic() - started


def test_demo_profile_makes_figures_and_report_all_marked_synthetic(project, demo_run):
    result, seconds = demo_run
    assert ran(result) == {"prepare", "train", "evaluate", "probe", "plan", "report"} | FIGURE_RULES
    for name in [f"paper_figures/figure{n}.{ext}" for n in range(1, 7) for ext in ("png", "pdf")] + [
            "results/report/index.html", "results/plots/l_i_curves.json"]:
        assert (project / name).is_file(), name
    for figure in range(1, 7):
        sidecar = json.loads((project / f"paper_figures/figure{figure}.json").read_text())
        assert sidecar["data"]["synthetic"] is True and sidecar["data"]["warning"].startswith("SYNTHETIC DATA")
        if figure >= 2:  # every panel scored on its generated images by the data's factor probe
            assert sidecar["probe"]["path"].startswith("results/probes/synthetic_")
            assert set(sidecar["probe_scores"]) == set(sidecar["panels"])
            # the test profile's `probes.rows` reaches the figure jobs (--probe-rows)
            assert {scores["rows"] for scores in sidecar["probe_scores"].values()} == {10}, figure
            for key in sidecar["panels"]:
                assert {"generated_score", "probe_accuracy"} <= set(sidecar["selected"][key]), (figure, key)
            # 20 iterations draw noise: no panel may be judged to track its factor
            thresholds = load_paper_claims()["panel_verdicts"]
            for key, judged in probe_verdicts(sidecar, thresholds).items():
                assert not judged["verdict"].startswith("tracks it"), (figure, key, judged)
            explorer = json.loads((project / f"paper_figures/{sidecar['files']['explorer']}").read_text())
            assert set(explorer["panels"]) == set(sidecar["panels"])
    # the MNIST claims have rows for the MNIST experiments only
    summary = json.loads((project / "results/summary.json").read_text())
    claimed = {key.split(".")[1] for key in summary if key.startswith("claims.")}
    assert claimed and claimed <= {"mnist_infogan", "mnist_infogan_released", "mnist_gan"}, claimed
    report = (project / "results/report/index.html").read_text()
    assert all(f'id="figure{n}"' in report for n in range(1, 7))
    for run_dir in ("mnist_infogan/seed1", "mnist_gan/seed1"):
        info = json.loads((project / "results/runs" / run_dir / "run.json").read_text())
        assert info["data"]["source"] == "synthetic" and info["iterations"] == 20
        assert json.loads((project / f"results/metrics/{run_dir}.json").read_text())["data"]["source"] == "synthetic"
        assert (project / f"results/logs/train/{run_dir}.log").is_file()
        assert (project / f"results/benchmarks/train/{run_dir}.tsv").is_file()
    assert "synthetic" in (project / "results/report/index.html").read_text().lower()
    curves = json.loads((project / "results/plots/l_i_curves.json").read_text())
    assert [row["iteration"] for row in curves] == [10, 20] and {"infogan_mean", "gan_mean"} <= set(curves[0])
    print(f"test profile end to end: {seconds:.0f} s")


def test_second_run_does_nothing(project, demo_run):
    result = snakemake(project, "--profile", TEST_PROFILE)
    assert "Nothing to be done" in result.stdout + result.stderr
    assert ran(result) == set()


def test_changed_figure_code_plans_only_figures_and_report(project, demo_run):
    """Snakemake's plan after a change to the figure code: figures and report, no training.

    Planned, not run: a figure and the report are remade for real from trained runs, without
    a training job, in the `dvc pull` test below. The change is then undone, and the plan is
    empty again (the code is a parameter of each job, compared by content, not by time)."""
    figures = project / "src/infogan/figures/mnist.py"
    original = figures.read_text()
    figures.write_text(original + "\n# A change to the figure code.\n")
    planned = snakemake(project, "-n", "--profile", TEST_PROFILE)
    assert ran(planned) == FIGURE_RULES | {"report"}
    figures.write_text(original)
    assert ran(snakemake(project, "-n", "--profile", TEST_PROFILE)) == set()


def test_dvc_repro_round_trip(project, demo_run):
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("workflow/profiles/paper", TEST_PROFILE))
    first = dvc(project, "repro")
    # Snakemake made everything already: each stage's target has nothing to do.
    assert ran(first) == set(), first.stdout[-3000:]
    assert "Data and pipelines are up to date" in dvc(project, "repro").stdout
    assert "Data and pipelines are up to date" in dvc(project, "status").stdout

    # A parameter of the evaluation: evaluation, figures and report re-run; data and training do not.
    config = project / "config/pipeline_test.yaml"
    config.write_text(re.sub(r"(?m)^  draws: \d+", "  draws: 10", config.read_text()))
    changed = dvc(project, "repro")
    output = changed.stdout + changed.stderr
    assert "Stage 'data' didn't change, skipping" in output
    assert "Stage 'train' didn't change, skipping" in output
    assert "Running stage 'evaluate'" in output
    # Only the MNIST evaluations use `draws` (they sweep the digits' slant and width) and are
    # passed it; the other evaluations, Figures 3-6 and the probes are left alone.
    assert ran(changed) == {"evaluate", "figure2", "report"}
    evaluated = sorted(re.sub(r"\s", "", job["wildcards"]) for job in jobs(output)["evaluate"])
    assert evaluated == ["experiment=mnist_gan,seed=1", "experiment=mnist_infogan,seed=1"], evaluated
    assert "Data and pipelines are up to date" in dvc(project, "repro").stdout
    # DVC's metrics are the summary's numbers alone, flat, in git (cache: false).
    metrics = json.loads(dvc(project, "metrics", "show", "--json").stdout)
    [(_, shown)] = metrics.items()
    assert list(shown["data"]) == ["results/summary.json"]
    summary = shown["data"]["results/summary.json"]["data"]
    assert summary == json.loads((project / "results/summary.json").read_text())
    assert "mnist_infogan.accuracy" in summary and "figure2.a" in summary  # a panel's generated-image score
    assert len(summary) < 60  # `dvc metrics show`: one readable table
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "dvc repro")


def test_dvc_pull_into_a_fresh_clone_remakes_a_figure_and_the_report_without_training(project, demo_run, tmp_path):
    remote = tmp_path / "remote"
    dvc(project, "remote", "add", "--local", "-d", "test", remote)
    dvc(project, "push")
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", project, clone)
    dvc(clone, "remote", "add", "--local", "-d", "test", remote)
    dvc(clone, "pull")
    checkpoints = sorted((clone / "results/runs").glob("*/seed*/final.pt"))
    assert sorted(p.parent.parent.name for p in checkpoints) == sorted(PAPER_RUNS)
    # The mtime trap, made certain: the data file now looks newer than every checkpoint.
    now = time.time()
    for checkpoint in checkpoints:
        os.utime(checkpoint, (now - 3600, now - 3600))
    for data_file in (clone / "data/processed").glob("*.h5"):
        os.utime(data_file, (now - 60, now - 60))
    assert "train" in ran(snakemake(clone, "-n", "--profile", TEST_PROFILE))
    # The documented step after a pull: put the modification times in the DAG's order.
    snakemake(clone, "--touch", "--profile", TEST_PROFILE)
    planned = snakemake(clone, "-n", "--profile", TEST_PROFILE)
    assert ran(planned) == set(), planned.stdout[-3000:]
    assert "Data and pipelines are up to date" in dvc(clone, "status").stdout
    assert [p.stat().st_size for p in checkpoints] == [
        (project / p.relative_to(clone)).stat().st_size for p in checkpoints]

    # The reviewer's path: a figure and the report made anew from the pulled checkpoints,
    # evaluations and probe, on this CPU-only machine, without one training or evaluation
    # job. Figure 2 reads all three; the demo run above drew every figure already.
    before = {p: p.stat().st_mtime_ns for p in checkpoints}
    for made in (*(clone / "paper_figures").glob("figure2*"), clone / "results/report/index.html"):
        made.unlink()
    remade = snakemake(clone, "--profile", TEST_PROFILE)
    assert ran(remade) == {"figure2", "report"}, remade.stdout[-3000:]
    assert (clone / "paper_figures/figure2.png").is_file() and (clone / "results/report/index.html").is_file()
    assert {p: p.stat().st_mtime_ns for p in checkpoints} == before


def test_dvc_stages_depend_on_the_code_each_step_runs():
    """dvc.yaml's deps name the source files whose hash is a param of each step's rules."""
    import yaml

    tree = ast.parse((REPO / "workflow/rules/common.smk").read_text())
    code_files = next(ast.literal_eval(node.value) for node in tree.body
                      if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CODE_FILES")
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    step_of = {"data": "prepare", "train": "train", "evaluate": "evaluate", "probes": "probes", "figures": "figures",
               "report": "report"}
    for stage, step in step_of.items():
        deps = set(stages[stage]["deps"])
        for pattern in code_files[step]:
            path = Path("src/infogan") / pattern
            expected = path.parent if "*" in pattern else path
            # A folder dep covers the files below it (src/infogan/data covers data/real/*.py).
            covering = [dep for dep in deps if expected == Path(dep) or Path(dep) in expected.parents]
            assert covering, (stage, pattern)
        assert f"workflow/rules/{stage}.smk" in deps
