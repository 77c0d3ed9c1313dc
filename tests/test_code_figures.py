"""Figures 3-6: panel definitions, the automatic choice of run and code, and drawing from real runs."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from markupsafe import escape as html_escape
from PIL import Image

from infogan.cli import main
from infogan.config import load_experiment
from infogan.data.hdf5 import Split, write_dataset
from infogan.errors import ConfigError, InfoganError
from infogan.evaluate import evaluate
from infogan.figures import code_figure, load_figure_specs
from infogan.figures.codes import choose_code
from infogan.figures.spec import PanelSpec
from infogan.train import train

EXPERIMENTS = Path(__file__).resolve().parents[1] / "src" / "infogan" / "configs" / "experiments.yaml"
FIGURES = Path(__file__).resolve().parents[1] / "src" / "infogan" / "configs" / "figures.yaml"


def test_the_project_figures_file_describes_figures_2_to_6_with_known_experiments():
    specs = load_figure_specs(FIGURES)
    assert sorted(specs) == [2, 3, 4, 5, 6]
    assert [len(specs[n].panels) for n in (2, 3, 4, 5, 6)] == [4, 4, 2, 2, 4]
    assert {specs[n].choose for n in (3, 4, 5, 6)} == {"best_factor_match"}
    for spec in specs.values():
        for experiment in spec.experiments:
            load_experiment(experiment, EXPERIMENTS)  # raises on an unknown name


def test_a_wrong_key_in_the_figures_file_is_named(tmp_path):
    raw = yaml.safe_load(FIGURES.read_text())
    raw["figure4"]["panels"]["a"]["factros"] = raw["figure4"]["panels"]["a"].pop("factors")
    bad = tmp_path / "figures.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"unknown key 'figure4.panels.a.factros' \(did you mean 'factors'\?\)"):
        load_figure_specs(bad)


def pair(seed, correlations=None, information=None, entropy=None):
    run = SimpleNamespace(seed=seed, path=Path(f"runs/seed{seed}"))
    evaluation = {"factor_correlations": correlations or {},
                  "disentanglement": {"mutual_information": information or {}, "factor_entropy": entropy or {}}}
    return run, evaluation


ROTATION = PanelSpec("a", "rotation", "chairs_rotation", "continuous", 0, ("azimuth_sin", "azimuth_cos"))


def test_choice_takes_the_best_code_over_seeds_and_factor_names():
    pairs = [pair(1, {"continuous_0": {"azimuth_sin": 0.3, "azimuth_cos": -0.5}}),
             pair(2, {"continuous_0": {"azimuth_sin": -0.1, "azimuth_cos": -0.8, "width": 0.99}})]
    choice = choose_code(pairs, ROTATION)
    assert (choice.run.seed, choice.code_index, choice.factor) == (2, 0, "azimuth_cos")
    assert choice.score == pytest.approx(0.8)
    assert "|Spearman rho|" in choice.criterion and "seed 2" in choice.criterion
    assert [a["score"] for a in choice.alternatives] == pytest.approx([0.8, 0.5, 0.3, 0.1])


def test_categorical_choice_uses_information_over_entropy():
    glasses = PanelSpec("b", "glasses", "celeba_infogan", "categorical", 1, ("Eyeglasses", "glasses"))
    pairs = [pair(1, information={"categorical_0": {"glasses": 0.1}, "categorical_3": {"glasses": 0.6},
                                  "continuous_0": {"glasses": 0.69}}, entropy={"glasses": 0.69})]
    choice = choose_code(pairs, glasses)
    assert (choice.code_index, choice.factor) == (3, "glasses")
    assert choice.score == pytest.approx(0.6 / 0.69)


def test_without_a_true_factor_the_default_code_is_shown_and_said_so():
    pose = PanelSpec("a", "azimuth (pose)", "celeba_infogan", "categorical", 4, ("head_turn",))
    choice = choose_code([pair(3), pair(2)], pose)
    assert (choice.run.seed, choice.code_index, choice.factor, choice.score) == (2, 4, None, None)
    assert "not chosen by any criterion" in choice.criterion


# --- drawn from real (tiny) runs ------------------------------------------------------------------


def write_data(path, shape, factor_names, n=48, seed=0):
    rng = np.random.default_rng(seed)
    splits = {name: Split(images=rng.integers(0, 256, (n, *shape), dtype=np.uint8),
                          factors=rng.uniform(-1, 1, (n, len(factor_names))).astype(np.float32),
                          factor_names=list(factor_names)) for name in ("train", "test")}
    write_dataset(path, dataset="synthetic_heads", source="synthetic", splits=splits, description="tiny")
    return path


@pytest.fixture(scope="module")
def faces_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    data = write_data(root / "heads.h5", (1, 32, 32), ["azimuth", "elevation", "light_azimuth", "width"])
    runs, evaluations = [], []
    for experiment in ("faces_azimuth", "faces_elevation", "faces_lighting"):
        for seed in (1, 2):
            config = load_experiment(experiment, EXPERIMENTS, {"iterations": 2, "batch_size": 8})
            run_dir = root / "runs" / experiment / f"seed{seed}"
            train(config, data, run_dir, seed=seed, checkpoint_every=2, log_every=1, device="cpu", show_progress=False)
            out = root / "metrics" / experiment / f"seed{seed}.json"
            evaluate(run_dir, data, out, device="cpu", samples=16, draws=2)
            runs.append(run_dir)
            evaluations.append(out)
    return root, runs, evaluations


def test_figure3_from_runs_records_each_choice_and_says_synthetic(faces_runs, tmp_path):
    root, runs, evaluations = faces_runs
    sidecar = code_figure(3, runs, evaluations, tmp_path)
    assert sidecar["data"]["synthetic"] and sidecar["data"]["warning"].startswith("SYNTHETIC DATA: procedural 3D heads")
    assert set(sidecar["panels"]) == {"a", "b", "c", "d"}
    assert sidecar["selected"]["a"]["experiment"] == "faces_azimuth"
    assert sidecar["selected"]["d"]["factor"] == "width" and sidecar["selected"]["d"]["experiment"] == "faces_lighting"
    for key, selected in sidecar["selected"].items():
        evaluation = json.loads(Path(selected["evaluation"]).read_text())
        rho = evaluation["factor_correlations"][f"continuous_{selected['code']}"][selected["factor"]]
        assert selected["score"] == pytest.approx(abs(rho))  # the choice is the evaluation's number
        assert selected["score"] == max(a["score"] for a in selected["alternatives"])
    image = Image.open(tmp_path / "figure3.png")
    assert image.width > 1000 and (tmp_path / "figure3.pdf").stat().st_size > 0
    explorer = json.loads((tmp_path / sidecar["files"]["explorer"]).read_text())
    for key, selected in sidecar["selected"].items():  # each slider moves the code its panel shows
        panel = explorer["panels"][key]
        assert panel["code"] == selected["code"] and f"seed {selected['seed']}," in panel["title"]
        assert [frame["label"] for frame in panel["frames"]][::10] == ["-1.00", "+0.00", "+1.00"]


def test_figure_through_the_command_line_names_what_is_missing(faces_runs, tmp_path, capsys):
    root, runs, evaluations = faces_runs
    status = main(["figure", "4", "--runs", *map(str, runs), "--evaluations", *map(str, evaluations),
                   "--out-dir", str(tmp_path)])
    assert status == 1 and "figure 4 needs runs of chairs_rotation, chairs_width" in capsys.readouterr().err
    status = main(["figure", "3", "--runs", *map(str, runs), "--out-dir", str(tmp_path)])
    assert status == 1 and "figure 3 needs --runs and --evaluations" in capsys.readouterr().err
    status = main(["figure", "3", "--runs", *map(str, runs), "--evaluations", *map(str, evaluations),
                   "--out-dir", str(tmp_path)])
    assert status == 0 and (tmp_path / "figure3.json").is_file()


def test_panel_asking_for_a_code_the_run_lacks_is_refused(faces_runs, tmp_path):
    root, runs, evaluations = faces_runs
    raw = yaml.safe_load(FIGURES.read_text())
    raw["figure3"]["panels"]["a"]["default_code"] = 7
    raw["figure3"]["panels"]["a"]["factors"] = ["no_such_factor"]
    custom = tmp_path / "figures.yaml"
    custom.write_text(yaml.safe_dump(raw))
    with pytest.raises(InfoganError, match="has 5 continuous code"):
        code_figure(3, runs, evaluations, tmp_path, figures_file=custom)


def test_report_shows_each_panel_choice_with_a_plain_verdict(faces_runs, tmp_path):
    from infogan.report import render_report

    root, runs, evaluations = faces_runs
    sidecar = code_figure(3, runs, evaluations, tmp_path)
    out = tmp_path / "report" / "index.html"
    context = render_report([tmp_path / "figure3.json"], evaluations, runs, out)
    html = out.read_text(encoding="utf-8")
    choices = context["figures"][0]["choices"]
    assert [c["key"] for c in choices] == ["a", "b", "c", "d"]
    for choice in choices:
        selected = sidecar["selected"][choice["key"]]
        assert choice["score"] == selected["score"] and str(html_escape(selected["criterion"])) in html
        expected = ("tracks it" if choice["score"] >= 0.7 else "tracks it weakly" if choice["score"] >= 0.3
                    else "does not track it")
        assert choice["verdict"] == expected
    assert "Figure 3: manipulating latent codes on 3D Faces" in html  # the paper's title beside ours
    assert "Wide or narrow (from the lighting network)." in html
    assert "SYNTHETIC" in html
