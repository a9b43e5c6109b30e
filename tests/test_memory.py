"""Arrays written once come in small pages, and behave as NumPy's own."""

from __future__ import annotations

import mmap
import pickle

import numpy as np
import pytest

from hazardledger.hazard.memory import SMALL_PAGES_FROM, written_once


@pytest.mark.parametrize("shape", [(0, 5), (3, 4), (64, 100_001)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_written_once_is_an_empty_array_of_its_shape(shape: tuple[int, int],
                                                     dtype: type) -> None:
    array = written_once(shape, dtype)
    assert array.shape == shape and array.dtype == dtype and array.flags.writeable
    assert array.flags.c_contiguous
    array[...] = np.arange(array.size, dtype=dtype).reshape(shape)
    assert np.array_equal(pickle.loads(pickle.dumps(array)), array)
    big = array.nbytes >= SMALL_PAGES_FROM and hasattr(mmap, "MADV_NOHUGEPAGE")
    # the map is held by the array (and by views of it) for as long as they live
    owners = [array.base]
    while isinstance(owners[-1], np.ndarray):
        owners.append(owners[-1].base)
    owner = owners[-1].obj if isinstance(owners[-1], memoryview) else owners[-1]
    assert isinstance(owner, mmap.mmap) if big else owner is None
    view = array[1:]
    del array
    view[...] = 2
    assert view.size == 0 or float(view.max()) == 2.0


def _vm_flags(address: int) -> list[str]:
    """The kernel's flags of the mapping holding ``address`` (Linux /proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            first = line.split()[0]
            if "-" in first and not first.endswith(":"):
                low, high = (int(x, 16) for x in first.split("-"))
                inside = low <= address < high
            elif inside and first == "VmFlags:":
                return line.split()[1:]
    raise AssertionError("no mapping holds the address")


@pytest.mark.skipif(not hasattr(mmap, "MADV_NOHUGEPAGE"), reason="Linux only")
def test_written_once_asks_for_small_pages() -> None:
    array = written_once((64, 100_001))
    assert "nh" in _vm_flags(array.ctypes.data)  # no huge pages: the kernel was told
    assert "nh" not in _vm_flags(np.empty((64, 100_001)).ctypes.data)
