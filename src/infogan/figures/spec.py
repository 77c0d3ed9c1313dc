"""The figure declarations of configs/figures.yaml, read and checked in one place.

The file owns what each figure shows and how the run (and code) shown is picked: the grid
settings every grid figure shares (rows, draw seed), Figure 1's iteration range, and for
Figures 2-6 the title, dataset, selection rule (`choose`) and panels. A figure function
reads its declaration from here rather than keeping its own copy, and the pipeline reads
the same file to know which runs each figure needs. A missing, unknown or mistyped key
fails on load with the file and the key's path.
"""

from dataclasses import dataclass
from pathlib import Path

from infogan.config import packaged_config, read_yaml
from infogan.errors import ConfigError, InfoganError

CODE_KINDS = ("continuous", "categorical")
CODE_FIGURES = (3, 4, 5, 6)  # the code figures of the other datasets (infogan.figures.codes)
COLUMN_ORDERS = ("matched_label",)  # a categorical panel's columns in the order of the evaluation's matching

# The rule that picks what each figure's panels show (its `choose`), the only one its drawing code implements:
#   best_categorical_accuracy: per experiment, the run whose evaluation has the highest categorical
#     accuracy; a panel names its code by kind (the first categorical code) or by the role the
#     evaluation gave it (`role`).
#   best_factor_match: per panel, the (run, code) that tracks the panel's true `factors` best, else
#     the lowest seed's `default_code`.
CHOICE_OF_FIGURE = {2: "best_categorical_accuracy", **{n: "best_factor_match" for n in CODE_FIGURES}}

# (rule, code kind) -> the panel keys (required, optional) that rule reads.
_PANEL_KEYS = {
    ("best_categorical_accuracy", "categorical"): ({"experiment", "code", "columns"}, set()),
    ("best_categorical_accuracy", "continuous"): ({"experiment", "code", "role", "sweep"}, set()),
    ("best_factor_match", "categorical"): ({"shows", "experiment", "code", "default_code", "factors"}, {"sweep"}),
    ("best_factor_match", "continuous"): ({"shows", "experiment", "code", "default_code", "factors"}, {"sweep"}),
}


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
    columns: str | None = None  # best_categorical_accuracy, categorical: the column order (COLUMN_ORDERS)


@dataclass(frozen=True)
class FigureSpec:
    number: int
    title: str
    dataset: str
    panels: tuple[PanelSpec, ...]
    choose: str  # CHOICE_OF_FIGURE[number], as the file states it

    @property
    def experiments(self) -> list[str]:
        return sorted({panel.experiment for panel in self.panels})


@dataclass(frozen=True)
class FiguresFile:
    """Everything a figures file declares."""

    path: Path
    draws: int  # rows of every grid: seeded draws of the noise and the other codes
    draw_seed: int
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
    """The figures file (default: the package's configs/figures.yaml), checked."""
    path = Path(path or default_figures_file())
    if not path.is_file():
        raise ConfigError(f"{path}: figures file not found")
    raw = read_yaml(path)
    where = str(path)
    _check_keys(raw, {"draws", "draw_seed", "figure1", "figure2"}, {f"figure{n}" for n in CODE_FIGURES}, where)
    _check_keys(raw["figure1"], {"last_iteration"}, set(), f"{where}: figure1")
    specs = {number: _figure_spec(number, raw[f"figure{number}"], f"{where}: figure{number}")
             for number in CHOICE_OF_FIGURE if f"figure{number}" in raw}
    return FiguresFile(path, _integer(raw["draws"], f"{where}: draws", minimum=1),
                       _integer(raw["draw_seed"], f"{where}: draw_seed", minimum=0),
                       _integer(raw["figure1"]["last_iteration"], f"{where}: figure1.last_iteration", minimum=1),
                       specs)


def _figure_spec(number, entry, where) -> FigureSpec:
    _check_keys(entry, {"title", "dataset", "choose", "panels"}, set(), where)
    choose = CHOICE_OF_FIGURE[number]
    if entry["choose"] != choose:
        raise ConfigError(f"{where}.choose: {entry['choose']!r}; figure {number} is drawn by {choose!r} "
                          f"(rules: {', '.join(sorted(set(CHOICE_OF_FIGURE.values())))})")
    if not isinstance(entry["panels"], dict) or not entry["panels"]:
        raise ConfigError(f"{where}.panels: expected a mapping of panel keys to panels, got {entry['panels']!r}")
    panels = tuple(_panel_spec(str(key), panel, choose, f"{where}.panels.{key}")
                   for key, panel in entry["panels"].items())
    return FigureSpec(number, entry["title"], entry["dataset"], panels, choose)


def _panel_spec(key, panel, choose, where) -> PanelSpec:
    kind = panel.get("code") if isinstance(panel, dict) else None
    if kind not in CODE_KINDS:
        raise ConfigError(f"{where}.code: {kind!r} is not one of {CODE_KINDS}")
    _check_keys(panel, *_PANEL_KEYS[choose, kind], where)
    if "columns" in panel and panel["columns"] not in COLUMN_ORDERS:
        raise ConfigError(f"{where}.columns: {panel['columns']!r} is not one of {COLUMN_ORDERS}")
    sweep = panel.get("sweep", [-1.0, 1.0])
    if not (isinstance(sweep, list) and len(sweep) == 2 and all(isinstance(v, int | float) for v in sweep)
            and sweep[0] < sweep[1]):
        raise ConfigError(f"{where}.sweep: {sweep!r} is not a range [low, high]")
    default_code = panel.get("default_code")
    return PanelSpec(key=key, shows=panel.get("shows"), experiment=panel["experiment"], code=kind,
                     default_code=None if default_code is None else int(default_code),
                     factors=tuple(panel.get("factors", ())), sweep=(float(sweep[0]), float(sweep[1])),
                     role=panel.get("role"), columns=panel.get("columns"))


def _check_keys(entry, required, optional, where):
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping, got {entry!r}")
    unknown = set(entry) - required - optional
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(required | optional)}")
    missing = required - set(entry)
    if missing:
        raise ConfigError(f"{where}: missing key(s) {sorted(missing)}")


def _integer(value, where, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {value!r} is not an integer >= {minimum}")
    return value
