"""Catalogue (issue 11): bad corpora, vocabularies, parameters and training troubles, as a user meets them.

Each case runs the CLI (in-process: same code path as the command) and checks the exact clear error
or the documented recovery; docs/errors.md lists the messages. Cases that kotoba does not handle
yet, in modules this test suite does not own, are ``xfail(strict=True)`` with the reason: the day
they are fixed the marker must go.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import math
import os

import numpy as np
import pytest

from kotoba.text.readers import ReadStats, iter_sentences

from .robust_helpers import LM_SMALL, SMALL, assert_error, write_topics

# ------------------------------------------------------------------------------------- corpus


@pytest.mark.parametrize("cmd", ["train", "lm"])
def test_missing_corpus(kotoba, cmd):
    argv = ["train", "nowhere.txt", "-o", "v.bin"] if cmd == "train" else ["lm", "train", "--data", "nowhere.txt"]
    res = kotoba(*argv, *(["-o", "m.npz"] if cmd == "lm" else []))
    assert_error(res, "nowhere.txt")
    assert "no such file" in res.err or "not found" in res.err


@pytest.mark.parametrize("content", ["", "   \n\t\n  \n"], ids=["empty", "whitespace"])
@pytest.mark.parametrize("cmd", ["train", "lm"])
def test_empty_or_blank_corpus(kotoba, tmp_path, cmd, content):
    (tmp_path / "c.txt").write_text(content)
    if cmd == "train":
        res = kotoba("train", "c.txt", "-o", "v.bin", *SMALL)
    else:
        res = kotoba("lm", "train", "--data", "c.txt", "-o", "m.npz", *LM_SMALL)
    assert_error(res, "c.txt", "no tokens")
    assert not (tmp_path / "v.bin").exists() and not (tmp_path / "m.npz").exists()


def test_invalid_utf8_is_replaced_and_counted_by_the_reader(tmp_path):
    (tmp_path / "c.txt").write_bytes(b"abc \xff\xfe def\nabc\n")
    st = ReadStats()
    assert list(iter_sentences(tmp_path / "c.txt", stats=st)) == [["abc", "\ufffd\ufffd", "def"], ["abc"]]
    assert st.invalid_utf8 == 2


@pytest.mark.parametrize("cmd", ["train", "lm"])
def test_invalid_utf8_count_is_shown_by_train(kotoba, tmp_path, cmd):
    (tmp_path / "c.txt").write_bytes(b"abc \xff\xfe def abc\n" * 20)
    if cmd == "train":
        res = kotoba("train", "c.txt", "-o", "v.bin", *SMALL, "--json")
    else:
        res = kotoba("lm", "train", "--data", "c.txt", "-o", "m.npz", *LM_SMALL)
    assert res.rc == 0
    assert res.err.count("warning: 40 invalid UTF-8 sequences in the corpus were read as U+FFFD") == 1
    assert cmd == "lm" or json.loads(res.out.splitlines()[-1])["invalid_utf8"] == 40


@pytest.mark.parametrize("cmd", ["train", "lm"])
def test_binary_garbage_is_refused_by_train(kotoba, tmp_path, cmd):
    (tmp_path / "c.bin").write_bytes(np.random.default_rng(0).bytes(100_000))
    if cmd == "train":
        res = kotoba("train", "c.bin", "-o", "v.bin", *SMALL)
    else:
        res = kotoba("lm", "train", "--data", "c.bin", "-o", "m.npz", *LM_SMALL)
    assert_error(res, "c.bin: not UTF-8 text", "invalid UTF-8 sequences", "convert it to UTF-8")


def test_nul_bytes_are_characters_of_words(kotoba, tmp_path):
    # documented choice: NUL is valid UTF-8, so it stays inside a token like any other character
    (tmp_path / "c.txt").write_bytes(b"abc\x00def abc ghi\n" * 30)
    res = kotoba("train", "c.txt", "-o", "v.txt", *SMALL, "--save-vocab", "vocab.txt")
    assert res.rc == 0, res.err
    assert "abc\x00def" in (tmp_path / "vocab.txt").read_text()


def test_a_run_without_whitespace_is_refused_early(kotoba, tmp_path):
    # a 200 MB "line" that is one run of letters: refused after ~1 MB, not held in memory
    with open(tmp_path / "c.txt", "wb") as f:
        block = b"x" * (1 << 20)
        for _ in range(200):
            f.write(block)
    res = kotoba("train", "c.txt", "-o", "v.bin", *SMALL)
    assert_error(res, "c.txt", "without whitespace", "tokenised")


def test_a_folder_without_files(kotoba, tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "h" / ".git").mkdir(parents=True)
    (tmp_path / "h" / ".git" / "config").write_text("a b c\n")  # hidden: skipped
    for d in ("d", "h"):
        assert_error(kotoba("train", d, "-o", "v.bin", *SMALL), d, "contains no files")


def test_lm_train_on_a_folder_without_files(kotoba, tmp_path):
    (tmp_path / "d").mkdir()
    res = kotoba("lm", "train", "--data", "d", "-o", "m.npz", *LM_SMALL)
    assert_error(res, "d: directory contains no files")


@pytest.mark.parametrize("ext,mod", [(".gz", gzip), (".bz2", bz2), (".xz", lzma)])
def test_truncated_compressed_corpus(kotoba, tmp_path, ext, mod):
    data = mod.compress(("the quick brown fox jumps over the lazy dog\n" * 3000).encode())
    (tmp_path / f"c.txt{ext}").write_bytes(data[: len(data) // 2])
    res = kotoba("train", f"c.txt{ext}", "-o", "v.bin", *SMALL)
    assert_error(res, f"c.txt{ext}", "cannot read", "ended before the end-of-stream")
    assert not (tmp_path / "v.bin").exists()


def test_permission_denied_corpus(kotoba, tmp_path, monkeypatch):
    p = write_topics(tmp_path / "c.txt")
    if os.geteuid() == 0:  # root reads anything: make the open fail as it would for a user
        import kotoba.text.readers as readers

        def denied(path, *a, **k):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(readers, "open", denied, raising=False)
    else:
        p.chmod(0)
    assert_error(kotoba("train", "c.txt", "-o", "v.bin", *SMALL), "c.txt", "cannot open", "Permission denied")


# ------------------------------------------------------------------------------------- vocabulary


def test_min_count_that_keeps_no_word(kotoba, tmp_path):
    write_topics(tmp_path / "c.txt")
    res = kotoba("train", "c.txt", "-o", "v.bin", *SMALL[:-3], "--min-count", "100000", "--quiet")
    assert_error(res, "min_count=100000", "c.txt", "lower min_count")


def test_a_corpus_of_one_repeated_word(kotoba, tmp_path):
    (tmp_path / "c.txt").write_text("word " * 1000 + "\n")
    assert_error(kotoba("train", "c.txt", "-o", "v.bin", *SMALL), "at least 2 distinct words", "only 'word' survives")


def test_min_count_that_leaves_one_word(kotoba, tmp_path):
    (tmp_path / "c.txt").write_text("common " * 50 + "rare other\n")
    res = kotoba("train", "c.txt", "-o", "v.bin", *SMALL[:-3], "--min-count", "2", "--quiet")
    assert_error(res, "survive min_count=2", "only 'common' survives", "lower min_count")


def test_max_vocab_size_below_what_training_needs(kotoba, tmp_path):
    write_topics(tmp_path / "c.txt")
    assert_error(kotoba("train", "c.txt", "-o", "v.bin", *SMALL, "--max-vocab-size", "1"), "max_vocab_size=1")


def test_one_word_vocabulary_with_hs_is_refused(kotoba, tmp_path):
    (tmp_path / "c.txt").write_text("word " * 1000 + "\n")
    assert_error(kotoba("train", "c.txt", "-o", "v.bin", *SMALL, "--hs"), "at least 2 distinct words")


def test_window_larger_than_every_sentence_trains(kotoba, tmp_path):
    # documented: the window is cut at the sentence ends, so a huge window is just "the whole sentence"
    write_topics(tmp_path / "c.txt")
    res = kotoba("train", "c.txt", "-o", "v.txt", *SMALL, "--window", "50", "--json")
    assert res.rc == 0, res.err
    assert math.isfinite(json.loads(res.out.splitlines()[-1])["final_loss"])


# ------------------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--dim", "0", "dim=0: must be an integer >= 1"),
        ("--dim", "-5", "dim=-5: must be an integer >= 1"),
        ("--window", "0", "window=0: must be an integer >= 1"),
        ("--negative", "-1", "negative=-1: must be an integer >= 0"),
        ("--epochs", "0", "epochs=0: must be an integer >= 1"),
        ("--alpha", "0", "alpha=0.0: must be a finite number in (0, inf]"),
        ("--alpha", "-0.1", "alpha=-0.1: must be a finite number"),
        ("--alpha", "nan", "alpha=nan: must be a finite number"),
        ("--alpha", "inf", "alpha=inf: must be a finite number"),
        ("--sample", "nan", "sample=nan: must be a finite number in [0, 1)"),
        ("--sample", "5", "sample=5.0: must be a finite number in [0, 1)"),
        ("--max-vocab-size", "0", "max_vocab_size=0: must be None or an integer >= 1"),
        ("--threads", "0", "threads=0: must be None or an integer >= 1"),
        ("--min-count", "0", "min_count=0: must be an integer >= 1"),
    ],
)
def test_word2vec_option_out_of_range(kotoba, tmp_path, option, value, message):
    write_topics(tmp_path / "c.txt")
    assert_error(kotoba("train", "c.txt", "-o", "v.bin", "--quiet", option, value), message)


def test_word2vec_option_not_a_number_is_a_usage_error(kotoba, tmp_path):
    res = kotoba("train", "c.txt", "-o", "v.bin", "--dim", "lots")
    assert res.rc == 2 and "argument --dim: invalid int value: 'lots'" in res.err


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--negative", "0"], "negative=0 and hs=False: nothing to train"),
        (["--alpha", "0.1", "--min-alpha", "1"], "min_alpha=1.0: must be a finite number in [0, 0.1]"),
        (["--resume"], "--resume needs --checkpoint DIR"),
    ],
)
def test_contradictory_word2vec_options(kotoba, tmp_path, extra, message):
    write_topics(tmp_path / "c.txt")
    assert_error(kotoba("train", "c.txt", "-o", "v.bin", "--quiet", *extra), message)


def test_sg_and_cbow_together_is_a_usage_error(kotoba):
    res = kotoba("train", "c.txt", "-o", "v.bin", "--sg", "--cbow")
    assert res.rc == 2 and "not allowed with argument" in res.err


def test_absurd_word2vec_sizes_are_refused_before_allocating():
    from kotoba.errors import ConfigError
    from kotoba.word2vec import Word2VecConfig

    with pytest.raises(ConfigError, match="window=1000000000: must be <= max_sentence_len=10000"):
        Word2VecConfig(window=10**9)


def test_more_threads_than_cores_is_allowed_with_a_warning(kotoba, tmp_path):
    write_topics(tmp_path / "c.txt")
    many = (os.cpu_count() or 1) + 3
    res = kotoba("train", "c.txt", "-o", "v.bin", *SMALL[:-3], "--threads", str(many), "--quiet")
    assert res.rc == 0, res.err
    assert f"warning: --threads {many} is more than the {os.cpu_count()} CPU cores" in res.err


@pytest.mark.parametrize(
    "option,value,message",
    [
        ("--lr", "nan", "--lr must be a finite number > 0, got nan"),
        ("--lr", "0", "--lr must be a finite number > 0, got 0"),
        ("--lr-decay", "inf", "--lr-decay must be a finite number > 0, got inf"),
        ("--epochs", "0", "--epochs must be a finite number > 0, got 0"),
        ("--hidden", "-1", "--hidden must be a finite number > 0, got -1"),
        ("--max-grad", "nan", "--max-grad must be a finite number >= 0, got nan"),
        ("--dropout", "nan", "--dropout must be in [0, 1), got nan"),
        ("--vocab-size", "1", "room for <unk>, <eos>"),
    ],
)
def test_lm_option_out_of_range(kotoba, tmp_path, option, value, message):
    write_topics(tmp_path / "c.txt")
    assert_error(kotoba("lm", "train", "--data", "c.txt", "-o", "m.npz", "--quiet", option, value), message)


# ------------------------------------------------------------------------------------- training


def test_word2vec_divergence_stops_and_keeps_the_last_good_checkpoint(kotoba, tmp_path, monkeypatch):
    import kotoba.word2vec.trainer as trainer
    from kotoba.word2vec.model import Word2VecModel

    write_topics(tmp_path / "c.txt")
    real = trainer.train_job

    def nan_after_first_checkpoint(*args):
        out = real(*args)
        # the loss turns NaN once epoch 1 has been saved, as an exploding learning rate would
        return (math.nan, *out[1:]) if (tmp_path / "ck" / "word2vec.json").exists() else out

    monkeypatch.setattr(trainer, "train_job", nan_after_first_checkpoint)
    res = kotoba("train", "c.txt", "-o", "v.bin", *SMALL[:-5], "--epochs", "3", "--checkpoint", "ck", "--quiet")
    assert_error(res, "loss became nan", "lower alpha")
    assert not (tmp_path / "v.bin").exists()
    assert Word2VecModel.load(tmp_path / "ck").stats["epochs_done"] == 1  # the good one, intact


def test_lm_divergence_stops_and_keeps_the_last_good_state(kotoba, tmp_path, monkeypatch):
    from kotoba.models.rnnlm import Rnnlm

    write_topics(tmp_path / "c.txt")
    real = Rnnlm.forward

    def nan_after_first_state(self, xs, ts):
        loss = real(self, xs, ts)
        return math.nan if (tmp_path / "st.npz").exists() else loss

    monkeypatch.setattr(Rnnlm, "forward", nan_after_first_state)
    lm = [*LM_SMALL[:-3], "--epochs", "3", "--quiet"]
    res = kotoba("lm", "train", "--data", "c.txt", "--model", "lstm", "-o", "m.npz", "--state", "st.npz", *lm)
    assert_error(res, "loss became nan", "lower the learning rate")
    assert not (tmp_path / "m.npz").exists()
    meta = json.loads(str(np.load(tmp_path / "st.npz")["meta"]))
    assert meta["epoch"] == 1


def test_lm_exploding_learning_rate_is_a_clear_error(kotoba, tmp_path):
    write_topics(tmp_path / "c.txt")
    res = kotoba("lm", "train", "--data", "c.txt", "-o", "m.npz", *LM_SMALL, "--lr", "1e30")
    assert_error(res, "lower the learning rate")


def test_unwritable_output_is_detected_before_training(kotoba, tmp_path):
    (tmp_path / "afile").write_text("x")
    # the corpus does not even exist: the output is checked first, before any reading or training
    res = kotoba("train", "missing.txt", "-o", "afile/v.bin")
    assert_error(res, "cannot write afile/v.bin", "is a file, not a folder")
    res = kotoba("train", "missing.txt", "-o", ".")
    assert_error(res, "cannot write .", "give a file name")
    res = kotoba("lm", "train", "--data", "missing.txt", "-o", "m.npz", "--state", "afile/st.npz")
    assert_error(res, "cannot write afile/st.npz")
    res = kotoba("train", "missing.txt", "-o", "v.bin", "--checkpoint", "afile")
    assert_error(res, "cannot write afile", "Not a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_is_detected_before_training(kotoba, tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    assert_error(kotoba("train", "missing.txt", "-o", "ro/v.bin"), "cannot write ro/v.bin", "Permission denied")
