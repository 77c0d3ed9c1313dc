"""What every figure shares: the data-source stamp, the files it is saved as, and how a run is named.

Every figure states its data source on the figure itself, and a synthetic one says so in
red, so that no picture of the stand-in can pass for the paper's data. Every figure is
written as PNG and PDF with the same bytes for the same inputs, and its JSON sidecar names
each run it read with the same fields (`run_entry`), so the report can show provenance
the same way for all six.
"""

import base64
import io
from pathlib import Path

from infogan.atomic import atomic_path
from infogan.data import REGISTRY
from infogan.errors import InfoganError

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


def describe_pairs(pairs):
    """describe_sources for (run, evaluation) pairs: the data each run trained on and each evaluation scored."""
    return describe_sources([(r.info["data"]["dataset"], r.source) for r, _ in pairs]
                            + [(e["data"]["dataset"], e["data"]["source"]) for _, e in pairs])


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


# --- inputs and output -------------------------------------------------------------------------------


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


def data_uri(png: bytes) -> str:
    """PNG bytes as a data URI, so that a page embeds the image and needs no file beside it."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_bytes(figure, dpi=110) -> bytes:
    """A figure as PNG bytes, for embedding (the report's training curves)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def pairs_by_experiment(pairs, experiments, number):
    """{experiment: [(run, evaluation)]} for the `experiments` figure `number` shows; one without runs is named."""
    by_experiment = {}
    for run, evaluation in pairs:
        by_experiment.setdefault(run.experiment, []).append((run, evaluation))
    missing = [e for e in experiments if e not in by_experiment]
    if missing:
        raise InfoganError(f"figure {number} needs runs of {', '.join(missing)}; got runs of "
                           f"{', '.join(sorted(by_experiment)) or 'none'}")
    return by_experiment


def run_entry(run, evaluation=None):
    """How a sidecar names a run it read (and the evaluation it used), the same in every figure."""
    entry = {"run_dir": str(run.path), "experiment": run.experiment, "seed": run.seed,
             "data_source": run.source, "dataset": run.info["data"]["dataset"],
             "finished": bool(run.info.get("finished")),
             "iterations": run.metrics[-1]["iteration"] if run.metrics else 0}
    if evaluation is not None:
        entry.update(evaluation=evaluation["path"], categorical_accuracy=evaluation.get("categorical_accuracy"),
                     evaluation_data_source=evaluation["data"]["source"])
    return entry
