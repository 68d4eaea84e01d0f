"""How ``kotoba.cli.main`` turns every way a command can end into one message and an exit status."""

from __future__ import annotations

import errno

import pytest

import kotoba.cli.vectors as cli_vectors
from kotoba.errors import FormatError


def _failing(monkeypatch, exc: BaseException) -> None:
    def similar(args):
        raise exc

    monkeypatch.setattr(cli_vectors, "_similar", similar)  # register() runs at every main(): it picks this up


@pytest.mark.parametrize(
    "exc,rc,message",
    [
        (FormatError("v.bin: line 3: bad"), 2, "kotoba: error: v.bin: line 3: bad"),
        (MemoryError(), 2, "kotoba: error: out of memory; try smaller sizes"),
        (PermissionError(errno.EACCES, "Permission denied", "v.bin"), 2, "kotoba: error: v.bin: Permission denied"),
        (TypeError("unsupported operand"), 1, "kotoba: internal error: TypeError: unsupported operand"),
    ],
)
def test_errors_become_one_line_and_an_exit_status(kotoba, monkeypatch, exc, rc, message):
    _failing(monkeypatch, exc)
    res = kotoba("similar", "v.bin", "word")
    assert res.rc == rc and message in res.err and "Traceback" not in res.err
    if rc == 1:
        assert "rerun with --debug for the traceback and report it" in res.err


def test_debug_shows_the_traceback(kotoba, monkeypatch):
    _failing(monkeypatch, TypeError("unsupported operand"))
    res = kotoba("--debug", "similar", "v.bin", "word")
    assert res.rc == 1 and "Traceback" in res.err and "TypeError: unsupported operand" in res.err
    monkeypatch.setenv("KOTOBA_DEBUG", "1")
    _failing(monkeypatch, FormatError("bad file"))
    res = kotoba("similar", "v.bin", "word")
    assert res.rc == 2 and "Traceback" in res.err and "kotoba: error: bad file" in res.err


def test_a_closed_pipe_is_quiet(kotoba, monkeypatch):
    _failing(monkeypatch, BrokenPipeError(errno.EPIPE, "Broken pipe"))
    res = kotoba("similar", "v.bin", "word")
    assert res.rc == 141 and res.err == ""
