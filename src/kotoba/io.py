"""Safe, atomic files: temp file in the same folder, fsync, ``os.replace``.

Checkpoints are a ``.npz`` of named arrays plus a JSON side file of metadata. No pickle anywhere:
:func:`load_npz` parses the archive itself, refuses object arrays, and allocates no more than
the data actually present (a member whose header claims 10^12 elements costs nothing until its
bytes are read).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import FormatError, OutputError

# errno -> what the user can do about it (the strerror says what happened)
_WRITE_ADVICE = {
    errno.ENOSPC: "free some disk space or write to another folder",
    errno.EFBIG: "the file is larger than this system allows here; write to another folder or filesystem",
    errno.EDQUOT: "the disk quota is exhausted; free some space or write to another folder",
    errno.EACCES: "the folder is not writable by you; choose another output path",
    errno.EPERM: "the folder is not writable by you; choose another output path",
    errno.EROFS: "the filesystem is read-only; choose another output path",
    errno.ENOTDIR: "a part of the output path is a file, not a folder; choose another output path",
    errno.EISDIR: "the output path is a folder; give a file name inside it",
}
_READ_CHUNK = 1 << 24


def _output_error(path: Path, e: OSError) -> OutputError:
    advice = _WRITE_ADVICE.get(e.errno or 0, "check the output path")
    err = OutputError(f"cannot write {path}: {e.strerror or e} ({advice}); nothing was written there")
    err.errno, err.strerror, err.filename = e.errno, e.strerror, str(path)  # one-argument OSError: str() is the message
    return err


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "wb", encoding: str | None = None, shown: Path | None = None
) -> Iterator[IO]:
    """Open a temp file beside ``path``; on clean exit fsync it and rename it over ``path``.

    If the block raises, the temp file is removed and ``path`` is untouched, so a crash never
    leaves a half-written file under the real name (a SIGKILL can leave a ``<name>.tmp-*`` file
    beside it, never a truncated ``<name>``). An OS error while creating, writing or renaming
    (folder not writable, disk full, file too large) becomes :class:`~kotoba.errors.OutputError`
    naming ``shown`` (default: ``path``; :func:`save_pair` names the file the user asked for).
    """
    path = Path(path)
    shown = shown or path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
    except OSError as e:
        raise _output_error(shown, e) from e
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 less the umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, OutputError) and e.errno in _WRITE_ADVICE:
            raise _output_error(shown, e) from e
        raise


def check_writable(path: str | os.PathLike, *, folder: bool = False) -> None:
    """Raise :class:`~kotoba.errors.OutputError` now if ``path`` (a file, or a folder when ``folder``)
    could not be written later: a part of it is a file, it is a folder where a file is wanted, or
    the nearest existing folder refuses a new file. Creates nothing that stays."""
    path = Path(path)
    if not folder and path.is_dir():
        raise _output_error(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    if folder and path.exists() and not path.is_dir():
        raise _output_error(path, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)))
    probe_dir = path if folder else path.parent
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise _output_error(path, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)))
    try:
        with tempfile.TemporaryFile(dir=probe_dir):
            pass
    except OSError as e:
        raise _output_error(path, e) from e


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], shown: Path | None = None) -> None:
    """Write named arrays to an uncompressed ``.npz`` atomically (no object arrays); ``shown``: see
    :func:`atomic_write`."""
    for name, a in arrays.items():
        if np.asarray(a).dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object; refusing to save it (it would need pickle)")
    with atomic_write(path, "wb", shown=shown) as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})


#: the member / key :func:`save_pair` writes into both files of a pair
PAIR_TOKEN = "save_token"


def _waiting(path: Path) -> Path:
    """Where :func:`save_pair` puts the next version of ``path`` before renaming it into place."""
    return path.with_name(path.name + ".next")


def save_pair(npz_path: str | os.PathLike, arrays: Mapping[str, np.ndarray], json_path: str | os.PathLike,
              meta: dict[str, Any]) -> None:  # fmt: skip
    """Write ``arrays`` (.npz) and ``meta`` (JSON) as one save that a crash cannot split.

    Both go to ``<name>.next`` first (each atomically, see :func:`atomic_write`), marked with the
    same random token; then the arrays are renamed into place, then the JSON. Killed before the
    first rename, the previous pair is untouched; between the renames, the new arrays are in place
    and their JSON waits as ``<json>.next``, where :func:`load_pair` finds it by the token. So the
    last complete save always loads (a pair written file by file could be left unreadable).
    """
    token = os.urandom(8).hex()  # not the training generator: saving must not change what is trained
    npz_path, json_path = Path(npz_path), Path(json_path)
    save_npz(_waiting(npz_path), {**arrays, PAIR_TOKEN: np.array(token)}, shown=npz_path)
    save_json(_waiting(json_path), {**meta, PAIR_TOKEN: token}, shown=json_path)
    for path in (npz_path, json_path):
        try:
            os.replace(_waiting(path), path)
        except OSError as e:
            raise _output_error(path, e) from e


def load_pair(npz_path: str | os.PathLike, json_path: str | os.PathLike) -> tuple[dict[str, np.ndarray], Any]:
    """The arrays and JSON of the last complete :func:`save_pair`, without the token.

    A JSON without a token (older files, or not a kotoba file at all) comes back as it is, for the
    caller's own checks. :class:`FormatError` if the JSON is missing or from another save than the
    arrays, and no JSON of theirs waits beside it.
    """
    npz_path, json_path = Path(npz_path), Path(json_path)
    waiting = _waiting(json_path)  # killed between the two renames: the arrays' JSON is still here
    if not json_path.exists() and not waiting.exists():
        raise FormatError(f"{npz_path}: its side file {json_path.name} is missing (both files are needed)")
    arrays = load_npz(npz_path)
    token = arrays.pop(PAIR_TOKEN, None)
    token = None if token is None else str(token)
    for path in (json_path, waiting):
        if path.exists():
            meta = load_json(path)
            # no token (older files, or not a kotoba file at all): the caller's checks decide
            if not isinstance(meta, dict) or meta.pop(PAIR_TOKEN, token) == token:
                return arrays, meta
    raise FormatError(
        f"{json_path} is from another save than {npz_path.name} (files copied from different saves?); "
        "use a complete pair of files"
    )


# what a damaged or hostile archive can raise while being parsed
_NPZ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, zlib.error)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read every array of a ``.npz`` without pickle; :class:`FormatError` naming the file otherwise.

    Refused: anything that is not a zip of ``.npy`` members, object arrays, a member whose data
    is shorter than its header says (truncated download). Memory stays within the data present.
    """
    path = Path(path)
    if not path.exists():
        raise FormatError(f"{path}: no such file")
    if not path.is_file():
        raise FormatError(f"{path}: not a file (a .npz checkpoint is expected)")
    try:
        with zipfile.ZipFile(path) as z:
            out = {}
            for info in z.infolist():
                name = info.filename
                if not name.endswith(".npy") or info.is_dir():
                    raise FormatError(f"{path}: member {name!r} is not a .npy array; not a kotoba checkpoint")
                out[name[:-4]] = _read_npy(z, info, path)
            return out
    except FormatError:
        raise
    except (*_NPZ_ERRORS, NotImplementedError, RuntimeError) as e:
        # RuntimeError: an encrypted member; NotImplementedError: an unsupported compression
        raise FormatError(f"{path}: not a readable .npz checkpoint ({type(e).__name__}: {e})") from e


