"""Line plots of training logs: Figure 1 and the report's training curves.

Both read only the runs' metrics logs (metrics.jsonl). Several seeds are drawn as their
mean with a min-max band: the band shows every seed, where an sd band of 5 seeds would
hide the odd one out, and the paper warns that seeds differ a lot. `metric_band` is the
band's numbers, also what the pipeline writes for `dvc plots` (workflow/scripts/l_i_curves.py).

Figure 1 (`infogan figure 1`): L_I of the categorical code against iteration
0-`last_iteration` (configs/figures.yaml) for InfoGAN and for the GAN baseline (Q trained,
no L_I term for G), with the ceiling H(c) = ln 10; written as `figure1.png`, `.pdf` and a
sidecar `figure1.json` naming the runs it was drawn from, like every figure.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from infogan.atomic import write_json
from infogan.errors import InfoganError
from infogan.figures.frame import describe_sources, frame_figure, run_entry, save_figure
from infogan.figures.spec import load_figures
from infogan.rundir import load_run

SPREAD = "min-max over seeds"  # what the band around the mean shows
INK = {"infogan": "#1f5fa8", "gan": "#c8551e"}  # Figure 1's two curves


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


def plot_band(ax, runs, key, label, color, last_iteration=None):
    """The mean over seeds, with seaborn's band over the seeds' full range (the same numbers as metric_band)."""
    iterations = metric_band(runs, key, last_iteration)[0]
    seeds = len(runs)
    sns.lineplot(metrics_frame(runs, [key], iterations), x="iteration", y=key, estimator="mean",
                 errorbar=("pi", 100) if seeds > 1 else None, err_kws={"alpha": 0.2, "lw": 0}, color=color, lw=1.6,
                 ax=ax, label=f"{label} ({'mean of ' if seeds > 1 else ''}{seeds} seed{'s' if seeds > 1 else ''})")


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


# --- Figure 1 -----------------------------------------------------------------------------


def _categorical_codes(runs):
    """The categorical codes' sizes, which must be the same for every run of a figure."""
    codes = {run.config.latent.categorical for run in runs}
    if len(codes) != 1:
        raise InfoganError(f"runs with different categorical codes in one figure: {sorted(codes)}")
    return codes.pop()


def figure1(infogan_runs, gan_runs, out_dir="paper_figures", figures_file=None):
    """Figure 1: L_I (categorical) over the first iterations, InfoGAN against the GAN baseline."""
    last_iteration = load_figures(figures_file).figure1_last_iteration
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
        plot_band(ax, infogan, "mi_categorical", "InfoGAN", INK["infogan"], last_iteration)
        plot_band(ax, gan, "mi_categorical", "GAN (Q trained, no $L_I$ for G)", INK["gan"], last_iteration)
        ax.axhline(entropy, color="#444444", ls="--", lw=1.0,
                   label=f"H(c) = {' + '.join(f'ln {k}' for k in codes)} = {entropy:.3f}")
        ax.set(xlim=(0, last_iteration), xlabel="iteration", ylabel="$L_I$ (categorical code, nats)")
        ax.set_ylim(top=entropy + 0.3)
        ax.legend(loc="center right", fontsize=8)
        files = save_figure(fig, out_dir, "figure1")
    sidecar = {
        "figure": 1,
        "files": files,
        "data": data,
        "inputs": {"infogan": [run_entry(r) for r in infogan], "gan": [run_entry(r) for r in gan]},
        "spread": SPREAD if max(len(infogan), len(gan)) > 1 else "one seed per curve: no band",
        "last_iteration": last_iteration,
        "categorical_entropy": entropy,
        "caption": (f"L_I of the categorical code, as logged during training (mean over each logging "
                    f"interval), for InfoGAN ({len(infogan)} seed(s)) and the GAN baseline ({len(gan)} seed(s)); "
                    f"curves are the mean over seeds, the band the {SPREAD}; dashed: H(c). {data['label']}."),
    }
    write_json(Path(out_dir) / "figure1.json", sidecar)
    return sidecar
