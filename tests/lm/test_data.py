"""PTB and generic-corpus loading, vocabulary order, and the verified PTB download."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_file
from kotoba.errors import ConfigError, DataError, EmptyCorpusError
from kotoba.lm.data import (
    EOS,
    PTB_SHA256,
    UNK,
    PtbNotFoundError,
    build_lm_vocab,
    download_ptb,
    encode_lm,
    load_ptb,
    ptb_vocab,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_ptb_real_counts():
    train = shared_file("ptb/ptb.train.txt")
    d = train.parent
    ids, vocab = load_ptb(d, "train")
    assert ids.dtype == np.int32 and ids.shape == (929_589,)
    assert len(vocab) == 10_000 and len(set(vocab)) == 10_000
    assert UNK in vocab and EOS in vocab
    # descending frequency: ids sorted by count must have non-increasing counts
    counts = np.bincount(ids, minlength=len(vocab))
    assert np.all(np.diff(counts) <= 0)
    assert vocab[0] == "the"
    assert (ids == vocab.id(EOS)).sum() == 42_068  # one <eos> per line
    v_ids, v_vocab = load_ptb(d, "valid")
    t_ids, _ = load_ptb(d, "test")
    assert v_vocab == vocab
    assert len(v_ids) == 73_760 and len(t_ids) == 82_430


def test_ptb_small_order_and_eos(tmp_path):
    # "b" and "c" both occur twice; "b" appears first, so it gets the smaller id.
    _write(tmp_path / "ptb.train.txt", " a b c \n c b a a \n\n <unk> d \n")
    _write(tmp_path / "ptb.valid.txt", " a zz \n")
    _write(tmp_path / "ptb.test.txt", " d \n")
    ids, vocab = load_ptb(tmp_path, "train")
    assert vocab.words == ["a", EOS, "b", "c", UNK, "d"]  # blank line gives no <eos>
    assert [vocab[i] for i in ids] == "a b c <eos> c b a a <eos> <unk> d <eos>".split()
    v_ids, _ = load_ptb(tmp_path, "val")  # the book's name for valid is accepted
    assert [vocab[i] for i in v_ids] == ["a", UNK, EOS]  # unseen word -> <unk>
    assert ptb_vocab(tmp_path) == vocab


def test_ptb_missing_names_path_and_fix(tmp_path, monkeypatch):
    with pytest.raises(PtbNotFoundError) as e:
        load_ptb(tmp_path, "test")
    assert str(tmp_path / "ptb.test.txt") in str(e.value) and "download_ptb" in str(e.value)
    assert e.value.folder == tmp_path and "--" not in str(e.value)  # library words, not CLI flags
    monkeypatch.delenv("KOTOBA_DATA", raising=False)
    with pytest.raises(PtbNotFoundError, match="KOTOBA_DATA") as e:
        load_ptb()
    assert e.value.folder is None and "--" not in str(e.value)
    with pytest.raises(ConfigError):
        load_ptb(tmp_path, "dev")


def test_ptb_from_env(tmp_path, monkeypatch):
    for s in ("train", "valid", "test"):
        _write(tmp_path / f"ptb.{s}.txt", " x y \n")
    monkeypatch.setenv("KOTOBA_DATA", str(tmp_path))
    ids, vocab = load_ptb(split="test")
    assert ids.tolist() == [vocab.id("x"), vocab.id("y"), vocab.id(EOS)]


def test_generic_vocab_cut_keeps_unk_and_eos(tmp_path):
    f1 = _write(tmp_path / "a.txt", "the cat sat\nthe dog sat\n")
    f2 = _write(tmp_path / "b.txt", "\ufeffthe end\n")  # BOM is dropped
    vocab = build_lm_vocab([f1, f2], max_size=4)
    # counts: the 3, <eos> 3, sat 2, cat 1 ... -> two best words plus the two specials
    assert vocab.words == ["the", EOS, "sat", UNK]
    ids = encode_lm([f1, f2], vocab)
    assert [vocab[i] for i in ids] == "the <unk> sat <eos> the <unk> sat <eos> the <unk> <eos>".split()
    assert build_lm_vocab(f1, min_count=2).words == ["the", "sat", EOS, UNK]


def test_generic_errors(tmp_path):
    empty = _write(tmp_path / "e.txt", "\n  \n")
    with pytest.raises(EmptyCorpusError):
        build_lm_vocab(empty)
    with pytest.raises(DataError, match="nope.txt"):
        build_lm_vocab(tmp_path / "nope.txt")
    with pytest.raises(ConfigError):
        build_lm_vocab(empty, max_size=1)


# --------------------------------------------------------------------------------------------
# download against a local HTTP server


@pytest.fixture
def ptb_server(tmp_path):
    """Serve copies of the real PTB files from 127.0.0.1 on an ephemeral port."""
    src = shared_file("ptb/ptb.train.txt").parent
    root = tmp_path / "served"
    root.mkdir()
    for name in PTB_SHA256:
        shutil.copyfile(src / name, root / name)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = 0
    orig = server.finish_request

    def counting(*a, **k):
        server.requests += 1
        return orig(*a, **k)

    server.finish_request = counting
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield server, root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)


def test_download_verifies_and_caches(ptb_server, tmp_path):
    server, _, url = ptb_server
    dest = tmp_path / "dl"
    paths = download_ptb(dest, base_url=url)
    assert [p.name for p in paths] == list(PTB_SHA256)
    for p in paths:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == PTB_SHA256[p.name]
    assert server.requests == 3
    ids, vocab = load_ptb(dest, "valid")
    assert len(ids) == 73_760 and len(vocab) == 10_000
    download_ptb(dest, base_url=url)  # all cached and valid: no request
    assert server.requests == 3
    # a corrupted cached file is fetched again
    (dest / "ptb.test.txt").write_text("garbage")
    download_ptb(dest, base_url=url)
    assert server.requests == 4
    assert hashlib.sha256((dest / "ptb.test.txt").read_bytes()).hexdigest() == PTB_SHA256["ptb.test.txt"]


def test_download_sha_mismatch_saves_nothing(ptb_server, tmp_path):
    _, root, url = ptb_server
    (root / "ptb.valid.txt").write_text(" tampered \n")
    dest = tmp_path / "dl"
    with pytest.raises(DataError, match="SHA-256 mismatch") as e:
        download_ptb(dest, base_url=url)
    assert "ptb.valid.txt" in str(e.value)
    assert not (dest / "ptb.valid.txt").exists()
    assert [p.name for p in dest.iterdir()] == ["ptb.train.txt"]  # no temp file left behind


def test_download_http_error_is_data_error(ptb_server, tmp_path):
    _, root, url = ptb_server
    (root / "ptb.train.txt").unlink()
    with pytest.raises(DataError, match="could not download"):
        download_ptb(tmp_path / "dl", base_url=url)
    assert not (tmp_path / "dl" / "ptb.train.txt").exists()


def test_gzip_corpus_reads_like_plain(tmp_path):
    import gzip

    text = "a b a\nc a\n"
    plain = _write(tmp_path / "c.txt", text)
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    vocab = build_lm_vocab(plain)
    assert build_lm_vocab(gz) == vocab and vocab.words == ["a", EOS, "b", "c", UNK]
    assert encode_lm(gz, vocab).tolist() == encode_lm(plain, vocab).tolist() == [0, 2, 0, 1, 3, 0, 1]


def test_lm_reads_through_the_text_readers(tmp_path, monkeypatch):
    """Folders and .bz2 files work because the text comes from kotoba.text.readers, and a line longer
    than the readers' chunk size is still one sentence with one <eos>."""
    import bz2

    import kotoba.lm.data as data

    d = tmp_path / "corpus"
    d.mkdir()
    _write(d / "a.txt", "a b a\n" + "b " * 12_000 + "\n")
    (d / "b.txt.bz2").write_bytes(bz2.compress(b"c a\n"))
    vocab = build_lm_vocab(d)
    ids = encode_lm(d, vocab)
    words = [vocab[i] for i in ids]
    assert words[:4] == ["a", "b", "a", EOS] and words[-3:] == ["c", "a", EOS]
    assert words.count(EOS) == 3 and len(words) == 4 + 12_001 + 3
    seen = []

    def reader(source, **kwargs):  # whatever the readers yield is what the LM reads
        seen.append(source)
        return iter([["x", "y"], ["y"]])

    monkeypatch.setattr(data, "iter_sentences", reader)
    assert build_lm_vocab("any").words == ["y", EOS, "x", UNK] and seen == ["any"]
