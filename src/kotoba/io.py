"""Safe, atomic files: temp file in the same folder, fsync, ``os.replace``.

Checkpoints are a ``.npz`` of named arrays (loaded with ``allow_pickle=False``) plus a JSON
side file of metadata. No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import FormatError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temp file beside ``path``; on clean exit fsync it and rename it over ``path``.

    If the block raises, the temp file is removed and ``path`` is untouched, so a crash
    never leaves a half-written file under the real name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
    # mkstemp creates 0600; give the file the mode a plain open() would (0666 less the umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write named arrays to an uncompressed ``.npz`` atomically (no object arrays)."""
    for name, a in arrays.items():
        if np.asarray(a).dtype == object:
            raise TypeError(f"array {name!r} has dtype object; refusing to save it (it would need pickle)")
    with atomic_write(path, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every array of a ``.npz`` with ``allow_pickle=False``; clear error if not one."""
    path = Path(path)
    if not path.exists():
        raise FormatError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(f"{path}: not a readable .npz checkpoint ({e})") from e


def save_json(path: str | os.PathLike, obj: Any) -> None:
    """Write JSON (UTF-8, indented, non-ASCII kept) atomically."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def load_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.exists():
        raise FormatError(f"{path}: no such file")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise FormatError(f"{path}: not valid JSON ({e})") from e
