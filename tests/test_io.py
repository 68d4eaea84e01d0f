import json
import os
import stat

import numpy as np
import pytest

from kotoba.errors import FormatError
from kotoba.io import atomic_write, load_json, load_npz, save_json, save_npz


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
