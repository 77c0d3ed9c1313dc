"""The paper's MNIST figures, drawn from run directories and evaluation JSONs only.

`infogan figure 1` and `infogan figure 2` each write, into one output directory,
`figure<N>.png`, `figure<N>.pdf` and a sidecar `figure<N>.json` that records what the
figure was made from (run directories, evaluation files, seeds, the data source, the rule
that picked the run shown), so that the report can show its provenance.

- Figure 1: L_I of the categorical code against iteration 0-1,000 for InfoGAN and for the
  GAN baseline (Q trained, no L_I term for G), with the ceiling H(c) = ln 10. Several seeds
  are drawn as their mean with a min-max band (the band shows every seed, where an sd band
  of 5 seeds would hide the odd one out, and the paper warns that seeds differ a lot).
- Figure 2: four 5 x 10 grids: (a) the categorical code on InfoGAN, columns in digit order
  0..9 by the evaluation's category-to-digit matching; (b) the same on the GAN baseline;
  (c), (d) the continuous codes the evaluation names rotation and width, swept from -2 to 2
  (trained on [-1, 1]). Each row is one draw of the noise and the other codes; the draws are
  seeded, and the same draws are used in (a), (c) and (d).

Every figure states its data source on the figure itself, and a synthetic one says so in
red, so that no picture of the stand-in can pass for MNIST.
"""

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from infogan import checkpoint
from infogan.atomic import atomic_path, write_json
from infogan.data import REGISTRY
from infogan.errors import InfoganError
from infogan.evaluate import SWEEP_VALUES
from infogan.nets import OUTPUT_RANGE
from infogan.rundir import load_evaluation, load_run, pair_evaluations
from infogan.sweep import sweep_categories, sweep_code

FIGURE1_LAST_ITERATION = 1000
GRID_ROWS = 5  # draws of noise and other codes, one per row, as in the paper
DRAW_SEED = 0
SELECTION_RULE = ("the run whose evaluation has the highest categorical_accuracy "
                  "(ties: the lowest seed), as the paper shows its best run")
SPREAD = "min-max over seeds"
INK = {"infogan": "#1f5fa8", "gan": "#c8551e"}


# --- inputs -------------------------------------------------------------------------------


def select_best(pairs):
    """The (run, evaluation) that SELECTION_RULE picks."""
    def rank(pair):
        accuracy = pair[1].get("categorical_accuracy")
        return (-math.inf if accuracy is None else accuracy, -pair[0].seed)

    return max(pairs, key=rank)


# --- data source --------------------------------------------------------------------------


def describe_sources(entries):
    """What data a figure came from, from (dataset, source) pairs: a label, a synthetic flag, and
    the warning a synthetic figure carries on top."""
    entries = sorted(set(entries))
    sources = sorted({source for _, source in entries})
    names = ", ".join(f"{'real' if source == 'real' else 'synthetic'} {_dataset_name(dataset)}"
                      for dataset, source in entries)
    stand_ins = sorted({dataset for dataset, source in entries if source == "synthetic"})
    warning = "SYNTHETIC DATA: " + "; ".join(_not_the_paper(d) for d in stand_ins) if stand_ins else None
    return {"sources": sources, "datasets": sorted({d for d, _ in entries}), "label": f"Data: {names}",
            "synthetic": "synthetic" in sources, "warning": warning}


def _dataset_name(name):
    return REGISTRY[name].display_name if name in REGISTRY else name


def _not_the_paper(name):
    entry = REGISTRY.get(name)
    return f"{entry.drawing}, not {entry.title}" if entry and not entry.real else f"{name}, not the paper's data"


