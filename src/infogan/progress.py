"""Progress bars that suit both a terminal and a log file (Snakemake's `log:`)."""

import sys

from tqdm import tqdm


def progress(iterable=None, **kwargs):
    """tqdm on stderr; in a log file (not a terminal) it updates every 30 s, not every step."""
    interactive = sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.5 if interactive else 30.0)
    kwargs.setdefault("dynamic_ncols", interactive)
    return tqdm(iterable, file=sys.stderr, **kwargs)
