"""The ``kotoba`` fixture: run the CLI in-process and return what the user sees."""

from __future__ import annotations

import pytest

from kotoba.cli import main

from .robust_helpers import Result


@pytest.fixture
def kotoba(capsys, monkeypatch, tmp_path):
    """``kotoba(*argv)`` runs the CLI in this process, in ``tmp_path``, and returns rc/out/err."""
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> Result:
        capsys.readouterr()
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:  # argparse usage errors
            rc = int(e.code or 0)
        captured = capsys.readouterr()
        return Result(rc, captured.out, captured.err)

    return run
