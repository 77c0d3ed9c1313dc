"""One GPU per training job on a machine with several: a lock-file slot per visible device.

Why: Snakemake counts GPUs (`--resources gpu=4` lets four training jobs run at once) but
does not tell a job which GPU is its own; it sets no CUDA_VISIBLE_DEVICES. Without this
module, four concurrent `infogan train` jobs would all open device 0.

How: before CUDA is initialised in the process, `claim_gpu` lists the visible devices,
takes the first one whose lock file `<lock dir>/gpu<ID>.lock` it can lock (`fcntl.flock`,
exclusive, non-blocking), and narrows CUDA_VISIBLE_DEVICES to that one device for the rest
of the process, so that the job's `cuda` is that GPU. If every slot is taken it says so and
polls until one frees. The lock is held through an open file descriptor until the process
ends: the kernel drops flock locks when their last descriptor closes, which happens when
the process exits for any reason, SIGKILL and an out-of-memory kill included, so a killed
job never leaves a GPU claimed. (A child made with a bare fork shares the descriptor and
keeps the slot until it exits too; a program it execs does not inherit it.) Nothing
needs cleaning: a lock file left in the directory is free once no process holds it.

Which devices are visible:
- CUDA_VISIBLE_DEVICES, when set, as given: indices ("2,3") or UUIDs ("GPU-…", "MIG-…")
  from a scheduler or a user are kept as they are, and the job's narrowed value is one of
  them. Jobs sharing GPUs must name them the same way (all indices or all UUIDs); jobs
  started by one Snakemake inherit one environment, so they do. Set but empty: no GPU.
- Otherwise INFOGAN_GPU_COUNT=N (or the `count` argument): pretend there are N devices,
  0..N-1. For tests, and for machines without nvidia-smi.
- Otherwise the number of "GPU n:" lines of `nvidia-smi -L`, run as a separate process so
  that it cannot initialise CUDA in this one. Not `torch.cuda.device_count()`: in torch
  2.14 it asks NVML first, but where NVML fails it falls back to cudaGetDeviceCount, which
  initialises the driver. Without nvidia-smi the count is unknown and nothing is done.

Why before CUDA: the driver reads CUDA_VISIBLE_DEVICES once, when it initialises (cuInit),
and ignores later changes. `torch.cuda.is_available()` initialises it (its default check is
cudaGetDeviceCount, unless PYTORCH_NVML_BASED_CUDA_CHECK=1), so it must not run before the
claim; importing torch is harmless. `claim_for` therefore decides whether a job will use
CUDA from the request and from whether torch was built with CUDA, never by asking CUDA.

The lock directory is INFOGAN_GPU_LOCK_DIR, else `infogan-gpu-slots-<uid>` in the system
temporary directory (`tempfile.gettempdir()`: TMPDIR, else /tmp), one per user. It must be
on a local filesystem of the machine whose GPUs it guards: on a shared filesystem (NFS)
jobs of other machines would contend for the same slots, and flock there is emulated with
different semantics. Jobs of different users, or with different lock directories, do not
see each other's slots.

With one visible device, none, or a CPU job, nothing is done: there is nothing to share out.
"""

import fcntl
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infogan.errors import InfoganError

COUNT_VARIABLE = "INFOGAN_GPU_COUNT"
LOCK_DIR_VARIABLE = "INFOGAN_GPU_LOCK_DIR"
VISIBLE_VARIABLE = "CUDA_VISIBLE_DEVICES"

log = logging.getLogger(__name__)

# Open descriptors of the slots this process holds: closing one would free its GPU.
_held: dict[str, int] = {}


def visible_devices(environ=None, count=None) -> list[str] | None:
    """The devices a CUDA program started with `environ` would see, as CUDA_VISIBLE_DEVICES
    entries; None when they cannot be counted without initialising CUDA here."""
    environ = os.environ if environ is None else environ
    listed = environ.get(VISIBLE_VARIABLE)
    if listed is not None:
        devices = []
        for entry in (part.strip() for part in listed.split(",")):
            if entry and entry not in devices:
                devices.append(entry)
        return devices
    if count is None and environ.get(COUNT_VARIABLE, "").strip():
        text = environ[COUNT_VARIABLE].strip()
        if not text.isdigit():
            raise InfoganError(f"{COUNT_VARIABLE}={text!r}: expected a number of GPUs, e.g. {COUNT_VARIABLE}=2")
        count = int(text)
    if count is None:
        count = _nvidia_smi_count()
    return None if count is None else [str(index) for index in range(count)]


