"""Figures 1 and 2: column reordering, grids, selection, the data-source stamp, files and sidecars,
and their declarations in configs/figures.yaml."""

import base64
import io
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import changed_yaml
from PIL import Image

import infogan.evaluate as evaluation
from infogan import checkpoint, figures, rundir
from infogan.cli import main
from infogan.config import load_experiment
from infogan.data.synthetic import synthetic_digits
from infogan.errors import ConfigError, InfoganError
from infogan.figures import curves, frame, grids, mnist
from infogan.latent import LatentSample
from infogan.sweep import sweep_categories, sweep_code
from infogan.train import train


SRC = Path(__file__).resolve().parents[1] / "src" / "infogan"
EXPERIMENTS = SRC / "configs" / "experiments.yaml"
FIGURES = SRC / "configs" / "figures.yaml"
SYNTHETIC_RED = np.array([0xB0, 0x00, 0x20])
INFOGAN_SEEDS = (1, 2)


# --- a tiny pipeline: synthetic data, two InfoGAN seeds and one GAN, evaluated -----------------


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Run directories and evaluation JSONs of 10-iteration runs (batch 32) on 512 synthetic digits."""
    root = tmp_path_factory.mktemp("figures")
    data = synthetic_digits.prepare(root / "digits.h5", n_train=512, n_test=256)
    runs, evaluations = {}, {}
    jobs = [("mnist_infogan", seed) for seed in INFOGAN_SEEDS] + [("mnist_gan", 1)]
    for experiment, seed in jobs:
        config = load_experiment(experiment, EXPERIMENTS, {"iterations": 10, "batch_size": 32})
        run_dir = root / "runs" / experiment / f"seed{seed}"
        train(config, data, run_dir, seed=seed, log_every=2, device="cpu", show_progress=False)
        out = root / "metrics" / f"{experiment}_seed{seed}.json"
        evaluation.evaluate(run_dir, data, out, device="cpu", samples=500, draws=20)  # fewer than the defaults
        runs[experiment, seed], evaluations[experiment, seed] = run_dir, out
    return {"root": root, "data": data, "runs": runs, "evaluations": evaluations}


def infogan_inputs(pipeline):
    return ([pipeline["runs"]["mnist_infogan", s] for s in INFOGAN_SEEDS],
            [pipeline["evaluations"]["mnist_infogan", s] for s in INFOGAN_SEEDS])


@pytest.fixture(scope="module")
def drawn(pipeline):
    """Both figures drawn once into one output directory; returns (out_dir, sidecar 1, sidecar 2)."""
    out = pipeline["root"] / "paper_figures"
    infogan_runs, infogan_evals = infogan_inputs(pipeline)
    gan_runs, gan_evals = [pipeline["runs"]["mnist_gan", 1]], [pipeline["evaluations"]["mnist_gan", 1]]
    first = figures.figure1(infogan_runs, gan_runs, out)
    second = figures.figure2(infogan_runs, infogan_evals, gan_runs, gan_evals, out)
    return out, first, second


def top_band_has_red(png_path, band_px=60):
    """Whether the warning bar's red appears in the top band of a PNG."""
    pixels = np.asarray(Image.open(png_path).convert("RGB"))[:band_px].astype(int)
    return bool((np.abs(pixels - SYNTHETIC_RED).sum(axis=2) < 30).sum() > 100)


# --- pure pieces ------------------------------------------------------------------------------


def test_columns_follow_a_known_permutation():
    permutation = np.random.default_rng(3).permutation(10)  # category c was matched to digit permutation[c]
    matching = {str(c): int(permutation[c]) for c in range(10)}  # as JSON stores it
    order = grids.categories_in_label_order(matching, 10)
    assert [int(permutation[c]) for c in order] == list(range(10))
    assert order == list(np.argsort(permutation))


def test_unmatched_categories_go_last_in_index_order():
    assert grids.categories_in_label_order({3: 0, 0: 1}, 5) == [3, 0, 1, 2, 4]
    assert grids.categories_in_label_order(None, 3) == [0, 1, 2]