def frame_figure(figure, title, data):
    """Title the figure and state its data source: a red warning bar on top when it is synthetic,
    the data label at the bottom. The axes are laid out in the band left between them."""
    height = figure.get_figheight()
    top_in, bottom_in = 0.32 + (0.34 if data["synthetic"] else 0.0), 0.22  # inches kept free
    figure.get_layout_engine().set(rect=(0.0, bottom_in / height, 1.0, 1.0 - (top_in + bottom_in) / height))
    if data["synthetic"]:
        figure.text(0.5, 1.0 - 0.06 / height, data["warning"], ha="center", va="top", fontsize=10,
                    fontweight="bold", color="white", bbox={"facecolor": "#b00020", "edgecolor": "none", "pad": 3})
    figure.text(0.5, 1.0 - (top_in - 0.06) / height, title, ha="center", va="bottom", fontsize=10)
    figure.text(0.5, 0.04 / height, data["label"], ha="center", va="bottom", fontsize=8, color="#333333")


# --- output -------------------------------------------------------------------------------


def save_figure(figure, out_dir, name):
    """Write `name`.png and `name`.pdf atomically; returns their file names (relative to out_dir)."""
    files = {}
    for fmt in ("png", "pdf"):
        destination = Path(out_dir) / f"{name}.{fmt}"
        metadata = {"CreationDate": None} if fmt == "pdf" else None  # same inputs, same bytes
        with atomic_path(destination) as tmp:
            figure.savefig(tmp, format=fmt, dpi=200, metadata=metadata)
        files[fmt] = destination.name
    return files


def png_bytes(figure, dpi=110) -> bytes:
    """A figure as PNG bytes, for embedding (the report's training curves)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def run_entry(run, evaluation=None):
    entry = {"run_dir": str(run.path), "experiment": run.experiment, "seed": run.seed,
             "data_source": run.source, "dataset": run.info["data"]["dataset"],
             "finished": bool(run.info.get("finished")),
             "iterations": run.metrics[-1]["iteration"] if run.metrics else 0}
    if evaluation is not None:
        entry.update(evaluation=evaluation["path"], categorical_accuracy=evaluation.get("categorical_accuracy"),
                     evaluation_data_source=evaluation["data"]["source"])
    return entry


# --- Figure 1 -----------------------------------------------------------------------------


def metric_band(runs, key, last_iteration=None):
    """(iterations, mean, min, max) of `key` across runs, at the iterations every run logged."""
    series = [{m["iteration"]: m[key] for m in run.metrics
               if last_iteration is None or m["iteration"] <= last_iteration} for run in runs]
    common = sorted(set.intersection(*(set(s) for s in series))) if series else []
    values = np.array([[s[i] for i in common] for s in series]).reshape(len(series), len(common))
    return np.array(common), values.mean(axis=0), values.min(axis=0), values.max(axis=0)


def metrics_frame(runs, keys, iterations=None):
    """The runs' metrics logs as one long table (iteration, seed, keys...), for seaborn;
    only `iterations` where given."""
    kept = None if iterations is None else set(np.asarray(iterations).tolist())
    return pd.DataFrame([{"iteration": m["iteration"], "seed": run.seed, **{k: m[k] for k in keys}}
                         for run in runs for m in run.metrics if kept is None or m["iteration"] in kept])


def _plot_band(ax, runs, key, label, color, last_iteration=None):
    """The mean over seeds, with seaborn's band over the seeds' full range (the same numbers as metric_band)."""
    iterations = metric_band(runs, key, last_iteration)[0]
    seeds = len(runs)
    sns.lineplot(metrics_frame(runs, [key], iterations), x="iteration", y=key, estimator="mean",
                 errorbar=("pi", 100) if seeds > 1 else None, err_kws={"alpha": 0.2, "lw": 0}, color=color, lw=1.6,
                 ax=ax, label=f"{label} ({'mean of ' if seeds > 1 else ''}{seeds} seed{'s' if seeds > 1 else ''})")


def _categorical_codes(runs):
    """The categorical codes' sizes, which must be the same for every run of a figure."""
    codes = {run.config.latent.categorical for run in runs}
    if len(codes) != 1:
        raise InfoganError(f"runs with different categorical codes in one figure: {sorted(codes)}")
    return codes.pop()


