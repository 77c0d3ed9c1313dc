"""Figures 3-6: one grid per panel, each the code of the run that tracks the panel's factor best.

`infogan figure N --runs RUN... --evaluations JSON...` (N = 3..6) reads the panel
definitions of configs/figures.yaml (rule `best_factor_match`), picks for each panel a
(run, code) by the stated criterion (see that file and `choose_code`), and draws the
code's sweep: continuous codes over the panel's range in 10 steps, categorical codes over
their values. Each row is one seeded draw of the noise and the other codes (the file's
`draws` and `draw_seed`). Like Figures 1 and 2, the figure states its
data source (a red bar when synthetic) and a JSON sidecar records every choice and the
alternatives it beat, so the report can say why each panel shows what it shows.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from infogan import checkpoint
from infogan.atomic import write_json
from infogan.errors import InfoganError
from infogan.figures import explorer, judge
from infogan.figures.frame import describe_pairs, pairs_by_experiment, run_entry
from infogan.figures.grids import (
    Panel,
    image_grid,
    save_panels,
    sweep_values,
    to_unit_range,
)
from infogan.figures.spec import PanelSpec, load_figures
from infogan.rundir import load_evaluation, load_run, pair_evaluations
from infogan.sweep import sweep_categories, sweep_code

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
        values = sweep_values(panel.sweep)
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
    return Panel(image_grid(to_unit_range(columns, config.output_range)), labels, title, f"{xlabel} ({why})", caption)


def panel_scores(panel: PanelSpec, choice: Choice, probe, draws, seed, rows, device) -> dict:
    """The probe's scores of the sweep the panel shows (infogan.figures.judge)."""
    if panel.code == "continuous":
        values = sweep_values(panel.sweep)
    else:
        values = range(choice.run.config.latent.categorical[choice.code_index])
    columns = judge.scored_sweep(choice.run.path, panel.code, choice.code_index, values, draws, seed, rows, device)
    return {**judge.judge_sweep(probe, columns, panel.code, panel.factors, values), "expect": panel.expect}


def panel_slider(panel: PanelSpec, choice: Choice, steps) -> explorer.Slider:
    """The report's slider for the panel: the code it shows, finer than its grid."""
    title = f"({panel.key}) {panel.shows}: {choice.run.experiment} seed {choice.run.seed}, {panel.code} code " \
            f"{choice.code_index}"
    if panel.code == "continuous":
        return explorer.continuous_slider(choice.run.path, choice.code_index, panel.sweep, steps, title)
    values = range(choice.run.config.latent.categorical[choice.code_index])
    return explorer.categorical_slider(choice.run.path, choice.code_index, values, [str(v) for v in values], title)


def code_figure(number, run_paths, evaluation_paths, out_dir="paper_figures", figures_file=None,
                draws=None, seed=None, device="cpu", probe=None, probe_rows=None):
    """Draw Figure `number` (3-6) from the given runs and their evaluations; returns its sidecar.
    `draws` and `seed` default to the figures file's grid settings. With `probe` (a factor probe
    of the data), each panel is also scored on its generated images, `probe_rows` rows of each
    sweep (default: the figures file's)."""
    declared = load_figures(figures_file)
    figure_spec, device = declared.spec(number), torch.device(device)
    draws = declared.draws if draws is None else draws
    seed = declared.draw_seed if seed is None else seed
    pairs = pair_evaluations([load_run(p) for p in run_paths], [load_evaluation(p) for p in evaluation_paths])
    by_experiment = pairs_by_experiment(pairs, figure_spec.experiments, number)
    choices = {panel.key: choose_code(by_experiment[panel.experiment], panel) for panel in figure_spec.panels}
    pictures = {panel.key: panel_picture(panel, choices[panel.key], draws, seed, device) for panel in figure_spec.panels}
    data = describe_pairs([pair for e in figure_spec.experiments for pair in by_experiment[e]])
    files = _draw(figure_spec, pictures, data, draws, out_dir)
    files["explorer"] = explorer.write_explorer(
        Path(out_dir) / f"figure{number}.explorer.json",
        {panel.key: panel_slider(panel, choices[panel.key], declared.explorer_steps) for panel in figure_spec.panels},
        draws, seed, device)
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
    probe, sidecar["probe"] = judge.load(probe, device)
    if probe is not None:
        sidecar["probe_scores"] = {panel.key: panel_scores(panel, choices[panel.key], probe, draws, seed,
                                                           probe_rows or declared.probe_rows, device)
                                   for panel in figure_spec.panels}
        for key, scores in sidecar["probe_scores"].items():
            sidecar["selected"][key].update(judge.headline(scores))
    write_json(Path(out_dir) / f"figure{number}.json", sidecar)
    return sidecar


def _draw(figure_spec, pictures, data, draws, out_dir):
    """Two rows of two panels, or one row; each panel as wide as needed for its grid's aspect."""
    n = len(pictures)
    rows, cols = (2, 2) if n == 4 else (1, n)
    tall = max(p.grid.shape[0] / p.grid.shape[1] for p in pictures.values())
    return save_panels(pictures, (rows, cols), (max(5.0 * cols, 10.0), rows * (5.0 * tall + 0.9) + 0.9),
                       f"{figure_spec.title}: one code varies along each row; rows are {draws} seeded draws", data,
                       out_dir, f"figure{figure_spec.number}")
