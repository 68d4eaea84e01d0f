"""Tokenisers by name, the parallel order-keeping runner, the unsegmented-text check, and
``kotoba tokenize``; the Japanese path is checked against the MeCab-segmented 吾輩は猫である."""

from __future__ import annotations

import difflib
import itertools
import sys
import zipfile

import pytest

from conftest import shared_file
from kotoba.cli import main
from kotoba.errors import ConfigError, KotobaError
from kotoba.text.aozora import iter_aozora_paragraphs
from kotoba.text.tokenize import get_tokenizer, looks_unsegmented, tokenize_lines

NEKO = "吾輩は猫である。名前はまだ無い。"
NEKO_WORDS = ["吾輩", "は", "猫", "で", "ある", "。", "名前", "は", "まだ", "無い", "。"]


def test_tokenizers_by_name():
    assert get_tokenizer("whitespace")(" a  b\tc\u3000d ") == ["a", "b", "c", "d"]
    assert get_tokenizer("char")("吾輩 は\u3000猫") == ["吾", "輩", "は", "猫"]
    for name in ("mecab", "ja"):
        tok = get_tokenizer(name)
        assert tok.name == "mecab"
        assert tok(NEKO) == NEKO_WORDS
        assert tok("\u3000" + NEKO + " ") == NEKO_WORDS  # whitespace is never a token
    assert get_tokenizer("mecab")("") == []


def test_unidic_has_shorter_units_than_ipadic():
    # unidic-lite is no kotoba extra (a 47 MB sdist built at install): tested where a user installed it
    pytest.importorskip("unidic_lite", reason="unidic-lite is not installed (pip install unidic-lite)")
    ipa, uni = get_tokenizer("mecab")("国立国会図書館"), get_tokenizer("mecab-unidic")("国立国会図書館")
    assert "".join(ipa) == "".join(uni) == "国立国会図書館"
    assert len(uni) > len(ipa)


def test_unknown_tokenizer_lists_the_choices():
    with pytest.raises(ConfigError, match=r"unknown tokeniser 'juman'; choose one of whitespace, mecab"):
        get_tokenizer("juman")


def test_missing_fugashi_says_to_install_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fugashi", None)  # makes `import fugashi` raise ImportError
    with pytest.raises(KotobaError, match=r"the 'mecab' tokeniser needs .*pip install \"kotoba\[ja\]\""):
        get_tokenizer("ja")


def test_tokenize_lines_keeps_order_with_two_workers():
    lines = [f"{i}番目の猫は{'名前がまだ無い' * (i % 7)}。" for i in range(600)]
    serial = list(tokenize_lines(lines, "mecab", workers=1))
    assert serial[5] == ["5", "番目", "の", "猫", "は", *["名前", "が", "まだ", "無い"] * 5, "。"]
    # small blocks: many of them in flight, finishing out of order
    assert list(tokenize_lines(lines, "mecab", workers=2, block_chars=200)) == serial


def test_tokenize_lines_streams_an_endless_input():
    lines = (f"{i} 番目" for i in itertools.count())
    out = tokenize_lines(lines, "whitespace", workers=2, block_chars=100)
    assert list(itertools.islice(out, 1000))[-1] == ["999", "番目"]
    out.close()


def test_tokenize_lines_rejects_bad_options():
    with pytest.raises(ConfigError, match="workers must be >= 1"):
        tokenize_lines([], "char", workers=0)
    with pytest.raises(ConfigError, match="unknown tokeniser"):
        tokenize_lines([], "nope", workers=2)


def test_looks_unsegmented_on_small_texts():
    assert looks_unsegmented([NEKO, "どこで生れたかとんと見当がつかぬ。"])
    assert not looks_unsegmented([" ".join(NEKO_WORDS)])
    assert not looks_unsegmented(["the cat sat on the mat", "a very long sentence without japanese"])
    assert not looks_unsegmented([])


def test_looks_unsegmented_on_real_texts():
    raw = shared_file("sentencepiece-texts/wagahaiwa_nekodearu.txt")
    with open(raw, encoding="utf-8") as f:
        assert looks_unsegmented(f)
    assert looks_unsegmented(iter_aozora_paragraphs(raw))
    for segmented in ("aozora-wakati/neko.txt", "ptb/ptb.valid.txt"):
        with open(shared_file(segmented), encoding="utf-8") as f:
            assert not looks_unsegmented(f), segmented


