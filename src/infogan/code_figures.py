"""Figures 3-6: one 5 x 10 grid per panel, each the code of the run that tracks the panel's factor best.

`infogan figure N --runs RUN... --evaluations JSON...` (N = 3..6) reads the panel
definitions of configs/figures.yaml, picks for each panel a (run, code) by the stated
criterion (see that file and `choose_code`), and draws the code's sweep: continuous codes
over the panel's range in 10 steps, categorical codes over their values. Each row is one
seeded draw of the noise and the other codes. Like Figures 1 and 2, the figure states its
data source (a red bar when synthetic) and a JSON sidecar records every choice and the
alternatives it beat, so the report can say why each panel shows what it shows.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure

from infogan import checkpoint
from infogan.atomic import write_json
from infogan.config import packaged_config, read_yaml
from infogan.errors import ConfigError, InfoganError
from infogan.figures import (
    DRAW_SEED,
    GRID_ROWS,
    Panel,
    describe_sources,
    draw_grid,
    frame_figure,
    image_grid,
    run_entry,
    save_figure,
    to_unit_range,
)
from infogan.rundir import load_evaluation, load_run, pair_evaluations
from infogan.sweep import sweep_categories, sweep_code

CODE_FIGURES = (3, 4, 5, 6)
SWEEP_STEPS = 10
CODE_KINDS = ("continuous", "categorical")


@dataclass(frozen=True)
class PanelSpec:
    key: str
    shows: str
    experiment: str
    code: str  # "continuous" or "categorical"
    default_code: int
    factors: tuple[str, ...]
    sweep: tuple[float, float] = (-1.0, 1.0)


@dataclass(frozen=True)
class FigureSpec:
    number: int
    title: str
    dataset: str
    panels: tuple[PanelSpec, ...]

    @property
    def experiments(self) -> list[str]:
        return sorted({panel.experiment for panel in self.panels})


def default_figures_file() -> Path:
    """The panel definitions shipped with the package."""
    return packaged_config("figures.yaml")


def load_figure_specs(path=None) -> dict[int, FigureSpec]:
    """The panel definitions (configs/figures.yaml) as FigureSpecs; a missing, unknown or mistyped key is named."""
    path = Path(path or default_figures_file())
    if not path.is_file():
        raise ConfigError(f"{path}: figures file not found")
    raw = read_yaml(path)
    specs = {}
    for name, entry in (raw or {}).items():
        where = f"{path}: {name}"
        if name not in {f"figure{n}" for n in CODE_FIGURES}:
            raise ConfigError(f"{where}: unknown figure (this file describes {', '.join(f'figure{n}' for n in CODE_FIGURES)})")
        _check_keys(entry, {"title", "dataset", "panels"}, set(), where)
        panels = []
        for key, panel in entry["panels"].items():
            _check_keys(panel, {"shows", "experiment", "code", "default_code", "factors"}, {"sweep"}, f"{where}.panels.{key}")
            if panel["code"] not in CODE_KINDS:
                raise ConfigError(f"{where}.panels.{key}.code: {panel['code']!r} is not one of {CODE_KINDS}")
            panels.append(PanelSpec(key=str(key), shows=panel["shows"], experiment=panel["experiment"],
                                    code=panel["code"], default_code=int(panel["default_code"]),
                                    factors=tuple(panel["factors"]),
                                    sweep=tuple(float(v) for v in panel.get("sweep", (-1.0, 1.0)))))
        number = int(name.removeprefix("figure"))
        specs[number] = FigureSpec(number, entry["title"], entry["dataset"], tuple(panels))
    return specs


def _check_keys(entry, required, optional, where):
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping, got {entry!r}")
    unknown = set(entry) - required - optional
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(required | optional)}")
    missing = required - set(entry)
    if missing:
        raise ConfigError(f"{where}: missing key(s) {sorted(missing)}")


# --- choosing the run and the code ----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """The (run, code) a panel shows, and why."""

    run: object
    evaluation: dict
    code_index: int
    factor: str | None
    score: float | None
    criterion: str
    alternatives: list[dict] = dataclasses.field(default_factory=list)


def code_scores(evaluation, panel: PanelSpec):
    """[(score, code index, factor)] of every code of the panel's kind against each of its factors
    that the evaluation has: |Spearman| for continuous codes, MI / H(factor) for categorical ones."""
    scores = []
    if panel.code == "continuous":
        for code, by_factor in (evaluation.get("factor_correlations") or {}).items():
            for factor in panel.factors:
                rho = by_factor.get(factor)
                if rho is not None:
                    scores.append((abs(rho), int(code.removeprefix("continuous_")), factor))
    else:
        scored = evaluation.get("disentanglement") or {}
        information, entropy = scored.get("mutual_information") or {}, scored.get("factor_entropy") or {}
        for code, by_factor in information.items():
            if not code.startswith("categorical_"):
                continue
            for factor in panel.factors:
                if by_factor.get(factor) is not None and entropy.get(factor):
                    scores.append((by_factor[factor] / entropy[factor], int(code.removeprefix("categorical_")), factor))
    return scores


def choose_code(pairs, panel: PanelSpec) -> Choice:
    """The (run, code) tracking the panel's factor best over all seeds; ties go to the lower seed,
    then the lower code. Without any true factor: the lowest seed's `default_code`, said plainly."""
    candidates = [(score, run, evaluation, code, factor)
                  for run, evaluation in pairs for score, code, factor in code_scores(evaluation, panel)]
    if not candidates:
        run, evaluation = min(pairs, key=lambda pair: pair[0].seed)
        return Choice(run, evaluation, panel.default_code, None, None,
                      f"no true '{panel.shows}' factor in the evaluation data ({', '.join(panel.factors)} absent): "
                      f"not chosen by any criterion; {panel.code} code {panel.default_code} of the lowest seed "
                      f"({run.seed}) is shown")
    score, run, evaluation, code, factor = max(candidates, key=lambda c: (c[0], -c[1].seed, -c[3]))
    measure = "|Spearman rho|" if panel.code == "continuous" else "MI / H(factor)"
    alternatives = [{"seed": r.seed, "code": c, "factor": f, "score": s} for s, r, _, c, f in
                    sorted(candidates, key=lambda c: (-c[0], c[1].seed, c[3]))]
    return Choice(run, evaluation, code, factor, score,
                  f"highest {measure} with the true factor '{factor}' among {len(pairs)} seed(s) x "
                  f"{panel.code} codes: seed {run.seed}, code {code}, {score:.2f}", alternatives)


