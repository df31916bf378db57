"""Keeping freed memory for the next training step, on Linux (rnnlib.train does this when a run starts).

Every step of training makes the same large arrays again: the cache of the forward pass, the gradients,
the gradients at the gates. NumPy asks the C library's malloc for them and frees them when the step is
over. glibc, the C library of most Linux systems, gives a freed block of more than 128 KiB straight back
to the operating system (and trims the top of its heap when much of it is free), so the next step's
arrays get fresh pages, and the first write to each page stops the program in the kernel, which hands
over a zeroed page: a page fault. A step of lesson 10's GRU takes about 3,500 of them, and they cost
about a tenth of the step (tools/benchmark.py measures both).

mallopt lets glibc keep those blocks: blocks up to 32 MiB come from the heap (M_MMAP_THRESHOLD), and
the heap is trimmed only when more than 1 GiB of it is free (M_TRIM_THRESHOLD). The process then holds
on to the memory of its largest step, which it needs again at the next step anyway. The numbers of
training do not change; only where the memory comes from does. Elsewhere (macOS, Windows, a C library
without mallopt) this does nothing.
"""

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 2**30


def keep_freed_memory():
    """Ask glibc to keep freed blocks for reuse. True if it agreed, False where there is no mallopt."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, TypeError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # Both or neither: setting either stops glibc adjusting the mmap threshold itself, so the trim threshold
    # alone would leave every block over 128 KiB to mmap, and more faults than before.
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
