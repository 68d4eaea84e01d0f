"""Analogy and word-pair evaluation: the same numbers as gensim 4.4, question for question."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA
from kotoba.errors import ConfigError, DataError
from kotoba.vectors import WordVectors
from kotoba.vectors.evaluate import (
    _AnalogySolver,
    _betainc,
    evaluate_analogies,
    evaluate_word_pairs,
    pearsonr,
    rankdata,
    read_analogies,
    spearmanr,
)

gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
stats = pytest.importorskip("scipy.stats")
special = pytest.importorskip("scipy.special")
KeyedVectors = gensim_kv.KeyedVectors
GENSIM_DATA = Path(gensim_kv.__file__).resolve().parents[1] / "test" / "test_data"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def eval_file(name: str) -> Path:
    """The shared copy of an evaluation file, else the identical one gensim ships, else skip."""
    for p in (SHARED_DATA / "eval" / name, GENSIM_DATA / name):
        if p.exists():
            return p
    pytest.skip(f"{name} is in neither {SHARED_DATA / 'eval'} nor {GENSIM_DATA}")


@pytest.fixture(scope="module")
def questions(tmp_path_factory) -> Path:
    """Every 4th question of questions-words.txt (all 14 sections): quick, still thousands."""
    src = eval_file("questions-words.txt")
    out, k = [], 0
    for line in src.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith(":"):
            out.append(line)
        else:
            k += 1
            if k % 4 == 0:
                out.append(line)
    p = tmp_path_factory.mktemp("eval") / "questions-quarter.txt"
    p.write_text("".join(out), encoding="utf-8")
    return p


def _both(words, vecs):
    kv = KeyedVectors(vecs.shape[1])
    kv.add_vectors(words, vecs)
    return WordVectors(words, vecs), kv


@pytest.fixture(scope="module")
def random_pair(questions):
    """Random vectors for 80% of the analogy vocabulary, other casings, duplicate vectors (exact
    ties) and filler words, in a shuffled order."""
    rng = np.random.default_rng(7)
    words = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.startswith(":"):
            words += line.split()
    vocab = list(dict.fromkeys(words))
    rng.shuffle(vocab)
    vocab = vocab[: int(0.8 * len(vocab))]
    vocab = list(dict.fromkeys(vocab + [w.upper() for w in vocab[:40]] + [w.title() for w in vocab[40:200]]))
    vocab += [f"filler{i}" for i in range(1500)]
    vecs = rng.standard_normal((len(vocab), 16)).astype(np.float32)
    vecs[-30:] = vecs[:30]  # exact ties with real words
    # plant some solvable analogies: d = b - a + c for a few questions
    index = {w: i for i, w in enumerate(vocab)}
    for line in questions.read_text(encoding="utf-8").splitlines()[1::9]:
        q = line.split()
        if len(q) == 4 and all(w in index for w in q) and len(set(q)) == 4:
            a, b, c, d = (index[w] for w in q)
            vecs[d] = vecs[b] - vecs[a] + vecs[c]
    return _both(vocab, vecs)


@pytest.fixture(scope="module")
def real_pair():
    """Vectors trained on the Lee corpus that gensim ships (2,747 words, 10 dims)."""
    path = GENSIM_DATA / "euclidean_vectors.bin"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    wv = WordVectors.load_word2vec_format(path)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    return wv, kv


def _same_sections(ours, theirs):
    assert [s["section"] for s in ours] == [s["section"] for s in theirs]
    for a, b in zip(ours, theirs):
        assert a["correct"] == b["correct"], a["section"]
        assert a["incorrect"] == b["incorrect"], a["section"]


@pytest.mark.parametrize("restrict_vocab, case_insensitive", [(30000, True), (1500, True), (1500, False), (40, True)])
def test_analogies_identical_to_gensim_random(random_pair, questions, restrict_vocab, case_insensitive):
    wv, kv = random_pair
    score, sections = evaluate_analogies(
        wv, questions, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
    )
    g_score, g_sections = kv.evaluate_word_analogies(
        str(questions), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
    )
    assert score == g_score
    _same_sections(sections, g_sections)
    total = sections[-1]
    assert total["section"] == "Total accuracy"
    if restrict_vocab > 1000:
        assert len(total["correct"]) > 20 and len(total["incorrect"]) > 1000  # planted ones solved, not trivially
    assert total["oov"] == sum(s["oov"] for s in sections[:-1])


@pytest.mark.parametrize("restrict_vocab, case_insensitive", [(30000, True), (800, False)])
def test_analogies_identical_to_gensim_trained(real_pair, restrict_vocab, case_insensitive):
    wv, kv = real_pair
    path = eval_file("questions-words.txt")
    score, sections = evaluate_analogies(wv, path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    g_score, g_sections = kv.evaluate_word_analogies(
        str(path), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
    )
    assert score == g_score and len(sections[-1]["correct"]) > 0
    _same_sections(sections, g_sections)


def test_dummy4unknown_counts_oov_as_incorrect_in_file_order(random_pair, questions):
    wv, kv = random_pair
    score, sections = evaluate_analogies(wv, questions, restrict_vocab=2000, dummy4unknown=True)
    g_score, g_sections = kv.evaluate_word_analogies(str(questions), restrict_vocab=2000, dummy4unknown=True)
    assert score == g_score
    _same_sections(sections, g_sections)


def test_near_ties_are_resolved_exactly(random_pair):
    """Duplicate vectors make exact ties: those questions must take the one-by-one path, and the
    forced all-exact path must agree with the batched one everywhere else."""
    wv, _ = random_pair
    n = len(wv)
    rng = np.random.default_rng(0)
    abc = rng.integers(0, n, (300, 3))
    abc[:20, 1] = np.arange(20)  # these b have twins with identical vectors: exact ties at the top
    solver = _AnalogySolver(wv, n, "3cosadd")
    batched = solver.solve(abc)
    assert solver.n_exact > 0
    slow = _AnalogySolver(wv, n, "3cosadd")
    slow.eps = np.inf  # every question the gensim way
    assert slow.solve(abc) == batched and slow.n_exact == len(abc)


def _gensim_cosmul_reference(kv, path, restrict_vocab, case_insensitive=True):
    """gensim's evaluate_word_analogies walk, with most_similar_cosmul over the first
    restrict_vocab words (gensim's evaluation only offers 3CosAdd)."""
    keys = kv.index_to_key[:restrict_vocab]
    sub = KeyedVectors(kv.vector_size)
    sub.add_vectors(keys, kv.vectors[: len(keys)])
    norm = str.upper if case_insensitive else str
    sub.key_to_index = {norm(k): i for i, k in reversed(list(enumerate(keys)))}
    ok = sub.key_to_index
    correct, incorrect = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        q = [norm(w) for w in line.split()]
        if line.startswith(": ") or len(q) != 4 or not all(w in ok for w in q):
            continue
        predicted = None
        for word, _ in sub.most_similar_cosmul(positive=[q[1], q[2]], negative=[q[0]], topn=5):
            predicted = norm(word)
            if predicted in ok and predicted not in q[:3]:
                break
        (correct if predicted == q[3] else incorrect).append(tuple(q))
    return correct, incorrect


@pytest.mark.parametrize("which", ["random", "real"])
def test_3cosmul_matches_gensim_most_similar_cosmul(random_pair, real_pair, questions, which):
    wv, kv = random_pair if which == "random" else real_pair
    path = questions if which == "random" else eval_file("questions-words.txt")
    _, sections = evaluate_analogies(wv, path, restrict_vocab=2000, method="3cosmul")
    correct, incorrect = _gensim_cosmul_reference(kv, path, 2000)
    assert sections[-1]["correct"] == correct and sections[-1]["incorrect"] == incorrect
    assert len(correct) > 0


def test_planted_analogy_is_solved():
    words = ["man", "king", "woman", "queen", "apple", "pear"]
    vecs = np.array([[1, 0, 0], [1, 1, 0], [-1, 0, 0.1], [-1, 1, 0.1], [0, -1, 1], [0.1, -1, 1]], dtype=np.float32)
    wv = WordVectors(words, vecs)
    score, sections = evaluate_analogies_from_text(
        wv, ": royal\nman king woman queen\nMAN KING WOMAN QUEEN\nman king woman pear\nman king woman unknown\n"
    )
    assert score == pytest.approx(2 / 3)
    assert sections[0]["section"] == "royal" and sections[0]["oov"] == 1
    assert sections[0]["correct"] == [("MAN", "KING", "WOMAN", "QUEEN")] * 2


def evaluate_analogies_from_text(wv, text, **kw):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "q.txt"
        p.write_text(text, encoding="utf-8")
        return evaluate_analogies(wv, p, **kw)


def test_analogy_file_errors(tmp_path, random_pair):
    wv, _ = random_pair
    with pytest.raises(DataError, match="no such evaluation file"):
        evaluate_analogies(wv, tmp_path / "absent.txt")
    (tmp_path / "empty.txt").write_text("just some text\n\n")
    with pytest.raises(DataError, match="no analogy questions"):
        evaluate_analogies(wv, tmp_path / "empty.txt")
    (tmp_path / "nohead.txt").write_text("a b c d\n: s\n")
    with pytest.raises(DataError, match="line 1: a question before any ': section' header"):
        read_analogies(tmp_path / "nohead.txt")
    (tmp_path / "latin1.txt").write_bytes(b": s\na b c \xe9\n")
    with pytest.raises(DataError, match="line 2: not valid utf-8"):
        evaluate_analogies(wv, tmp_path / "latin1.txt")
    (tmp_path / "ok.txt").write_text(": s\na b c d\n")
    with pytest.raises(ConfigError, match="method"):
        evaluate_analogies(wv, tmp_path / "ok.txt", method="3cosavg")
    with pytest.raises(ConfigError, match="restrict_vocab"):
        evaluate_analogies(wv, tmp_path / "ok.txt", restrict_vocab=0)
    # nothing answerable is a score of 0.0, as in gensim, not an error
    assert evaluate_analogies(wv, tmp_path / "ok.txt")[0] == 0.0


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
@pytest.mark.parametrize("which", ["random", "real"])
@pytest.mark.parametrize("kw", [{}, {"case_insensitive": False}, {"dummy4unknown": True}, {"restrict_vocab": 500}])
def test_word_pairs_identical_to_gensim(random_pair, real_pair, name, which, kw):
    wv, kv = random_pair if which == "random" else real_pair
    path = eval_file(name)
    try:
        g_pearson, g_spearman, g_oov = kv.evaluate_word_pairs(str(path), **kw)
    except ValueError:  # gensim found no pairs: we must refuse too
        with pytest.raises(DataError):
            evaluate_word_pairs(wv, path, **kw)
        return
    pearson, spearman, oov = evaluate_word_pairs(wv, path, **kw)
    assert oov == g_oov
    assert pearson[0] == pytest.approx(g_pearson[0], abs=1e-9)
    assert spearman[0] == pytest.approx(g_spearman[0], abs=1e-9)
    assert pearson[1] == pytest.approx(g_pearson[1], rel=1e-9, abs=1e-300)
    if not np.isnan(g_spearman[1]):
        assert spearman[1] == pytest.approx(g_spearman[1], rel=1e-9, abs=1e-300)


def test_word_pairs_file_errors(tmp_path, real_pair):
    wv, _ = real_pair
    with pytest.raises(DataError, match="no such evaluation file"):
        evaluate_word_pairs(wv, tmp_path / "absent.tsv")
    (tmp_path / "bad.tsv").write_text("# comment\nthe,of,3.0\nthe\tof\tmany\n")
    with pytest.raises(DataError, match="no usable word pairs"):
        evaluate_word_pairs(wv, tmp_path / "bad.tsv")
    (tmp_path / "one.tsv").write_text("the\tof\t3.0\n")
    with pytest.raises(DataError, match="at least two"):
        evaluate_word_pairs(wv, tmp_path / "one.tsv")


@pytest.mark.parametrize("n", [3, 4, 10, 353, 2000])
def test_correlations_match_scipy(n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n)
    y = 0.3 * x + rng.standard_normal(n)
    xt = np.round(x, 1)  # many ties for the ranks
    for a, b in [(x, y), (xt, y), (xt, np.round(y, 1)), (x, -x), (x, x**3)]:
        r, p = pearsonr(a, b)
        s = stats.pearsonr(a, b)
        assert r == pytest.approx(s[0], abs=1e-12) and p == pytest.approx(s[1], rel=1e-9, abs=1e-300)
        rho, p = spearmanr(a, b)
        s = stats.spearmanr(a, b)
        assert rho == pytest.approx(s[0], abs=1e-12) and p == pytest.approx(s[1], rel=1e-9, abs=1e-300)
    np.testing.assert_array_equal(rankdata(xt), stats.rankdata(xt))


def test_correlation_edge_cases():
    assert np.isnan(pearsonr([1, 1, 1], [1, 2, 3])[0]) and np.isnan(spearmanr([1, 2, 3], [5, 5, 5])[1])
    assert pearsonr([1, 2], [3, 1]) == (-1.0, 1.0)
    assert spearmanr([1, 2, 3, 4], [1, 3, 9, 27]) == (1.0, 0.0)
    with pytest.raises(DataError):
        pearsonr([1.0], [2.0])


def test_incomplete_beta_matches_scipy():
    for a in (0.5, 1.0, 2.5, 30.0, 175.5, 998.5):
        for b in (0.5, 3.0):
            for x in (1e-12, 1e-3, 0.1, 0.5, 0.9, 0.999, 1 - 1e-9):
                assert _betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-10, abs=1e-300)