def matched_tokens(a: list[str], b: list[str]) -> int:
    """Tokens of ``a`` aligned to equal tokens of ``b`` (difflib), in two levels for speed:
    sentences first (cut after 。 and 」), then tokens within the sentences that differ."""
    sa, sb = sentences(a), sentences(b)
    n = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, sa, sb, autojunk=False).get_opcodes():
        if op == "equal":
            n += sum(map(len, sa[i1:i2]))
        elif op == "replace":
            x = [t for s in sa[i1:i2] for t in s]
            y = [t for s in sb[j1:j2] for t in s]
            n += sum(m.size for m in difflib.SequenceMatcher(None, x, y, autojunk=False).get_matching_blocks())
    return n


def sentences(tokens: list[str]) -> list[tuple[str, ...]]:
    out, cur = [], []
    for t in tokens:
        cur.append(t)
        if t in ("。", "」"):
            out.append(tuple(cur))
            cur = []
    return out + [tuple(cur)] * bool(cur)


def test_matched_tokens_counts_an_alignment():
    a = "吾輩 は 猫 で ある 。 名前 は まだ 無い 。".split()
    b = "吾輩 は 猫 である 。 名前 は まだ 無い 。".split()
    assert matched_tokens(a, a) == len(a)
    assert matched_tokens(a, b) == len(a) - 2


def test_reader_and_mecab_agree_with_the_segmented_novel():
    raw = shared_file("sentencepiece-texts/wagahaiwa_nekodearu.txt")
    ref = shared_file("aozora-wakati/neko.txt").read_text(encoding="utf-8").split()
    ours = [t for tokens in tokenize_lines(iter_aozora_paragraphs(raw), "ja") for t in tokens]
    agreement = matched_tokens(ours, ref) / max(len(ours), len(ref))
    print(f"\n{len(ours):,} tokens vs {len(ref):,} in neko.txt; aligned agreement {agreement:.4f}")
    assert agreement >= 0.98, agreement


def test_cli_tokenize_round_trip(tmp_path, capsys):
    aozora = tmp_path / "neko.zip"
    text = "吾輩は猫である\r\n夏目漱石\r\n\r\n　吾輩《わがはい》は猫である。名前はまだ無い。\r\n底本：「全集1」\r\n"
    with zipfile.ZipFile(aozora, "w") as z:
        z.writestr("neko.txt", text.encode("cp932"))
    plain = tmp_path / "plain.txt"
    plain.write_text("どこで生れたか\n\nとんと見当がつかぬ。\n", encoding="utf-8")
    out = tmp_path / "out" / "wakati.txt"
    assert main(["tokenize", str(aozora), str(plain), "-o", str(out), "--tokenizer", "ja", "--workers", "2"]) == 0
    written = out.read_text(encoding="utf-8").splitlines()
    assert written == [
        " ".join(NEKO_WORDS),
        "どこ で 生れ た か",
        "",  # an empty input line stays an empty line
        "とんと 見当 が つか ぬ 。",
    ]
    summary = capsys.readouterr().out
    assert f"4 lines, {sum(len(line.split()) for line in written)} tokens from 2 file(s)" in summary
    assert "chars/s" in summary


def test_cli_tokenize_reports_a_bad_file_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x81\x7f")
    out = tmp_path / "out.txt"
    assert main(["tokenize", str(bad), "-o", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kotoba: error: ") and "bad.txt: neither UTF-8 nor Shift_JIS" in err
    assert not out.exists()


def test_cli_tokenize_help_ends_with_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["tokenize", "--help"])
    help_text = capsys.readouterr().out
    assert "Aozora" in help_text
    assert help_text.rstrip().splitlines()[-1].strip().startswith("kotoba tokenize ")


def test_words_tokenizer_drops_punctuation_keeps_inner_apostrophes_and_hyphens():
    tok = get_tokenizer("words")
    assert tok('The cat\'s well-known "fire," (1990s) -- naïve.') == [
        "The",
        "cat's",
        "well-known",
        "fire",
        "1990s",
        "naïve",
    ]