def test_image_grid_places_each_image_in_its_cell():
    columns = torch.zeros(3, 2, 1, 4, 5)  # 3 columns x 2 rows of 4 x 5 images
    for col in range(3):
        for row in range(2):
            columns[col, row] = (col * 2 + row) / 10
    grid = grids.image_grid(columns, pad=1, pad_value=0.5)
    assert grid.shape == (2 * 4 + 1, 3 * 5 + 2)
    assert grid[5, 6] == pytest.approx(0.3)  # row 1, column 1
    assert grid[4, 0] == 0.5 and grid[0, 5] == 0.5  # the separators


def test_image_grid_keeps_colour():
    assert grids.image_grid(torch.rand(10, 5, 3, 8, 8)).shape == (5 * 9 - 1, 10 * 9 - 1, 3)


@pytest.mark.parametrize("channels, pad", [(1, 1), (3, 1), (1, 0), (3, 2)])
def test_image_grid_is_torchvisions_grid_without_its_border(channels, pad):
    from torchvision.utils import make_grid

    columns = torch.rand(4, 3, channels, 6, 7)  # 4 columns x 3 rows
    row_major = columns.transpose(0, 1).reshape(12, channels, 6, 7)
    theirs = make_grid(row_major, nrow=4, padding=pad, pad_value=0.25)
    theirs = theirs[:, pad:theirs.shape[1] - pad, pad:theirs.shape[2] - pad].permute(1, 2, 0).numpy()
    ours = grids.image_grid(columns, pad=pad, pad_value=0.25)
    np.testing.assert_array_equal(ours, theirs[..., 0] if channels == 1 else theirs)


def test_metric_band_spans_seeds_at_common_iterations():
    def fake(seed, values):
        return rundir.Run(Path(f"seed{seed}"), {"seed": seed}, None,
                           [{"iteration": 10 * (i + 1), "mi_categorical": v} for i, v in enumerate(values)])

    runs = [fake(1, [1.0, 2.0, 3.0]), fake(2, [3.0, 4.0])]
    iterations, mean, low, high = curves.metric_band(runs, "mi_categorical", last_iteration=1000)
    assert iterations.tolist() == [10, 20]
    assert mean.tolist() == [2.0, 3.0] and low.tolist() == [1.0, 2.0] and high.tolist() == [3.0, 4.0]
    assert curves.metric_band(runs, "mi_categorical", last_iteration=10)[0].tolist() == [10]


def test_best_run_is_the_highest_accuracy_then_lowest_seed():
    def pair(seed, accuracy):
        return rundir.Run(Path(f"s{seed}"), {"seed": seed}, None, []), {"categorical_accuracy": accuracy}

    assert select_seed([pair(1, 0.5), pair(2, 0.9), pair(3, 0.7)]) == 2
    assert select_seed([pair(4, 0.9), pair(2, 0.9), pair(3, 0.1)]) == 2
    assert select_seed([pair(1, None), pair(2, 0.1)]) == 2


def select_seed(pairs):
    return mnist.select_best(pairs)[0].seed


def test_data_source_labels():
    real = frame.describe_sources([("mnist", "real")])
    assert real == {"sources": ["real"], "datasets": ["mnist"], "label": "Data: real MNIST", "synthetic": False,
                    "warning": None}
    mixed = frame.describe_sources([("mnist", "real"), ("synthetic_digits", "synthetic"), ("mnist", "real")])
    assert mixed["synthetic"] and mixed["sources"] == ["real", "synthetic"]
    assert "synthetic" in mixed["label"] and "real MNIST" in mixed["label"]
    assert mixed["warning"] == "SYNTHETIC DATA: digits rendered from a font, not MNIST"
    chairs = frame.describe_sources([("synthetic_chairs", "synthetic")])
    assert chairs["label"] == "Data: synthetic procedural 3D chairs (stand-in for 3D Chairs)"
    assert chairs["warning"] == "SYNTHETIC DATA: procedural 3D chairs, not 3D Chairs"


# --- the categorical sweep and the reordered panel -----------------------------------------------


