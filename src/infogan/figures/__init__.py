"""The paper's six figures and the report's training curves, drawn from run directories and
evaluation JSONs only; what each figure shows is declared in configs/figures.yaml.

One module per job, imports pointing one way (spec, frame -> grids, curves -> judge, explorer -> mnist, codes):

- `spec`: reads and checks configs/figures.yaml (grid settings, Figure 1's range, the
  panels and selection rule of Figures 2-6);
- `frame`: what every figure shares: the data-source stamp, PNG/PDF output, how a
  sidecar names a run;
- `grids`: code sweeps drawn as grids of images (Figures 2-6);
- `curves`: line plots of training logs (Figure 1, the report's curves);
- `judge`: scores each panel on its generated images with the data's factor probe;
- `explorer`: each panel's code in fine steps, the frames of the report's sliders;
- `mnist`: Figure 2; `codes`: Figures 3-6.

Callers (the command line, the report, the workflow) use the names below. They are loaded
when first used (PEP 562), so that reading configs/figures.yaml (`spec`), as the Snakefile
does for every DAG it builds, does not import torch and seaborn.
"""

import importlib

# name -> the module of this package that owns it
_OWNERS = {
    "CODE_FIGURES": "spec",
    "code_figure": "codes",
    "data_uri": "frame",
    "default_figures_file": "spec",
    "describe_sources": "frame",
    "figure1": "curves",
    "figure2": "mnist",
    "load_figure_specs": "spec",
    "load_figures": "spec",
    "metric_band": "curves",
    "png_bytes": "frame",
    "training_curves": "curves",
}

__all__ = sorted(_OWNERS)


def __getattr__(name):
    if name not in _OWNERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_OWNERS[name]}"), name)
