"""`kotoba similar / analogy / evaluate` through kotoba.cli.main."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kotoba.cli import main
from kotoba.vectors import WordVectors

WORDS = ["man", "king", "woman", "queen", "apple", "pear", "Paris", "France", "Tokyo", "Japan", "東京"]
VECS = np.array(
    [
        [1, 0, 0, 0],
        [1, 1, 0, 0],
        [-1, 0, 0.1, 0],
        [-1, 1, 0.1, 0],
        [0, -1, 1, 0],
        [0.1, -1, 1, 0],
        [0, 0, 0, 1],
        [0.5, 0, 0.3, 1],
        [0, 0.2, -0.5, 1],
        [0.5, 0.2, -0.2, 1],
        [0, 0.21, -0.5, 1],
    ],
    dtype=np.float32,
)


@pytest.fixture(params=[True, False], ids=["binary", "text"])
def vectors_file(tmp_path, request):
    path = tmp_path / ("v.bin" if request.param else "v.txt")
    WordVectors(WORDS, VECS).save_word2vec_format(path, binary=request.param)
    return str(path)


def test_similar_table_and_json(vectors_file, capsys):
    assert main(["similar", vectors_file, "Tokyo", "-n", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].split()[:2] == ["1", "東京"]
    assert main(["similar", vectors_file, "Tokyo", "-n", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = WordVectors(WORDS, VECS).most_similar("Tokyo", topn=2)
    assert [(r["word"], r["similarity"]) for r in rows] == expected
    assert [r["rank"] for r in rows] == [1, 2]


def test_analogy(vectors_file, capsys):
    assert main(["analogy", vectors_file, "man", "king", "woman", "-n", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "man : king :: woman : ?" and out[1].split()[1] == "queen"
    assert main(["analogy", vectors_file, "man", "king", "woman", "--json", "--method", "3cosmul", "-n", "1"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["word"] == "queen" and row["score"] > 0


def test_unknown_word_exits_2_with_suggestion(vectors_file, capsys):
    assert main(["similar", vectors_file, "paris"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kotoba: error: word 'paris' is not in the vocabulary (did you mean")
    assert "'Paris'" in err
    assert main(["analogy", vectors_file, "man", "king", "xyz"]) == 2
    assert "word 'xyz' is not in the vocabulary" in capsys.readouterr().err


def test_bad_inputs_exit_2(tmp_path, vectors_file, capsys):
    (tmp_path / "junk.txt").write_text("not a header\n")
    assert main(["similar", str(tmp_path / "junk.txt"), "man"]) == 2
    assert "expected a header" in capsys.readouterr().err
    assert main(["similar", str(tmp_path / "absent.bin"), "man"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["evaluate", vectors_file]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    assert main(["evaluate", vectors_file, "--pairs", str(tmp_path / "absent.tsv")]) == 2
    assert "no such evaluation file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["similar", vectors_file, "man", "-n", "0"])
    assert e.value.code == 2  # argparse's own usage error


@pytest.fixture
def eval_files(tmp_path):
    q = tmp_path / "q.txt"
    q.write_text(
        ": royal\nman king woman queen\nman king woman pear\n"
        ": capitals\nparis france tokyo japan\nparis france rome italy\n",
        encoding="utf-8",
    )
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(
        "# two comment lines\n# as in gensim's files\n"
        "man\twoman\t8\nking\tqueen\t9\napple\tpear\t7\nman\tapple\t1\nking\tzebra\t2\n"
    )
    return str(q), str(pairs)


def test_evaluate_table(vectors_file, eval_files, capsys):
    q, pairs = eval_files
    assert main(["evaluate", vectors_file, "--analogies", q, "--pairs", pairs]) == 0
    out = capsys.readouterr().out
    assert "11 words, 4 dims" in out
    assert "royal" in out and "capitals" in out and "Total accuracy" in out
    assert "skipped (a word outside the vocabulary): 1 of 4 questions" in out
    assert "pairs.tsv" in out and "20.0%" in out  # 1 of 5 pairs out of vocabulary


def test_evaluate_json_matches_library(vectors_file, eval_files, capsys):
    from kotoba.vectors.evaluate import evaluate_analogies, evaluate_word_pairs

    q, pairs = eval_files
    assert (
        main(["evaluate", vectors_file, "--analogies", q, "--pairs", pairs, "--json", "--restrict-vocab", "100"]) == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    wv = WordVectors.load_word2vec_format(vectors_file)
    score, sections = evaluate_analogies(wv, q, restrict_vocab=100)
    (r, _), (rho, _), oov = evaluate_word_pairs(wv, pairs, restrict_vocab=100)
    assert [r_["analogy_section"] for r_ in rows[:2]] == ["royal", "capitals"]
    assert rows[0]["correct"] == len(sections[0]["correct"]) and rows[0]["evaluated"] == 2
    assert rows[2]["pearson"] == r and rows[2]["spearman"] == rho and rows[2]["oov_percent"] == oov
    summary = rows[-1]
    assert summary["summary"] is True and summary["analogy_accuracy"] == score
    assert summary["analogy_evaluated"] == 3 and summary["analogy_skipped"] == 1
    assert summary["spearman"] == {pairs: rho}
