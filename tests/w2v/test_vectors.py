"""WordVectors queries: same answers as gensim's KeyedVectors, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from kotoba.errors import ConfigError, DataError, KotobaError, UnknownWordError
from kotoba.vectors import WordVectors

gensim_kv = pytest.importorskip("gensim.models.keyedvectors")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # gensim's own init_sims notice


def _pair(rng, V=400, D=24):
    words = [f"w{i}" for i in range(V)]
    words[3], words[4], words[5] = "東京", "café😀", "King"
    vecs = rng.standard_normal((V, D)).astype(np.float32)
    wv = WordVectors(words, vecs)
    kv = gensim_kv.KeyedVectors(D)
    kv.add_vectors(words, vecs)
    return wv, kv


def test_lookup_shapes_and_membership(rng):
    wv, _ = _pair(rng)
    assert len(wv) == 400 and wv.vector_size == 24
    assert wv["東京"].shape == (24,) and wv["東京"].dtype == np.float32
    np.testing.assert_array_equal(wv["w7"], wv.vectors[7])
    both = wv[["w1", "King"]]
    assert both.shape == (2, 24)
    np.testing.assert_array_equal(both[1], wv.vectors[5])
    assert "King" in wv and "king" not in wv and 3 not in wv
    assert wv.key_to_index["café😀"] == 4 and wv.index_to_key[4] == "café😀"


def test_most_similar_matches_gensim_exactly(rng):
    wv, kv = _pair(rng)
    for pos, neg in [
        ("w1", None),
        (["w1", "w7"], ["東京"]),
        (None, ["w9"]),
        ([("w2", 2.0), "w13"], [("w8", -0.5)]),
        (("w1", "w7"), ("東京",)),
    ]:
        ours = wv.most_similar(positive=pos, negative=neg, topn=7)
        theirs = kv.most_similar(positive=pos, negative=neg, topn=7)
        assert ours == [(w, float(s)) for w, s in theirs], (pos, neg)
    ours = wv.most_similar("w8", topn=5, restrict_vocab=100)
    assert ours == kv.most_similar("w8", topn=5, restrict_vocab=100)
    assert all(wv.key_to_index[w] < 100 for w, _ in ours)
    np.testing.assert_array_equal(wv.most_similar("w8", topn=None), kv.most_similar("w8", topn=None))


def test_most_similar_excludes_inputs_and_finds_planted_neighbour(rng):
    wv, _ = _pair(rng)
    vecs = np.array(wv.vectors)
    vecs[10] = vecs[20] * 3 + 0.01  # w10 nearly parallel to w20
    wv.vectors = vecs
    top = wv.most_similar("w20", topn=3)
    assert top[0][0] == "w10" and top[0][1] > 0.99
    assert "w20" not in [w for w, _ in wv.most_similar("w20", topn=50)]
    assert len(wv.most_similar("w20", topn=0)) == 0


def test_vector_query_gives_same_words_as_gensim(rng):
    wv, kv = _pair(rng)
    v = wv["King"] * 3.0
    ours, theirs = wv.most_similar(v, topn=5), kv.most_similar(v, topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert ours[0][0] == "King"  # a vector query does not exclude the word it came from
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-6)


def test_cosmul_matches_gensim(rng):
    wv, kv = _pair(rng)
    for pos, neg in [(["w1", "w7"], ["東京"]), ("w13", None), (["w2"], ["café😀", "w6"])]:
        assert wv.most_similar_cosmul(pos, neg, topn=6) == kv.most_similar_cosmul(pos, neg, topn=6)


def test_pairwise_queries_match_gensim(rng):
    wv, kv = _pair(rng)
    assert wv.similarity("w1", "東京") == float(kv.similarity("w1", "東京"))
    assert wv.distance("w1", "w2") == float(kv.distance("w1", "w2"))
    assert wv.similarity("w9", "w9") == pytest.approx(1.0, abs=1e-6)
    assert wv.n_similarity(["w1", "w15"], ["w2"]) == float(kv.n_similarity(["w1", "w15"], ["w2"]))
    for ws in (["w1", "w2", "w6", "w9"], ["w10", "w11", "w12", "東京"]):
        assert wv.doesnt_match(ws) == kv.doesnt_match(ws)
    for a, b in [("w1", "w2"), ("w13", "w399"), ("King", "w0")]:
        assert wv.rank(a, b) == kv.rank(a, b)


def test_analogy_is_b_minus_a_plus_c():
    # man:king :: woman:queen built into 2-D vectors
    words = ["man", "king", "woman", "queen", "apple"]
    vecs = np.array([[1, 0], [1, 1], [-1, 0.1], [-1, 1.1], [0.2, -1]], dtype=np.float32)
    wv = WordVectors(words, vecs)
    assert wv.analogy("man", "king", "woman")[0][0] == "queen"
    assert wv.analogy("man", "king", "woman", topn=2) == wv.most_similar(["king", "woman"], ["man"], topn=2)
    fruit = WordVectors(words, np.array([[1, 0.1], [1, 0.3], [0.9, -0.1], [1, 0], [-1, 0]], dtype=np.float32))
    assert fruit.doesnt_match(["man", "king", "woman", "apple"]) == "apple"


def test_normed_cache_is_invalidated_by_assigning_vectors(rng):
    wv, _ = _pair(rng)
    n1 = wv.get_normed_vectors()
    np.testing.assert_allclose(np.linalg.norm(n1, axis=1), 1.0, rtol=1e-6)
    assert wv.get_normed_vectors() is n1  # cached
    with pytest.raises(ValueError):
        wv.vectors[0, 0] = 1.0  # read-only: in-place edits would silently stale the cache
    wv.vectors = np.array(wv.vectors) * 2
    assert wv.get_normed_vectors() is not n1
    np.testing.assert_allclose(wv.get_normed_vectors(), n1, rtol=1e-6)


def test_caller_array_stays_writable_and_zero_vectors_are_safe():
    vecs = np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 0.5]], dtype=np.float32)
    wv = WordVectors(["a", "zero", "b"], vecs)
    vecs[0, 0] = 2.0  # the caller's own array is not frozen, and not shared
    assert wv.vectors[0, 0] == 1.0
    assert np.all(np.isfinite(wv.get_normed_vectors()))
    sims = dict(wv.most_similar("a", topn=2))
    assert sims["zero"] == 0.0


def test_unknown_word_error_names_word_and_suggests(rng):
    wv, _ = _pair(rng)
    with pytest.raises(UnknownWordError) as e:
        wv["king"]
    assert isinstance(e.value, KeyError) and isinstance(e.value, KotobaError)
    assert e.value.word == "king" and "King" in e.value.suggestions
    assert "'king' is not in the vocabulary" in str(e.value) and "'King'" in str(e.value)
    with pytest.raises(UnknownWordError) as e:
        wv.most_similar(["w1", "w1000"])
    assert e.value.word == "w1000" and e.value.suggestions  # w100 etc. are close
    with pytest.raises(KeyError):
        wv.similarity("w1", "nope")
    with pytest.raises(UnknownWordError):
        wv.analogy("w1", "w2", "xyzzy")


@pytest.mark.parametrize(
    "call",
    [
        lambda wv: wv.most_similar(),
        lambda wv: wv.most_similar([], []),
        lambda wv: wv.most_similar_cosmul(negative=["w1"]),
        lambda wv: wv.most_similar("w1", topn=-1),
        lambda wv: wv.most_similar("w1", restrict_vocab=0),
        lambda wv: wv.most_similar(np.zeros(3)),
        lambda wv: wv.n_similarity([], ["w1"]),
        lambda wv: wv.doesnt_match(["w1"]),
        lambda wv: wv[[]],
        lambda wv: wv.most_similar([("w1", "heavy")]),
    ],
)
def test_invalid_query_arguments_raise_config_error(rng, call):
    wv, _ = _pair(rng, V=50, D=8)
    with pytest.raises(ConfigError):
        call(wv)


def test_constructor_validation(rng):
    with pytest.raises(DataError, match="duplicate word 'a'"):
        WordVectors(["a", "b", "a"], np.zeros((3, 2)))
    with pytest.raises(DataError, match="2 words but 3 vectors"):
        WordVectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(DataError, match="non-empty str"):
        WordVectors(["a", ""], np.zeros((2, 2)))
    with pytest.raises(DataError, match="counts"):
        WordVectors(["a", "b"], np.zeros((2, 2)), counts=np.array([1.5, 2]))
    wv = WordVectors(["a", "b"], np.zeros((2, 2), dtype=np.float64), counts=[5, 3])
    assert wv.vectors.dtype == np.float32 and wv.counts.dtype == np.int64


def test_copy_false_takes_a_float32_matrix_over_and_copies_anything_else():
    # a trainer hands its final matrix over without a second (V, D) copy beside it
    own = np.ones((3, 2), np.float32)
    wv = WordVectors(["a", "b", "c"], own, copy=False)
    assert wv.vectors is own and not own.flags.writeable
    f64 = np.ones((3, 2))
    wv = WordVectors(["a", "b", "c"], f64, copy=False)  # must be converted: a float32 copy
    assert wv.vectors.dtype == np.float32 and not np.shares_memory(wv.vectors, f64) and f64.flags.writeable
