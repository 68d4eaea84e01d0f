"""Intrinsic evaluation of word vectors, with gensim 4.4's exact rules.

* :func:`evaluate_analogies` -- the Google analogy test (``questions-words.txt``): a question
  ``a b c d`` counts as correct when the best candidate for b - a + c (3CosAdd) or for
  Levy & Goldberg's 3CosMul, among the first ``restrict_vocab`` words and excluding a, b and c,
  is d. Same rules as gensim's ``KeyedVectors.evaluate_word_analogies``: words upper-cased when
  ``case_insensitive`` (the first -- most frequent -- casing of a word stands for all), questions
  with a word outside the first ``restrict_vocab`` words skipped, invalid lines skipped, gensim's
  top-5 walk over candidates, a final "Total accuracy" section.
* :func:`evaluate_word_pairs` -- Pearson and Spearman correlation of cosine similarities with human
  scores (WordSim-353, SimLex-999), as gensim's ``evaluate_word_pairs``.

The analogy questions are solved in batches (one matrix product per block of questions), not one
full-vocabulary product per question. A batched product rounds differently from gensim's
matrix-vector product in the last float32 bits, so any question whose top candidates are closer
together than that rounding could move them is solved again gensim's way, one question at a time:
the answers are the same as gensim's, question for question.

Correlations and their two-sided p-values are computed here with NumPy (the p-values from the
regularised incomplete beta function, as scipy does), so SciPy is not needed at run time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from .wordvectors import WordVectors, _unitvec, gensim_top

Question = tuple[str, str, str, str]

# gensim asks most_similar for its top 5 answers (plus the 3 excluded inputs) and walks them.
_TOPN = 5
_NIN = 3
_U = 2.0**-24  # unit roundoff of float32


def _ok_vocab(wv: WordVectors, restrict_vocab: int | None, case_insensitive: bool) -> dict[str, int]:
    """Word (upper-cased if ``case_insensitive``) -> row, over the first ``restrict_vocab`` words.

    Built from the end backwards so the first (most frequent) casing of a word wins, as gensim does.
    """
    keys = wv.index_to_key[:restrict_vocab]
    if case_insensitive:
        return {k.upper(): i for i, k in reversed(list(enumerate(keys)))}
    return {k: i for i, k in reversed(list(enumerate(keys)))}


def _check_restrict(restrict_vocab: int | None) -> None:
    if restrict_vocab is not None and (not isinstance(restrict_vocab, Integral) or restrict_vocab < 1):
        raise ConfigError(f"restrict_vocab must be a positive integer or None, got {restrict_vocab!r}")


def _lines(path: str | os.PathLike, encoding: str, binary_lines: bool) -> Iterator[tuple[int, str]]:
    """(line number from 1, text) of an evaluation file, with errors that name the file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such evaluation file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not an evaluation file")
    # gensim reads analogy files as bytes split at b"\n" and word-pair files as text with universal
    # newlines; the difference shows only on a stray "\r", but we keep it.
    if binary_lines:
        with open(path, "rb") as fb:
            for lineno, raw in enumerate(fb, 1):
                try:
                    yield lineno, raw.decode(encoding)
                except UnicodeDecodeError as e:
                    raise DataError(f"{path}: line {lineno}: not valid {encoding} ({e.reason})") from None
        return
    with open(path, encoding=encoding) as ft:
        lineno = 0
        try:
            for lineno, line in enumerate(ft, 1):
                yield lineno, line
        except UnicodeDecodeError as e:  # raised while reading the line after ``lineno``
            raise DataError(f"{path}: line {lineno + 1}: not valid {encoding} ({e.reason})") from None


def read_analogies(
    path: str | os.PathLike, case_insensitive: bool = True, encoding: str = "utf-8"
) -> list[tuple[str, list[Question]]]:
    """``[(section name, [(a, b, c, d), ...]), ...]`` from a questions-words style file.

    ``: name`` lines start sections; lines that are not exactly four words are skipped (as gensim
    does); a question before any section header is an error.
    """
    sections: list[tuple[str, list[Question]]] = []
    for lineno, line in _lines(path, encoding, binary_lines=True):
        if line.startswith(": "):
            sections.append((line.lstrip(": ").strip(), []))
            continue
        words = line.split()
        if len(words) != 4:
            continue
        if not sections:
            raise DataError(f"{path}: line {lineno}: a question before any ': section' header")
        if case_insensitive:
            words = [w.upper() for w in words]
        sections[-1][1].append(tuple(words))  # type: ignore[arg-type]
    if not any(qs for _, qs in sections):
        raise DataError(f"{path}: no analogy questions found (expected ': section' lines and 'a b c d' lines)")
    return sections


