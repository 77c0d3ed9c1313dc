"""The `infogan` command: thin argument parsing around the package's steps.

Every failure a user can fix ends the command with exit status 1 and one line on
stderr naming the file or key at fault; nothing half-written is left behind.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from infogan import __version__, gpu_slots
from infogan.atomic import refused_write
from infogan.data import REGISTRY
from infogan.errors import ConfigError, InfoganError, Stopped


def positive_int(text) -> int:
    """An argparse type for counts: a whole number of at least 1 (argparse names the option)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _given(args, *keys) -> dict:
    """The options among `keys` given on the command line; the others keep the defaults of the
    function called, which owns them (e.g. infogan.train.LOG_EVERY)."""
    return {key: getattr(args, key) for key in keys if getattr(args, key) is not None}


def _overrides(pairs):
    """`--set a.b=value` pairs to a nested dict; values are parsed as YAML (numbers, booleans)."""
    from infogan.config import parse_yaml  # loads torch: not for every command

    result = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set speed.bf16_autocast=false")
        *parents, leaf = key.split(".")
        node = result
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = parse_yaml(value)
    return result


def _experiment(args, extra=None):
    from infogan.config import load_experiment

    overrides = _overrides(args.set)
    overrides.update(extra or {})
    return load_experiment(args.experiment, args.config, overrides)


def cmd_prepare(args):
    from infogan.data import dataset, preparer

    raw_dir = args.raw_dir or Path("data/raw") / args.dataset
    entry = dataset(args.dataset)
    sizes = {split: n for split, n in (("train", args.train_images), ("test", args.test_images)) if n is not None}
    refused = [split for split in sizes if split not in entry.sized_splits]
    if refused:
        why = ("has a fixed size (only the synthetic stand-ins are generated to order)" if entry.real
               else "has no test split")
        raise InfoganError(f"{' and '.join(f'--{split}-images' for split in refused)}: dataset {args.dataset!r} {why}")
    preparer(args.dataset)(args.out, raw_dir, **{f"n_{split}": n for split, n in sizes.items()})
    logging.info("wrote %s", args.out)


def cmd_train(args):
    from infogan.train import train

    config = _experiment(args, {"iterations": args.iterations} if args.iterations else None)
    # Several GPUs here: take one that no other job holds, before anything initialises CUDA
    # (after the config is checked, so that a bad config fails at once rather than queueing).
    gpu_slots.claim_for(args.device)
    final = train(config, args.data, args.out, seed=args.seed, device=args.device,
                  **_given(args, "checkpoint_every", "log_every"))
    logging.info("wrote %s", final)


def cmd_evaluate(args):
    from infogan.evaluate import evaluate

    result = evaluate(args.run_dir, args.data, args.out, device=args.device, **_given(args, "samples", "draws"))
    summary = {k: result[k] for k in ("experiment", "seed", "categorical_accuracy") if k in result}
    logging.info("wrote %s: %s", args.out, json.dumps(summary))


def cmd_figure(args):
    from infogan import figures

    if args.number in (1, 2) and (not args.infogan_runs or not args.gan_runs):
        raise InfoganError(f"figure {args.number} needs --infogan-runs and --gan-runs")
    if args.number == 1:
        sidecar = figures.figure1(args.infogan_runs, args.gan_runs, args.out_dir, figures_file=args.figures_file)
    elif args.number in figures.CODE_FIGURES:
        if not args.runs or not args.evaluations:
            raise InfoganError(f"figure {args.number} needs --runs and --evaluations (from `infogan evaluate`)")
        sidecar = figures.code_figure(args.number, args.runs, args.evaluations, args.out_dir, args.figures_file,
                                      probe=args.probe, probe_rows=args.probe_rows)
    else:
        if not args.infogan_evaluations or not args.gan_evaluations:
            raise InfoganError("figure 2 needs --infogan-evaluations and --gan-evaluations (from `infogan evaluate`)")
        sidecar = figures.figure2(args.infogan_runs, args.infogan_evaluations, args.gan_runs, args.gan_evaluations,
                                  args.out_dir, figures_file=args.figures_file, probe=args.probe,
                                  probe_rows=args.probe_rows)
    logging.info("wrote figure %d to %s (%s)", args.number, args.out_dir, sidecar["data"]["label"])


def cmd_report(args):
    from infogan.report import render_report

    context = render_report(args.figures, args.evaluations, args.runs, args.out,
                            benchmark_files=args.benchmarks or (), plan_file=args.plan, summary_out=args.summary)
    logging.info("wrote %s%s", args.out, " (SYNTHETIC inputs: banner shown)" if context["synthetic"] else "")


def cmd_probe(args):
    from infogan.probes import train_probe
    from infogan.train import resolve_device

    record = train_probe(args.data, args.out, device=resolve_device(args.device), **_given(args, "steps"))
    quality = ", ".join(f"{name} {value:.3f}" for name, value in record["quality"].items())
    logging.info("wrote %s; held-out quality (label: accuracy, factors: Spearman rho): %s", args.out, quality)


