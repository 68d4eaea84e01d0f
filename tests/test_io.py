import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from kotoba.errors import FormatError
from kotoba.io import atomic_write, load_json, load_npz, load_pair, save_json, save_npz, save_pair


def test_atomic_write_replaces_only_on_success(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(p, "w", encoding="utf-8") as f:
            f.write("half")
            raise RuntimeError("crash")
    assert p.read_text() == "old"
    assert list(tmp_path.iterdir()) == [p]  # no temp file left behind
    with atomic_write(p, "w", encoding="utf-8") as f:
        f.write("new")
    assert p.read_text() == "new"


def test_atomic_write_uses_umask_mode(tmp_path):
    p = tmp_path / "f.bin"
    with atomic_write(p) as f:
        f.write(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask


def test_npz_round_trip_and_no_pickle(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], np.int64)}
    save_npz(tmp_path / "c.npz", arrays)
    back = load_npz(tmp_path / "c.npz")
    assert back.keys() == arrays.keys()
    for k in arrays:
        assert back[k].dtype == arrays[k].dtype and np.array_equal(back[k], arrays[k])
    with pytest.raises(TypeError, match="object"):
        save_npz(tmp_path / "o.npz", {"x": np.array([{"a": 1}], dtype=object)})
    # a file holding an object array (which needs pickle) is refused on load
    np.savez(tmp_path / "evil.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FormatError):
        load_npz(tmp_path / "evil.npz")


def test_bad_files_give_format_errors(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="bad.npz"):
        load_npz(tmp_path / "bad.npz")
    with pytest.raises(FormatError, match="no such file"):
        load_npz(tmp_path / "missing.npz")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(FormatError, match="JSON"):
        load_json(tmp_path / "bad.json")
    save_json(tmp_path / "ok.json", {"単語": [1, 2]})
    assert load_json(tmp_path / "ok.json") == {"単語": [1, 2]}
    assert "単語" in (tmp_path / "ok.json").read_text(encoding="utf-8")
    json.loads((tmp_path / "ok.json").read_text(encoding="utf-8"))


def _killed_at(monkeypatch, target: Path) -> None:
    """Make the rename of a save's file onto ``target`` fail, as a process killed just before it."""
    real = os.replace

    def replace(src, dst):
        if Path(dst) == target:
            raise KeyboardInterrupt("killed")
        real(src, dst)

    monkeypatch.setattr("kotoba.io.os.replace", replace)


@pytest.mark.parametrize("killed_before", ["arrays", "json"])
def test_a_pair_killed_between_its_renames_still_loads(tmp_path, monkeypatch, killed_before):
    """Killed before the arrays' rename: the last pair; between the two renames: the new one."""
    npz, js = tmp_path / "m.npz", tmp_path / "m.json"
    save_pair(npz, {"a": np.zeros(3)}, js, {"epoch": 1})
    _killed_at(monkeypatch, npz if killed_before == "arrays" else js)
    with pytest.raises(KeyboardInterrupt):
        save_pair(npz, {"a": np.ones(3)}, js, {"epoch": 2})
    monkeypatch.undo()
    arrays, meta = load_pair(npz, js)
    want = 1 if killed_before == "arrays" else 2
    assert meta == {"epoch": want} and arrays.keys() == {"a"} and arrays["a"][0] == want - 1
    save_pair(npz, {"a": np.full(3, 7.0)}, js, {"epoch": 3})  # the next save goes through as usual
    arrays, meta = load_pair(npz, js)
    assert meta == {"epoch": 3} and arrays["a"][0] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]


def test_a_first_pair_killed_before_its_json_rename_loads(tmp_path, monkeypatch):
    npz, js = tmp_path / "m.npz", tmp_path / "m.json"
    _killed_at(monkeypatch, js)
    with pytest.raises(KeyboardInterrupt):
        save_pair(npz, {"a": np.ones(2)}, js, {"epoch": 1})
    monkeypatch.undo()
    assert not js.exists() and load_pair(npz, js)[1] == {"epoch": 1}


def test_files_of_two_saves_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d, k in (("a", 1), ("b", 2)):
        save_pair(tmp_path / d / "m.npz", {"a": np.zeros(1)}, tmp_path / d / "m.json", {"epoch": k})
    os.replace(tmp_path / "b" / "m.json", tmp_path / "a" / "m.json")
    with pytest.raises(FormatError, match="another save"):
        load_pair(tmp_path / "a" / "m.npz", tmp_path / "a" / "m.json")
    with pytest.raises(FormatError, match="side file m.json is missing"):
        load_pair(tmp_path / "b" / "m.npz", tmp_path / "b" / "m.json")
