"""Keep freed memory inside the process (glibc's malloc), so that each training step reuses
the pages of the last one instead of asking the kernel for new ones.

By default glibc serves large blocks (the weight gradients, the activations) straight from
the kernel and hands them back when freed; the next step's blocks then arrive as fresh pages
that the kernel must fault in and zero, one 4 KiB page at a time: about 20,000 page faults
per `mnist_infogan` step on the CPU, 80 MB zeroed for nothing. Raising glibc's two
thresholds (`mallopt`, the knobs behind its `M_MMAP_THRESHOLD_` and `M_TRIM_THRESHOLD_`
environment variables) keeps those pages. Results are unchanged: only where memory comes
from changes. `speed.keep_freed_memory` switches it; it has no effect on GPU memory or off
glibc.
"""

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGEST_HEAP_BLOCK = 32 * 1024 * 1024  # glibc's ceiling for the mmap threshold on 64-bit systems
KEEP_UP_TO = 1024 * 1024 * 1024  # freed memory kept before any is returned to the kernel


def keep_freed_memory() -> bool:
    """Ask glibc to serve blocks up to 32 MiB from its own heap and to keep up to 1 GiB of
    freed memory; returns whether it could (False without glibc, e.g. macOS or musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST_HEAP_BLOCK)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_UP_TO))