def _nvidia_smi_count() -> int | None:
    """GPUs listed by `nvidia-smi -L` (MIG instances, listed indented under their GPU, are not
    counted); None without nvidia-smi or when it fails."""
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if listing.returncode != 0:
        return None
    return sum(1 for line in listing.stdout.splitlines() if re.match(r"GPU \d+:", line))


def default_lock_dir(environ=None) -> Path:
    """INFOGAN_GPU_LOCK_DIR, else a per-user folder in the system temporary directory."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(LOCK_DIR_VARIABLE, "").strip()
    return Path(chosen) if chosen else Path(tempfile.gettempdir()) / f"infogan-gpu-slots-{os.getuid()}"


def lock_path(lock_dir: Path, device: str) -> Path:
    """`gpu<ID>.lock`; characters a file name should not hold (a MIG UUID's '/') become '_'."""
    return Path(lock_dir) / f"gpu{re.sub(r'[^A-Za-z0-9._-]', '_', device)}.lock"


def _try_lock(path: Path) -> int | None:
    """An open descriptor holding `path` locked, or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    # Who holds it, for the message of a job that waits; advisory only, the lock is the flock.
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _holders(paths) -> str:
    pids = []
    for path in paths:
        try:
            pids.append(Path(path).read_text().strip() or "?")
        except OSError:
            pids.append("?")
    return ", ".join(pids)


def claim_gpu(environ=None, count=None, lock_dir=None, poll_seconds=5.0, wait_seconds=None) -> str | None:
    """Take a free GPU and narrow `environ`'s CUDA_VISIBLE_DEVICES to it; returns its entry,
    or None when there was nothing to choose from (one device, none, or uncountable).

    `environ` (default os.environ, which is what CUDA reads) is changed in place. With every
    slot taken, polls every `poll_seconds`; after `wait_seconds` (default: no limit) raises
    InfoganError. Call it before anything initialises CUDA in this process (module docstring).
    """
    environ = os.environ if environ is None else environ
    torch = sys.modules.get("torch")  # only if imported already: this module does not need it
    if torch is not None and torch.cuda.is_initialized():
        raise RuntimeError("claim_gpu was called after CUDA was initialised; CUDA_VISIBLE_DEVICES would be ignored")
    devices = visible_devices(environ, count)
    if not devices or len(devices) < 2:
        return None
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir(environ)
    try:
        lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InfoganError(f"GPU slots: cannot create the lock folder {lock_dir} ({exc.strerror}); "
                           f"set {LOCK_DIR_VARIABLE} to a writable folder on this machine's local disk") from exc
    paths = {device: lock_path(lock_dir, device) for device in devices}
    started = time.monotonic()
    waiting = False
    while True:
        for device, path in paths.items():
            try:
                fd = _try_lock(path)
            except OSError as exc:
                raise InfoganError(f"GPU slots: cannot lock {path} ({exc.strerror}); set {LOCK_DIR_VARIABLE} to a "
                                   "writable folder on this machine's local disk") from exc
            if fd is not None:
                _held[device] = fd
                environ[VISIBLE_VARIABLE] = device
                log.info("took GPU %s of %s (%s=%s; slot %s)", device, ",".join(devices), VISIBLE_VARIABLE, device,
                         path)
                return device
        waited = time.monotonic() - started
        if wait_seconds is not None and waited >= wait_seconds:
            raise InfoganError(f"GPU slots: all {len(devices)} GPUs ({','.join(devices)}) stayed taken for "
                               f"{waited:.0f} s (held by processes {_holders(paths.values())}; lock files in "
                               f"{lock_dir})")
        if not waiting:
            log.info("all %d GPUs (%s) are taken by other jobs (processes %s; lock files in %s); waiting for one "
                     "to free. If no other job should hold one, more jobs were started than there are GPUs: give "
                     "Snakemake --resources gpu=N with N at most %d", len(devices), ",".join(devices),
                     _holders(paths.values()), lock_dir, len(devices))
            waiting = True
        time.sleep(poll_seconds)


def claim_for(requested_device: str, environ=None, **options) -> str | None:
    """`claim_gpu` for a job run with `--device requested_device`, if it will use CUDA: always
    for "cuda", for "auto" when torch was built with CUDA (whether a GPU is there is then for
    the device count to tell: asking torch.cuda.is_available() would initialise CUDA)."""
    if requested_device == "cpu":
        return None
    if requested_device == "auto":
        import torch

        if torch.version.cuda is None:
            return None
    return claim_gpu(environ, **options)


def release():
    """Give back the slots this process holds (they go anyway when it exits)."""
    while _held:
        _, fd = _held.popitem()
        os.close(fd)
