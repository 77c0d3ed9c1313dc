"""The paper's Figure 2, the MNIST grids, drawn from run directories and evaluation JSONs only.

`infogan figure 2` writes, into one output directory, `figure2.png`, `figure2.pdf` and a
sidecar `figure2.json` that records what the figure was made from (run directories,
evaluation files, seeds, the data source, the rule that picked the run shown), so that the
report can show its provenance. What it shows is declared in configs/figures.yaml
(infogan.figures.spec); this module draws it. (Figure 1, a line plot of the training logs,
is drawn by infogan.figures.curves.)

Four grids, each panel from its declared experiment's run picked by
`best_categorical_accuracy`: (a) the categorical code on InfoGAN, columns in digit order
0..9 by the evaluation's category-to-digit matching; (b) the same on the GAN baseline;
(c), (d) the continuous codes the evaluation names rotation and width, swept over the
declared range (-2 to 2; trained on [-1, 1]). Each row is one draw of the noise and the
other codes; the draws are seeded, and the same draws are used in every panel.
"""

import math
from pathlib import Path

import torch

from infogan import checkpoint
from infogan.atomic import write_json
from infogan.errors import InfoganError
from infogan.figures.frame import describe_pairs, pairs_by_experiment, run_entry
from infogan.figures.grids import (
    SWEEP_STEPS,
    Panel,
    categories_in_label_order,
    image_grid,
    save_panels,
    sweep_values,
    to_unit_range,
)
from infogan.figures import explorer, judge
from infogan.figures.spec import load_figures
from infogan.rundir import load_evaluation, load_run, pair_evaluations
from infogan.sweep import sweep_categories, sweep_code

SELECTION_RULE = ("the run whose evaluation has the highest categorical_accuracy "
                  "(ties: the lowest seed), as the paper shows its best run")  # figures.yaml: best_categorical_accuracy
MEASURE_OF_ROLE = {"rotation": "slant", "width": "width"}  # what the evaluation measured to name each role


# --- Figure 2: choosing the runs ----------------------------------------------------------


def select_best(pairs):
    """The (run, evaluation) that SELECTION_RULE picks."""
    def rank(pair):
        accuracy = pair[1].get("categorical_accuracy")
        return (-math.inf if accuracy is None else accuracy, -pair[0].seed)

    return max(pairs, key=rank)


def runs_shown(spec, pairs):
    """{experiment: (run, evaluation)}: for each experiment the panels name (in panel order), its
    best run among `pairs`."""
    named = list(dict.fromkeys(panel.experiment for panel in spec.panels))
    by_experiment = pairs_by_experiment(pairs, named, spec.number)
    return {experiment: select_best(by_experiment[experiment]) for experiment in named}


def selected_per_input(given, shown):
    """{"infogan": ..., "gan": ...}: the run shown from each list of runs passed (--infogan-runs,
    --gan-runs), as the sidecar's `selected` names them."""
    selected = {}
    for role, pairs in given.items():
        experiments = [e for e in shown if e in {run.experiment for run, _ in pairs}]
        if not experiments:
            raise InfoganError(f"figure 2 shows runs of {', '.join(shown)}; none of the {role} runs given is one "
                               f"(they are {', '.join(sorted({r.experiment for r, _ in pairs}))})")
        selected[role] = shown[experiments[0]]
    return selected


# --- Figure 2: the panels -----------------------------------------------------------------


def matched_columns(config, evaluation):
    """(order, labels, matching) of the first categorical code: its values in the order of the
    digits the evaluation matched them to, each column's label (the digit, or c<k> unmatched), and
    the matching {category: digit}."""
    matching = {int(c): int(label) for c, label in (evaluation.get("categorical_matching") or {}).items()}
    order = categories_in_label_order(matching, config.latent.categorical[0])
    return order, [str(matching[c]) if c in matching else f"c{c}" for c in order], matching


def categorical_panel(config, generator, evaluation, draws, seed, device):
    """(grid, column labels): the first categorical code's values, in the order of their matched digits."""
    columns = sweep_categories(generator, config.latent, 0, draws, seed, device)
    order, labels, _ = matched_columns(config, evaluation)
    return image_grid(to_unit_range(columns[order], config.output_range)), labels