def figure1(infogan_runs, gan_runs, out_dir="paper_figures"):
    """Figure 1: L_I (categorical) over iterations 0-1,000, InfoGAN against the GAN baseline."""
    infogan, gan = [load_run(p) for p in infogan_runs], [load_run(p) for p in gan_runs]
    if not infogan or not gan:
        raise InfoganError("figure 1 needs at least one InfoGAN run and one GAN baseline run")
    codes = _categorical_codes(infogan + gan)
    entropy = sum(math.log(k) for k in codes)
    data = describe_sources((r.info["data"]["dataset"], r.source) for r in infogan + gan)
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        fig = Figure(figsize=(6.0, 4.2), layout="constrained")
        frame_figure(fig, f"Figure 1: $L_I$ during training (band: {SPREAD})", data)
        ax = fig.add_subplot()
        _plot_band(ax, infogan, "mi_categorical", "InfoGAN", INK["infogan"], FIGURE1_LAST_ITERATION)
        _plot_band(ax, gan, "mi_categorical", "GAN (Q trained, no $L_I$ for G)", INK["gan"], FIGURE1_LAST_ITERATION)
        ax.axhline(entropy, color="#444444", ls="--", lw=1.0,
                   label=f"H(c) = {' + '.join(f'ln {k}' for k in codes)} = {entropy:.3f}")
        ax.set(xlim=(0, FIGURE1_LAST_ITERATION), xlabel="iteration", ylabel="$L_I$ (categorical code, nats)")
        ax.set_ylim(top=entropy + 0.3)
        ax.legend(loc="center right", fontsize=8)
        files = save_figure(fig, out_dir, "figure1")
    sidecar = {
        "figure": 1,
        "files": files,
        "data": data,
        "inputs": {"infogan": [run_entry(r) for r in infogan], "gan": [run_entry(r) for r in gan]},
        "spread": SPREAD if max(len(infogan), len(gan)) > 1 else "one seed per curve: no band",
        "last_iteration": FIGURE1_LAST_ITERATION,
        "categorical_entropy": entropy,
        "caption": (f"L_I of the categorical code, as logged during training (mean over each logging "
                    f"interval), for InfoGAN ({len(infogan)} seed(s)) and the GAN baseline ({len(gan)} seed(s)); "
                    f"curves are the mean over seeds, the band the {SPREAD}; dashed: H(c). {data['label']}."),
    }
    write_json(Path(out_dir) / "figure1.json", sidecar)
    return sidecar


# --- Figure 2 -----------------------------------------------------------------------------


def categories_in_label_order(matching, n_categories):
    """Category indices sorted by the label the evaluation matched them to; unmatched ones last.

    `matching` maps category -> label (JSON keys may be strings).
    """
    label_of = {int(category): int(label) for category, label in (matching or {}).items()}
    return sorted(range(n_categories), key=lambda c: (c not in label_of, label_of.get(c, 0), c))


def to_unit_range(images, network):
    """Generator output to [0, 1] for display."""
    low, high = OUTPUT_RANGE[network]
    return ((images - low) / (high - low)).clamp(0.0, 1.0)


def image_grid(columns, pad=1, pad_value=0.5):
    """Tile columns x rows x C x H x W images into one rows-by-columns picture (H x W or H x W x 3):
    torchvision's make_grid, less the border it draws around the whole grid."""
    n_columns, n_rows, channels = columns.shape[:3]
    row_major = columns.transpose(0, 1).reshape(n_rows * n_columns, *columns.shape[2:])
    grid = make_grid(row_major, nrow=n_columns, padding=pad, pad_value=pad_value)  # 3 channels even for grey
    grid = grid[:, pad:grid.shape[1] - pad, pad:grid.shape[2] - pad].permute(1, 2, 0).numpy()
    return grid[..., 0] if channels == 1 else grid


def draw_grid(ax, grid, column_labels, title, xlabel):
    n = len(column_labels)
    ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    width = grid.shape[1]
    ax.set_xticks([(i + 0.5) * width / n - 0.5 for i in range(n)], column_labels, fontsize=7)
    ax.set_yticks([])
    ax.tick_params(length=0, pad=2)
    ax.set_xlabel(xlabel, fontsize=7, labelpad=2)
    ax.set_title(title, fontsize=9, loc="left")
    for spine in ax.spines.values():
        spine.set_visible(False)