# --- drawing ----------------------------------------------------------------------------------------


def panel_picture(panel: PanelSpec, choice: Choice, draws, seed, device) -> Panel:
    config, generator, _, _ = checkpoint.load_trained(choice.run.path, device)
    spec = config.latent
    kinds = {"continuous": spec.continuous, "categorical": len(spec.categorical)}
    if choice.code_index >= kinds[panel.code]:
        raise InfoganError(f"{choice.run.path}: experiment {config.name} has {kinds[panel.code]} {panel.code} "
                           f"code(s); panel {panel.key} asks for code {choice.code_index}")
    if panel.code == "continuous":
        values = np.linspace(*panel.sweep, SWEEP_STEPS)
        columns = sweep_code(generator, spec, "continuous", choice.code_index, values, draws, seed, device)
        labels = [f"{v:.1f}" for v in values]
        xlabel = f"continuous code {choice.code_index} from {panel.sweep[0]:g} to {panel.sweep[1]:g}"
    else:
        columns = sweep_categories(generator, spec, choice.code_index, draws, seed, device)
        labels = [str(v) for v in range(spec.categorical[choice.code_index])]
        xlabel = f"categorical code {choice.code_index}, each value"
    why = (f"{choice.factor}: {choice.score:.2f}" if choice.factor else "not chosen by a criterion")
    title = f"({panel.key}) {panel.shows}: {config.name} seed {choice.run.seed}, code {choice.code_index}"
    caption = (f"{panel.shows.capitalize()}: {panel.code} code {choice.code_index} of {config.name} seed "
               f"{choice.run.seed}. Why this run and code: {choice.criterion}.")
    return Panel(image_grid(to_unit_range(columns, config.network)), labels, title, f"{xlabel} ({why})", caption)


