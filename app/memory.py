"""How the server gives memory back: glibc's malloc tuned for large, short-lived numpy arrays.

A trace of T = 500, H = 256 allocates some hundred MB of arrays that live for one request.
glibc serves large blocks with mmap and returns them on free, but after each such free it
raises its mmap threshold (up to 32 MiB), so the next large arrays come from the heap
arenas, which rarely shrink; with one arena per thread (dozens under load) the resident
size creeps up for as long as the server runs.  A fixed threshold keeps every array over
1 MiB in its own mapping, returned to the system when freed, and two arenas bound what the
many worker threads keep.  (benchmarks/soak.py measures the effect; other C libraries are
left alone.)
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 1 << 20
ARENA_MAX = 2


def tune_malloc() -> bool:
    """Apply the settings above; False where the C library is not glibc (nothing changed)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return False
    if libc is None or not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(libc.mallopt(M_ARENA_MAX, ARENA_MAX))
