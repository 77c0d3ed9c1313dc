"""Build the report's content from figures, evaluations and run directories, and render it.

The page is one self-contained HTML file: images are embedded as base64 data URIs, the
CSS and the one small script (the latent explorer's sliders) are inline, so it opens
offline and can be mailed or archived as is. All text passes through Jinja2's autoescaping.
"""

import datetime
import json
import statistics
import struct
from pathlib import Path

import jinja2

from infogan.atomic import atomic_path, write_json
from infogan import schemas
from infogan.config import read_yaml
from infogan.data import REGISTRY
from infogan.errors import InfoganError
from infogan.figures import data_uri, png_bytes, training_curves
from infogan.rundir import load_evaluation, load_run
from infogan.report import claims as claim_checks
from infogan.report import panels, provenance
from infogan.report.metrics import summary_metrics
from infogan.report.seeds import L_I_EARLY, L_I_WINDOW, MERGE_SHARE, l_i_early, merged_labels

HERE = Path(__file__).resolve().parent
TEMPLATE = "template.html.j2"
PAPER_CLAIMS = HERE / "paper_claims.yaml"


def png_width(png: bytes, path) -> int:
    """Pixel width from a PNG's header; figures are saved at 200 dpi and shown at half that."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise InfoganError(f"{path}: not a PNG file; run `infogan figure` again")
    return struct.unpack(">I", png[16:20])[0]


def load_paper_claims(path=PAPER_CLAIMS) -> dict:
    """The paper's figures and claims, checked against configs/schemas/paper_claims.schema.yaml.
    YAML gives figure numbers as integers; the schema, like JSON, names them as text."""
    claims = read_yaml(path)
    if isinstance(claims, dict) and isinstance(claims.get("figures"), dict):
        claims["figures"] = {str(number): figure for number, figure in claims["figures"].items()}
    schemas.check(claims, "paper_claims", path)
    claims["figures"] = {int(number): figure for number, figure in claims["figures"].items()}
    return claims


def synthetic_inputs(runs, evaluations, figures):
    """A line for every input made from synthetic data; the banner shows when there is any."""
    found = [f"run {r.experiment} seed {r.seed} ({r.path}): trained on {r.info['data']['path']}"
             for r in runs if r.source == "synthetic"]
    for e in evaluations:
        if "synthetic" in (e["data"]["source"], e["data"].get("trained_on", {}).get("source")):
            found.append(f"evaluation {e['path']}: {e['data']['path']}")
    found += [f"figure {f['figure']} ({f['sidecar']})" for f in figures if f["data"]["synthetic"]]
    return found


def load_figure(sidecar_path, paper):
    """A figure's sidecar with its PNG embedded, and the paper's description of it beside ours."""
    sidecar_path = Path(sidecar_path)
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except FileNotFoundError:
        raise InfoganError(f"{sidecar_path}: no such figure sidecar; run `infogan figure` first") from None
    except json.JSONDecodeError as exc:
        raise InfoganError(f"{sidecar_path}: figure sidecar is not valid JSON ({exc})") from None
    png_path = sidecar_path.parent / sidecar["files"]["png"]
    if not png_path.is_file():
        raise InfoganError(f"{png_path}: the image of {sidecar_path} is missing; run `infogan figure` again")
    described = paper["figures"].get(sidecar["figure"], {})
    ours, papers = sidecar.get("panels", {}), described.get("panels", {})
    rows = [{"key": key, "ours": ours.get(key, "(no such panel in ours)"), "paper": papers.get(key, "")}
            for key in sorted(set(ours) | set(papers))]
    png = png_path.read_bytes()
    thresholds = paper["panel_verdicts"]
    explorer = sidecar["files"].get("explorer")
    return {**sidecar, "sidecar": str(sidecar_path), "image": data_uri(png),
            "choices": panels.q_readings(sidecar, thresholds), "verdicts": panels.probe_verdicts(sidecar, thresholds),
            "display_width": png_width(png, png_path) // 2,
            "explorer": load_explorer(sidecar_path.parent / explorer, sidecar_path) if explorer else None,
            "paper_title": described.get("title", f"Figure {sidecar['figure']}"),
            "paper_text": described.get("paper", ""), "panel_rows": rows}


def load_explorer(path, sidecar_path):
    """The slider frames `infogan figure` wrote beside a figure (infogan.figures.explorer)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InfoganError(f"{path}: the explorer frames of {sidecar_path} are missing; run `infogan figure` "
                           "again") from None
    except json.JSONDecodeError as exc:
        raise InfoganError(f"{path}: explorer frames are not valid JSON ({exc}); run `infogan figure` again") from None


