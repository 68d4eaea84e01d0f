"""Hostile files run no code, and every output goes through ``atomic_write``: checked on the source itself.

The checks read ``src/kotoba`` with :mod:`ast`, so a new ``pickle.load``, ``eval``, ``np.load``
without ``allow_pickle=False`` or ``open(path, "w")`` anywhere fails here with its file and line.
"""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import numpy as np
import pytest

from kotoba.errors import UnsafePickleError

PKG = Path(__file__).resolve().parents[2] / "src" / "kotoba"
#: the one module allowed to unpickle: the book-weight importer, with its array-only Unpickler
UNPICKLER = "lm/book_import.py"
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "marshal", "shelve", "yaml", "torch"}
#: plain writes that are not outputs: text/corpus.py's scan writes provisional ids to scratch files in
#: the work folder and deletes them in a ``finally`` (a SIGKILL can leave them; never under a final name);
#: a distributed worker copies its byte ranges of the corpus into its own temporary folder
SCRATCH_WRITES = {("text/corpus.py", "ids_path"), ("text/corpus.py", "cuts_path"), ("word2vec/distributed.py", "dest")}


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        yield path.relative_to(PKG).as_posix(), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return "?"


def _calls():
    for rel, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                yield rel, node, _name(node.func)


def test_only_the_book_importer_imports_an_unpickler():
    found = []
    for rel, tree in _modules():
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module.split(".")[0]]
            found += [(rel, node.lineno, n) for n in names if n in UNSAFE_MODULES]
    assert {rel for rel, _, _ in found} <= {UNPICKLER}, found


def test_no_eval_exec_or_compile():
    bad = [(rel, n.lineno, name) for rel, n, name in _calls() if name in ("eval", "exec", "compile", "__import__")]
    assert not bad


def test_every_np_load_refuses_pickles():
    for rel, node, name in _calls():
        if name in ("np.load", "numpy.load"):
            kw = {k.arg: k.value for k in node.keywords}
            ok = "allow_pickle" in kw and isinstance(kw["allow_pickle"], ast.Constant) and not kw["allow_pickle"].value
            assert ok, f"{rel}:{node.lineno}: np.load without allow_pickle=False"


def _write_mode(node: ast.Call) -> str | None:
    mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax+"):
        return mode.value
    return None


def test_every_output_is_written_through_atomic_write():
    offenders = set()
    for rel, node, name in _calls():
        if name.split(".")[-1] == "open" and name not in ("os.open",) and _write_mode(node):
            offenders.add((rel, _name(node.args[0]) if node.args else "?"))
        if name in ("np.save", "np.savez", "np.savez_compressed", "numpy.save") and rel != "io.py":
            offenders.add((rel, name))
        if name.endswith((".write_text", ".write_bytes", ".tofile")):
            offenders.add((rel, name))
    assert offenders == SCRATCH_WRITES, sorted(offenders - SCRATCH_WRITES)


class _Payload:
    def __reduce__(self):  # what a malicious pickle does: call something on load
        return (Path.touch, (Path("/tmp/kotoba-pwned"),))


def test_the_book_importer_refuses_a_pickle_that_runs_code(tmp_path):
    from kotoba.lm.book_import import load_book_pickle

    target = Path("/tmp/kotoba-pwned")
    target.unlink(missing_ok=True)
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps([np.zeros(2, np.float32), _Payload()]))
    with pytest.raises(UnsafePickleError, match="evil.pkl|pathlib"):
        load_book_pickle(tmp_path / "evil.pkl")
    assert not target.exists()


def test_npz_holding_a_pickled_object_is_refused_without_unpickling(tmp_path):
    from kotoba.errors import FormatError
    from kotoba.io import load_npz

    target = Path("/tmp/kotoba-pwned")
    target.unlink(missing_ok=True)
    np.savez(tmp_path / "evil.npz", x=np.array([_Payload()], dtype=object))
    with pytest.raises(FormatError, match="holds Python objects"):
        load_npz(tmp_path / "evil.npz")
    assert not target.exists()
