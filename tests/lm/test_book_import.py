"""Importing weights pickled by the book's code: same predictions as the book's own forward pass,
and hostile pickles refused without running anything."""

from __future__ import annotations

import builtins
import os
import pickle

import numpy as np
import pytest

from kotoba.errors import DataError, FormatError, UnsafePickleError
from kotoba.lm.book_import import book_ptb_vocab, import_book, load_book_pickle
from kotoba.lm.checkpoint import load_lm
from kotoba.lm.data import ptb_vocab

# First appearance (the book's ids) differs from frequency order (kotoba's): "c" is most common.
TRAIN = " a b c <unk> \n c c b \n d c e \n b c a \n"


@pytest.fixture
def ptb_dir(tmp_path):
    d = tmp_path / "ptb"
    d.mkdir()
    for split in ("train", "valid", "test"):
        (d / f"ptb.{split}.txt").write_text(TRAIN, encoding="utf-8")
    return d


def book_params(V, D, H, n_lstm, rng, tied_copy=True):
    """Random weights in the book's layout and dtype (float16, gates f, g, i, o)."""

    def r(*shape, scale=0.5):
        return (rng.standard_normal(shape) * scale).astype(np.float16)

    ps = [r(V, D)]
    for k in range(n_lstm):
        ps += [r(D if k == 0 else H, 4 * H), r(H, 4 * H), r(4 * H, scale=0.3)]
    if n_lstm == 1:
        ps += [r(H, V)]
    elif tied_copy:
        ps += [ps[0].T.copy()]  # what the book's save_params writes for TimeAffine(embed_W.T, b)
    ps += [r(V, scale=0.3)]
    return ps


def book_forward(ps, xs, n_lstm):
    """The book's Rnnlm / BetterRnnlm predict (no dropout), batch 1, in float64: (T,) -> (T, V)."""
    ps = [p.astype(np.float64) for p in ps]
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    x = ps[0][xs]
    for k in range(n_lstm):
        Wx, Wh, b = ps[1 + 3 * k : 4 + 3 * k]
        H = Wh.shape[0]
        h, c, out = np.zeros(H), np.zeros(H), []
        for t in range(len(xs)):
            a = x[t] @ Wx + h @ Wh + b
            f, g, i, o = sig(a[:H]), np.tanh(a[H : 2 * H]), sig(a[2 * H : 3 * H]), sig(a[3 * H :])
            c = f * c + g * i
            h = o * np.tanh(c)
            out.append(h)
        x = np.array(out)
    W = ps[-2] if (n_lstm == 1 or len(ps) == 9) else ps[0].T
    return x @ W + ps[-1]


def dump(path, obj):
    path.write_bytes(pickle.dumps(obj))
    return path


@pytest.mark.parametrize(
    "model,n_lstm,D,H,tied_copy",
    [
        ("rnnlm", 1, 4, 3, True),
        ("better", 2, 5, 5, True),
        ("better", 2, 5, 5, False),
    ],
)
def test_import_matches_book_forward(tmp_path, ptb_dir, rng, model, n_lstm, D, H, tied_copy):
    book_vocab = book_ptb_vocab(ptb_dir / "ptb.train.txt")
    vocab = ptb_vocab(ptb_dir)
    assert book_vocab[:3] == ["a", "b", "c"] and vocab[0] == "c"  # the orders really differ
    V = len(vocab)
    ps = book_params(V, D, H, n_lstm, rng, tied_copy)
    assert len(ps) == {("rnnlm", True): 6, ("better", True): 9, ("better", False): 8}[(model, tied_copy)]
    pkl = dump(tmp_path / "Model.pkl", ps)
    out = tmp_path / "imported.npz"
    meta = import_book(pkl, model=model, data_dir=ptb_dir, out=out)
    assert meta["vocab_size"] == V and meta["wordvec_size"] == D and meta["hidden_size"] == H

    lm, vocab2, meta2 = load_lm(out)
    assert vocab2 == vocab and meta2["source"] == "book"
    assert type(lm).__name__ == ("Rnnlm" if model == "rnnlm" else "BetterRnnlm")
    words = "a b c <eos> d c e b <unk> a".split()
    book_ids = np.array([book_vocab.index(w) for w in words])
    ref = book_forward(ps, book_ids, n_lstm)  # (T, V), columns in the book's word order
    lm.reset_state()
    got = lm.predict(np.array([[vocab.id(w) for w in words]], dtype=np.int32))[0]
    perm = [book_vocab.index(w) for w in vocab]
    np.testing.assert_allclose(got, ref[:, perm], rtol=1e-4, atol=1e-4)


def test_shape_and_vocab_errors(tmp_path, ptb_dir, rng):
    V = len(ptb_vocab(ptb_dir))
    ps = book_params(V, 4, 3, 1, rng)
    with pytest.raises(FormatError, match="expected 9 or 8 arrays"):
        import_book(dump(tmp_path / "a.pkl", ps), model="better", data_dir=ptb_dir, out=tmp_path / "x.npz")
    bad = ps[:2] + [ps[2][:, :8]] + ps[3:]
    with pytest.raises(FormatError, match="LSTM1 Wh"):
        import_book(dump(tmp_path / "b.pkl", bad), model="rnnlm", data_dir=ptb_dir, out=tmp_path / "x.npz")
    wrong_v = book_params(V + 2, 4, 3, 1, rng)
    with pytest.raises(DataError, match="vocabulary"):
        import_book(dump(tmp_path / "c.pkl", wrong_v), model="rnnlm", data_dir=ptb_dir, out=tmp_path / "x.npz")
    untied = book_params(V, 5, 5, 2, rng)
    untied[7] = untied[7] + np.float16(1)
    with pytest.raises(FormatError, match="transpose"):
        import_book(dump(tmp_path / "d.pkl", untied), model="better", data_dir=ptb_dir, out=tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_reads_every_pickle_protocol(tmp_path, rng):
    arrays = [rng.standard_normal((3, 4)).astype(np.float16), np.asfortranarray(rng.standard_normal((2, 5)))]
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        got = load_book_pickle(dump_proto(tmp_path / f"p{proto}.pkl", arrays, proto))
        assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(got, arrays))


