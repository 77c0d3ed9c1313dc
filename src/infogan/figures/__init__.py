"""The paper's six figures and the report's training curves, drawn from run directories and
evaluation JSONs only; what each figure shows is declared in configs/figures.yaml.

One module per job, imports pointing one way (spec, frame -> grids, curves -> judge, explorer -> mnist, codes):

- `spec`: reads and checks configs/figures.yaml (grid settings, Figure 1's range, the
  panels and selection rule of Figures 2-6);
- `frame`: what every figure shares: the data-source stamp, PNG/PDF output, how a
  sidecar names a run;
- `grids`: code sweeps drawn as grids of images (Figures 2-6);
- `curves`: line plots of training logs (Figure 1's band, the report's curves);
- `judge`: scores each panel on its generated images with the data's factor probe;
- `explorer`: each panel's code in fine steps, the frames of the report's sliders;
- `mnist`: Figures 1 and 2; `codes`: Figures 3-6.

Callers (the command line, the report, the workflow) use the names below.
"""

from infogan.figures.codes import code_figure
from infogan.figures.curves import metric_band, training_curves
from infogan.figures.frame import data_uri, describe_sources, png_bytes
from infogan.figures.mnist import figure1, figure2
from infogan.figures.spec import (
    CODE_FIGURES,
    default_figures_file,
    load_figure_specs,
    load_figures,
)

__all__ = [
    "CODE_FIGURES",
    "code_figure",
    "data_uri",
    "default_figures_file",
    "describe_sources",
    "figure1",
    "figure2",
    "load_figure_specs",
    "load_figures",
    "metric_band",
    "png_bytes",
    "training_curves",
]
