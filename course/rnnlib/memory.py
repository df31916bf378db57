"""Keeping freed memory for the next training step, on Linux (``python -m rnnlib train`` does, rnnlib.cli).

Every step of training makes the same large arrays again: the cache of the forward pass, the gradients,
the gradients at the gates. NumPy asks the C library's malloc for them and frees them when the step is
over. glibc, the C library of most Linux systems, serves a large block from the top of its heap (or, at
first, from a mapping of its own), and when more than twice the largest block freed so far is free at
the top of the heap, it gives that memory back to the operating system. A step frees all its arrays
at once, which is always more than that, so the next step's arrays get fresh pages, and the first
write to each page stops the program in the kernel, which hands over a zeroed page: a page fault. A
step of lesson 10's GRU takes about 3,500 of them, about a tenth of its time (tools/benchmark.py
measures both).

mallopt lets glibc keep those blocks: blocks up to 32 MiB come from the heap (M_MMAP_THRESHOLD), and
the heap gives back only what exceeds 256 MiB of free memory (M_TRIM_THRESHOLD). While it trains, the
process holds on to the memory of its largest step, which it needs again at the next step anyway; when
training is over, release_freed_memory() hands the free memory back, so that a process that goes on
does not keep it. The numbers of training do not change, only where their memory comes from. Elsewhere (macOS,
Windows, a C library without mallopt) both functions do nothing.
"""

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 256 * 2**20


def _libc_function(name):
    """The process's C library's function ``name``, or None where there is none (not glibc)."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, TypeError, AttributeError):  # Windows: CDLL(None) fails; macOS, musl: no such function
        return None


def keep_freed_memory():
    """Ask glibc to keep freed blocks for reuse. True if it agreed, False where there is no mallopt."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # Both or neither: setting either stops glibc adjusting the mmap threshold itself, so the trim threshold
    # alone would leave every block over 128 KiB to a mapping of its own, and more faults than before.
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def release_freed_memory():
    """Give the heap's free memory back to the operating system now (glibc's malloc_trim). True if any was."""
    malloc_trim = _libc_function("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim.argtypes, malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int
    return bool(malloc_trim(0))
