"""Numba start-up for processes that run only kotoba's kernels (the ``kotoba`` command).

The first time a process loads or compiles a Numba function, Numba sets up its CPU target and,
to support ``np.dot`` / ``np.linalg`` inside jitted code, probes for SciPy's BLAS by importing
``scipy.linalg.cython_blas`` -- which imports all of ``scipy.linalg``: 0.1-0.3 s on the
development machine, a third of kotoba's start-up on a small corpus, and up to 2 s under load
(BENCHMARKS.md). kotoba's kernels use no BLAS. :func:`start_numba` sets the target up with that
probe failing, so the process skips the import.

This is for the CLI, never for library users: afterwards *any* Numba function in the process that
calls ``np.dot`` or ``np.linalg`` fails to compile (Numba says SciPy is required), so importing
kotoba as a library changes nothing about Numba.

:func:`start_numba` also lets cached kernels load without Numba's *refresh* of its compiler's
registries: before every load from its cache, Numba imports and registers the implementations of
everything it can compile (~60 ms, half of its target set-up); loading compiled code needs none
of them, and a compilation refreshes them itself (``numba.core.compiler.CompilerBase``).

The same goes for :func:`kernels_loaded`, which the trainers call between phases: in the CLI's
process it unmaps the pages of LLVM's code that loading the kernels touched (they are not needed to
run them), so the process's peak resident memory is that of its data.
"""

from __future__ import annotations

import os
import re
import sys

_PROBE = "scipy.linalg.cython_blas"
#: what ``import numba`` imports and kotoba's command never uses: SciPy for a version check (~15 ms),
#: PyYAML to read a ``.numba_config.yaml`` that is not there (~15 ms)
_EXTRAS = ("scipy", "yaml")
_CONFIG_FILE = ".numba_config.yaml"
#: set by :func:`start_numba`: the process runs only kotoba, so LLVM's pages may be given back
_give_back = False
_MADV_DONTNEED = 4  # Linux <sys/mman.h>


def start_numba() -> None:
    """Set up Numba's CPU target without its SciPy BLAS probe (see the module docstring).

    Does nothing when SciPy's linear algebra is already imported (the probe is then free) or
    when Numba's target was already set up in this process. From now on :func:`kernels_loaded`
    gives LLVM's code pages back.
    """
    global _give_back
    _give_back = True  # the process runs only kotoba: see kernels_loaded
    if "scipy.linalg" in sys.modules:
        return
    import numpy as np

    from .word2vec.kernels import seed_state

    release_compiler_pages()  # what importing Numba touched (LLVM's initialisers), before the target adds more
    _load_cached_without_refresh()
    sys.modules[_PROBE] = None  # type: ignore[assignment]  # None in sys.modules: that import fails
    try:
        seed_state(np.uint64(1))  # the first cached function loaded sets the target up
    finally:
        del sys.modules[_PROBE]
    release_compiler_pages()


def _load_cached_without_refresh() -> None:
    """Numba's cache loads skip the registry refresh (see the module docstring) and keep the one step
    of it that loading needs, the runtime's set-up (reference counts, used by the kernels). Leaves
    Numba as it is if its cache class is not the one this was written for (a Numba upgrade)."""
    from numba.core import caching
    from numba.core.runtime import rtsys

    cache = caching.Cache
    if not all(hasattr(cache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors")):
        return

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    cache.load_overload = load_overload


def hide_numba_extras() -> list[str]:
    """Before the ``kotoba`` command's first import of Numba: hide SciPy and PyYAML from it.

    Numba's import checks SciPy's version when SciPy is installed and reads PyYAML's module to
    look for a config file; kotoba's command has no use for either (~30 ms of its start-up). A
    ``.numba_config.yaml`` in the working directory keeps PyYAML visible. Returns the names hidden,
    for :func:`show_numba_extras` once Numba is imported.
    """
    names = [n for n in _EXTRAS if n not in sys.modules and not (n == "yaml" and os.path.exists(_CONFIG_FILE))]
    for name in names:
        sys.modules[name] = None  # type: ignore[assignment]  # None in sys.modules: that import fails
    return names


def show_numba_extras(names: list[str]) -> None:
    """Undo :func:`hide_numba_extras`: later imports of SciPy and PyYAML (t-SNE, Dask) work as usual."""
    for name in names:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


# --------------------------------------------------------------------------- LLVM's code pages


def kernels_loaded() -> None:
    """The kernels a phase needs are loaded: in the ``kotoba`` command, give LLVM's code pages back.

    Called by the trainers between phases. Once Numba has loaded a kernel from its cache, the
    process runs it without LLVM, yet the pages of ``libllvmlite.so`` that loading touched stay in
    its resident set: 69 MB of the 240 MB a 23M-token run peaked at. A library user's process
    (Jupyter, a script that also uses Numba) keeps them: this does something only after
    :func:`start_numba`.
    """
    if _give_back:
        release_compiler_pages()


def release_compiler_pages() -> int:
    """Unmap this process's resident pages of ``libllvmlite.so`` that are unchanged copies of the file.

    Only mappings with no private (copy-on-write) page are touched, so nothing is lost: the pages
    stay in the kernel's page cache and fault back in if LLVM runs again (another kernel loaded or
    compiled). Returns the bytes of the mappings advised; 0 where ``/proc/self/smaps`` or
    ``madvise`` is missing (not Linux).
    """
    try:
        with open("/proc/self/smaps") as f:
            spans = _clean_llvm_spans(f.read())
    except OSError:
        return 0
    import ctypes

    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return sum(end - start for start, end in spans if madvise(start, end - start, _MADV_DONTNEED) == 0)


_ANONYMOUS = re.compile(r"^Anonymous: +(\d+)", re.M)
_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ", re.M)


def _clean_llvm_spans(smaps: str) -> list[tuple[int, int]]:
    """(start, end) of the read-only ``libllvmlite`` mappings in ``smaps`` (the file's text) with no
    anonymous page. Found by searching for the library's name: the file has ~10k lines, a handful its."""
    spans, at = [], smaps.find("libllvmlite")
    while at >= 0:
        start = smaps.rfind("\n", 0, at) + 1
        end = smaps.find("\n", at) % (len(smaps) + 1)  # the last line may have no newline
        head, perms = (smaps[start:end].split(" ", 2) + [""])[:2]
        if "-" in head and perms in ("r-xp", "r--p"):  # a mapping's header: range perms offset dev inode path
            nxt = _HEADER.search(smaps, end)  # the mapping's fields end at the next header
            anon = _ANONYMOUS.search(smaps, end, nxt.start() if nxt else len(smaps))
            if anon is not None and anon.group(1) == "0":
                spans.append(tuple(int(x, 16) for x in head.split("-")))
        at = smaps.find("libllvmlite", end)
    return spans
