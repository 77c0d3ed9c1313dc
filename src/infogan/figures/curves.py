"""Line plots of training logs: Figure 1's L_I band and the report's training curves.

Both read only the runs' metrics logs (metrics.jsonl). Several seeds are drawn as their
mean with a min-max band: the band shows every seed, where an sd band of 5 seeds would
hide the odd one out, and the paper warns that seeds differ a lot. `metric_band` is the
band's numbers, also what the pipeline writes for `dvc plots` (workflow/scripts/l_i_curves.py).
"""

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

SPREAD = "min-max over seeds"  # what the band around the mean shows


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
