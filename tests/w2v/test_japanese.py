"""Japanese text as the book's readers use it: Aozora Bunko works segmented by MeCab into
space-separated words, one whole novel on a single line."""

from __future__ import annotations

from conftest import shared_file
from kotoba.vectors import WordVectors
from kotoba.word2vec import Word2VecConfig, train


def test_kokoro_learns_family_words_and_round_trips(tmp_path):
    corpus = shared_file("aozora-wakati/kokoro.txt")  # 105,313 tokens on one line
    model = train(corpus, Word2VecConfig(sg=True, epochs=10, min_count=5, threads=1, seed=0))
    wv = model.wv
    assert model.stats["raw_words"] == 105_313
    # 父 (father) and 母 (mother) appear in the same frames ("父の病気", "母に") all through part two
    assert "母" in [w for w, _ in wv.most_similar("父", topn=5)]
    assert wv.similarity("父", "母") > wv.similarity("父", "手紙") + 0.1

    path = tmp_path / "kokoro.bin"
    wv.save_word2vec_format(path, binary=True)
    back = WordVectors.load_word2vec_format(path)
    assert back.index_to_key == wv.index_to_key
    assert (back.vectors == wv.vectors).all()
