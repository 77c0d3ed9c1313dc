"""Atomic file writes: an interrupted step never leaves a file that looks finished.

Everything the pipeline produces (HDF5 files, downloads, checkpoints, JSON) is first
written to a temporary file in the destination's directory, flushed to disk, and
then renamed over the destination. A rename within one file system is atomic, so a
reader, or Snakemake and DVC looking at modification times, sees either the old file
or the complete new one.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(destination):
    """Yield a temporary path beside `destination`; rename it into place on success.

    On any exception the temporary file is removed and `destination` is untouched.
    The file gets the permissions a plain `open` would give it (mkstemp's are 0600).
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    os.fchmod(fd, 0o666 & ~_current_umask())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(destination, payload, indent=2):
    """Write `payload` as JSON to `destination` atomically."""
    with atomic_path(destination) as tmp:
        tmp.write_text(json.dumps(payload, indent=indent, sort_keys=False) + "\n")
