"""kotoba.jit: the CLI's Numba start-up without SciPy's BLAS probe, and the collector turned back on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("scipy")


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_train_command_skips_the_scipy_import_and_leaves_scipy_usable(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
    printed = _python(f"""
        import gc, sys
        gc.disable()  # as python -m kotoba starts
        from kotoba.cli import main
        assert main(["train", {str(corpus)!r}, "-o", {str(tmp_path / "v.bin")!r}, "--min-count", "1",
                     "--epochs", "1", "--threads", "1", "--quiet"]) == 0
        print("scipy.linalg" in sys.modules, gc.isenabled())
        import scipy.linalg  # SciPy itself still imports afterwards
        print(scipy.linalg.norm([3.0, 4.0]))
    """)
    assert printed.splitlines() == ["False True", "5.0"]


def test_the_command_hides_scipy_and_yaml_from_numbas_import_only(tmp_path):
    # python -m kotoba: Numba imports without SciPy or PyYAML, both import normally afterwards, and the
    # process's exit code survives its os._exit
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
    printed = _python(f"""
        import atexit, os, sys
        import kotoba.__main__ as entry
        atexit.register(lambda: print("exit handlers ran", "scipy" in sys.modules, "yaml" in sys.modules))
        real_exit = os._exit
        os._exit = lambda code: (print("os._exit", code), real_exit(code))
        # with the progress bar: tqdm's monitor thread (a daemon) does not stop the early exit
        sys.argv[1:] = ["train", {str(corpus)!r}, "-o", {str(tmp_path / "v.bin")!r}, "--min-count", "1"]
        entry.run()
    """)
    assert printed.splitlines()[-2:] == ["exit handlers ran False False", "os._exit 0"]
    out = subprocess.run([sys.executable, "-m", "kotoba", "train", str(tmp_path / "missing.txt"), "-o", "x.bin"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 2 and "missing.txt" in out.stderr
    printed = _python("""
        import sys
        from kotoba.jit import hide_numba_extras, show_numba_extras
        hidden = hide_numba_extras()
        import numba
        show_numba_extras(hidden)
        import scipy
        print(hidden, "scipy" in sys.modules)
    """)
    assert printed == "['scipy', 'yaml'] True"
    (tmp_path / ".numba_config.yaml").write_text("{}\n", encoding="utf-8")  # a user's Numba config keeps PyYAML
    out = subprocess.run([sys.executable, "-c", "from kotoba.jit import hide_numba_extras; print(hide_numba_extras())"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert out.stdout.strip() == "['scipy']"


def test_the_command_loads_cached_kernels_without_the_registry_refresh_and_compiling_still_works(tmp_path):
    # start_numba: loading kotoba's cached kernels does not import what only compiling needs (numba.np.linalg
    # is one of the registry modules a refresh imports); a function compiled afterwards gets the full refresh
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
    train = (f"from kotoba.cli import main; assert main(['train', {str(corpus)!r}, '-o', {str(tmp_path / 'v.bin')!r}, "
             "'--min-count', '1', '--epochs', '1', '--threads', '1', '--quiet']) == 0")  # fmt: skip
    _python(train)  # compiles the kernels into Numba's cache if they are not there yet (a fresh clone)
    check = """
import sys
import numpy as np
from numba import njit, typed, types

print("numba.np.linalg" in sys.modules)

@njit
def count(a):
    d = typed.Dict.empty(types.int64, types.int64)
    for x in a:
        d[x] = d.get(x, 0) + 1
    return len(d), a.sum()