def dump_proto(path, obj, proto):
    path.write_bytes(pickle.dumps(obj, protocol=proto))
    return path


class RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class RunsEval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "nested"])
def test_code_running_pickles_are_refused_and_never_run(tmp_path, ptb_dir, kind):
    marker = tmp_path / "pwned"
    payload = {"os.system": RunsShell(marker), "builtins.eval": RunsEval(marker)}.get(kind)
    if kind == "nested":  # hidden after a genuine array, inside the list
        payload = RunsShell(marker)
        obj = [np.zeros((2, 2), np.float16), payload]
    else:
        obj = [payload]
    pkl = dump(tmp_path / "evil.pkl", obj)
    with pytest.raises(UnsafePickleError, match="system|eval"):
        load_book_pickle(pkl)
    with pytest.raises(UnsafePickleError):
        import_book(pkl, model="rnnlm", data_dir=ptb_dir, out=tmp_path / "x.npz")
    assert not marker.exists()
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize(
    "obj,match",
    [
        ({"W": np.zeros(3, np.float16)}, "list of arrays"),
        ((np.zeros(3, np.float16),), "list of arrays"),
        ([np.array([1.0, None], dtype=object)], "dtype object"),
        ([np.arange(4)], "floating"),
        ([np.zeros(2, np.float16), "text"], "not a numpy.ndarray"),
    ],
)
def test_non_array_content_refused(tmp_path, obj, match):
    with pytest.raises(UnsafePickleError, match=match):
        load_book_pickle(dump(tmp_path / "x.pkl", obj))


def test_garbage_and_missing_files(tmp_path):
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(FormatError):
        load_book_pickle(junk)
    with pytest.raises(DataError, match="nope.pkl"):
        load_book_pickle(tmp_path / "nope.pkl")


def test_real_ptb_book_numbering(tmp_path, rng):
    """On the real PTB both numberings cover the same 10,000 words, and an import round-trips."""
    from conftest import shared_file

    d = shared_file("ptb/ptb.train.txt").parent
    book_vocab = book_ptb_vocab(d / "ptb.train.txt")
    vocab = ptb_vocab(d)
    assert len(book_vocab) == len(vocab) == 10_000 and set(book_vocab) == set(vocab)
    assert book_vocab[:3] == ["aer", "banknote", "berlitz"]  # the book's first ids
    ps = book_params(10_000, 4, 3, 1, rng)
    out = tmp_path / "rnnlm.npz"
    import_book(dump(tmp_path / "Rnnlm.pkl", ps), model="rnnlm", data_dir=d, out=out)
    lm, _, _ = load_lm(out)
    words = "the meaning of life is <unk> <eos>".split()
    book_id = {w: i for i, w in enumerate(book_vocab)}
    ref = book_forward(ps, np.array([book_id[w] for w in words]), 1)
    got = lm.predict(np.array([[vocab.id(w) for w in words]], dtype=np.int32))[0]
    np.testing.assert_allclose(got, ref[:, [book_id[w] for w in vocab]], rtol=1e-4, atol=1e-4)


class BookRnnlm:
    """The book's ch06 ``Rnnlm`` as a reader writes it (``__init__`` / ``predict`` / ``load_params``),
    with its ``common`` layers swapped for kotoba's."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        from kotoba.layers import TimeAffine, TimeEmbedding, TimeLSTM

        V, D, H = vocab_size, wordvec_size, hidden_size
        rn = np.random.randn
        embed_W = (rn(V, D) / 100).astype("f")
        lstm_Wx = (rn(D, 4 * H) / np.sqrt(D)).astype("f")
        lstm_Wh = (rn(H, 4 * H) / np.sqrt(H)).astype("f")
        lstm_b = np.zeros(4 * H).astype("f")
        affine_W = (rn(H, V) / np.sqrt(H)).astype("f")
        affine_b = np.zeros(V).astype("f")
        self.layers = [
            TimeEmbedding(embed_W),
            TimeLSTM(lstm_Wx, lstm_Wh, lstm_b, stateful=True),
            TimeAffine(affine_W, affine_b),
        ]
        self.params = [p for layer in self.layers for p in layer.params]

    def predict(self, xs):
        for layer in self.layers:
            xs = layer.forward(xs)
        return xs

    def load_params(self, file_name):
        with open(file_name, "rb") as f:
            params = pickle.load(f)  # the book's own (trusted) pickle
        for i, param in enumerate(self.params):
            param[...] = params[i]


def test_book_model_code_runs_on_kotoba_layers(tmp_path, rng):
    """A reader's Rnnlm.pkl, loaded by the book's model code into kotoba's layers, predicts what the
    book's equations predict: no conversion anywhere."""
    V, D, H = 11, 4, 3
    ps = book_params(V, D, H, 1, rng)
    pkl = dump(tmp_path / "Rnnlm.pkl", ps)
    model = BookRnnlm(V, D, H)
    model.load_params(pkl)
    xs = rng.integers(0, V, size=9)
    got = model.predict(xs[None, :].astype(np.int32))[0]
    np.testing.assert_allclose(got, book_forward(ps, xs, 1), rtol=1e-4, atol=1e-4)