def test_categorical_sweep_is_seeded_and_varies_only_the_code(pipeline):
    config, generator, _, _ = checkpoint.load_trained(pipeline["runs"]["mnist_infogan", 1])
    spec, cpu = config.latent, torch.device("cpu")
    images = sweep_categories(generator, spec, 0, draws=3, seed=0, device=cpu)
    assert images.shape == (10, 3, 1, 28, 28)
    assert torch.equal(images, sweep_categories(generator, spec, 0, 3, 0, cpu))
    assert not torch.equal(images[0], images[1])  # the code changes the images
    # row r is draw r of the seed (as in every sweep of the seed), with only the category replaced
    base = spec.sample(3, torch.Generator(cpu).manual_seed(0), cpu)
    for value in (0, 7):
        sample = LatentSample(base.noise, torch.full_like(base.categorical, value), base.continuous)
        with torch.no_grad():
            assert torch.allclose(images[value], generator(spec.generator_input(sample)))


def test_panel_a_columns_are_the_categories_in_digit_order(pipeline):
    config, generator, _, _ = checkpoint.load_trained(pipeline["runs"]["mnist_infogan", 1])
    permutation = np.random.default_rng(7).permutation(10)
    fake_evaluation = {"categorical_matching": {str(c): int(permutation[c]) for c in range(10)}}
    cpu = torch.device("cpu")
    grid, labels = mnist.categorical_panel(config, generator, fake_evaluation, 5, 0, cpu)
    assert labels == [str(d) for d in range(10)]
    assert grid.shape == (5 * 29 - 1, 10 * 29 - 1)  # 5 rows x 10 columns of 28 x 28, 1 px apart
    sweep = grids.to_unit_range(sweep_categories(generator, config.latent, 0, 5, 0, cpu), config.output_range)
    for digit in range(10):
        category = int(np.flatnonzero(permutation == digit)[0])
        cell = grid[0:28, digit * 29:digit * 29 + 28]
        assert np.allclose(cell, sweep[category, 0, 0].numpy())


def decoded(data_uri):
    """An explorer frame's PNG data URI as an array in [0, 1]."""
    png = base64.b64decode(data_uri.removeprefix("data:image/png;base64,"))
    return np.asarray(Image.open(io.BytesIO(png))).astype(np.float32) / 255.0


def test_explorer_frames_are_the_grids_draws_at_each_slider_value(drawn, pipeline):
    """Figure 2's slider frames: (a) in the grid's column order, (c) over the panel's range in the
    declared steps; each frame is the grid's seeded draws side by side at that code value."""
    out, _, sidecar = drawn
    assert sidecar["files"]["explorer"] == "figure2.explorer.json"
    explorer = json.loads((out / "figure2.explorer.json").read_text())
    best = pipeline["runs"]["mnist_infogan", sidecar["selected"]["infogan"]["seed"]]
    config, generator, _, _ = checkpoint.load_trained(best)
    cpu, draws, steps = torch.device("cpu"), explorer["draws"], figures.load_figures().explorer_steps
    evaluation = json.loads(Path(sidecar["selected"]["infogan"]["evaluation"]).read_text())
    order, _, matching = mnist.matched_columns(config, evaluation)
    categories = grids.to_unit_range(sweep_categories(generator, config.latent, 0, draws, 0, cpu), config.output_range)
    panel_a = explorer["panels"]["a"]
    assert [frame["label"] for frame in panel_a["frames"]] == [
        f"category {c}: digit {matching[c]}" if c in matching else f"category {c}: no digit matched" for c in order]
    for position, category in enumerate(order):
        strip = decoded(panel_a["frames"][position]["image"])
        assert strip.shape == (28, draws * 29 - 1)  # grey images stay grey
        for row in range(draws):  # draw r of the grid is image r of the strip
            assert np.abs(strip[:, row * 29:row * 29 + 28] - categories[category, row, 0].numpy()).max() <= 0.5 / 255 + 1e-6
    panel_c = explorer["panels"]["c"]
    index = sidecar["roles"]["rotation"]
    assert panel_c["code"] == index and len(panel_c["frames"]) == steps
    assert [frame["label"] for frame in panel_c["frames"]] == [f"{v:+.2f}" for v in np.linspace(-2, 2, steps)]
    swept = grids.to_unit_range(sweep_code(generator, config.latent, "continuous", index, [-2.0, 2.0], draws, 0, cpu),
                                config.output_range)
    for position, column in ((0, 0), (steps - 1, 1)):
        strip = decoded(panel_c["frames"][position]["image"])
        assert np.abs(strip[:, :28] - swept[column, 0, 0].numpy()).max() <= 0.5 / 255 + 1e-6


