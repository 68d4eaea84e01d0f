"""The one text path: plain files, Aozora texts, Wikipedia dumps and tokenisers through the same readers."""

from __future__ import annotations

import bz2
import importlib.util
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_file
from kotoba.errors import UnsegmentedTextWarning
from kotoba.text import TextReader, encode_corpus, iter_sentences, scan_corpus
from kotoba.text.readers import ReadStats, document_kind
from kotoba.text.tokenize import tokenize_lines

AOZORA = [
    "吾輩は猫である",
    "夏目漱石",
    "-" * 55,
    "【テキスト中に現れる記号について】",
    "《》：ルビ",
    "-" * 55,
    "　吾輩《わがはい》は猫である。名前はまだ無い。",
    "　どこで生れたかとんと見当《けんとう》がつかぬ。",
    "",
    "底本：「夏目漱石全集1」ちくま文庫、筑摩書房",
]
BODY = ["吾輩は猫である。名前はまだ無い。", "どこで生れたかとんと見当がつかぬ。"]


def _aozora(tmp_path: Path, encoding: str = "utf-8") -> Path:
    p = tmp_path / f"neko-{encoding}.txt"
    p.write_bytes("\r\n".join(AOZORA).encode(encoding) + b"\r\n")
    return p


def _sentences(source, **kw) -> list[list[str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsegmentedTextWarning)
        return list(iter_sentences(source, **kw))


def test_aozora_text_is_recognised_and_cleaned(tmp_path):
    p = _aozora(tmp_path)
    assert document_kind(p) == "aozora"
    assert _sentences(p, tokenizer="char") == [[c for c in line] for line in BODY]


def test_aozora_zip_in_cp932_reads_like_the_utf8_file(tmp_path):
    z = tmp_path / "neko.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("neko.txt", _aozora(tmp_path, "cp932").read_bytes())
    assert document_kind(z) == "aozora"
    assert _sentences(z, tokenizer="char") == _sentences(_aozora(tmp_path), tokenizer="char")


def test_mecab_tokeniser_segments_lines(tmp_path):
    pytest.importorskip("fugashi")
    got = _sentences(_aozora(tmp_path), tokenizer="mecab", workers=1)
    assert got[0] == ["吾輩", "は", "猫", "で", "ある", "。", "名前", "は", "まだ", "無い", "。"]


def test_unsegmented_japanese_read_by_whitespace_warns(tmp_path):
    p = tmp_path / "raw.txt"
    p.write_text("\n".join(BODY * 50) + "\n", encoding="utf-8")
    with pytest.warns(UnsegmentedTextWarning, match="mecab"):
        list(iter_sentences(p))
    with pytest.warns(UnsegmentedTextWarning):  # an Aozora text read without a tokeniser, too
        list(iter_sentences(_aozora(tmp_path)))


def test_segmented_and_english_text_do_not_warn(tmp_path):
    seg = tmp_path / "seg.txt"
    seg.write_text("吾輩 は 猫 で ある 。 名前 は まだ 無い 。\n" * 50, encoding="utf-8")
    en = tmp_path / "en.txt"
    en.write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
    assert len(_sentences([seg, en])) == 100


def test_scan_with_a_tokeniser_equals_counting_its_tokens(tmp_path):
    src = tmp_path / "raw.txt"
    src.write_text("\n".join(BODY * 3) + "\n", encoding="utf-8")
    vocab, enc = scan_corpus(src, tmp_path / "enc", min_count=1, tokenizer="char", workers=1)
    tokens = [t for line in tokenize_lines(BODY * 3, "char") for t in line]
    assert enc.n_words == len(tokens) == vocab.total_words
    assert [vocab.words[i] for i in np.asarray(enc.ids)] == tokens
    assert enc.meta["tokenizer"] == "char"


def test_encoding_cache_is_keyed_by_tokeniser(tmp_path):
    src = tmp_path / "raw.txt"
    src.write_text("ab cd a b\n", encoding="utf-8")
    vocab, enc = scan_corpus(src, tmp_path / "enc", min_count=1)
    st = ReadStats()
    again = encode_corpus(src, vocab, tmp_path / "enc", stats=st)  # same options: reused as is
    assert st.files == 0 and again.n_words == 4
    char = encode_corpus(src, vocab, tmp_path / "enc", tokenizer="char", stats=st)
    assert st.files == 1  # another tokeniser: the text was read again
    # characters a b c d a b: 'c' and 'd' are not words of the vocabulary
    assert char.meta["tokenizer"] == "char" and char.n_words == 4
    assert [vocab.words[i] for i in np.asarray(char.ids)] == ["a", "b", "a", "b"]


def test_wikipedia_dump_is_a_corpus(tmp_path):
    xml = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/"><siteinfo><namespaces>
    <namespace key="0" /></namespaces></siteinfo>
    <page><title>Cat</title><ns>0</ns><revision><text>The '''cat''' is a [[mammal|small mammal]].{{cite}}

It purrs.</text></revision></page>
    <page><title>Dog</title><ns>0</ns><redirect title="Canis"/>
    <revision><text>#REDIRECT [[Canis]]</text></revision></page>
    </mediawiki>"""
    dump = tmp_path / "dump.xml.bz2"
    dump.write_bytes(bz2.compress(xml.encode()))
    assert document_kind(dump) == "wiki"
    assert _sentences(dump) == [["The", "cat", "is", "a", "small", "mammal."], ["It", "purrs."]]


def test_the_shipped_enwiki_sample_trains_through_the_reader():
    spec = importlib.util.find_spec("gensim")
    if spec is None:
        pytest.skip("gensim (a dev dependency) ships the enwiki sample")
    data = Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"
    dump = data / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
    sentences = list(TextReader().pieces(dump, ReadStats()))
    text = "".join(sentences)
    assert len(text.split()) > 10_000 and "{{" not in text and "[[" not in text


def test_raw_novel_through_mecab_matches_the_segmented_corpus_size(tmp_path):
    pytest.importorskip("fugashi")
    raw = shared_file("sentencepiece-texts/wagahaiwa_nekodearu.txt")
    _, enc = scan_corpus(raw, tmp_path / "enc", min_count=1, tokenizer="mecab", workers=2)
    # the shared README measured 205,986 tokens with MeCab + IPADIC after stripping the markup,
    # against 205,992 in aozora-wakati/neko.txt
    assert abs(enc.n_words - 205_992) < 100