print(count(np.array([1, 2, 2, 5])), "numba.np.linalg" in sys.modules)
"""
    printed = _python(train + check)
    assert printed.splitlines() == ["False", "(3, 10) True"]


def test_library_use_keeps_numba_blas():
    # importing and running kotoba as a library changes nothing about Numba: np.dot still compiles
    printed = _python("""
        import numpy as np
        from numba import njit
        from kotoba.word2vec.kernels import seed_state
        seed_state(np.uint64(1))
        print(njit(lambda a: np.dot(a, a))(np.ones(3)))
    """)
    assert printed == "3.0"


def test_start_numba_is_a_no_op_once_scipy_linalg_is_loaded():
    printed = _python("""
        import sys
        import scipy.linalg
        from kotoba.jit import start_numba
        start_numba()
        print(sys.modules["scipy.linalg.cython_blas"] is not None)
    """)
    assert printed == "True"


def test_kernels_loaded_gives_llvm_pages_back_only_in_the_cli_and_kernels_still_run():
    # A library user's process keeps LLVM's pages; after start_numba (the kotoba command) the clean,
    # read-only pages of libllvmlite leave the resident set and a kernel loaded before still runs.
    printed = _python("""
        import sys
        import numpy as np
        from kotoba import jit
        from kotoba.word2vec.kernels import seed_state

        def llvm_rss_kb():
            total, llvm = 0, False
            for line in open("/proc/self/smaps"):
                head = line.split()
                if "-" in head[0] and not head[0].endswith(":"):
                    llvm = len(head) > 5 and "libllvmlite" in head[5]
                elif llvm and head[0] == "Rss:":
                    total += int(head[1])
            return total

        first = seed_state(np.uint64(7))
        before = llvm_rss_kb()
        jit.kernels_loaded()  # not the CLI: nothing happens
        unchanged = llvm_rss_kb()
        jit.start_numba()
        jit.kernels_loaded()
        after = llvm_rss_kb()
        print(unchanged == before, after < before / 2, np.array_equal(seed_state(np.uint64(7)), first))
    """)
    assert printed == "True True True"


def test_clean_llvm_spans_reads_only_unmodified_read_only_llvm_mappings():
    from kotoba.jit import _clean_llvm_spans

    smaps = textwrap.dedent("""\
        7f0000000000-7f0000002000 r-xp 00000000 08:01 42 /venv/llvmlite/binding/libllvmlite.so
        Size:                  8 kB
        Rss:                   8 kB
        Anonymous:             0 kB
        7f0000002000-7f0000003000 r--p 00002000 08:01 42 /venv/llvmlite/binding/libllvmlite.so
        Rss:                   4 kB
        Anonymous:             4 kB
        7f0000003000-7f0000004000 rw-p 00003000 08:01 42 /venv/llvmlite/binding/libllvmlite.so
        Anonymous:             0 kB
        7f0000004000-7f0000005000 r-xp 00000000 08:01 43 /usr/lib/libc.so.6
        Anonymous:             0 kB
        7f0000005000-7f0000006000 rw-p 00000000 00:00 0
        Anonymous:             4 kB
        7f0000006000-7f0000007000 r--p 00006000 08:01 42 /venv/llvmlite/binding/libllvmlite.so
        7f0000007000-7f0000008000 rw-p 00000000 00:00 0
        Anonymous:             0 kB
        7f0000008000-7f0000009000 r-xp 00008000 08:01 42 /venv/llvmlite/binding/libllvmlite.so""")
    # relocated (copy-on-write) pages, writable mappings and other libraries are left alone, and so is a
    # mapping whose own fields say nothing (another mapping's Anonymous line does not count for it)
    assert _clean_llvm_spans(smaps) == [(0x7F0000000000, 0x7F0000002000)]


def test_commands_without_blas_start_numpy_with_one_openblas_thread(monkeypatch):
    from kotoba.__main__ import one_blas_thread

    for argv, expected in [
        (["train", "c.txt", "-o", "v.bin"], "1"),
        (["--debug", "corpus", "wiki", "dump.xml.bz2"], "1"),
        (["lm", "train", "c.txt"], None),  # the language models multiply matrices with BLAS
        (["similar", "v.bin", "cat"], None),
        ([], None),
    ]:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
        one_blas_thread(argv)
        assert os.environ.get("OPENBLAS_NUM_THREADS") == expected, argv
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the user's setting stays
    one_blas_thread(["train", "c.txt"])
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"