def cmd_seeds(args):
    from infogan.rundir import load_evaluation, load_run
    from infogan.report import seeds
    from infogan.report.render import load_paper_claims

    rows = seeds.seed_rows([load_run(p) for p in args.runs], [load_evaluation(p) for p in args.evaluations])
    if not rows:
        raise InfoganError("none of the runs has an evaluation with a categorical accuracy; pass their "
                           "evaluation JSONs with --evaluations")
    print(seeds.markdown(rows, load_paper_claims()["claims"]["categorical_accuracy"]["target"]))


def cmd_plan(args):
    from infogan import planning
    from infogan.atomic import atomic_path
    from infogan.rundir import load_run

    jobs = planning.pipeline_jobs(args.pipeline_config, args.experiments)
    rates = planning.measured_rates([load_run(path) for path in args.runs or ()])
    if args.gpu_check:
        rates.update(planning.gpu_check_rates(args.gpu_check))
    assumed = planning.gpu_assumptions(args.pipeline_config, args.gpu_tflops, args.gpu_overhead_ms)
    result = planning.plan(jobs, rates, *assumed)
    result["pipeline_config"] = str(args.pipeline_config)
    print(planning.format_plan(result))
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
        logging.info("wrote %s", args.out)


def cmd_bench(args):
    from infogan.bench import benchmark

    extra = {"batch_size": args.batch_size} if args.batch_size else None
    result = benchmark(_experiment(args, extra), iterations=args.iterations, warmup=args.warmup,
                       device=args.device, threads=args.threads)
    print(json.dumps(result))