# --- the figures as files -----------------------------------------------------------------------


def test_figure_files_and_sizes(drawn):
    out, _, _ = drawn
    for name, size in (("figure1", (1200, 840)), ("figure2", (2000, 1320))):  # figsize x 200 dpi
        with Image.open(out / f"{name}.png") as image:
            image.load()
            assert image.size == size
        assert (out / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert not list(out.glob(".*.part"))  # no temporary files left behind


def test_figure1_sidecar_names_inputs_and_data(drawn, pipeline):
    out, returned, _ = drawn
    sidecar = json.loads((out / "figure1.json").read_text())
    assert sidecar == returned
    assert sidecar["files"] == {"png": "figure1.png", "pdf": "figure1.pdf"}
    assert sidecar["data"]["sources"] == ["synthetic"] and sidecar["data"]["synthetic"]
    assert "synthetic" in sidecar["data"]["label"] and "synthetic" in sidecar["caption"]
    assert [e["seed"] for e in sidecar["inputs"]["infogan"]] == list(INFOGAN_SEEDS)
    assert sidecar["inputs"]["gan"][0]["run_dir"] == str(pipeline["runs"]["mnist_gan", 1])
    assert sidecar["spread"] == "min-max over seeds"
    assert sidecar["categorical_entropy"] == pytest.approx(math.log(10))


def test_figure2_sidecar_names_the_selection(drawn, pipeline):
    out, _, sidecar = drawn
    accuracies = {s: json.loads(pipeline["evaluations"]["mnist_infogan", s].read_text())["categorical_accuracy"]
                  for s in INFOGAN_SEEDS}
    best = max(INFOGAN_SEEDS, key=lambda s: (accuracies[s], -s))
    assert sidecar["selection_rule"] == mnist.SELECTION_RULE
    assert "highest categorical_accuracy" in sidecar["selection_rule"]
    assert sidecar["selected"]["infogan"]["seed"] == best
    assert sidecar["selected"]["infogan"]["evaluation"] == str(pipeline["evaluations"]["mnist_infogan", best])
    assert f"InfoGAN seed {best}" in sidecar["caption"]
    assert sidecar["data"]["synthetic"] and sidecar["data"]["datasets"] == ["synthetic_digits"]
    assert set(sidecar["panels"]) == {"a", "b", "c", "d"}
    assert "means nothing" in sidecar["panels"]["b"]
    assert sidecar["draws"] == 5 and len(sidecar["sweep_values"]) == 10
    assert sidecar["sweep_values"][0] == -2.0 and sidecar["sweep_values"][-1] == 2.0


def test_synthetic_figures_carry_the_red_warning(drawn):
    out, _, _ = drawn
    assert top_band_has_red(out / "figure1.png") and top_band_has_red(out / "figure2.png")


def test_real_data_figure_has_no_warning(pipeline, tmp_path):
    """Figure 1 of copies of the runs whose run.json says real: no warning bar, a 'real' label."""
    copies = {}
    for key in (("mnist_infogan", 1), ("mnist_gan", 1)):
        copy = shutil.copytree(pipeline["runs"][key], tmp_path / "_".join(map(str, key)),
                               ignore=shutil.ignore_patterns("*.pt"))
        info = json.loads((copy / "run.json").read_text())
        info["data"].update(source="real", dataset="mnist")
        (copy / "run.json").write_text(json.dumps(info))
        copies[key] = copy
    sidecar = figures.figure1([copies["mnist_infogan", 1]], [copies["mnist_gan", 1]], tmp_path / "out")
    assert sidecar["data"]["label"] == "Data: real MNIST" and not sidecar["data"]["synthetic"]
    assert not top_band_has_red(tmp_path / "out" / "figure1.png")
    assert sidecar["spread"].startswith("one seed")


# --- errors and the command line --------------------------------------------------------------------


def test_figure2_needs_an_evaluation_per_run(pipeline, tmp_path):
    infogan_runs, infogan_evals = infogan_inputs(pipeline)
    with pytest.raises(InfoganError, match="no evaluation of mnist_infogan seed 2"):
        figures.figure2(infogan_runs, infogan_evals[:1], [pipeline["runs"]["mnist_gan", 1]],
                        [pipeline["evaluations"]["mnist_gan", 1]], tmp_path)
    assert not list(tmp_path.iterdir())


def test_cli_figure_commands(pipeline, tmp_path, capsys):
    infogan_runs, infogan_evals = infogan_inputs(pipeline)
    gan = pipeline["runs"]["mnist_gan", 1]
    as_files = [run / "final.pt" for run in infogan_runs]  # Snakemake passes files; their directory is the run
    assert main(["figure", "1", "--infogan-runs", *map(str, as_files), "--gan-runs", str(gan),
                 "--out-dir", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"figure1.png", "figure1.pdf", "figure1.json"}
    status = main(["figure", "2", "--infogan-runs", *map(str, infogan_runs), "--gan-runs", str(gan),
                   "--out-dir", str(tmp_path)])
    error = capsys.readouterr().err
    assert status == 1 and "figure 2 needs --infogan-evaluations and --gan-evaluations" in error
    assert main(["figure", "2", "--infogan-runs", *map(str, infogan_runs), "--gan-runs", str(gan),
                 "--infogan-evaluations", *map(str, reversed(infogan_evals)),
                 "--gan-evaluations", str(pipeline["evaluations"]["mnist_gan", 1]), "--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "figure2.png").is_file()


# --- what the figures file declares drives the figures -------------------------------------------


def figures_file(tmp_path, change):
    """A copy of the project's figures.yaml, changed by `change(raw)`."""
    return changed_yaml(FIGURES, tmp_path, change)


def figure2_inputs(pipeline):
    infogan_runs, infogan_evals = infogan_inputs(pipeline)
    return infogan_runs, infogan_evals, [pipeline["runs"]["mnist_gan", 1]], [pipeline["evaluations"]["mnist_gan", 1]]


def test_the_project_file_declares_figure2_as_the_paper_shows_it():
    spec = figures.load_figures(FIGURES)
    assert (spec.draws, spec.draw_seed, spec.figure1_last_iteration) == (5, 0, 1000)
    figure2 = spec.spec(2)
    assert figure2.choose == "best_categorical_accuracy" and figure2.experiments == ["mnist_gan", "mnist_infogan"]
    assert [(p.key, p.experiment, p.code, p.role, p.columns) for p in figure2.panels] == [
        ("a", "mnist_infogan", "categorical", None, "matched_label"),
        ("b", "mnist_gan", "categorical", None, "matched_label"),
        ("c", "mnist_infogan", "continuous", "rotation", None),
        ("d", "mnist_infogan", "continuous", "width", None)]
    assert {p.sweep for p in figure2.panels if p.code == "continuous"} == {(-2.0, 2.0)}


def test_figure2_draws_what_the_figures_file_declares(drawn, pipeline, tmp_path):
    def change(raw):
        raw["figure2"]["title"] = "Figure 2 (declared elsewhere)"
        raw["figure2"]["panels"]["c"]["sweep"] = [-1, 1]
        raw["draws"] = 3

    out, _, default = drawn
    custom = figures.figure2(*figure2_inputs(pipeline), tmp_path, figures_file=figures_file(tmp_path, change))
    assert custom["title"] == "Figure 2 (declared elsewhere)" and custom["draws"] == 3
    assert custom["sweep_values"][0] == -1.0 and custom["sweep_values"][-1] == 1.0
    assert custom["panel_runs"]["c"]["sweep"] == [-1.0, 1.0] and custom["panel_runs"]["d"]["sweep"] == [-2.0, 2.0]
    assert "swept from -1 to 1" in custom["panels"]["c"] and "swept from -2 to 2" in default["panels"]["c"]
    assert (tmp_path / "figure2.png").read_bytes() != (out / "figure2.png").read_bytes()


def test_figure1_reads_its_last_iteration_from_the_figures_file(pipeline, tmp_path):
    path = figures_file(tmp_path, lambda raw: raw["figure1"].update(last_iteration=4))
    sidecar = figures.figure1([pipeline["runs"]["mnist_infogan", 1]], [pipeline["runs"]["mnist_gan", 1]],
                              tmp_path, figures_file=path)
    assert sidecar["last_iteration"] == 4


@pytest.mark.parametrize(("change", "named"), [
    (lambda raw: raw["figure2"].update(colour="red"), r"unknown key 'figure2.colour'"),
    (lambda raw: raw["figure2"]["panels"]["c"].update(sweeep=[-2, 2]),
     r"unknown key 'figure2.panels.c.sweeep' \(did you mean 'sweep'\?\)"),
    (lambda raw: raw["figure2"]["panels"]["c"].update(default_code=1),  # a key of Figures 3-6 only
     r"unknown key 'figure2.panels.c.default_code'"),
    (lambda raw: raw["figure2"]["panels"]["a"].update(factors=["slant"]),  # a key of continuous panels only
     r"key 'figure2.panels.a.factors' must be absent: this kind of panel does not use it"),
    (lambda raw: raw["figure2"]["panels"]["d"].pop("role"), r"missing key 'figure2.panels.d.role'"),
    (lambda raw: raw["figure2"]["panels"]["a"].update(columns="by_value"),
     r"key 'figure2.panels.a.columns' is 'by_value'; choose one of \['matched_label'\]"),
    (lambda raw: raw["figure2"]["panels"]["a"].update(role="rotation"),  # a key of continuous panels only
     r"key 'figure2.panels.a.role' must be absent: this kind of panel does not use it, got 'rotation'"),
    (lambda raw: raw["figure2"].update(choose="best_factor_match"),
     r"key 'figure2.choose' must be best_categorical_accuracy \(the rule of Figure 2\), got 'best_factor_match'"),
    (lambda raw: raw["figure2"]["panels"]["c"].update(sweep=[2, -2]),
     r"figure2.panels.c.sweep: \[2, -2\] is not a range \[low, high\] with low < high"),
    (lambda raw: raw["figure1"].update(first_iteration=0), r"unknown key 'figure1.first_iteration'"),
    (lambda raw: raw.pop("draws"), r"missing key 'draws'"),
])
def test_a_wrong_figure2_declaration_is_refused_naming_file_and_key(pipeline, tmp_path, change, named):
    path = figures_file(tmp_path, change)
    with pytest.raises(ConfigError, match=f"{re.escape(str(path))}: {named}"):
        figures.figure2(*figure2_inputs(pipeline), tmp_path / "out", figures_file=path)
    assert not (tmp_path / "out").exists()


def test_figure2_needs_runs_of_each_experiment_it_declares(pipeline, tmp_path):
    path = figures_file(tmp_path, lambda raw: raw["figure2"]["panels"]["b"].update(experiment="mnist_infogan_released"))
    with pytest.raises(InfoganError, match="figure 2 needs runs of mnist_infogan_released"):
        figures.figure2(*figure2_inputs(pipeline), tmp_path / "out", figures_file=path)


def test_only_the_figures_the_report_and_the_command_line_import_the_figure_package():
    """Issue 14: one owner per fact; the figure package is a leaf that the rest of infogan does not lean on."""
    import ast

    importers = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name == "infogan.figures" or name.startswith("infogan.figures.") for name in names):
                importers.add(path.relative_to(SRC).parts[0])
    assert importers <= {"figures", "report", "cli.py"}, importers


def test_the_grid_figures_evaluation_and_probes_load_no_seaborn_pandas_or_scipy_stats():
    """Figures 2-6, `infogan evaluate` and `infogan probe` are short pipeline jobs, each its own
    process: seaborn (with the pandas and scipy.stats it loads) would add about 1.4 CPU-s to
    each, for a style and one statistic. Only Figure 1 and the report's curves plot with seaborn."""
    heavy = ("seaborn", "pandas", "scipy.stats")
    loaded = subprocess.run([sys.executable, "-c", "import sys, infogan.figures.mnist, infogan.figures.codes, "
                             "infogan.evaluate, infogan.probes; print(' '.join(sorted(sys.modules)))"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert not [name for name in heavy if name in loaded]
