"""When does c1 settle on (or away from) the digits? c1's accuracy at each kept checkpoint.

`infogan train` rewrites run_dir/checkpoint.pt every `checkpoint_every` iterations; keep
the old ones (e.g. hard links taken while it trains: the file is replaced by rename, so a
link keeps the previous one intact), then score each on the test split exactly as
`infogan evaluate` does (Q's categorical reading, categories matched one to one to digits):

    python workflow/scripts/accuracy_over_training.py --data data/processed/mnist.h5 \\
        --out docs/mnist_accuracy_over_training.json --plot docs/mnist_accuracy_over_training.png \\
        snapshots/*.pt

Writes one JSON row per checkpoint (experiment, seed, iteration, accuracy, labels sharing a
category) and, with --plot, accuracy against iteration, one line per experiment and seed
(so give one setting's checkpoints per call: `--set` variants share their experiment's name).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from infogan import checkpoint  # noqa: E402
from infogan.data.hdf5 import read_info, read_split  # noqa: E402
from infogan.errors import InfoganError  # noqa: E402
from infogan.evaluate import match_categories, predict_codes  # noqa: E402
from infogan.report.seeds import merged_labels  # noqa: E402
from infogan import rundir  # noqa: E402


def score(checkpoint_path, test) -> dict:
    """c1's matched accuracy on `test` for the networks saved in `checkpoint_path`."""
    with tempfile.TemporaryDirectory() as run_dir:  # load_trained reads RUN_DIR/final.pt
        rundir.files(run_dir).final.symlink_to(Path(checkpoint_path).resolve())
        config, _, discriminator, payload = checkpoint.load_trained(run_dir)
    logits = config.latent.split_q_output(predict_codes(discriminator, config, test.images, "cpu"))[0]
    accuracy, _, confusion = match_categories(logits[0].argmax(dim=1).numpy(), test.labels, config.latent.categorical[0])
    return {"experiment": payload["experiment"], "seed": payload["seed"], "iteration": payload["iteration"],
            "accuracy": accuracy, "merged": merged_labels(confusion), "checkpoint": str(checkpoint_path)}


def plot(rows, path):
    figure, axes = plt.subplots(figsize=(6, 3.5), layout="constrained")
    for key in sorted({(r["experiment"], r["seed"]) for r in rows}):
        points = sorted((r["iteration"], r["accuracy"]) for r in rows if (r["experiment"], r["seed"]) == key)
        axes.plot(*zip(*points), marker="o", label=f"{key[0]} seed {key[1]}")
    axes.axhline(0.95, color="grey", linestyle="--", label="the paper: 95%")
    axes.set(xlabel="iteration", ylabel="c1 accuracy (matched)", ylim=(0, 1),
             title="c1 as a digit classifier during training (real MNIST test set)")
    axes.legend(fontsize=7)
    figure.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, required=True, help="the dataset's HDF5 file (its test split is used)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--plot", type=Path, help="PNG of accuracy against iteration")
    args = parser.parse_args(argv)
    try:
        source = read_info(args.data).source
        test = read_split(args.data, "test")
        rows = sorted((score(path, test) for path in args.checkpoints),
                      key=lambda r: (r["experiment"], r["seed"], r["iteration"]))
    except InfoganError as exc:
        print(f"accuracy_over_training: error: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"data": str(args.data), "source": source, "rows": rows}, indent=1))
    for row in rows:
        print(f"{row['experiment']} seed {row['seed']} iteration {row['iteration']:>5}: {100 * row['accuracy']:.1f}% "
              f"merged {row['merged'] or 'none'}")
    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