def test_jwsd_entries_are_tokenised_and_multi_token_entries_averaged(tmp_path):
    from kotoba.vectors.evaluate import evaluate_jwsd, is_jwsd

    p = tmp_path / "score_verb.csv"
    p.write_text(
        "word1,word2,mean(remove_extreme_annotator),ano1,mean\n"
        "猫だ,犬,9.0,9,9\n猫,魚,5.0,5,5\n犬,魚,1.0,1,1\n猫,鳥,0.5,0,0\n",
        encoding="utf-8",
    )
    v = {"猫": [1.0, 0.0], "だ": [1.0, 0.2], "犬": [1.0, 0.1], "魚": [0.0, 1.0]}
    wv = WordVectors(list(v), np.array(list(v.values()), np.float32))
    split = {"猫だ": ["猫", "だ"]}.get
    r = evaluate_jwsd(wv, p, lambda e: split(e, [e]))
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("a\tb\t1\n", encoding="utf-8")
    assert is_jwsd(p) and not is_jwsd(tsv)
    # 猫,鳥: 鳥 is unknown; the others are scored, 猫だ by the mean of 猫 and だ
    assert r["pairs"] == 3 and r["oov"] == 1 and r["multi_token"] == 1
    # cosines: (猫だ, 犬) = cos([1, .1], [1, .1]) = 1, (猫, 魚) = 0, (犬, 魚) = 0.0995: ranks 1, 3, 2
    # against the gold ranks 1, 2, 3 -> rho = 1 - 6 * 2 / (3 * 8) = 0.5
    assert r["spearman"][0] == pytest.approx(0.5)


def test_jwsd_rejects_other_csv(tmp_path):
    from kotoba.vectors.evaluate import evaluate_jwsd

    p = tmp_path / "other.csv"
    p.write_text("a,b,score\nx,y,1\n", encoding="utf-8")
    wv = WordVectors(["x", "y"], np.eye(2, dtype=np.float32))
    with pytest.raises(DataError, match="Japanese Word Similarity"):
        evaluate_jwsd(wv, p)
