"""Import language-model weights trained with the book's own code (``Rnnlm.pkl``, ``BetterRnnlm.pkl``).

The book's ``save_params`` pickles ``[p.astype(np.float16) for p in self.params]``. A pickle can
run any code while it loads, so :func:`load_book_pickle` uses an unpickler that can build NumPy
arrays and nothing else: its ``find_class`` answers from a fixed table of the few NumPy callables
an array pickle names, and raises :class:`~kotoba.errors.UnsafePickleError` for every other
global (``os.system``, ``builtins.eval``, ...) *before* anything is called.

The book's LSTM layout (gate blocks ``f, g, i, o`` of ``A = x Wx + h Wh + b``) *is* kotoba's
(:data:`kotoba.layers.time.GATE_ORDER`), so the weights themselves need no conversion: the book's
model code runs on kotoba's layers with the pickle as it is. A kotoba *checkpoint* differs from the
pickle in two ways only (:func:`book_to_kotoba`):

* float16 -> float32;
* word ids: the book numbers PTB words by first appearance in ``ptb.train.txt`` (line ends read as
  ``<eos>``), kotoba by descending frequency (:mod:`kotoba.lm.data`), so the embedding rows and the
  output columns are permuted.
"""

from __future__ import annotations

import codecs
import io
import os
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, FormatError, UnsafePickleError
from ..models.rnnlm import BetterRnnlm, Rnnlm
from ..text.vocab import Vocab
from .checkpoint import save_lm
from .data import EOS, ptb_path, ptb_vocab

try:  # NumPy 2 moved the internals to numpy._core; pickles written by NumPy 1 still name numpy.core.
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

BOOK_MODELS = ("rnnlm", "better")


def _reconstruct(subtype, shape, dtype):
    # ndarray.__reduce__ names ndarray itself here; any other type could run its own __new__.
    if subtype is not np.ndarray:
        raise UnsafePickleError(f"pickle asks to build {subtype!r}, not a plain numpy.ndarray")
    return _multiarray._reconstruct(subtype, shape, dtype)


def _frombuffer(buf, dtype, shape, order):
    # Protocol-5 pickles of arrays: raw bytes + dtype; np.frombuffer refuses object dtypes itself.
    return _numeric._frombuffer(buf, dtype, shape, order)