def run_rows(runs, evaluations):
    """One row per run: provenance, wall time, and its evaluation's headline numbers."""
    by_key = {(e["experiment"], int(e["seed"])): e for e in evaluations}
    rows = []
    for run in sorted(runs, key=lambda r: (r.experiment, r.seed)):
        evaluation = by_key.get((run.experiment, run.seed), {})
        iterations = run.metrics[-1]["iteration"] if run.metrics else 0
        seconds = run.info.get("train_seconds")
        rows.append({
            "experiment": run.experiment, "seed": run.seed, "path": str(run.path), "source": run.source,
            "iterations": iterations, "finished": bool(run.info.get("finished")), "device": run.info.get("device"),
            "threads": run.info.get("threads"), "bf16": run.info.get("bf16_autocast_used"),
            "train_seconds": seconds,
            "ms_per_iteration": 1000 * seconds / iterations if seconds and iterations else None,
            "accuracy": evaluation.get("categorical_accuracy"),
            "merged": merged_labels(evaluation["categorical_confusion"]) if "categorical_confusion" in evaluation
            else None,
            "l_i_early": l_i_early(run),
            "eval_mi": (evaluation.get("mutual_information") or {}).get("categorical"),
            "roles": evaluation.get("roles"), "evaluation": evaluation.get("path"),
        })
    return rows


def time_comparison(rows, runs):
    """Mean ms per iteration of InfoGAN runs and of GAN runs (the paper: "about the same")."""
    kind = {r.experiment: r.config.generator_mutual_information for r in runs}
    times = {True: [], False: []}
    for row in rows:
        if row["ms_per_iteration"] is not None:
            times[kind[row["experiment"]]].append(row["ms_per_iteration"])
    if not times[True] or not times[False]:
        return None
    infogan, gan = statistics.fmean(times[True]), statistics.fmean(times[False])
    return {"infogan": infogan, "gan": gan, "ratio": infogan / gan}


def experiment_sections(runs):
    """Per experiment: its resolved config, whether all seeds share it, and its training curves."""
    sections = []
    for name in sorted({r.experiment for r in runs}):
        group = sorted((r for r in runs if r.experiment == name), key=lambda r: r.seed)
        config = group[0].config
        sources = ", ".join(sorted({r.source for r in group}))
        figure = training_curves(group, f"{name}: training curves ({sources} data)")
        sections.append({
            "name": name, "description": config.description,
            "kind": "InfoGAN (G gets the L_I term)" if config.generator_mutual_information
                    else "GAN baseline (Q trained, G gets no L_I term)",
            "config_yaml": group[0].files.config.read_text(),
            "fingerprints": sorted({r.config.fingerprint() for r in group}),
            "seeds": [r.seed for r in group], "curves": data_uri(png_bytes(figure)),
        })
    return sections


def covered_datasets(runs):
    """What the report covers: the title's dataset names (the paper's, in the registry's order)
    and, for each stand-in among the runs' data, what it draws and which dataset it replaces."""
    used = {r.info["data"]["dataset"] for r in runs}
    entries = [entry for entry in REGISTRY.values() if entry.name in used]
    titles = list(dict.fromkeys(entry.title for entry in entries))
    titles += sorted(used - set(REGISTRY))  # data the registry does not know
    stand_ins = [f"{entry.drawing}, not {entry.title}" for entry in entries if not entry.real]
    return {"titles": titles, "stand_ins": stand_ins}


