"""The report's latent explorer: each panel's code moved in fine steps, one frame per step.

A figure grid shows ten values of a code; a reader who wants to see how the images move
between them, or past the grid's range, gets a slider in the report. The frames behind it
are computed here, by the figure step, from the same run, code and seeded draws as the
panel (row r of a frame is row r of the grid), and written beside the figure as
`figureN.explorer.json`: per panel, a title and a list of frames, each a label and a PNG
data URI of the draws side by side. The report embeds them, so the slider needs no network
and no server (infogan.report, template.html.j2).
"""

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from infogan import checkpoint
from infogan.atomic import write_json
from infogan.figures.frame import data_uri
from infogan.figures.grids import image_grid, to_unit_range
from infogan.sweep import sweep_code


@dataclass(frozen=True)
class Slider:
    """What one panel's slider moves: code `index` of `kind` of the run at `run_path`, through
    `values` (in slider order), each shown with its label."""

    run_path: Path
    kind: str  # "continuous" or "categorical"
    index: int
    values: tuple
    labels: tuple[str, ...]
    title: str


def continuous_slider(run_path, index, sweep, steps, title) -> Slider:
    """A continuous code from `sweep`'s low end to its high end in `steps` even steps."""
    values = tuple(float(v) for v in np.linspace(*sweep, steps))
    return Slider(Path(run_path), "continuous", index, values, tuple(f"{v:+.2f}" for v in values), title)


def categorical_slider(run_path, index, order, labels, title) -> Slider:
    """A categorical code through its values in the figure's column `order`, each with its label."""
    return Slider(Path(run_path), "categorical", index, tuple(order), tuple(labels), title)


def strip_png(images) -> bytes:
    """`draws` x C x H x W images in [0, 1] side by side, as PNG bytes."""
    grid = image_grid(images.unsqueeze(1))  # draws columns of one row
    pixels = (grid * 255.0).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@torch.no_grad()
def frames(slider: Slider, draws, seed, device) -> list[dict]:
    """[{label, png}] per slider value: the `draws` seeded draws (the grid's rows) at that value."""
    config, generator, _, _ = checkpoint.load_trained(slider.run_path, device)
    columns = sweep_code(generator, config.latent, slider.kind, slider.index, slider.values, draws, seed, device)
    columns = to_unit_range(columns, config.output_range)
    return [{"label": label, "png": strip_png(column)} for label, column in zip(slider.labels, columns)]


def write_explorer(path, sliders: dict, draws, seed, device) -> str:
    """Write `figureN.explorer.json` for {panel key: Slider}; returns its file name. A slider
    starts at a continuous code's value nearest zero, or at a categorical code's first column."""
    panels = {}
    for key, slider in sliders.items():
        start = int(np.argmin(np.abs(slider.values))) if slider.kind == "continuous" else 0
        panels[key] = {
            "title": slider.title, "kind": slider.kind, "code": slider.index, "start": start,
            "frames": [{"label": f["label"], "image": data_uri(f["png"])} for f in frames(slider, draws, seed, device)],
        }
    path = Path(path)
    write_json(path, {"draws": draws, "draw_seed": seed, "panels": panels})
    return path.name
