"""Language-model corpora: the Penn Treebank (Mikolov's preprocessing) and any plain-text corpus.

Text comes through :mod:`kotoba.text.readers` (files, folders, compressed files), the same path
as word2vec's: a sentence (line) is the reader's token list, and the language model ends each
with the token ``<eos>`` (blank lines give nothing). The vocabulary is a
:class:`kotoba.text.vocab.Vocab` with ``<unk>`` and ``<eos>`` always in it: words are numbered by
**descending frequency in the training text, ties broken by first appearance**; the book's
``dataset/ptb.py`` numbers them by first appearance only, and :mod:`kotoba.lm.book_import`
remaps weights from that order to this one. Frequency order puts the common words first, which
makes vocabularies cut at ``max_size`` well defined and ids readable (0 is the most common word).

Nothing here touches the network at import time; :func:`download_ptb` fetches the three PTB files
only when called, and checks them against known SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, InvalidUtf8Warning
from ..io import atomic_write
from ..text.readers import ReadStats, iter_sentences
from ..text.vocab import EOS, UNK, Vocab, build_vocab

#: Tokens every language-model vocabulary has: ``<unk>`` for unknown words, ``<eos>`` at line ends.
LM_SPECIALS = (UNK, EOS)

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

Source = str | os.PathLike | Sequence[str | os.PathLike]


class PtbNotFoundError(DataError):
    """The PTB files are not where they were looked for (``folder`` is None when no folder was
    given at all); a front end adds how its user names the folder."""

    def __init__(self, message: str, folder: Path | None):
        super().__init__(message)
        self.folder = folder


# --------------------------------------------------------------------------------------------
# Reading any corpus


def lm_sentences(source: Source, tokenizer: str = "whitespace") -> Iterator[list[str]]:
    """The sentences of a corpus as the language model reads them: each line's tokens (from
    :func:`kotoba.text.readers.iter_sentences`, split by ``tokenizer``, e.g. ``mecab`` for
    Japanese) followed by ``<eos>``.

    A line is one sentence however long it is (the reader's chunking of long lines is turned
    off), so ``<eos>`` marks exactly the line ends. Raises :class:`DataError` for a missing file
    or one with more invalid UTF-8 sequences than tokens (once read to the end: binary, or another
    encoding), :class:`~kotoba.errors.EmptyCorpusError` for a corpus without tokens.
    """
    st = ReadStats()
    for sentence in iter_sentences(source, max_sentence_len=sys.maxsize, tokenizer=tokenizer, stats=st):
        yield sentence + [EOS]
    name = source if isinstance(source, (str, os.PathLike)) else ", ".join(map(str, source))
    if st.invalid_utf8 > st.tokens:
        raise DataError(
            f"{name}: not UTF-8 text ({st.invalid_utf8:,} invalid UTF-8 sequences in {st.tokens:,} words): a "
            "binary file, or text in another encoding? convert it to UTF-8 (e.g. iconv -f SHIFT-JIS -t UTF-8)"
        )
    if st.invalid_utf8:
        warnings.warn(
            InvalidUtf8Warning(
                f"{st.invalid_utf8:,} invalid UTF-8 sequences in the corpus were read as U+FFFD ({name}); "
                "is it in another encoding? (convert it, e.g. iconv -f SHIFT-JIS -t UTF-8)"
            ),
            stacklevel=2,
        )


def build_lm_vocab(
    source: Source, max_size: int | None = 10000, min_count: int = 1, tokenizer: str = "whitespace"
) -> Vocab:
    """Vocabulary of a text corpus: the ``max_size`` most frequent words seen at least
    ``min_count`` times, ``<unk>`` and ``<eos>`` always included (see
    :func:`kotoba.text.vocab.vocab_from_counts`); ties by first appearance."""
    sentences = lm_sentences(source, tokenizer)
    return build_vocab(sentences, min_count, max_size, corpus_name=_names(source), specials=LM_SPECIALS)


def encode_sentences(sentences: Iterable[Sequence[str]], vocab: Vocab) -> np.ndarray:
    """Word ids of the tokens of ``sentences``, one after the other: (N,) int32; words outside
    ``vocab`` become ``<unk>`` (:class:`DataError` if the vocabulary has none)."""
    index = vocab.index
    if UNK in index:
        unk = index[UNK]
        return np.fromiter((index.get(w, unk) for s in sentences for w in s), dtype=np.int32)

    def known(w: str) -> int:
        if w not in index:
            raise DataError(f"word {w!r} is not in the vocabulary, which has no {UNK} to stand for it")
        return index[w]

    return np.fromiter((known(w) for s in sentences for w in s), dtype=np.int32)


def encode_lm(source: Source, vocab: Vocab, tokenizer: str = "whitespace") -> np.ndarray:
    """Word ids of a text corpus under ``vocab``: (N,) int32, ``<eos>`` per line, OOV -> ``<unk>``."""
    return encode_sentences(lm_sentences(source, tokenizer), vocab)


def load_corpus(
    source: Source, max_size: int | None = None, min_count: int = 1, tokenizer: str = "whitespace"
) -> tuple[np.ndarray, Vocab]:
    """Read a corpus once: its ids under its own vocabulary (:func:`build_lm_vocab`'s) and the vocabulary."""
    sentences = list(lm_sentences(source, tokenizer))
    vocab = build_vocab(sentences, min_count, max_size, corpus_name=_names(source), specials=LM_SPECIALS)
    return encode_sentences(sentences, vocab), vocab


def _names(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return ", ".join(str(p) for p in source)


# --------------------------------------------------------------------------------------------
# Penn Treebank


def ptb_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The PTB folder: ``data_dir`` if given, else ``$KOTOBA_DATA``; :class:`PtbNotFoundError` if neither is set."""
    if data_dir is None:
        env = os.environ.get(DATA_ENV)
        if not env:
            raise PtbNotFoundError(
                f"no PTB data folder given (data_dir is None and ${DATA_ENV} is not set); the folder must hold "
                "ptb.train.txt, ptb.valid.txt and ptb.test.txt, which download_ptb() fetches",
                None,
            )
        data_dir = env
    return Path(data_dir)


def ptb_path(data_dir: str | os.PathLike | None, split: str) -> Path:
    """Path of ``ptb.<split>.txt``, checked to exist (:class:`PtbNotFoundError` naming it otherwise)."""
    if split == "val":  # the book's name for the validation split
        split = "valid"
    if split not in PTB_SPLITS:
        raise ConfigError(f"PTB split must be one of {', '.join(PTB_SPLITS)}; got {split!r}")
    folder = ptb_dir(data_dir)
    path = folder / f"ptb.{split}.txt"
    if not path.is_file():
        raise PtbNotFoundError(f"PTB file {path} not found (download_ptb() fetches the three PTB files)", folder)
    return path


def ptb_vocab(data_dir: str | os.PathLike | None = None) -> Vocab:
    """kotoba's PTB vocabulary: every word of ptb.train.txt plus ``<eos>`` (10,000), by
    descending frequency, ties by first appearance."""
    return build_lm_vocab(ptb_path(data_dir, "train"), max_size=None)


def load_ptb(data_dir: str | os.PathLike | None = None, split: str = "train") -> tuple[np.ndarray, Vocab]:
    """Word ids of a PTB split and the vocabulary (always built from the train split).

    Returns ``(ids, vocab)``: ids (N,) int32 with one ``<eos>`` per line (N = 929,589 train,
    73,760 valid, 82,430 test), vocab 10,000 words.
    """
    path = ptb_path(data_dir, split)
    train_path = ptb_path(data_dir, "train")
    if path == train_path:
        return load_corpus(train_path)
    vocab = ptb_vocab(data_dir)
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
                        "The server may serve a different version: check base_url"
                    )
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            raise DataError(
                f"could not download {url} ({e}); without network, copy the PTB files into {dest} by hand"
            ) from e
    return paths
