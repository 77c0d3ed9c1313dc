"""Code sweeps drawn as grids: Figures 2-6 are all panels of one code varying along each row.

Each panel is a rows-by-columns picture of generated images: a row is one seeded draw of
the noise and the other codes, a column one value of the code shown. This module turns
sweeps (from infogan.sweep) into such pictures and lays panels out on a framed figure, so
that the MNIST figure and the code figures of the other datasets look alike.
"""

from dataclasses import dataclass

import matplotlib.style
import numpy as np
from matplotlib.figure import Figure

from infogan.figures.frame import frame_figure, save_figure

SWEEP_STEPS = 10  # columns of a continuous code's sweep, as in the paper


@dataclass(frozen=True)
class Panel:
    """One grid with its labels, and the caption the sidecar and report show."""

    grid: np.ndarray
    column_labels: list[str]
    title: str
    xlabel: str
    caption: str


def sweep_values(sweep):
    """The SWEEP_STEPS code values, evenly spaced over a panel's (low, high) range."""
    return np.linspace(*sweep, SWEEP_STEPS)


def categories_in_label_order(matching, n_categories):
    """Category indices sorted by the label the evaluation matched them to; unmatched ones last.

    `matching` maps category -> label (JSON keys may be strings).
    """
    label_of = {int(category): int(label) for category, label in (matching or {}).items()}
    return sorted(range(n_categories), key=lambda c: (c not in label_of, label_of.get(c, 0), c))


def to_unit_range(images, output_range):
    """Generator output (in `output_range`, the run's `config.output_range`) to [0, 1] for display."""
    low, high = output_range
    return ((images - low) / (high - low)).clamp(0.0, 1.0)


def image_grid(columns, pad=1, pad_value=0.5):
    """Tile columns x rows x C x H x W images into one rows-by-columns picture (H x W or H x W x 3),
    `pad` pixels of `pad_value` between neighbours and none around the whole.

    The picture torchvision's make_grid draws, less its outer border (a test compares them);
    done here because importing torchvision would cost each figure job ~3 s of CPU."""
    n_columns, n_rows, channels, height, width = columns.shape
    cells = np.full((n_rows, height + pad, n_columns, width + pad, channels), pad_value, dtype=np.float32)
    cells[:, :height, :, :width] = columns.permute(1, 3, 0, 4, 2).numpy()
    grid = cells.reshape(n_rows * (height + pad), n_columns * (width + pad), channels)
    grid = grid[:n_rows * (height + pad) - pad, :n_columns * (width + pad) - pad]
    return grid[..., 0] if channels == 1 else grid


def draw_grid(ax, grid, column_labels, title, xlabel):
    """One panel on its axes: the picture, a label under each column, no frame."""
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


def save_panels(panels, layout, figsize, title, data, out_dir, name):
    """Draw `panels` ({key: Panel}, in order) on a rows x columns `layout` of a framed figure and save
    it as `name`.png and .pdf; returns the file names."""
    # seaborn's white style as matplotlib ships it: every size here is set explicitly, so
    # seaborn itself (and the pandas and scipy it loads, 1.4 CPU-s per figure job) is not needed
    with matplotlib.style.context("seaborn-v0_8-white"):
        fig = Figure(figsize=figsize, layout="constrained")
        frame_figure(fig, title, data)
        fig.get_layout_engine().set(h_pad=0.15, w_pad=0.1)
        for ax, panel in zip(np.atleast_1d(fig.subplots(*layout)).flat, panels.values()):
            draw_grid(ax, panel.grid, panel.column_labels, panel.title, panel.xlabel)
        return save_figure(fig, out_dir, name)
