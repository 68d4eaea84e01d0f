"""Aozora Bunko reader: markup stripping rule by rule, encodings and containers, the real novel."""

from __future__ import annotations

import zipfile

import pytest

from conftest import shared_file
from kotoba.errors import DataError
from kotoba.text.aozora import SNIFF_BYTES, clean_line, is_aozora, iter_aozora_paragraphs, iter_text_lines

DASHES = "-" * 55
GUIDE = [DASHES, "【テキスト中に現れる記号について】", "《》：ルビ", "（例）吾輩《わがはい》は猫である", DASHES]
COLOPHON = ["底本：「夏目漱石全集1」ちくま文庫、筑摩書房", "　　　1987（昭和62）年9月29日第1刷発行", "入力：柴田卓治"]
BODY = [
    "［＃８字下げ］一［＃「一」は中見出し］",
    "　吾輩《わがはい》は猫である。名前はまだ無い。",
    "",
    "　一番｜獰悪《どうあく》な種族※［＃「言＋墟のつくり」、第4水準2-88-74］であった。",
    "［＃ここから２字下げ］",
    "　〔Quid aliud〕と［＃「※［＃「言＋墟のつくり」、第4水準2-88-74］」に傍点］云った。",
]
EXPECTED = ["一", "吾輩は猫である。名前はまだ無い。", "一番獰悪な種族※であった。", "〔Quid aliud〕と云った。"]


def write(path, lines, encoding="utf-8", newline="\r\n"):
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


def read(path):
    return list(iter_aozora_paragraphs(path))


def test_title_guide_ruby_notes_and_colophon_are_stripped(tmp_path):
    p = write(tmp_path / "neko.txt", ["吾輩は猫である", "夏目漱石", *GUIDE, *BODY, *COLOPHON])
    assert read(p) == EXPECTED


@pytest.mark.parametrize(
    "head",
    [
        ["吾輩は猫である", "夏目漱石", ""],  # title block ended by a blank line
        ["吾輩は猫である", "夏目漱石", "", "", *GUIDE, ""],  # ... and the guide after it
    ],
)
def test_title_block_ends_at_blank_line_or_guide(tmp_path, head):
    assert read(write(tmp_path / "a.txt", [*head, *BODY, "", *COLOPHON])) == EXPECTED


def test_a_file_without_title_block_loses_nothing(tmp_path):
    # more lines than a title before any blank line: they are body text, not a title
    body = [f"第{i}段落。" for i in range(15)]
    assert read(write(tmp_path / "a.txt", [*body, *COLOPHON])) == body


def test_clean_line_removes_nested_notes_and_ruby_marks():
    assert clean_line("｜羅甸語《ラテンご》［＃「［＃小書き片仮名ヒ］」は底本では「ヒ」］じゃ") == "羅甸語じゃ"
    assert clean_line("　閉じない［＃注") == "閉じない［＃注"  # an unclosed note is text, not a hang


def test_utf8_bom_cp932_and_zip_read_identically(tmp_path):
    lines = ["吾輩は猫である", "夏目漱石", *GUIDE, *BODY, *COLOPHON]
    plain = write(tmp_path / "utf8.txt", lines, newline="\n")
    bom = write(tmp_path / "bom.txt", ["\ufeff" + lines[0], *lines[1:]])
    sjis = write(tmp_path / "sjis.txt", lines, encoding="cp932")
    zipped = tmp_path / "neko.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.write(sjis, "wagahaiwa_nekodearu.txt")
    for p in (plain, bom, sjis, zipped):
        assert read(p) == EXPECTED, p.name


