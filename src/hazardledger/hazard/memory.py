"""Large arrays written once, in memory the system maps a small page at a time.

NumPy asks Linux for transparent huge pages for every array over 4 MB. Where the kernel
compacts memory to find a huge page at the first write (its default "defrag" setting for
such arrays) and a virtual machine's host has taken idle memory back, that first write is
slow: 1.6 GB of per-area results took 3.3-3.95 s to write once after 20 s idle on the
2-core benchmark machine, against 0.55 s in small pages, and 0.55 s either way just after
another process freed memory. Huge pages still pay where an array is read again and again
(a thread's counts, the grid positions: the sums were 12 % faster with them), so only
arrays written once and read a few times come from here.
"""

from __future__ import annotations

import contextlib
import mmap

import numpy as np

# below this, NumPy gives small pages anyway (it asks for huge pages from 4 MB)
SMALL_PAGES_FROM = 4 * 2**20


def written_once(shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """An uninitialised array like ``np.empty(shape, dtype)``, in small pages where the
    system can be told so (Linux); elsewhere, or when small, ``np.empty`` itself."""
    kind = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * kind.itemsize
    if nbytes < SMALL_PAGES_FROM or not hasattr(mmap, "MADV_NOHUGEPAGE"):
        return np.empty(shape, dtype)
    # private and anonymous: memory of this process alone, as NumPy's own (a shared
    # anonymous map would be backed by shared memory, counted and reclaimed apart)
    pages = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    with contextlib.suppress(OSError):  # a kernel without huge pages refuses the advice
        pages.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(pages, dtype=kind).reshape(shape)