@dataclass(frozen=True)
class Panel:
    """One 5 x 10 grid of Figure 2 with its labels, and the caption the sidecar and report show."""

    grid: np.ndarray
    column_labels: list[str]
    title: str
    xlabel: str
    caption: str


def categorical_panel(config, generator, evaluation, draws, seed, device):
    """(grid, column labels): the first categorical code's values, in the order of their matched digits."""
    columns = sweep_categories(generator, config.latent, 0, draws, seed, device)
    matching = {int(c): int(label) for c, label in (evaluation.get("categorical_matching") or {}).items()}
    order = categories_in_label_order(matching, config.latent.categorical[0])
    labels = [str(matching[c]) if c in matching else f"c{c}" for c in order]
    return image_grid(to_unit_range(columns[order], config.network)), labels


def _roles(evaluation):
    roles = evaluation.get("roles") or {}
    if not {"rotation", "width"} <= set(roles):
        raise InfoganError(f"{evaluation['path']}: no 'roles' naming the rotation and width codes "
                           "(figure 2 needs an experiment with two continuous codes)")
    return {role: int(index) for role, index in roles.items()}


def continuous_panel(key, role, config, generator, run, evaluation, draws, seed, device):
    index = _roles(evaluation)[role]
    measure = "slant" if role == "rotation" else "width"
    rho = evaluation["continuous_codes"][index][measure]["spearman"]
    columns = sweep_code(generator, config.latent, "continuous", index, SWEEP_VALUES, draws, seed, device)
    return Panel(
        image_grid(to_unit_range(columns, config.network)), [f"{v:.1f}" for v in SWEEP_VALUES],
        f"({key}) Varying continuous code {index} ({role}) from -2 to 2",
        f"code value (trained on [-1, 1]); Spearman with the digits' {measure}: {rho:+.2f}",
        f"Continuous code {index} of InfoGAN seed {run.seed}, the one the evaluation names {role} "
        f"(Spearman correlation of the code with the generated digits' {measure}: {rho:+.2f}), "
        f"swept from -2 to 2 over 10 columns; training only saw [-1, 1].")


def figure2_panels(infogan_pair, gan_pair, draws, seed, device):
    """The four panels: (a), (c), (d) from the selected InfoGAN run, (b) from the selected GAN run."""
    (run, evaluation), (gan_run, gan_evaluation) = infogan_pair, gan_pair
    config, generator, _, _ = checkpoint.load_trained(run.path, device)
    gan_config, gan_generator, _, _ = checkpoint.load_trained(gan_run.path, device)
    grid_a, labels_a = categorical_panel(config, generator, evaluation, draws, seed, device)
    grid_b, labels_b = categorical_panel(gan_config, gan_generator, gan_evaluation, draws, seed, device)
    return {
        "a": Panel(grid_a, labels_a, f"(a) Varying $c_1$ on InfoGAN (seed {run.seed})",
                   "column = matched digit (evaluation's categorical_matching)",
                   f"c1 (categorical) of InfoGAN seed {run.seed}, one column per value, reordered to digits "
                   f"0..9 by the evaluation's matching (categorical accuracy "
                   f"{_percent(evaluation.get('categorical_accuracy'))})."),
        "b": Panel(grid_b, labels_b, f"(b) Varying $c_1$ on a regular GAN (seed {gan_run.seed})",
                   "column = matched digit (meaningless for a GAN)",
                   f"c1 (categorical) of the GAN baseline seed {gan_run.seed}, reordered by its matching too, "
                   f"but that order means nothing: G is not asked to make c1 recognisable (categorical accuracy "
                   f"{_percent(gan_evaluation.get('categorical_accuracy'))})."),
        "c": continuous_panel("c", "rotation", config, generator, run, evaluation, draws, seed, device),
        "d": continuous_panel("d", "width", config, generator, run, evaluation, draws, seed, device),
    }


