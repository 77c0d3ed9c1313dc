#!/usr/bin/env python3
"""Training throughput, side by side: `infogan bench` against the reference loop.

Runs the reference loop and each variant of ours in turn (so all see the same machine
state), `--repeats` rounds, prints every run's JSON line, then one summary line per variant
with the medians and the speedup over the reference. A variant is the defaults plus
`--set` overrides, e.g. `--variant "no stacking=speed.stacked_batches=false"`: how the
gain of each speed switch is measured (docs/speed.md).

    python benchmarks/compare_reference.py [--reference ../shared/bench/reference_loop.py]
        [--threads 2] [--iterations 30] [--repeats 3] [--set KEY=VALUE ...]
        [--variant "LABEL=KEY=VALUE[,KEY=VALUE...]" ...]
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# Runs the reference script unchanged, then adds its peak memory (it reports none itself).
WITH_PEAK_RSS = """
import json, resource, runpy, sys
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
print(json.dumps({"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def run_json(command):
    """Run `command`; merge the JSON objects it prints, one per line."""
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    merged = {}
    for line in output.strip().splitlines():
        if line.startswith("{"):
            merged.update(json.loads(line))
    return merged


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "bench" / "reference_loop.py")
    parser.add_argument("--experiment", default="mnist_infogan")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed to infogan bench")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=KEY=VALUE[,KEY=VALUE...]",
                        help="also run the defaults with these overrides (repeatable)")
    args = parser.parse_args()
    if not args.reference.is_file():
        sys.exit(f"compare_reference: no reference loop at {args.reference}; pass --reference PATH")
    infogan = shutil.which("infogan") or str(Path(sys.executable).parent / "infogan")
    variants = {"defaults": []}
    for spec in args.variant:
        label, sep, settings = spec.partition("=")
        if not sep or not settings:
            sys.exit(f"compare_reference: --variant {spec!r}: expected LABEL=KEY=VALUE[,KEY=VALUE...]")
        variants[label] = settings.split(",")
    reference_cmd = [sys.executable, "-c", WITH_PEAK_RSS, str(args.reference), "--threads", str(args.threads),
                     "--iterations", str(args.iterations)]
    runs = {"reference_loop": [], **{label: [] for label in variants}}
    for _ in range(args.repeats):
        for label, settings in variants.items():
            command = [infogan, "bench", args.experiment, "--device", "cpu", "--threads", str(args.threads),
                       "--iterations", str(args.iterations)] + [f"--set={s}" for s in args.set + settings]
            runs[label].append({"variant": label, **run_json(command)})
            print(json.dumps(runs[label][-1]), flush=True)
        runs["reference_loop"].append(run_json(reference_cmd))
        print(json.dumps(runs["reference_loop"][-1]), flush=True)
    reference_median = statistics.median(r["images_per_second"] for r in runs["reference_loop"])
    for label, settings in variants.items():
        median = statistics.median(r["images_per_second"] for r in runs[label])
        print(json.dumps({
            "summary": "median images_per_second",
            "variant": label,
            "settings": args.set + settings,
            "infogan": median,
            "reference_loop": reference_median,
            "speedup": round(median / reference_median, 2),
            "efficiency": statistics.median(r["efficiency"] for r in runs[label]),
            "threads": args.threads,
            "repeats": args.repeats,
            "infogan_peak_rss_mb": max(r["peak_rss_mb"] for r in runs[label]),
            "reference_peak_rss_mb": max(r["peak_rss_mb"] for r in runs["reference_loop"]),
            "cpu_features": runs[label][0]["cpu_features"],
        }))

if __name__ == "__main__":
    main()
