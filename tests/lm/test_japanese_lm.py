"""A language model on raw Japanese text: --lang ja segments the corpus, the start phrase and joins the output."""

from __future__ import annotations

import json
import math

import pytest

from kotoba.cli import main
from kotoba.lm.checkpoint import load_lm
from kotoba.text.tokenize import get_tokenizer

pytest.importorskip("fugashi")

TEXT = (
    "吾輩は猫である。名前はまだ無い。\nどこで生れたかとんと見当がつかぬ。\n何でも薄暗いじめじめした所で泣いていた。\n"
)


def test_lm_train_and_generate_in_japanese(tmp_path, capsys):
    corpus = tmp_path / "neko.txt"
    corpus.write_text(TEXT * 40, encoding="utf-8")
    ckpt = tmp_path / "lm.npz"
    args = ["lm", "train", "--data", str(corpus), "--lang", "ja", "-o", str(ckpt), "--epochs", "2"]
    assert main([*args, "--batch-size", "4", "--time-size", "5", "--wordvec", "16", "--hidden", "16", "--quiet"]) == 0
    _, vocab, meta = load_lm(ckpt)
    assert meta["tokenizer"] == "mecab"
    assert {"吾輩", "猫", "名前", "見当"} <= set(vocab.words)  # MeCab's words, not whole lines
    capsys.readouterr()
    assert main(["lm", "generate", str(ckpt), "--start", "吾輩は", "--length", "10", "--seed", "1"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("吾輩は") and " " not in out


def test_lm_eval_reads_text_with_the_models_tokenizer(tmp_path, capsys):
    corpus = tmp_path / "neko.txt"
    corpus.write_text(TEXT * 40, encoding="utf-8")
    ckpt = tmp_path / "lm.npz"
    train = ["lm", "train", "--data", str(corpus), "--lang", "ja", "-o", str(ckpt), "--epochs", "1", "--quiet"]
    assert main([*train, "--batch-size", "4", "--time-size", "5", "--wordvec", "8", "--hidden", "8"]) == 0
    capsys.readouterr()
    assert main(["lm", "eval", str(ckpt), "--data", str(corpus), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    mecab = get_tokenizer("mecab")
    words_per_copy = sum(len(mecab(line)) + 1 for line in TEXT.splitlines())  # + <eos> per line
    assert result["tokens"] == 40 * words_per_copy  # segmented as the training text was, not one token per line
    assert math.isfinite(result["perplexity"])
