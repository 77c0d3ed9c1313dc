"""Small copies of pipeline figures for docs/, each stamped with the commit and runs that made it.

The README shows Figures 1 and 2 from real MNIST; docs/ holds the only images in git. Each
copy is scaled down and gets a footer line (and PNG text fields) naming the git commit of
the checkout and the run directories its sidecar lists, so an image seen on its own still
says where it came from:

    python workflow/scripts/docs_figures.py paper_figures/figure1.json paper_figures/figure2.json \\
        --out-dir docs --suffix _real_mnist
"""

import argparse
import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw, PngImagePlugin

from infogan.report.provenance import git_state

WIDTH = 900  # pixels of the copy
FOOTER = 22  # pixels of the footer line


def commit() -> str:
    """The checkout's commit, short, and whether it had uncommitted changes (as the report states it)."""
    state = git_state()
    if state["commit"] is None:
        return f"unknown ({state['note']})"
    return state["commit"][:12] + (" (with uncommitted changes)" if state["dirty"] else "")


def runs_of(sidecar) -> str:
    """The figure's runs: experiment and seeds, compactly."""
    seeds = {}
    for entries in sidecar["inputs"].values():
        for entry in entries:
            name = Path(entry["run_dir"]).parent.name
            seeds.setdefault(name, []).append(str(entry["seed"]))
    return "; ".join(f"{name} seeds {','.join(s)}" for name, s in sorted(seeds.items()))


def stamp(sidecar_path: Path, out: Path, made_by: str):
    sidecar = json.loads(sidecar_path.read_text())
    image = Image.open(sidecar_path.parent / sidecar["files"]["png"]).convert("RGB")
    image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
    footer = f"{sidecar['data']['label']}. Made by commit {made_by} from {runs_of(sidecar)}"
    framed = Image.new("RGB", (image.width, image.height + FOOTER), "white")
    framed.paste(image)
    ImageDraw.Draw(framed).text((6, image.height + 5), footer, fill=(60, 60, 60))
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", footer)
    framed.save(out, optimize=True, pnginfo=info)
    return footer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sidecars", type=Path, nargs="+", help="figure JSON sidecars written by `infogan figure`")
    parser.add_argument("--out-dir", type=Path, default=Path("docs"))
    parser.add_argument("--suffix", default="", help="added to each file name, e.g. _real_mnist")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    made_by = commit()
    for sidecar in args.sidecars:
        out = args.out_dir / f"{sidecar.stem}{args.suffix}.png"
        print(f"{out}: {stamp(sidecar, out, made_by)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
