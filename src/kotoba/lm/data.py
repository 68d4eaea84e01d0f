"""Language-model corpora: the Penn Treebank (Mikolov's preprocessing) and any plain-text corpus.

A corpus is read line by line; the words of a line are its whitespace-separated tokens and the
line's end becomes the token ``<eos>`` (blank lines give nothing). Words are numbered by
**descending frequency in the training text, ties broken by first appearance**; the book's
``dataset/ptb.py`` numbers them by first appearance only, and :mod:`kotoba.lm.book_import`
remaps weights from that order to this one. Frequency order puts the common words first, which
makes vocabularies cut at ``max_size`` well defined and ids readable (0 is the most common word).

Nothing here touches the network at import time; :func:`download_ptb` fetches the three PTB files
only when called, and checks them against known SHA-256 digests.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, EmptyCorpusError
from ..io import atomic_write

EOS = "<eos>"
UNK = "<unk>"

#: Environment variable naming the folder that holds ``ptb.{train,valid,test}.txt``.
DATA_ENV = "KOTOBA_DATA"

PTB_SPLITS = ("train", "valid", "test")

#: Where the book's ``dataset/ptb.py`` downloads PTB from (Mikolov's ``simple-examples`` files).
PTB_BASE_URL = "https://raw.githubusercontent.com/tomsercu/lstm/master/data/"

#: SHA-256 of the canonical files (the book's PTB; 929,589 / 73,760 / 82,430 tokens with ``<eos>``).
PTB_SHA256: dict[str, str] = {
    "ptb.train.txt": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
    "ptb.valid.txt": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
    "ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
}

_HOW_TO_GET_PTB = (
    f"pass --data-dir DIR (or set {DATA_ENV}=DIR) to a folder holding ptb.train.txt, "
    "ptb.valid.txt and ptb.test.txt, or fetch them with `kotoba lm download --dest DIR`"
)


# --------------------------------------------------------------------------------------------
# Reading any corpus


def _open_text(path: Path):
    # utf-8-sig drops a leading BOM (Project Gutenberg texts have one); .gz is read transparently.
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def iter_lm_tokens(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> Iterator[str]:
    """Yield the tokens of one or more text files, with ``<eos>`` at every non-blank line's end."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for p in paths:
        p = Path(p)
        if not p.is_file():
            raise DataError(f"corpus file {p} not found")
        try:
            with _open_text(p) as f:
                for line in f:
                    words = line.split()
                    if words:
                        yield from words
                        yield EOS
        except (UnicodeDecodeError, OSError, EOFError) as e:
            raise DataError(f"{p}: cannot read as UTF-8 text ({e})") from e


def _check_vocab_args(max_size: int | None, min_count: int) -> None:
    if max_size is not None and max_size < 2:
        raise ConfigError(f"max_size must be at least 2 (room for {UNK} and {EOS}), got {max_size}")
    if min_count < 1:
        raise ConfigError(f"min_count must be >= 1, got {min_count}")


def vocab_from_counts(counts: Mapping[str, int], max_size: int | None = None, min_count: int = 1) -> list[str]:
    """Id-to-word list: words by descending count, ties by the mapping's order (first appearance).

    ``<unk>`` and ``<eos>`` are always in the result: where they are frequent enough they keep
    their rank, otherwise they take the last places (so a cut at ``max_size`` keeps them).
    """
    _check_vocab_args(max_size, min_count)
    # sorted() is stable, so equal counts keep the first-appearance order of the Counter.
    ranked = [w for w in sorted(counts, key=lambda w: -counts[w]) if counts[w] >= min_count]
    missing = [s for s in (UNK, EOS) if s not in ranked[: max_size if max_size is not None else len(ranked)]]
    if max_size is not None:
        keep = [w for w in ranked if w not in missing][: max_size - len(missing)]
    else:
        keep = [w for w in ranked if w not in missing]
    return keep + missing


def build_lm_vocab(
    paths: str | os.PathLike | Sequence[str | os.PathLike], max_size: int | None = 10000, min_count: int = 1
) -> list[str]:
    """Vocabulary (id -> word) of a plain-text corpus: the ``max_size`` most frequent words seen at
    least ``min_count`` times, ``<unk>`` and ``<eos>`` included; ties by first appearance."""
    _check_vocab_args(max_size, min_count)
    counts = Counter(iter_lm_tokens(paths))
    if not counts:
        raise EmptyCorpusError(f"corpus {_names(paths)} has no tokens")
    return vocab_from_counts(counts, max_size=max_size, min_count=min_count)


