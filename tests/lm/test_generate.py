"""Text generation: seeding, greedy limits, top-k, <unk> suppression, <eos> stop."""

from __future__ import annotations

import numpy as np
import pytest

from kotoba.errors import ConfigError, UnknownWordError
from kotoba.lm.generate import generate, sample_from_logits

VOCAB = ["the", "cat", "sat", "<unk>", "<eos>", "mat", "on"]


class BigramLM:
    """A stateful stand-in: next-word scores depend on the last word fed; records every input."""

    def __init__(self, table: np.ndarray):
        self.table = table
        self.fed: list[int] = []
        self.resets = 0

    def predict(self, xs):
        assert xs.dtype == np.int32 and xs.shape[0] == 1
        self.fed.extend(xs[0].tolist())
        return self.table[xs].astype(np.float32)  # (1, T, V)

    def reset_state(self):
        self.resets += 1
        self.fed = []


def random_lm(seed=0, scale=1.0):
    return BigramLM(np.random.default_rng(seed).normal(0, scale, (len(VOCAB), len(VOCAB))))


def greedy_chain(table, start_id, n, banned=()):
    out, cur = [], start_id
    for _ in range(n):
        z = table[cur].copy()
        z[list(banned)] = -np.inf
        cur = int(np.argmax(z))
        out.append(VOCAB[cur])
    return out


def test_same_seed_same_text_and_start_is_fed():
    lm = random_lm()
    a = generate(lm, VOCAB, "the cat", length=30, rng=np.random.default_rng(5), stop_at_eos=False)
    assert lm.fed[:2] == [0, 1] and lm.resets == 1
    assert len(lm.fed) == 2 + 29  # the start phrase, then each sampled word but the last
    b = generate(lm, VOCAB, ["the", "cat"], length=30, rng=np.random.default_rng(5), stop_at_eos=False)
    c = generate(lm, VOCAB, "the cat", length=30, rng=np.random.default_rng(6), stop_at_eos=False)
    assert a == b and a[:2] == ["the", "cat"] and len(a) == 32
    assert a != c
    assert "<unk>" not in a  # skip_unk by default


def test_top1_and_zero_temperature_are_greedy():
    lm = random_lm(1, scale=3.0)
    unk = VOCAB.index("<unk>")
    want = ["sat"] + greedy_chain(lm.table, VOCAB.index("sat"), 12, banned=[unk])
    kw = dict(length=12, stop_at_eos=False)
    assert generate(lm, VOCAB, "sat", top_k=1, rng=np.random.default_rng(0), **kw) == want
    assert generate(lm, VOCAB, "sat", temperature=0, **kw) == want
    # as temperature -> 0 the distribution collapses onto the arg-max
    assert generate(lm, VOCAB, "sat", temperature=1e-6, rng=np.random.default_rng(3), **kw) == want


def test_stops_at_eos_unless_told_not_to():
    V = len(VOCAB)
    table = np.full((V, V), -20.0)
    eos, the, cat = VOCAB.index("<eos>"), VOCAB.index("the"), VOCAB.index("cat")
    table[the, cat] = 10  # the -> cat -> <eos> -> the ...
    table[cat, eos] = 10
    table[eos, the] = 10
    lm = BigramLM(table)
    assert generate(lm, VOCAB, "the", length=10, temperature=0) == ["the", "cat"]
    out = generate(lm, VOCAB, "the", length=5, temperature=0, stop_at_eos=False)
    assert out == ["the", "cat", "<eos>", "the", "cat", "<eos>"]
    # an empty start begins after a sentence boundary
    assert generate(lm, VOCAB, "", length=10, temperature=0) == ["the", "cat"]


def test_unk_suppressed_only_when_asked():
    V = len(VOCAB)
    table = np.zeros((V, V))
    table[:, VOCAB.index("<unk>")] = 50.0
    lm = BigramLM(table)
    assert "<unk>" not in generate(lm, VOCAB, "the", length=20, rng=np.random.default_rng(0), stop_at_eos=False)
    out = generate(lm, VOCAB, "the", length=3, temperature=0, skip_unk=False)
    assert out == ["the", "<unk>", "<unk>", "<unk>"]


def test_unknown_start_word_suggests():
    with pytest.raises(UnknownWordError) as e:
        generate(random_lm(), VOCAB, "the cta", length=3)
    assert e.value.word == "cta" and "cat" in e.value.suggestions
    with pytest.raises(ConfigError):
        generate(random_lm(), VOCAB, "the", temperature=-1)
    with pytest.raises(ConfigError):
        generate(random_lm(), VOCAB, "the", top_k=0)


def test_sampling_matches_softmax_and_top_k():
    logits = np.array([1.0, 2.0, 0.0, 2.0])
    rng = np.random.default_rng(0)
    n = 20_000
    draws = np.bincount([sample_from_logits(logits, 0.5, rng=rng) for _ in range(n)], minlength=4)
    p = np.exp(logits / 0.5)
    p /= p.sum()
    assert np.allclose(draws / n, p, atol=0.015)
    k2 = {sample_from_logits(logits, 1.0, top_k=2, rng=rng) for _ in range(300)}
    assert k2 == {1, 3}
    assert sample_from_logits(logits, 0, banned=[1]) == 3


def test_real_lstm_state_carries_the_history():
    """Greedy generation with the stateful model equals re-reading the whole prefix each step."""
    from kotoba.models.rnnlm import Rnnlm

    model = Rnnlm(len(VOCAB), 6, 5, rng=np.random.default_rng(0))
    for p in model.params:  # larger weights so that the history matters
        p *= 8
    out = generate(model, VOCAB, "the cat", length=10, temperature=0, stop_at_eos=False, skip_unk=False)
    ids = [VOCAB.index(w) for w in out]
    for k in range(2, len(ids)):
        model.reset_state()
        scores = model.predict(np.array([ids[:k]], dtype=np.int32))
        assert int(np.argmax(scores[0, -1])) == ids[k]
    assert len(set(out[2:])) > 1