def code_figure(number, run_paths, evaluation_paths, out_dir="paper_figures", figures_file=None,
                draws=GRID_ROWS, seed=DRAW_SEED, device="cpu"):
    """Draw Figure `number` (3-6) from the given runs and their evaluations; returns its sidecar."""
    specs = load_figure_specs(figures_file)
    if number not in specs:
        raise InfoganError(f"figure {number}: not described in {figures_file or default_figures_file()}")
    figure_spec, device = specs[number], torch.device(device)
    pairs = pair_evaluations([load_run(p) for p in run_paths], [load_evaluation(p) for p in evaluation_paths])
    by_experiment = {}
    for run, evaluation in pairs:
        by_experiment.setdefault(run.experiment, []).append((run, evaluation))
    missing = [e for e in figure_spec.experiments if e not in by_experiment]
    if missing:
        raise InfoganError(f"figure {number} needs runs of {', '.join(missing)}; got runs of "
                           f"{', '.join(sorted(by_experiment)) or 'none'}")
    choices = {panel.key: choose_code(by_experiment[panel.experiment], panel) for panel in figure_spec.panels}
    pictures = {panel.key: panel_picture(panel, choices[panel.key], draws, seed, device) for panel in figure_spec.panels}
    used = [pair for e in figure_spec.experiments for pair in by_experiment[e]]
    data = describe_sources([(r.info["data"]["dataset"], r.source) for r, _ in used]
                            + [(e["data"]["dataset"], e["data"]["source"]) for _, e in used])
    _draw(figure_spec, pictures, data, draws, out_dir)
    files = {"png": f"figure{number}.png", "pdf": f"figure{number}.pdf"}
    sidecar = {
        "figure": number,
        "files": files,
        "data": data,
        "inputs": {e: [run_entry(r, ev) for r, ev in by_experiment[e]] for e in figure_spec.experiments},
        "selected": {key: {**run_entry(c.run, c.evaluation), "code": c.code_index, "factor": c.factor,
                           "score": c.score, "criterion": c.criterion, "alternatives": c.alternatives[:10]}
                     for key, c in choices.items()},
        "draws": draws, "draw_seed": seed,
        "panels": {key: picture.caption for key, picture in pictures.items()},
        "caption": (f"{figure_spec.title}. Each grid: {draws} rows, each a seeded draw (seed {seed}) of the noise "
                    f"and the other codes; one code varies along the columns. {data['label']}."),
    }
    write_json(Path(out_dir) / f"figure{number}.json", sidecar)
    return sidecar


def _draw(figure_spec, pictures, data, draws, out_dir):
    n = len(pictures)
    rows, cols = (2, 2) if n == 4 else (1, n)
    tall = max(p.grid.shape[0] / p.grid.shape[1] for p in pictures.values())
    with sns.axes_style("white"), sns.plotting_context("paper"):
        fig = Figure(figsize=(max(5.0 * cols, 10.0), rows * (5.0 * tall + 0.9) + 0.9), layout="constrained")
        frame_figure(fig, f"{figure_spec.title}: one code varies along each row; rows are {draws} seeded draws", data)
        fig.get_layout_engine().set(h_pad=0.15, w_pad=0.1)
        for ax, picture in zip(np.atleast_1d(fig.subplots(rows, cols)).flat, pictures.values()):
            draw_grid(ax, picture.grid, picture.column_labels, picture.title, picture.xlabel)
        save_figure(fig, out_dir, f"figure{figure_spec.number}")
