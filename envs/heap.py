"""glibc's heap held steady under the batched core.

A step over thousands of books allocates and frees temporaries of a few hundred KB each. glibc serves them from its
heap once its dynamic mmap threshold has risen past them (each freed mmapped block raises it to that block's size,
up to 32 MiB), but it returns the heap's free top to the system whenever that top exceeds the trim threshold (twice
the mmap threshold). Depending on the order of a step's frees, a process can then fault its temporaries back in
every step: the same code runs in a fast or a slow mode from one process to the next, with hundreds of minor page
faults a step in the slow one (``benchmarks/core_vs_revision.py`` prints them per step).

``hold_heap`` pins both thresholds where glibc's own dynamic adjustment tops out (``mallopt``: mmap threshold
32 MiB, trim threshold 64 MiB), so that the slow mode cannot arise: each of the process's heaps (one per arena)
keeps up to 64 MiB of free memory at its top instead of returning it. Once per process, on glibc only, and never
where the user tunes malloc (any ``MALLOC_…`` environment variable, or ``glibc.malloc`` in ``GLIBC_TUNABLES``): their
settings stay in charge.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

# mallopt's parameters (malloc.h) and glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD


@functools.cache
def hold_heap() -> bool:
    """Pin glibc's mmap and trim thresholds (the module's docstring) once per process; whether they are pinned."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name.startswith("MALLOC_") for name in os.environ) or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
