#!/usr/bin/env python3
"""Training throughput, side by side: `infogan bench` against the reference loop.

Runs the two alternately (so both see the same machine state), `--repeats` times each,
and prints every run's JSON line, then one summary line with the medians and the ratio.

    python benchmarks/compare_reference.py [--reference ../shared/bench/reference_loop.py]
        [--threads 2] [--iterations 30] [--repeats 3] [--set KEY=VALUE ...]
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
    args = parser.parse_args()
    if not args.reference.is_file():
        sys.exit(f"compare_reference: no reference loop at {args.reference}; pass --reference PATH")
    infogan = shutil.which("infogan") or str(Path(sys.executable).parent / "infogan")
    ours_cmd = [infogan, "bench", args.experiment, "--device", "cpu", "--threads", str(args.threads),
                "--iterations", str(args.iterations)] + [f"--set={s}" for s in args.set]
    reference_cmd = [sys.executable, "-c", WITH_PEAK_RSS, str(args.reference), "--threads", str(args.threads),
                     "--iterations", str(args.iterations)]
    ours, reference = [], []
    for _ in range(args.repeats):
        ours.append(run_json(ours_cmd))
        print(json.dumps(ours[-1]), flush=True)
        reference.append(run_json(reference_cmd))
        print(json.dumps(reference[-1]), flush=True)
    ours_median = statistics.median(r["images_per_second"] for r in ours)
    reference_median = statistics.median(r["images_per_second"] for r in reference)
    print(json.dumps({
        "summary": "median images_per_second",
        "infogan": ours_median,
        "reference_loop": reference_median,
        "speedup": round(ours_median / reference_median, 2),
        "threads": args.threads,
        "repeats": args.repeats,
        "infogan_peak_rss_mb": max(r["peak_rss_mb"] for r in ours),
        "reference_peak_rss_mb": max(r["peak_rss_mb"] for r in reference),
        "settings": args.set,
    }))


if __name__ == "__main__":
    main()