def _read_npy(z: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    """One ``.npy`` member, read in chunks: (shape from its header) array of its dtype."""
    where = f"{path}: array {info.filename[:-4]!r}"
    with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise FormatError(f"{where}: unsupported .npy version {version}")
        if dtype.hasobject:
            raise FormatError(f"{where}: holds Python objects, which only pickle could load; refused")
        if dtype.itemsize == 0:
            raise FormatError(f"{where}: zero-size dtype {dtype}")
        nbytes = math.prod(shape) * dtype.itemsize
        data = _read_exactly(f, nbytes, prealloc=nbytes <= path.stat().st_size)
    if len(data) != nbytes:
        raise FormatError(f"{where}: truncated ({len(data):,} of the {nbytes:,} bytes its header declares)")
    a = np.frombuffer(data, dtype=dtype)
    return a.reshape(shape[::-1]).T if fortran else a.reshape(shape)


def _read_exactly(f: IO[bytes], n: int, prealloc: bool) -> bytearray:
    """Up to ``n`` bytes of ``f``. Preallocated only when ``n`` is known to fit the file on disk;
    otherwise the buffer grows with the data, so a lying header cannot make us allocate."""
    if prealloc:
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            chunk = f.read(min(_READ_CHUNK, n - got))
            if not chunk:
                return buf[:got]
            view[got : got + len(chunk)] = chunk
            got += len(chunk)
        return buf
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_READ_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def save_json(path: str | os.PathLike, obj: Any, shown: Path | None = None) -> None:
    """Write JSON (UTF-8, indented, non-ASCII kept) atomically; ``shown``: see :func:`atomic_write`."""
    with atomic_write(path, "w", encoding="utf-8", shown=shown) as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def load_json(path: str | os.PathLike) -> Any:
    """Parse a UTF-8 JSON file; :class:`FormatError` naming the file if it is missing or not JSON."""
    path = Path(path)
    if not path.exists():
        raise FormatError(f"{path}: no such file")
    if not path.is_file():
        raise FormatError(f"{path}: not a file (a JSON file is expected)")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise FormatError(f"{path}: not valid JSON ({type(e).__name__}: {str(e)[:200]})") from e