def summary_rows(claims, figures):
    """The report's first table: one row per claim checked and per figure panel, with its data,
    our number beside the paper's, the verdict, and the section it comes from."""
    rows = [{"item": f"Claim: {row.claim}", "data": row.data, "synthetic": "synthetic" in row.data,
             "ours": f"{row.subject}: {row.ours}", "paper": "(the claim)", "verdict": row.status,
             "status": row.status.replace(" ", "-"), "link": "#claims"} for row in claims]
    for figure in figures:
        synthetic, label = figure["data"]["synthetic"], figure["data"]["label"].removeprefix("Data: ")
        for panel in figure["panel_rows"]:
            judged = figure["verdicts"].get(panel["key"])
            unjudged = "not judged (drawn without a factor probe)" if figure["figure"] >= 2 else "shown, not scored"
            rows.append({
                "item": f"Figure {figure['figure']} ({panel['key']})", "data": label, "synthetic": synthetic,
                "ours": panel["ours"], "paper": panel["paper"],
                "verdict": judged["verdict"] if judged else unjudged,
                "status": judged["status"] if judged else "not-checked",
                "link": f"#figure{figure['figure']}"})
        if not figure["panel_rows"]:
            rows.append({"item": f"Figure {figure['figure']}", "data": label, "synthetic": synthetic,
                         "ours": figure["caption"], "paper": figure["paper_text"], "verdict": "shown, not scored",
                         "status": "not-checked", "link": f"#figure{figure['figure']}"})
    return rows


def load_plan(path):
    """The planning table written by `infogan plan`, or None when none was given."""
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InfoganError(f"{path}: cannot read the plan ({exc}); run `infogan plan --out {path}` again") from None


def build_context(figure_sidecars, evaluation_paths, run_paths, paper_claims=PAPER_CLAIMS, cwd=".",
                  benchmark_files=(), plan_file=None):
    """Everything the template shows, as plain data."""
    paper = load_paper_claims(paper_claims)
    runs = [load_run(p) for p in run_paths]
    evaluations = [load_evaluation(p) for p in evaluation_paths]
    figures = [load_figure(p, paper) for p in figure_sidecars]
    rows = run_rows(runs, evaluations)
    synthetic = synthetic_inputs(runs, evaluations, figures)
    claims = claim_checks.check_claims(runs, evaluations, paper["claims"])
    return {
        "paper": paper["paper"],
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "synthetic": synthetic,
        "claims": claims,
        "summary": summary_rows(claims, figures),
        "metrics": summary_metrics(claims, figures, runs, evaluations),
        "covered": covered_datasets(runs),
        "figures": sorted(figures, key=lambda f: f["figure"]),
        "runs": rows,
        "time_comparison": time_comparison(rows, runs),
        "experiments": experiment_sections(runs),
        "git": provenance.git_state(cwd),
        "packages": provenance.package_versions(),
        "lock": provenance.lock_state(cwd),
        "data_files": provenance.data_files(runs, evaluations),
        "checkpoints": provenance.checkpoints(runs),
        "step_times": provenance.step_times(benchmark_files),
        "plan": load_plan(plan_file),
        **paper["panel_verdicts"],
        "merge_share": MERGE_SHARE, "l_i_early": L_I_EARLY, "l_i_window": L_I_WINDOW,
    }


def environment():
    """Jinja2 with autoescaping on for every template, whatever its file name."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_report(figure_sidecars, evaluation_paths, run_paths, out, paper_claims=PAPER_CLAIMS, cwd=".",
                  benchmark_files=(), plan_file=None, summary_out=None):
    """Write the HTML report to `out` atomically, and where asked the summary's numbers to
    `summary_out` (`metrics.summary_metrics`); returns the context they were made from."""
    context = build_context(figure_sidecars, evaluation_paths, run_paths, paper_claims, cwd, benchmark_files,
                            plan_file)
    html = environment().get_template(TEMPLATE).render(**context)
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    if summary_out is not None:
        write_json(summary_out, context["metrics"])
    return context