def _categorical_picture(key, config, generator, run, evaluation, draws, seed, device):
    """Panel (a) or (b): the texts say whether the run's G was asked to make the code recognisable."""
    grid, labels = categorical_panel(config, generator, evaluation, draws, seed, device)
    accuracy = _percent(evaluation.get("categorical_accuracy"))
    if config.generator_mutual_information:
        return Panel(grid, labels, f"({key}) Varying $c_1$ on InfoGAN (seed {run.seed})",
                     "column = matched digit (evaluation's categorical_matching)",
                     f"c1 (categorical) of InfoGAN seed {run.seed}, one column per value, reordered to digits "
                     f"0..9 by the evaluation's matching (categorical accuracy {accuracy}).")
    return Panel(grid, labels, f"({key}) Varying $c_1$ on a regular GAN (seed {run.seed})",
                 "column = matched digit (meaningless for a GAN)",
                 f"c1 (categorical) of the GAN baseline seed {run.seed}, reordered by its matching too, "
                 f"but that order means nothing: G is not asked to make c1 recognisable (categorical accuracy "
                 f"{accuracy}).")


def _roles(evaluation, needed):
    roles = evaluation.get("roles") or {}
    if not set(needed) <= set(roles):
        raise InfoganError(f"{evaluation['path']}: no 'roles' naming the {' and '.join(sorted(needed))} codes "
                           "(figure 2 needs an experiment with two continuous codes)")
    return {role: int(index) for role, index in roles.items()}


def continuous_panel(panel, config, generator, run, evaluation, draws, seed, device):
    """Panel (c) or (d): the continuous code the evaluation names `panel.role`, swept over `panel.sweep`."""
    index = _roles(evaluation, [panel.role])[panel.role]
    measure = MEASURE_OF_ROLE[panel.role]
    rho = evaluation["continuous_codes"][index][measure]["spearman"]
    values = sweep_values(panel.sweep)
    low, high = panel.sweep
    columns = sweep_code(generator, config.latent, "continuous", index, values, draws, seed, device)
    return Panel(
        image_grid(to_unit_range(columns, config.output_range)), [f"{v:.1f}" for v in values],
        f"({panel.key}) Varying continuous code {index} ({panel.role}) from {low:g} to {high:g}",
        f"code value (trained on [-1, 1]); Spearman with the digits' {measure}: {rho:+.2f}",
        f"Continuous code {index} of InfoGAN seed {run.seed}, the one the evaluation names {panel.role} "
        f"(Spearman correlation of the code with the generated digits' {measure}: {rho:+.2f}), "
        f"swept from {low:g} to {high:g} over {SWEEP_STEPS} columns; training only saw [-1, 1].")


def figure2_panels(spec, shown, draws, seed, device):
    """{key: Panel} in the declared order, each drawn from the run shown for its experiment."""
    trained = {experiment: checkpoint.load_trained(run.path, device) for experiment, (run, _) in shown.items()}
    panels = {}
    for panel in spec.panels:
        (run, evaluation), (config, generator, _, _) = shown[panel.experiment], trained[panel.experiment]
        if panel.code == "categorical":
            panels[panel.key] = _categorical_picture(panel.key, config, generator, run, evaluation, draws, seed, device)
        else:
            panels[panel.key] = continuous_panel(panel, config, generator, run, evaluation, draws, seed, device)
    return panels


def figure2_scores(spec, shown, probe, draws, seed, rows, device):
    """{key: the probe's scores of the panel's sweep} (infogan.figures.judge): for (a) and (b) the
    share of images read as their column's matched digit, for (c) and (d) how the role's factor
    follows the code, where the data labels it."""
    scores = {}
    for panel in spec.panels:
        run, evaluation = shown[panel.experiment]
        if panel.code == "categorical":
            order, _, matching = matched_columns(run.config, evaluation)
            columns = judge.scored_sweep(run.path, "categorical", 0, order, draws, seed, rows, device)
            result = judge.judge_sweep(probe, columns, "categorical", [], column_labels=[matching.get(c) for c in order])
        else:
            values = sweep_values(panel.sweep)
            index = _roles(evaluation, [panel.role])[panel.role]
            columns = judge.scored_sweep(run.path, "continuous", index, values, draws, seed, rows, device)
            result = judge.judge_sweep(probe, columns, "continuous", panel.factors, values)
        scores[panel.key] = {**result, "expect": panel.expect}
    return scores


def figure2_sliders(spec, shown, steps):
    """{key: the report's slider of the panel} (infogan.figures.explorer), the codes the panels show."""
    sliders = {}
    for panel in spec.panels:
        run, evaluation = shown[panel.experiment]
        title = f"({panel.key}) {run.experiment} seed {run.seed}, "
        if panel.code == "categorical":
            order, _, matching = matched_columns(run.config, evaluation)
            labels = [f"category {c}: digit {matching[c]}" if c in matching else f"category {c}: no digit matched"
                      for c in order]
            sliders[panel.key] = explorer.categorical_slider(run.path, 0, order, labels,
                                                             title + "categorical code c1")
        else:
            index = _roles(evaluation, [panel.role])[panel.role]
            sliders[panel.key] = explorer.continuous_slider(run.path, index, panel.sweep, steps,
                                                            title + f"continuous code {index} ({panel.role})")
    return sliders