class _AnalogySolver:
    """Answers many analogy questions at once with gensim's ranking.

    For each question (row indices a, b, c) it returns gensim's ``most_similar`` /
    ``most_similar_cosmul`` top-5 list over the first ``n`` words, input words excluded.
    """

    def __init__(self, wv: WordVectors, n: int, method: str):
        self.wv = wv
        self.V = wv.vectors[:n]  # (n, D) float32
        self.norms = wv.safe_norms[:n]  # (n,) float32
        self.unit = wv.get_normed_vectors()
        self.method = method
        D = wv.vector_size
        # Bound on how far a batched cosine may be from gensim's: two float32 dot products of
        # length D summed in different orders. The worst case is ~2 D u, but rounding errors add
        # up like a random walk: measured differences (random and offset vectors, D = 10..1000)
        # stay under 1.6 sqrt(D) u, never above 13 u; we allow 8 sqrt(D) u + 16 u, over 5 times
        # that, and re-solve anything closer one question at a time.
        self.eps = (8 * math.sqrt(D) + 16) * _U
        self.k = min(n, _TOPN + _NIN + 1)  # the top 8 and the one just below them
        # Questions per block: keep the (block, n) score matrix near 64 MB.
        self.block = max(1, (16 << 20) // max(1, n * (3 if method == "3cosmul" else 1)))
        self.n_exact = 0  # questions re-solved one at a time (near ties); for tests and profiling

    def solve(self, abc: np.ndarray) -> list[list[int]]:
        """abc: (Q, 3) int rows of a, b, c -> Q lists of up to 5 candidate rows, best first."""
        out: list[list[int]] = []
        for s in range(0, len(abc), self.block):
            out.extend(self._solve_block(abc[s : s + self.block]))
        return out

    def _scores(self, abc: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """(q, n) float32 scores of every candidate for each question; for 3CosMul also the
        shifted cosines (pa, pb, pc) that its rounding-error bound needs."""
        ua, ub, uc = (self.unit[abc[:, j]] for j in range(3))
        if self.method == "3cosadd":
            # gensim's mean: float32 running sum b + c - a, float64 division by 3 and normalisation.
            m = ((ub + uc) - ua).astype(np.float64) / 3.0
            nrm = np.sqrt(np.einsum("ij,ij->i", m, m))
            nrm[nrm == 0] = 1.0
            mean = (m * (1.0 / nrm)[:, None]).astype(np.float32)
            S = mean @ self.V.T
            S /= self.norms
            return S, None
        q = len(abc)
        C = np.concatenate([ua, ub, uc]) @ self.V.T
        C /= self.norms
        C += 1
        C /= 2
        pa, pb, pc = C[:q], C[q : 2 * q], C[2 * q :]
        return (pb * pc) / (pa + 0.000001), (pa, pb, pc)

    def _errors(self, vals: np.ndarray, top: np.ndarray, shifted: tuple[np.ndarray, ...] | None) -> np.ndarray:
        """Bounds on the rounding error of the (q, k) top scores ``vals`` at columns ``top``."""
        if shifted is None:
            return np.full(vals.shape, self.eps)
        pa, pb, pc = (np.take_along_axis(p, top, axis=1) for p in shifted)
        # Each shifted cosine p is off by at most eps/2, i.e. by eps/(2p) relative.
        with np.errstate(divide="ignore"):
            rel = self.eps / 2 * (1 / pb + 1 / pc + 1 / (pa + 0.000001)) + 8 * _U
        return np.abs(vals) * rel

    def _solve_block(self, abc: np.ndarray) -> list[list[int]]:
        S, shifted = self._scores(abc)
        k = self.k
        top = _top_columns(S, k)
        vals = np.take_along_axis(S, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        errs = self._errors(vals, top, shifted)
        # Safe when every neighbouring pair among the top k is further apart than both their
        # rounding errors: then the exact (gensim) scores have the same top 8 in the same order.
        gaps = vals[:, :-1] - vals[:, 1:]
        safe = np.all(gaps > errs[:, :-1] + errs[:, 1:], axis=1) & np.all(np.isfinite(vals), axis=1)
        keep = min(k, _TOPN + _NIN)  # gensim ranks its top 8; the 9th only guards their membership
        out = []
        for j, (a, b, c) in enumerate(abc.tolist()):
            ranked = top[j, :keep].tolist() if safe[j] else self._exact(a, b, c)
            out.append([i for i in ranked if i not in (a, b, c)][:_TOPN])
        return out

    def _exact(self, a: int, b: int, c: int) -> list[int]:
        """One question exactly as gensim computes it (matrix-vector product): the top 8 rows."""
        self.n_exact += 1
        if self.method == "3cosadd":
            mean = self.wv._mean_unit([self.unit[b], self.unit[c], self.unit[a]], [1.0, 1.0, -1.0])
            dists = np.dot(self.V, mean) / self.norms
        else:
            pb, pc, pa = ((1 + np.dot(self.V, self.unit[i]) / self.norms) / 2 for i in (b, c, a))
            dists = np.prod([pb, pc], axis=0) / (np.prod([pa], axis=0) + 0.000001)
        return gensim_top(dists, _TOPN + _NIN).tolist()


def _top_columns(S: np.ndarray, k: int, width: int = 64) -> np.ndarray:
    """(q, n) scores -> (q, k) column indices of each row's k largest (unordered).

    argpartition over a long row is slow, so each row's columns are dealt into groups of
    ``width`` (group g holds columns g, g + G, g + 2G, ...: their maxima are then an elementwise
    maximum of contiguous slices, which NumPy does fast): the k largest values lie in the groups
    with the largest maxima, and only those few groups are searched. A few spare groups keep exact
    ties at the boundary inside.
    """
    q, n = S.shape
    if k >= n:
        return np.broadcast_to(np.arange(n), S.shape).copy()
    nb = n // width
    blocks = min(nb, k + 3)
    if nb <= 2 * blocks:
        return np.argpartition(-S, k - 1, axis=1)[:, :k]
    group_max = S[:, : nb * width].reshape(q, width, nb).max(axis=1)
    best = np.argpartition(-group_max, blocks - 1, axis=1)[:, :blocks]
    cand = (best[:, :, None] + np.arange(width) * nb).reshape(q, -1)
    cand = np.concatenate([cand, np.broadcast_to(np.arange(nb * width, n), (q, n - nb * width))], axis=1)
    pick = np.argpartition(-np.take_along_axis(S, cand, axis=1), k - 1, axis=1)[:, :k]
    return np.take_along_axis(cand, pick, axis=1)


def evaluate_analogies(
    wv: WordVectors,
    path: str | os.PathLike,
    restrict_vocab: int | None = 30000,
    case_insensitive: bool = True,
    method: str = "3cosadd",
    dummy4unknown: bool = False,
) -> tuple[float, list[dict]]:
    """Accuracy on an analogy file -> ``(score, sections)`` as gensim's ``evaluate_word_analogies``.

    sections: one dict per section, then ``"Total accuracy"``, each with ``"section"`` (name),
    ``"correct"`` and ``"incorrect"`` (lists of ``(a, b, c, d)``, upper-cased when
    ``case_insensitive``) and ``"oov"`` (how many questions had a word outside the first
    ``restrict_vocab`` words: skipped, or counted incorrect with ``dummy4unknown``).
    score: correct / (correct + incorrect) over all sections, 0.0 if nothing was evaluated.
    method: "3cosadd" (gensim's, word2vec.c's) or "3cosmul" (gensim's ``most_similar_cosmul``
    objective, candidates restricted the same way).
    Note: gensim's default ``restrict_vocab`` is 300000; ours is word2vec.c's 30000.
    """
    if method not in ("3cosadd", "3cosmul"):
        raise ConfigError(f"method must be '3cosadd' or '3cosmul', got {method!r}")
    _check_restrict(restrict_vocab)
    if len(wv) == 0:
        raise DataError("cannot evaluate an empty vocabulary")
    sections_in = read_analogies(path, case_insensitive)
    ok = _ok_vocab(wv, restrict_vocab, case_insensitive)
    n = len(wv) if restrict_vocab is None else min(restrict_vocab, len(wv))

    known: list[Question] = []  # questions answerable in the vocabulary, in file order
    oov = [0] * len(sections_in)
    for s, (_, questions) in enumerate(sections_in):
        for q in questions:
            if all(w in ok for w in q):
                known.append(q)
            else:
                oov[s] += 1

    abc = np.array([[ok[q[0]], ok[q[1]], ok[q[2]]] for q in known], dtype=np.int64).reshape(-1, 3)
    answers = _AnalogySolver(wv, n, method).solve(abc) if len(known) else []

    results = []
    walk = iter(answers)
    keys = wv.index_to_key
    for s, (name, questions) in enumerate(sections_in):
        section = {"section": name, "correct": [], "incorrect": [], "oov": oov[s]}
        for q in questions:  # file order, as gensim appends
            if not all(w in ok for w in q):
                if dummy4unknown:
                    section["incorrect"].append(q)
                continue
            predicted = None
            # gensim's walk: the first candidate that is not an input word (another casing of an
            # input word counts as the input word); if all five are, the last one stands.
            for i in next(walk):
                predicted = keys[i].upper() if case_insensitive else keys[i]
                if predicted in ok and predicted not in q[:3]:
                    break
            section["correct" if predicted == q[3] else "incorrect"].append(q)
        results.append(section)
    total = {
        "section": "Total accuracy",
        "correct": [q for r in results for q in r["correct"]],
        "incorrect": [q for r in results for q in r["incorrect"]],
        "oov": sum(oov),
    }
    results.append(total)
    done = len(total["correct"]) + len(total["incorrect"])
    score = len(total["correct"]) / done if done else 0.0
    return score, results


def evaluate_word_pairs(
    wv: WordVectors,
    path: str | os.PathLike,
    delimiter: str = "\t",
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    encoding: str = "utf-8",
) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Correlation with human similarity scores -> ``((pearson r, p), (spearman rho, p), oov_ratio)``.

    File: ``word1<delimiter>word2<delimiter>score`` lines; ``#`` lines and lines that do not split
    into exactly three fields with a numeric score are skipped (gensim's rules). Pairs with a word
    outside the first ``restrict_vocab`` words are skipped, or scored 0.0 with ``dummy4unknown``.
    oov_ratio is a percentage, as in gensim. p-values are two-sided.
    """
    _check_restrict(restrict_vocab)
    ok = _ok_vocab(wv, restrict_vocab, case_insensitive)
    gold: list[float] = []
    model: list[float] = []
    oov = 0
    for _, line in _lines(path, encoding, binary_lines=False):
        if not line or line.startswith("#"):
            continue
        parts = line.split(delimiter)
        if len(parts) != 3:
            continue
        if case_insensitive:
            parts = [p.upper() for p in parts]
        a, b, sim = parts
        try:
            score = float(sim)
        except ValueError:
            continue
        if a not in ok or b not in ok:
            oov += 1
            if dummy4unknown:
                gold.append(score)
                model.append(0.0)
            continue
        gold.append(score)
        model.append(float(np.dot(_unitvec(wv.vectors[ok[a]]), _unitvec(wv.vectors[ok[b]]))))
    if not gold:
        raise DataError(
            f"{path}: no usable word pairs (lines 'word1{delimiter!r}word2{delimiter!r}score'), "
            f"or every pair has a word outside the first {restrict_vocab} words of the vocabulary"
        )
    if len(gold) < 2:
        raise DataError(f"{path}: only one pair could be scored; a correlation needs at least two")
    x, y = np.array(gold, dtype=np.float64), np.array(model, dtype=np.float64)
    ratio = float(oov) / (len(gold) if dummy4unknown else len(gold) + oov) * 100  # gensim's rounding
    return pearsonr(x, y), spearmanr(x, y), ratio


# ---- the Japanese Word Similarity Dataset -------------------------------------------------------

#: the score column of the Japanese Word Similarity Dataset (Sakaizawa & Komachi, LREC 2018): the mean
#: over annotators with the extreme ones removed, 0-10, the figure the paper reports
JWSD_SCORE = "mean(remove_extreme_annotator)"


def is_jwsd(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a word-pair file of the Japanese Word Similarity Dataset (by its CSV header)."""
    for _, line in _lines(path, "utf-8-sig", binary_lines=False):
        return line.startswith("word1,word2,") and JWSD_SCORE in line.split(",")
    return False


def evaluate_jwsd(
    wv: WordVectors, path: str | os.PathLike, tokenize: Callable[[str], list[str]] | None = None
) -> dict[str, Any]:
    """Spearman / Pearson correlation with the human scores of a Japanese Word Similarity Dataset file.

    Many entries are inflected or several morphemes (``排除する``, ``あしらった``): each entry is split with
    ``tokenize`` (the analyser the corpus was segmented with; None: the entry is one token), and an entry
    of several tokens is represented by the mean of its token vectors. A pair with an entry that has a
    token outside the vocabulary is not scored and counts as OOV. Returns ``{"pairs": scored pairs,
    "oov": unscored pairs, "multi_token": entries of more than one token among the scored pairs,
    "spearman": (rho, p), "pearson": (r, p)}``.
    """
    rows = list(_lines(path, "utf-8-sig", binary_lines=False))
    header = rows[0][1].rstrip("\n").split(",") if rows else []
    if JWSD_SCORE not in header or header[:2] != ["word1", "word2"]:
        raise DataError(f"{path}: not a Japanese Word Similarity Dataset file (header 'word1,word2,{JWSD_SCORE},...')")
    col = header.index(JWSD_SCORE)
    split = tokenize if tokenize is not None else (lambda entry: [entry])
    gold: list[float] = []
    model: list[float] = []
    oov = multi = 0
    for lineno, line in rows[1:]:
        fields = line.rstrip("\n").split(",")
        if len(fields) <= col:
            raise DataError(f"{path}: line {lineno}: expected at least {col + 1} comma-separated fields")
        vecs = [_entry_vector(wv, split(entry)) for entry in fields[:2]]
        if vecs[0] is None or vecs[1] is None:
            oov += 1
            continue
        multi += sum(len(split(entry)) > 1 for entry in fields[:2])
        gold.append(float(fields[col]))
        model.append(float(np.dot(_unitvec(vecs[0]), _unitvec(vecs[1]))))
    if len(gold) < 2:
        raise DataError(f"{path}: fewer than two pairs have every token in the vocabulary ({oov} OOV)")
    x, y = np.array(gold), np.array(model)
    return {
        "pairs": len(gold),
        "oov": oov,
        "multi_token": multi,
        "spearman": spearmanr(x, y),
        "pearson": pearsonr(x, y),
    }


def _entry_vector(wv: WordVectors, tokens: list[str]) -> np.ndarray | None:
    """Mean vector of an entry's tokens, None if it has none or one is out of the vocabulary."""
    if not tokens or any(t not in wv for t in tokens):
        return None
    return np.mean([wv.vectors[wv.get_index(t)] for t in tokens], axis=0)


# ---- correlations, without SciPy --------------------------------------------------------------


def pearsonr(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(r, two-sided p) for (n,) arrays, as ``scipy.stats.pearsonr``; (nan, nan) for a constant input."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ConfigError(f"pearsonr needs two 1-D arrays of equal length, got {x.shape} and {y.shape}")
    n = len(x)
    if n < 2:
        raise DataError("a correlation needs at least two pairs")
    if np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan, math.nan
    # scipy's steps (norms of max-scaled deviations, vecdot), so that r comes out the same to
    # the last bit and a perfect correlation is exactly +-1
    xm, ym = x - x.mean(), y - y.mean()
    xmax, ymax = np.max(np.abs(xm)), np.max(np.abs(ym))
    normxm, normym = xmax * np.linalg.norm(xm / xmax), ymax * np.linalg.norm(ym / ymax)
    r = float(np.clip(_vecdot(xm / normxm, ym / normym), -1.0, 1.0))
    if n == 2:
        return float(round(r)), 1.0
    return r, _p_from_r(r, n - 2)


_vecdot = getattr(np, "vecdot", np.dot)  # NumPy >= 2 has the ufunc scipy uses


def rankdata(x: np.ndarray) -> np.ndarray:
    """(n,) -> (n,) float64 ranks from 1, ties given their average rank."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]  # start of each run of equal values
    group = np.cumsum(first) - 1
    starts = np.r_[np.flatnonzero(first), len(x)]  # 0-based start of each run, plus the end
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = 0.5 * (starts[group] + starts[group + 1] + 1)
    return ranks


def spearmanr(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(rho, two-sided p) for (n,) arrays, as ``scipy.stats.spearmanr`` (t approximation)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ConfigError(f"spearmanr needs two 1-D arrays of equal length, got {x.shape} and {y.shape}")
    if len(x) < 2:
        raise DataError("a correlation needs at least two pairs")
    if np.all(x == x[0]) or np.all(y == y[0]) or np.isnan(x).any() or np.isnan(y).any():
        return math.nan, math.nan
    # np.corrcoef of the ranks, as scipy does, so a perfect ranking gives exactly +-1.
    rho = float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])
    if len(x) == 2:
        return rho, math.nan
    return rho, _p_from_r(rho, len(x) - 2)


def _p_from_r(r: float, df: int) -> float:
    """Two-sided p of a correlation r with df degrees of freedom: P(|T| >= |t|) for Student's t,
    t = r sqrt(df / (1 - r^2)), which equals I_{1 - r^2}(df/2, 1/2)."""
    return _betainc(df / 2.0, 0.5, (1.0 - r) * (1.0 + r))


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b), by its continued fraction (modified Lentz),
    using I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def _beta_cf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100000):
        # even step, then odd step, of the continued fraction
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            delta = c * d
            h *= delta
        if abs(delta - 1.0) < 1e-16:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")