def figure2(infogan_runs, infogan_evaluations, gan_runs, gan_evaluations, out_dir="paper_figures",
            draws=GRID_ROWS, seed=DRAW_SEED, device="cpu"):
    """Figure 2 (a)-(d): the categorical code of InfoGAN and of the GAN, and the rotation and width codes."""
    device = torch.device(device)
    infogan = pair_evaluations([load_run(p) for p in infogan_runs], [load_evaluation(p) for p in infogan_evaluations])
    gan = pair_evaluations([load_run(p) for p in gan_runs], [load_evaluation(p) for p in gan_evaluations])
    if not infogan or not gan:
        raise InfoganError("figure 2 needs at least one InfoGAN run and one GAN baseline run, each with its evaluation")
    best, gan_best = select_best(infogan), select_best(gan)
    data = describe_sources(
        [(r.info["data"]["dataset"], r.source) for r, _ in infogan + gan]
        + [(e["data"]["dataset"], e["data"]["source"]) for _, e in infogan + gan])
    panels = figure2_panels(best, gan_best, draws, seed, device)
    with sns.axes_style("white"), sns.plotting_context("paper"):
        fig = Figure(figsize=(10.0, 6.6), layout="constrained")
        seeds = f"{len(infogan)} seed{'s' if len(infogan) > 1 else ''}"
        frame_figure(fig, f"Figure 2: one code varies along each row; rows are {draws} seeded draws. "
                          f"InfoGAN seed {best[0].seed} shown (best accuracy of {seeds})", data)
        fig.get_layout_engine().set(h_pad=0.15, w_pad=0.1)
        for ax, panel in zip(fig.subplots(2, 2).flat, panels.values()):
            draw_grid(ax, panel.grid, panel.column_labels, panel.title, panel.xlabel)
        files = save_figure(fig, out_dir, "figure2")
    sidecar = {
        "figure": 2,
        "files": files,
        "data": data,
        "inputs": {"infogan": [run_entry(r, e) for r, e in infogan], "gan": [run_entry(r, e) for r, e in gan]},
        "selection_rule": SELECTION_RULE,
        "selected": {"infogan": run_entry(*best), "gan": run_entry(*gan_best)},
        "roles": _roles(best[1]),
        "draws": draws, "draw_seed": seed, "sweep_values": [float(v) for v in SWEEP_VALUES],
        "panels": {key: panel.caption for key, panel in panels.items()},
        "caption": (f"Each grid: {draws} rows, each a seeded draw (seed {seed}) of the noise and the other codes; "
                    f"one code varies along the 10 columns. Run shown: {SELECTION_RULE}: InfoGAN seed "
                    f"{best[0].seed}, GAN seed {gan_best[0].seed}. {data['label']}."),
    }
    write_json(Path(out_dir) / "figure2.json", sidecar)
    return sidecar


def _percent(value):
    return "n/a (no labels)" if value is None else f"{100 * value:.1f}%"


# --- training curves (for the report) -----------------------------------------------------


def training_curves(runs, title):
    """One small figure per experiment: L_I per code type and the D and G losses, one line per seed."""
    panels = (("mi_categorical", "$L_I$ categorical"), ("mi_continuous", "$L_I$ continuous"),
              ("d_loss", "D loss"), ("g_loss", "G loss"))
    frame = metrics_frame(runs, [key for key, _ in panels])
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"):
        fig = Figure(figsize=(9.0, 2.3), layout="constrained")
        for ax, (key, label) in zip(fig.subplots(1, len(panels)), panels):
            sns.lineplot(frame, x="iteration", y=key, hue="seed", palette="deep", lw=0.9, ax=ax,
                         legend=ax is fig.axes[0])
            ax.set_title(label, fontsize=9)
            ax.set_ylabel("")
            ax.set_xlabel("iteration", fontsize=8)
            ax.tick_params(labelsize=7)
        fig.axes[0].legend(fontsize=6, title="seed", title_fontsize=6)
        fig.suptitle(title, fontsize=9)
    return fig