def test_is_aozora_sniffs_the_guide_and_colophon_in_files_and_zips(tmp_path):
    assert is_aozora(write(tmp_path / "guide.txt", ["題", *GUIDE, "本文"], encoding="cp932"))
    assert is_aozora(write(tmp_path / "colophon.txt", ["題", "", "本文", *COLOPHON]))
    long_body = ["吾輩は猫である。" * 100] * 100  # the colophon lies beyond the first SNIFF_BYTES
    assert is_aozora(write(tmp_path / "long.txt", ["題", "", *long_body, *COLOPHON]))
    assert not is_aozora(write(tmp_path / "plain.txt", ["吾輩 は 猫 で ある 。", "the cat"]))
    assert not is_aozora(write(tmp_path / "long-plain.txt", long_body))

    def zipped(name, members):
        with zipfile.ZipFile(tmp_path / name, "w", zipfile.ZIP_DEFLATED) as z:
            for member, lines in members.items():
                z.writestr(member, "\r\n".join(lines).encode("cp932"))
        return tmp_path / name

    assert is_aozora(
        zipped("neko.zip", {"neko.txt": ["題", "", *long_body, *COLOPHON], "neko/fig1.png": [], "neko/": []})
    )
    assert not is_aozora(zipped("cats.zip", {"cats.txt": ["ca01 news"], "ca01": ["The/at"]}))
    assert not is_aozora(zipped("two.zip", {"a.txt": COLOPHON, "b.txt": COLOPHON}))


def test_undecodable_file_is_a_data_error_naming_it(tmp_path):
    p = tmp_path / "broken.txt"
    p.write_bytes("吾輩は".encode() + b"\x81\x7f\x82")  # invalid in UTF-8 and in cp932
    with pytest.raises(DataError, match=r"broken\.txt: neither UTF-8 nor Shift_JIS \(cp932\).*convert"):
        read(p)


def test_encoding_change_after_the_sniffed_start_is_an_error(tmp_path):
    p = tmp_path / "mixed.txt"
    p.write_bytes(b"ascii line\n" * (SNIFF_BYTES // 10) + "猫\n".encode("cp932"))
    with pytest.raises(DataError, match=r"mixed\.txt: not valid UTF-8 after line \d+"):
        list(iter_text_lines(p))


@pytest.mark.parametrize("members", [["a.txt", "b.txt"], ["brown/cats.txt", "brown/ca01", "brown/README"], []])
def test_zip_must_hold_one_text_and_images_only(tmp_path, members):
    p = tmp_path / "other.zip"
    with zipfile.ZipFile(p, "w") as z:
        for name in members:
            z.writestr(name, COLOPHON[0].encode("cp932"))
    with pytest.raises(DataError, match=r"other\.zip: not a zip of one \.txt file \(and images\)"):
        read(p)
    assert not is_aozora(p)


def test_real_novel_has_no_markup_left():
    paras = read(shared_file("sentencepiece-texts/wagahaiwa_nekodearu.txt"))
    text = "\n".join(paras)
    for mark in ("《", "》", "［＃", "｜", "底本", "【テキスト中に現れる記号について】", "-----"):
        assert mark not in text, mark
    assert paras[:2] == ["一", "吾輩は猫である。名前はまだ無い。"]
    assert paras[-1].endswith("南無阿弥陀仏。ありがたいありがたい。")
    assert all(p == p.strip() and p for p in paras)


def test_real_novel_as_a_cp932_zip_reads_identically(tmp_path):
    src = shared_file("sentencepiece-texts/wagahaiwa_nekodearu.txt")
    raw = src.read_bytes().decode("utf-8")
    assert "\r\n" in raw
    # the UTF-8 copy writes the dash as U+2014; cp932 has it only as U+2015 (Microsoft's mapping)
    dash = str.maketrans("\u2014", "\u2015")
    zipped = tmp_path / "wagahaiwa_nekodearu.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("wagahaiwa_nekodearu.txt", raw.translate(dash).encode("cp932"))
    assert is_aozora(zipped)
    assert read(zipped) == [p.translate(dash) for p in read(src)]


def test_missing_or_damaged_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match=r"nothere\.txt: cannot read \(No such file or directory\)"):
        is_aozora(tmp_path / "nothere.txt")
    with pytest.raises(DataError, match=r"nothere\.txt: cannot read"):
        read(tmp_path / "nothere.txt")
    p = tmp_path / "damaged.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.txt", "本文\r\n".encode("cp932") * 1000)  # stored uncompressed
    data = bytearray(p.read_bytes())
    data[100] ^= 0xFF  # one flipped byte in the member: its CRC no longer matches
    p.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"damaged\.zip: cannot read \(.*CRC"):
        read(p)