def build_parser():
    parser = argparse.ArgumentParser(prog="infogan", description="Reproduce InfoGAN (Chen et al., NIPS 2016).")
    parser.add_argument("--version", action="version", version=f"infogan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def experiment_args(p):
        p.add_argument("experiment", metavar="EXPERIMENT", help="experiment name in the config file, e.g. mnist_infogan")
        p.add_argument("--config", type=Path, help="experiments YAML (default: the package's configs/experiments.yaml)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a config key, e.g. --set speed.bf16_autocast=false (repeatable)")

    p = sub.add_parser("prepare", help="download or synthesize a dataset and write it as HDF5")
    p.add_argument("dataset", metavar="DATASET",
                   help="one of: " + ", ".join(f"{d.name} ({d.display_name})" for d in REGISTRY.values()))
    p.add_argument("--out", type=Path, required=True, help="HDF5 file to write")
    p.add_argument("--raw-dir", type=Path, help="where raw downloads live (default: data/raw/DATASET)")
    p.add_argument("--train-images", type=positive_int, metavar="N", help="synthetic stand-ins: images in the train split")
    p.add_argument("--test-images", type=positive_int, metavar="N", help="synthetic stand-ins: images in the test split")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train", help="train one experiment with one seed; resumes from RUN_DIR/checkpoint.pt")
    experiment_args(p)
    p.add_argument("--data", type=Path, required=True, help="HDF5 dataset file")
    p.add_argument("--out", type=Path, required=True, help="run directory (final.pt appears there at the end)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--iterations", type=positive_int, help="override the experiment's number of iterations")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="iterations between resumable checkpoints (default: infogan.train.CHECKPOINT_EVERY, 500)")
    p.add_argument("--log-every", type=positive_int,
                   help="iterations between metrics log lines (default: infogan.train.LOG_EVERY, 10)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a finished run on a dataset's test split; writes JSON")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--data", type=Path, required=True, help="HDF5 dataset file (its test split is used)")
    p.add_argument("--out", type=Path, required=True, help="JSON file to write")
    p.add_argument("--samples", type=positive_int,
                   help="generated images for the L_I estimate (default: infogan.evaluate.SAMPLES, 10,000)")
    p.add_argument("--draws", type=positive_int,
                   help="noise draws per value when sweeping a continuous code (default: infogan.evaluate.DRAWS, 500)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("figure", help="draw a figure of the paper (1-6) from run directories and evaluations",
                       description="Writes figureN.png, figureN.pdf and figureN.json (its inputs and data "
                                   "source) into --out-dir. A RUN_DIR may also be given as a file in it (e.g. its "
                                   "final.pt); evaluations are matched to runs by experiment and seed.")
    p.add_argument("number", type=int, choices=range(1, 7), metavar="N",
                   help="1: L_I curves; 2: MNIST code grids; 3-6: Faces, Chairs, SVHN, CelebA code grids")
    p.add_argument("--infogan-runs", type=Path, nargs="+", metavar="RUN_DIR",
                   help="figures 1-2: InfoGAN run directories (several seeds: figure 1 draws their mean and band)")
    p.add_argument("--gan-runs", type=Path, nargs="+", metavar="RUN_DIR", help="figures 1-2: GAN baseline runs")
    p.add_argument("--infogan-evaluations", type=Path, nargs="+", metavar="JSON",
                   help="figure 2: evaluation JSON of each InfoGAN run")
    p.add_argument("--gan-evaluations", type=Path, nargs="+", metavar="JSON",
                   help="figure 2: evaluation JSON of each GAN run")
    p.add_argument("--runs", type=Path, nargs="+", metavar="RUN_DIR",
                   help="figures 3-6: run directories of the experiments the figure's panels name (all seeds)")
    p.add_argument("--evaluations", type=Path, nargs="+", metavar="JSON", help="figures 3-6: their evaluations")
    p.add_argument("--figures-file", type=Path, default=None,
                   help="what each figure shows: grid rows and seed, Figure 1's iterations, the panels of "
                        "Figures 2-6 (default: the package's configs/figures.yaml)")
    p.add_argument("--probe", type=Path, metavar="PROBE",
                   help="figures 2-6: the data's factor probe (`infogan probe`), to score each panel on its "
                        "generated images")
    p.add_argument("--probe-rows", type=positive_int, metavar="N",
                   help="figures 2-6: rows of each panel's sweep the probe scores (default: the figures file's "
                        "probe_rows)")
    p.add_argument("--out-dir", type=Path, default=Path("paper_figures"), help="default: paper_figures")
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser("report", help="render the self-contained HTML report")
    p.add_argument("--figures", type=Path, nargs="+", required=True, metavar="JSON",
                   help="figure sidecars written by `infogan figure` (their PNGs are embedded)")
    p.add_argument("--evaluations", type=Path, nargs="+", required=True, metavar="JSON",
                   help="evaluation JSONs written by `infogan evaluate`")
    p.add_argument("--runs", type=Path, nargs="+", required=True, metavar="RUN_DIR",
                   help="run directories (or a file in each, e.g. its final.pt)")
    p.add_argument("--benchmarks", type=Path, nargs="*", metavar="TSV",
                   help="Snakemake benchmark files of the pipeline's jobs: wall time and memory per step")
    p.add_argument("--plan", type=Path, metavar="JSON",
                   help="the paper's cost written by `infogan plan --out` (its table goes into the report)")
    p.add_argument("--out", type=Path, default=Path("results/report/index.html"),
                   help="HTML file to write (default: results/report/index.html)")
    p.add_argument("--summary", type=Path, metavar="JSON",
                   help="also write the summary's numbers as flat JSON (for `dvc metrics`), e.g. results/summary.json")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("seeds", help="per-seed table of categorical accuracy, merged labels, L_I and wall time "
                                     "(Markdown, as in the README)")
    p.add_argument("--runs", type=Path, nargs="+", required=True, metavar="RUN_DIR",
                   help="run directories (or a file in each, e.g. its final.pt)")
    p.add_argument("--evaluations", type=Path, nargs="+", required=True, metavar="JSON",
                   help="their evaluation JSONs written by `infogan evaluate`")
    p.set_defaults(func=cmd_seeds)

    p = sub.add_parser("probe", help="train a factor probe on a dataset's labelled images (for judging figures)",
                       description="A small supervised network that reads the dataset's class label and "
                                   "factors from images, measured on held-out images; the figures apply it to "
                                   "generated sweeps (src/infogan/probes.py).")
    p.add_argument("data", type=Path, metavar="DATA", help="HDF5 dataset file with labels or factors")
    p.add_argument("--out", type=Path, required=True, help="probe file to write (its record goes beside it as .json)")
    p.add_argument("--steps", type=positive_int, default=None, help="training steps (default: infogan.probes.STEPS)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("plan", help="the cost of a pipeline config's runs in CPU- and GPU-hours")
    p.add_argument("--pipeline-config", type=Path, default=Path("config/pipeline.yaml"),
                   help="whose runs to cost (default: config/pipeline.yaml, the whole paper)")
    p.add_argument("--experiments", type=Path, default=None,
                   help="experiments YAML (default: the pipeline config's experiments_file)")
    p.add_argument("--runs", type=Path, nargs="*", metavar="RUN_DIR",
                   help="finished runs whose training speed to measure (run directories or their final.pt)")
    p.add_argument("--gpu-tflops", type=float,
                   help="assumed sustained GPU rate where no run trained on a GPU "
                        "(default: the pipeline config's planning.gpu_tflops)")
    p.add_argument("--gpu-overhead-ms", type=float,
                   help="assumed fixed GPU cost per iteration (default: the pipeline config's "
                        "planning.gpu_overhead_ms)")
    p.add_argument("--gpu-check", type=Path, metavar="JSON",
                   help="benchmarks/gpu_check.py's output: measured GPU rates in place of the assumptions")
    p.add_argument("--out", type=Path, help="also write the plan as JSON here")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("bench", help="time the training step; prints one JSON line")
    experiment_args(p)
    p.add_argument("--iterations", type=int, default=30, help="timed iterations")
    p.add_argument("--warmup", type=int, default=5, help="untimed iterations first")
    p.add_argument("--batch-size", type=int, help="override the experiment's batch size")
    p.add_argument("--threads", type=int, default=2, help="torch threads (0: torch's default)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="infogan: %(message)s", stream=sys.stderr)
    try:
        args.func(args)
    except InfoganError as exc:
        print(f"infogan {args.command}: error: {exc}", file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Stopped) else 1
    except OSError as exc:  # a write outside atomic_path (a folder, a lock, a log line) the disk refused
        refusal = refused_write(exc.filename, exc)
        if refusal is None:
            raise
        print(f"infogan {args.command}: error: {refusal}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"infogan {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