# (module, name) -> the object handed to the unpickler. Nothing outside this table is ever imported.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # Protocol 0-2 pickles spell a bytes object as _codecs.encode(str, "latin1").
    ("_codecs", "encode"): codecs.encode,
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler whose globals are limited to :data:`_ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"pickle refers to {module}.{name}; only plain NumPy arrays are allowed in book weights"
            ) from None

    def persistent_load(self, pid):
        raise UnsafePickleError("pickle uses persistent ids; only plain NumPy arrays are allowed")


def load_book_pickle(path: str | os.PathLike) -> list[np.ndarray]:
    """Read a params pickle written by the book's ``save_params``: a list of floating arrays.

    Raises UnsafePickleError if the pickle names anything but NumPy's array-building functions,
    holds something other than a list of arrays, or an array of object (or non-float) dtype;
    FormatError if it is not a readable pickle at all.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"book weights file {path} not found")
    data = path.read_bytes()
    try:
        obj = _ArrayOnlyUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError:
        raise
    except Exception as e:  # truncated or garbage bytes: pickle raises many kinds of errors
        raise FormatError(f"{path}: not a readable pickle of NumPy arrays ({type(e).__name__}: {e})") from e
    if not isinstance(obj, list):
        raise UnsafePickleError(f"{path}: expected a list of arrays (the book's params), got {type(obj).__name__}")
    for k, a in enumerate(obj):
        if type(a) is not np.ndarray:
            raise UnsafePickleError(f"{path}: item {k} is a {type(a).__name__}, not a numpy.ndarray")
        if a.dtype.hasobject or a.dtype.kind != "f":
            raise UnsafePickleError(f"{path}: item {k} has dtype {a.dtype}; expected floating-point weights")
    return obj


# --------------------------------------------------------------------------------------------
# Layout conversion


def book_ptb_vocab(train_path: str | os.PathLike) -> list[str]:
    """The book's PTB vocabulary (id -> word): ``read().replace('\\n', '<eos>').strip().split()``,
    words numbered by first appearance, exactly as its ``dataset/ptb.py`` does."""
    with open(train_path, encoding="utf-8") as f:
        words = f.read().replace("\n", EOS).strip().split()
    return list(dict.fromkeys(words))


def _check_shape(name: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    if a.shape != shape:
        raise FormatError(f"book weights: {name} has shape {a.shape}, expected {shape}")


def book_to_kotoba(
    params: Sequence[np.ndarray],
    model: str,
    book_vocab: Sequence[str],
    vocab: Vocab | Sequence[str],
) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Validate the book's params list and convert it to a kotoba checkpoint's layout.

    ``params`` as the book's models list them (V words, D = wordvec, H = hidden):

    * ``rnnlm`` (6): embed W (V, D), LSTM Wx (D, 4H), Wh (H, 4H), b (4H,), affine W (H, V), b (V,)
    * ``better`` (9): embed W (V, D), LSTM1 Wx, Wh, b, LSTM2 Wx (H, 4H), Wh, b, affine W, affine b.
      Its affine layer is ``TimeAffine(embed_W.T, b)``, so ``self.params`` holds the transpose too
      and ``save_params`` (which copies each entry with ``astype``) writes it a second time; a list
      of 8 without that copy is accepted as well. D must equal H.

    Returns ``(sizes, arrays)``: sizes ``{"vocab_size", "wordvec_size", "hidden_size"}`` and float32
    arrays named ``embed_W, lstm{k}_Wx, lstm{k}_Wh, lstm{k}_b`` (k = 1, or 1 and 2), ``affine_W``
    (H, V), ``affine_b`` with rows/columns in ``vocab``'s word order (the gate blocks stay as they are).
    """
    if model not in BOOK_MODELS:
        raise ConfigError(f"model must be one of {', '.join(BOOK_MODELS)}; got {model!r}")
    ps = [np.asarray(p, dtype=np.float32) for p in params]
    n_lstm = 1 if model == "rnnlm" else 2
    expected = (6,) if model == "rnnlm" else (9, 8)
    if len(ps) not in expected:
        want = " or ".join(str(n) for n in expected)
        raise FormatError(f"book {model} weights: expected {want} arrays, the pickle has {len(ps)}")
    if ps[0].ndim != 2:
        raise FormatError(f"book weights: embed W has shape {ps[0].shape}, expected (V, D)")
    V, D = ps[0].shape
    if ps[1].ndim != 2 or ps[1].shape[1] % 4:
        raise FormatError(f"book weights: LSTM Wx has shape {ps[1].shape}, expected (D, 4H)")
    H = ps[1].shape[1] // 4
    out = {"embed_W": ps[0]}
    k = 1
    for layer in range(1, n_lstm + 1):
        Wx, Wh, b = ps[k : k + 3]
        _check_shape(f"LSTM{layer} Wx", Wx, (D if layer == 1 else H, 4 * H))
        _check_shape(f"LSTM{layer} Wh", Wh, (H, 4 * H))
        _check_shape(f"LSTM{layer} b", b, (4 * H,))
        out.update({f"lstm{layer}_Wx": Wx, f"lstm{layer}_Wh": Wh, f"lstm{layer}_b": b})
        k += 3
    if model == "rnnlm":
        _check_shape("affine W", ps[k], (H, V))
        out["affine_W"] = ps[k]
        k += 1
    else:
        if D != H:
            raise FormatError(f"book better weights: wordvec size {D} != hidden size {H} (weights are tied)")
        if len(ps) == 9:
            _check_shape("affine W", ps[k], (H, V))
            if not np.array_equal(ps[k], ps[0].T):
                raise FormatError("book better weights: affine W is not the embedding's transpose (untied?)")
            k += 1
        out["affine_W"] = ps[0].T
    _check_shape("affine b", ps[k], (V,))
    out["affine_b"] = ps[k]

    if len(book_vocab) != V:
        raise DataError(f"the weights are for {V} words but the book's PTB vocabulary has {len(book_vocab)}")
    book_id = {w: i for i, w in enumerate(book_vocab)}
    if len(vocab) != V or set(vocab) != set(book_id):
        raise DataError("the book's vocabulary and kotoba's differ: is this the PTB train file the weights used?")
    perm = np.array([book_id[w] for w in vocab], dtype=np.intp)  # kotoba id -> book id
    out["embed_W"] = np.ascontiguousarray(out["embed_W"][perm])
    out["affine_W"] = np.ascontiguousarray(out["affine_W"][:, perm])
    out["affine_b"] = np.ascontiguousarray(out["affine_b"][perm])
    return {"vocab_size": V, "wordvec_size": D, "hidden_size": H}, out


def _kotoba_param_order(model: str) -> list[str]:
    # The order of kotoba's ``model.params`` (see kotoba.models.rnnlm); BetterRnnlm lists the
    # tied matrix once, as embed_W, and its affine layer reads the transposed view of it.
    if model == "rnnlm":
        return ["embed_W", "lstm1_Wx", "lstm1_Wh", "lstm1_b", "affine_W", "affine_b"]
    lstms = [f"lstm{k}_{n}" for k in (1, 2) for n in ("Wx", "Wh", "b")]
    return ["embed_W", *lstms, "affine_b"]


def import_book(
    pkl: str | os.PathLike,
    model: str = "rnnlm",
    data_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    dropout_ratio: float = 0.5,
) -> dict:
    """Convert the book's ``Rnnlm.pkl`` / ``BetterRnnlm.pkl`` into a kotoba LM checkpoint at ``out``.

    ``data_dir`` (or ``$KOTOBA_DATA``) must hold the ``ptb.train.txt`` the weights were trained
    with: both word numberings are rebuilt from it. Returns the checkpoint's ``meta`` (sizes,
    source). The model is a :class:`~kotoba.models.rnnlm.Rnnlm` or ``BetterRnnlm``.
    """
    if model not in BOOK_MODELS:
        raise ConfigError(f"model must be one of {', '.join(BOOK_MODELS)}; got {model!r}")
    if out is None:
        raise ConfigError("say where to write the checkpoint (out=...)")
    params = load_book_pickle(pkl)
    train_path = ptb_path(data_dir, "train")
    vocab = ptb_vocab(data_dir)
    sizes, arrays = book_to_kotoba(params, model, book_ptb_vocab(train_path), vocab)
    V, D, H = sizes["vocab_size"], sizes["wordvec_size"], sizes["hidden_size"]
    lm: Rnnlm | BetterRnnlm
    if model == "rnnlm":
        lm = Rnnlm(V, D, H, rng=np.random.default_rng(0))
    else:
        lm = BetterRnnlm(V, D, H, dropout_ratio=dropout_ratio, rng=np.random.default_rng(0))
    for p, name in zip(lm.params, _kotoba_param_order(model), strict=True):
        p[...] = arrays[name]  # in place: keeps BetterRnnlm's tied view of embed_W
    meta = {"model": model, **sizes, "source": "book", "book_pickle": str(Path(pkl).resolve())}
    save_lm(out, lm, vocab, meta=meta)
    return meta
