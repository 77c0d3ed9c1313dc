"""Atomic file writes: an interrupted step never leaves a file that looks finished.

Everything the pipeline produces (HDF5 files, downloads, checkpoints, JSON) is first
written to a temporary file in the destination's directory, flushed to disk, and
then renamed over the destination. A rename within one file system is atomic, so a
reader, or Snakemake and DVC looking at modification times, sees either the old file
or the complete new one. A disk that refuses the write (full, read-only, not ours) is
reported as one line naming the file and the fix (`WriteError`), the destination untouched.
"""

import contextlib
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from infogan.errors import WriteError

# Why a disk refuses a write, by errno.
REFUSALS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
NEARLY_FULL_BYTES = 1024 * 1024  # below this much free space, a failed write is put down to a full disk


def refused_write(path, exc) -> WriteError | None:
    """`exc`, raised while writing `path`, as the disk's refusal in one line naming the file
    and the fix; None where it is not one. Writers that give no errno (torch.save says only
    that its zip writer failed) are judged by the free space left."""
    path = Path(path) if path is not None else None
    reason = REFUSALS.get(getattr(exc, "errno", None))
    if reason is None and path is not None and isinstance(exc, (OSError, RuntimeError)):
        with contextlib.suppress(OSError):
            if shutil.disk_usage(_existing_folder(path)).free < NEARLY_FULL_BYTES:
                reason = REFUSALS[errno.ENOSPC]
    if reason is None:
        return None
    where = f"{path}: " if path is not None else ""
    fix = ("free some space or write elsewhere" if "space" in reason or "quota" in reason
           else "write elsewhere or change the folder's permissions")
    return WriteError(f"{where}cannot write: {reason}; {fix}")


def _existing_folder(path: Path) -> Path:
    """The nearest folder of `path` that exists (a destination's folder may not yet)."""
    for folder in (path, *path.parents):
        if folder.is_dir():
            return folder
    return Path.cwd()


@contextlib.contextmanager
def atomic_path(destination):
    """Yield a temporary path beside `destination`; rename it into place on success.

    On any exception the temporary file is removed and `destination` is untouched.
    The file gets the permissions a plain `open` would give it (mkstemp's are 0600).
    """
    destination = Path(destination)
    if destination.is_dir():
        raise WriteError(f"{destination}: is a folder, not a file; give a file's name (e.g. {destination / 'out'})")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    except OSError as exc:
        raise refused_write(destination, exc) or exc from None
    os.fchmod(fd, 0o666 & ~_current_umask())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, destination)
    except (OSError, RuntimeError) as exc:
        refusal = refused_write(destination, exc)
        if refusal is None:
            raise
        raise refusal from None
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