def encode_tokens(tokens: Iterable[str], vocab: Sequence[str]) -> np.ndarray:
    """Word ids of ``tokens``: (N,) int32; words outside ``vocab`` become ``<unk>``."""
    w2i = {w: i for i, w in enumerate(vocab)}
    unk = w2i.get(UNK)
    out = []
    for w in tokens:
        i = w2i.get(w, unk)
        if i is None:
            raise DataError(f"word {w!r} is not in the vocabulary, which has no {UNK} to stand for it")
        out.append(i)
    return np.asarray(out, dtype=np.int32)


def encode_lm(paths: str | os.PathLike | Sequence[str | os.PathLike], vocab: Sequence[str]) -> np.ndarray:
    """Word ids of a text corpus under ``vocab``: (N,) int32, ``<eos>`` per line, OOV -> ``<unk>``."""
    ids = encode_tokens(iter_lm_tokens(paths), vocab)
    if ids.size == 0:
        raise EmptyCorpusError(f"corpus {_names(paths)} has no tokens")
    return ids


def _names(paths) -> str:
    if isinstance(paths, (str, os.PathLike)):
        return str(paths)
    return ", ".join(str(p) for p in paths)


# --------------------------------------------------------------------------------------------
# Penn Treebank


def ptb_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The PTB folder: ``data_dir`` if given, else ``$KOTOBA_DATA``; DataError if neither is set."""
    if data_dir is None:
        env = os.environ.get(DATA_ENV)
        if not env:
            raise DataError(f"no PTB data folder given: {_HOW_TO_GET_PTB}")
        data_dir = env
    return Path(data_dir)


def ptb_path(data_dir: str | os.PathLike | None, split: str) -> Path:
    """Path of ``ptb.<split>.txt``, checked to exist (DataError naming it otherwise)."""
    if split == "val":  # the book's name for the validation split
        split = "valid"
    if split not in PTB_SPLITS:
        raise ConfigError(f"PTB split must be one of {', '.join(PTB_SPLITS)}; got {split!r}")
    path = ptb_dir(data_dir) / f"ptb.{split}.txt"
    if not path.is_file():
        raise DataError(f"PTB file {path} not found: {_HOW_TO_GET_PTB}")
    return path


def ptb_vocab(data_dir: str | os.PathLike | None = None) -> list[str]:
    """kotoba's PTB vocabulary (id -> word): every word of ptb.train.txt plus ``<eos>`` (10,000),
    by descending frequency, ties by first appearance."""
    return build_lm_vocab(ptb_path(data_dir, "train"), max_size=None)


def load_ptb(data_dir: str | os.PathLike | None = None, split: str = "train") -> tuple[np.ndarray, list[str]]:
    """Word ids of a PTB split and the vocabulary (always built from the train split).

    Returns ``(ids, vocab)``: ids (N,) int32 with one ``<eos>`` per line (N = 929,589 train,
    73,760 valid, 82,430 test), vocab a list of 10,000 words.
    """
    path = ptb_path(data_dir, split)
    train_path = ptb_path(data_dir, "train")
    if path == train_path:
        tokens = list(iter_lm_tokens(train_path))
        if not tokens:
            raise EmptyCorpusError(f"corpus {train_path} has no tokens")
        vocab = vocab_from_counts(Counter(tokens))
        return encode_tokens(tokens, vocab), vocab
    vocab = build_lm_vocab(train_path, max_size=None)
    return encode_lm(path, vocab), vocab


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_ptb(
    dest_dir: str | os.PathLike,
    base_url: str = PTB_BASE_URL,
    sha256: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> list[Path]:
    """Fetch ``ptb.{train,valid,test}.txt`` into ``dest_dir`` and verify their SHA-256.

    A file already there with the right digest is kept as is (no network). Each download is
    hashed while it streams into a temp file and only renamed into place when the digest
    matches, so a bad or truncated download never shows up under the real name. Returns the
    three paths; raises DataError on a network failure or a digest mismatch.
    """
    digests = dict(PTB_SHA256 if sha256 is None else sha256)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    if not base_url.endswith("/"):
        base_url += "/"
    paths = []
    for name, want in digests.items():
        path = dest / name
        paths.append(path)
        if path.is_file() and _sha256_file(path) == want:
            continue
        url = base_url + name
        h = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, atomic_write(path, "wb") as f:
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    h.update(chunk)
                    f.write(chunk)
                got = h.hexdigest()
                if got != want:
                    # Raising inside atomic_write discards the temp file: nothing lands under `path`.
                    raise DataError(
                        f"{url}: SHA-256 mismatch (expected {want}, got {got}); the file was not saved. "
                        "The server may serve a different version: check --url"
                    )
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            raise DataError(
                f"could not download {url} ({e}); without network, copy the PTB files into {dest} by hand"
            ) from e
    return paths
