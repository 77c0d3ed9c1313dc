"""The figure declarations of configs/figures.yaml, read and checked in one place.

The file owns what each figure shows and how the run (and code) shown is picked: the grid
settings every grid figure shares (rows, draw seed), Figure 1's iteration range, and for
Figures 2-6 the title, dataset, selection rule (`choose`) and panels. A figure function
reads its declaration from here rather than keeping its own copy, and the pipeline reads
the same file to know which runs each figure needs. A missing, unknown or mistyped key
fails on load with the file and the key's path (configs/schemas/figures.schema.yaml).
"""

from dataclasses import dataclass
from pathlib import Path

from infogan import schemas
from infogan.config import packaged_config, read_yaml
from infogan.errors import ConfigError, InfoganError

CODE_FIGURES = (3, 4, 5, 6)  # the code figures of the other datasets (infogan.figures.codes)
GRID_FIGURES = (2, *CODE_FIGURES)

# The rule that picks what each figure's panels show (its `choose`; the schema,
# configs/schemas/figures.schema.yaml, gives each figure the one its drawing code implements):
#   best_categorical_accuracy (Figure 2): per experiment, the run whose evaluation has the
#     highest categorical accuracy; a panel names its code by kind (the first categorical
#     code) or by the role the evaluation gave it (`role`).
#   best_factor_match (Figures 3-6): per panel, the (run, code) that tracks the panel's true
#     `factors` best, else the lowest seed's `default_code`.


@dataclass(frozen=True)
class PanelSpec:
    key: str
    shows: str | None  # what the panel shows, in its title (best_factor_match)
    experiment: str
    code: str  # "continuous" or "categorical"
    default_code: int | None = None  # best_factor_match: the code shown when no true factor is known
    factors: tuple[str, ...] = ()  # best_factor_match: the evaluation's factor names that stand for the panel
    sweep: tuple[float, float] = (-1.0, 1.0)  # a continuous code's range, in SWEEP_STEPS columns
    role: str | None = None  # best_categorical_accuracy, continuous: the code the evaluation names so
    columns: str | None = None  # best_categorical_accuracy, categorical: the column order (matched_label)
    expect: str = "follows"  # what the paper says the code does: "follows" its factor, or "no_meaning"


@dataclass(frozen=True)
class FigureSpec:
    number: int
    title: str
    dataset: str
    panels: tuple[PanelSpec, ...]
    choose: str  # the rule that picks what the panels show (see above)

    @property
    def experiments(self) -> list[str]:
        return sorted({panel.experiment for panel in self.panels})


@dataclass(frozen=True)
class FiguresFile:
    """Everything a figures file declares."""

    path: Path
    draws: int  # rows of every grid: seeded draws of the noise and the other codes
    draw_seed: int
    probe_rows: int  # rows of each panel's sweep the factor probe scores (infogan.figures.judge)
    explorer_steps: int  # steps of a continuous code's slider in the report (infogan.figures.explorer)
    figure1_last_iteration: int
    specs: dict[int, FigureSpec]  # Figures 2-6, by number

    def spec(self, number) -> FigureSpec:
        if number not in self.specs:
            raise InfoganError(f"figure {number}: not described in {self.path}")
        return self.specs[number]


def default_figures_file() -> Path:
    """The figure declarations shipped with the package."""
    return packaged_config("figures.yaml")


def load_figure_specs(path=None) -> dict[int, FigureSpec]:
    """Figures 2-6 as declared in the figures file (default: the package's)."""
    return load_figures(path).specs


def load_figures(path=None) -> FiguresFile:
    """The figures file (default: the package's configs/figures.yaml), checked against its schema."""
    path = Path(path or default_figures_file())
    if not path.is_file():
        raise ConfigError(f"{path}: figures file not found")
    raw = read_yaml(path)
    schemas.check(raw, "figures", path)
    specs = {number: _figure_spec(number, raw[f"figure{number}"], f"{path}: figure{number}")
             for number in GRID_FIGURES if f"figure{number}" in raw}
    return FiguresFile(path, raw["draws"], raw["draw_seed"], raw["probe_rows"], raw["explorer_steps"],
                       raw["figure1"]["last_iteration"],
                       specs)


def _figure_spec(number, entry, where) -> FigureSpec:
    panels = tuple(_panel_spec(str(key), panel, f"{where}.panels.{key}") for key, panel in entry["panels"].items())
    return FigureSpec(number, entry["title"], entry["dataset"], panels, entry["choose"])


def _panel_spec(key, panel, where) -> PanelSpec:
    low, high = panel.get("sweep", [-1.0, 1.0])
    if not low < high:  # the one rule the schema cannot state
        raise ConfigError(f"{where}.sweep: [{low}, {high}] is not a range [low, high] with low < high")
    return PanelSpec(key=key, shows=panel.get("shows"), experiment=panel["experiment"], code=panel["code"],
                     default_code=panel.get("default_code"), factors=tuple(panel.get("factors", ())),
                     sweep=(float(low), float(high)), role=panel.get("role"), columns=panel.get("columns"),
                     expect=panel.get("expect", "follows"))