# --- Figure 2 -----------------------------------------------------------------------------


def figure2(infogan_runs, infogan_evaluations, gan_runs, gan_evaluations, out_dir="paper_figures",
            draws=None, seed=None, device="cpu", figures_file=None, probe=None, probe_rows=None):
    """Figure 2 as figures.yaml declares it: (a)-(d) the categorical code of InfoGAN and of the GAN, and
    the rotation and width codes. `draws` and `seed` default to the file's grid settings. With
    `probe` (a factor probe of the data), each panel is also scored on its generated images,
    `probe_rows` rows of each sweep (default: the file's)."""
    declared = load_figures(figures_file)
    spec = declared.spec(2)
    draws = declared.draws if draws is None else draws
    seed = declared.draw_seed if seed is None else seed
    device = torch.device(device)
    given = {"infogan": pair_evaluations([load_run(p) for p in infogan_runs],
                                         [load_evaluation(p) for p in infogan_evaluations]),
             "gan": pair_evaluations([load_run(p) for p in gan_runs], [load_evaluation(p) for p in gan_evaluations])}
    if not given["infogan"] or not given["gan"]:
        raise InfoganError("figure 2 needs at least one InfoGAN run and one GAN baseline run, each with its evaluation")
    pairs = given["infogan"] + given["gan"]
    shown = runs_shown(spec, pairs)
    selected = selected_per_input(given, shown)
    best, gan_best = selected["infogan"], selected["gan"]
    data = describe_pairs(pairs)
    panels = figure2_panels(spec, shown, draws, seed, device)
    shown_of_best = sum(run.experiment == best[0].experiment for run, _ in pairs)
    seeds = f"{shown_of_best} seed{'s' if shown_of_best > 1 else ''}"
    files = save_panels(panels, (2, 2), (10.0, 6.6),
                        f"{spec.title}: one code varies along each row; rows are {draws} seeded draws. "
                        f"InfoGAN seed {best[0].seed} shown (best accuracy of {seeds})", data, out_dir, "figure2")
    files["explorer"] = explorer.write_explorer(Path(out_dir) / "figure2.explorer.json",
                                                figure2_sliders(spec, shown, declared.explorer_steps), draws, seed,
                                                device)
    continuous = [panel for panel in spec.panels if panel.code == "continuous"]
    sidecar = {
        "figure": 2,
        "files": files,
        "data": data,
        "inputs": {role: [run_entry(r, e) for r, e in role_pairs] for role, role_pairs in given.items()},
        "selection_rule": SELECTION_RULE,
        "selected": {role: run_entry(*pair) for role, pair in selected.items()},
        "roles": _roles(best[1], [panel.role for panel in continuous]),
        "draws": draws, "draw_seed": seed,
        "sweep_values": [float(v) for v in sweep_values(continuous[0].sweep)] if continuous else [],
        "panels": {key: panel.caption for key, panel in panels.items()},
        "caption": (f"Each grid: {draws} rows, each a seeded draw (seed {seed}) of the noise and the other codes; "
                    f"one code varies along the 10 columns. Run shown: {SELECTION_RULE}: InfoGAN seed "
                    f"{best[0].seed}, GAN seed {gan_best[0].seed}. {data['label']}."),
        "title": spec.title,
        "choose": spec.choose,
        "panel_runs": {panel.key: {"experiment": panel.experiment, "seed": shown[panel.experiment][0].seed,
                                   "code": panel.code, "role": panel.role,
                                   "sweep": list(panel.sweep) if panel.code == "continuous" else None}
                       for panel in spec.panels},
    }
    probe, sidecar["probe"] = judge.load(probe, device)
    if probe is not None:
        sidecar["probe_scores"] = figure2_scores(spec, shown, probe, draws, seed, probe_rows or declared.probe_rows,
                                                  device)
        for panel in spec.panels:  # per panel, beside the runs chosen per input
            sidecar["selected"][panel.key] = {**run_entry(*shown[panel.experiment]),
                                              **judge.headline(sidecar["probe_scores"][panel.key])}
    write_json(Path(out_dir) / "figure2.json", sidecar)
    return sidecar


def _percent(value):
    return "n/a (no labels)" if value is None else f"{100 * value:.1f}%"
