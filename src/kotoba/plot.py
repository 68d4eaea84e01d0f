"""Every picture kotoba draws: word2vec loss, language-model perplexity, 2-D word maps, and the
files of the TensorBoard Embedding Projector.

Figures are drawn on a bare :class:`~matplotlib.figure.Figure` with the Agg canvas (no pyplot, no
display, no global state), rendered into memory and written with :func:`kotoba.io.atomic_write`,
so an interrupted run never leaves half an image. The format follows the file name's suffix
(``.png``, ``.svg``, ``.pdf`` …).

Japanese: matplotlib's default font (DejaVu Sans) has no Japanese glyphs, so every string kotoba
draws gets the first font of :func:`label_fonts` that has all of its glyphs — DejaVu Sans, then
IPAexGothic, which the ``matplotlib-fontja`` package bundles (no system font is needed).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from adjustText import adjust_text  # type: ignore[import-untyped]
from matplotlib import font_manager, patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import EngFormatter, FuncFormatter, LogLocator

from .errors import ConfigError, DataError, KotobaError
from .io import atomic_write

DPI = 100
# label placement: a fixed iteration budget (adjustText's default is a 1-second time limit, which
# makes the picture depend on the machine's speed); an iteration costs O(N^2), so past 100 words the
# budget shrinks as 1/N to keep the time linear in N
_REPEL_ITERATIONS = 150


def _repel_iterations(n: int) -> int:
    return _REPEL_ITERATIONS if n <= 100 else max(30, _REPEL_ITERATIONS * 100 // n)


# ---- fonts ----------------------------------------------------------------------------------


def japanese_font_path() -> Path:
    """Path of IPAexGothic (``ipaexg.ttf``) as bundled by ``matplotlib-fontja``."""
    try:
        # importing the package calls its japanize(), which sets matplotlib's global font family;
        # rc_context undoes that, so kotoba leaves other figures of the process alone
        with mpl.rc_context():
            import matplotlib_fontja  # type: ignore[import-untyped]
    except ImportError:
        raise KotobaError("Japanese labels need the font of matplotlib-fontja: pip install matplotlib-fontja") from None
    path = Path(matplotlib_fontja.get_font_ttf_path())
    if not path.is_file():
        raise KotobaError(f"{path}: the font file of matplotlib-fontja is missing; reinstall matplotlib-fontja")
    return path


@cache
def label_fonts() -> tuple[Path, ...]:
    """Font files in order of preference: matplotlib's default sans (DejaVu Sans), then IPAexGothic."""
    ja = japanese_font_path()
    font_manager.fontManager.addfont(str(ja))
    default = Path(font_manager.findfont(FontProperties(family="DejaVu Sans")))
    return (default, ja)


@cache
def _charmap(path: str) -> frozenset[int]:
    return frozenset(FT2Font(path).get_charmap())


def missing_glyphs(text: str, font_path: str | os.PathLike) -> list[str]:
    """The distinct characters of ``text`` (whitespace aside) that the font has no glyph for,
    in order of first appearance; read from the font's character map."""
    cmap = _charmap(str(font_path))
    return list(dict.fromkeys(c for c in text if not c.isspace() and ord(c) not in cmap))


def font_has_glyphs(text: str, font_path: str | os.PathLike) -> bool:
    """True when the font can draw every character of ``text``."""
    return not missing_glyphs(text, font_path)


def font_for(text: str) -> Path:
    """The first of :func:`label_fonts` with every glyph of ``text``; if none has them all, the
    one missing the fewest (matplotlib then warns about the rest)."""
    fonts = label_fonts()
    return min(fonts, key=lambda f: (len(missing_glyphs(text, f)), fonts.index(f)))


def _fp(text: str, size: float | None = None) -> FontProperties:
    return FontProperties(fname=font_for(text), size=size)


# ---- figures and files ----------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    """Render ``fig`` in memory in the format of ``path``'s suffix, then write it atomically."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ConfigError(
            f"{path}: cannot write a .{fmt} image; use one of " + ", ".join(f".{s}" for s in sorted(supported))
        )
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    with atomic_write(path, "wb") as f:
        f.write(buf.getvalue())
    return path


def _title(ax: Any, title: str | None) -> None:
    if title:
        ax.set_title(title, fontproperties=_fp(title, 12))


# ---- word2vec loss --------------------------------------------------------------------------


def _loss_columns(losses: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
    if not losses:
        raise DataError("no word2vec loss records to plot: train first (model.losses is empty)")
    for i, rec in enumerate(losses):
        missing = [k for k in ("epoch", "words", "loss") if k not in rec]
        if missing:
            raise DataError(
                f"loss record {i} has no {', '.join(missing)}: expected dicts with epoch, words, loss (and lr)"
            )
    cols = {k: np.array([float(r[k]) for r in losses]) for k in ("epoch", "words", "loss")}
    if all("lr" in r for r in losses):
        cols["lr"] = np.array([float(r["lr"]) for r in losses])
    return cols


def plot_word2vec_loss(
    losses: Sequence[Mapping[str, float]], path: str | os.PathLike, title: str | None = None
) -> Path:
    """word2vec training loss against words processed; returns ``path``.

    losses: one dict per progress interval, as ``Word2VecModel.losses`` keeps them (and as the
        training callback receives them): ``epoch`` (1-based), ``words`` (tokens processed so far,
        counting every epoch), ``loss`` (mean loss per training pair in the interval) and
        optionally ``lr``; when every record has ``lr`` it is drawn on a second axis.
    Epoch ends are marked with dotted lines (the trainer writes a record at every epoch's end).
    """
    return _save(_loss_figure(_loss_columns(losses), title), path)


def _loss_figure(cols: dict[str, np.ndarray], title: str | None) -> Figure:
    fig = _figure(7, 4)
    ax = fig.subplots()
    x = cols["words"]
    style = "o-" if len(x) <= 40 else "-"
    lines = ax.plot(x, cols["loss"], style, ms=3, color="C0", label="loss")
    ax.set_xlabel("words processed")
    ax.set_ylabel("loss per training pair")
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    ax.grid(True, alpha=0.3)
    _mark_epochs(ax, cols["epoch"], x)
    if "lr" in cols:
        ax2 = ax.twinx()
        lines += ax2.plot(x, cols["lr"], "--", color="C1", label="learning rate")
        ax2.set_ylabel("learning rate")
        ax2.set_ylim(bottom=0)
    ax.legend(handles=lines, loc="center right")
    _title(ax, title)
    fig.tight_layout()
    return fig


def _mark_epochs(ax: Any, epochs: np.ndarray, words: np.ndarray) -> None:
    """Dotted line at the last record of every epoch but the final one; 'epoch k' labels while they fit."""
    ends = np.flatnonzero(np.diff(epochs) != 0)
    for i in ends:
        ax.axvline(words[i], color="0.5", ls=":", lw=1)
    if len(ends) > 12:
        return
    starts = np.concatenate([[words[0]], words[ends]])
    for e, x0 in zip(epochs[np.concatenate([[0], ends + 1])], starts):
        ax.annotate(
            f"epoch {int(e)}",
            (x0, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -3),
            textcoords="offset points",
            va="top",
            fontsize=8,
            color="0.35",
        )


# ---- language-model perplexity --------------------------------------------------------------


def _lm_history(history: Any) -> dict[str, Any]:
    keys = ("ppl_list", "valid_ppl_list", "eval_interval", "batches_per_epoch")
    get = history.get if isinstance(history, Mapping) else lambda k, d=None: getattr(history, k, d)
    h = {k: get(k) for k in keys}
    h["ppl_list"], h["valid_ppl_list"] = list(h["ppl_list"] or []), list(h["valid_ppl_list"] or [])
    if not h["ppl_list"] and not h["valid_ppl_list"]:
        raise DataError("nothing to plot: the history has no training or validation perplexity (train first)")
    if h["ppl_list"] and not h["eval_interval"]:
        raise DataError("the history has ppl_list but no eval_interval (batches per training-perplexity point)")
    if h["ppl_list"] and h["valid_ppl_list"] and not h["batches_per_epoch"]:
        raise DataError(
            "the history has no batches_per_epoch, which is needed to draw train and valid on one epoch axis"
        )
    return h


def plot_lm_curves(history: Any, path: str | os.PathLike, title: str | None = None) -> Path:
    """Training and validation perplexity of a language model by epoch; returns ``path``.

    history: a :class:`~kotoba.lm.trainer.RnnlmTrainer` or a mapping with the same fields (those
        its saved state keeps): ``ppl_list`` (training perplexity, one per ``eval_interval``
        batches), ``valid_ppl_list`` (one per epoch), ``eval_interval`` and ``batches_per_epoch``
        (None: the x axis counts batches instead of epochs; then train and valid cannot share it).
    The y axis is logarithmic when the values span more than a factor of 10.
    """
    return _save(_lm_figure(_lm_history(history), title), path)


def _lm_figure(h: dict[str, Any], title: str | None) -> Figure:
    per_epoch = h["batches_per_epoch"] or None
    fig = _figure(7, 4)
    ax = fig.subplots()
    if h["ppl_list"]:
        x = (np.arange(len(h["ppl_list"])) + 1) * h["eval_interval"] / (per_epoch or 1)
        ax.plot(x, h["ppl_list"], "-", color="C0", lw=1, label="train")
    if h["valid_ppl_list"]:
        _plot_valid(ax, h["valid_ppl_list"])
    _perplexity_axis(ax, h["ppl_list"] + h["valid_ppl_list"])
    ax.set_xlabel("epoch" if per_epoch or not h["ppl_list"] else "batches")
    ax.legend()
    _title(ax, title)
    fig.tight_layout()
    return fig


def _plot_valid(ax: Any, valid: list[float]) -> None:
    best = int(np.argmin(valid))
    # the best value goes in the legend: an annotation at the point gets clipped at the last epoch
    ax.plot(
        np.arange(len(valid)) + 1, valid, "o-", color="C1", label=f"valid (best {valid[best]:.1f}, epoch {best + 1})"
    )


def _perplexity_axis(ax: Any, values: list[float]) -> None:
    """Log scale when the values span more than a factor of 10, with plain numbers (200, 500, 1000) as ticks."""
    ax.set_ylabel("perplexity")
    ax.grid(True, which="both", alpha=0.3)
    if not (min(values) > 0 and max(values) / min(values) > 10):
        return
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    ax.yaxis.set_minor_formatter(plain)


# ---- word maps ------------------------------------------------------------------------------


def _check_vectors(vectors: np.ndarray) -> np.ndarray:
    X = np.asarray(vectors, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        raise DataError(f"a word map needs an (N, D) matrix of at least 2 vectors, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise DataError("the vectors contain NaN or infinite values")
    return X


def _check_words(words: Sequence[str], vectors: np.ndarray, groups: Sequence[str] | None) -> np.ndarray:
    X = np.asarray(vectors)
    if X.ndim != 2 or X.shape[0] != len(words):
        raise DataError(f"need one vector per word: {len(words)} words but vectors of shape {X.shape}")
    if groups is not None and len(groups) != len(words):
        raise DataError(f"{len(words)} words but {len(groups)} groups: give one group per word")
    return _check_vectors(X)


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def _pca(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-2 principal components of the centred unit rows → (coords (N, 2), explained-variance ratios (2,))."""
    Z = _unit_rows(X)
    Z = Z - Z.mean(axis=0)
    U, S, Vt = np.linalg.svd(Z, full_matrices=False)
    # an SVD's signs are arbitrary: make each axis' largest loading positive so the map never flips
    signs = np.sign(Vt[np.arange(len(Vt)), np.abs(Vt).argmax(axis=1)])
    coords = np.zeros((len(Z), 2))
    k = min(2, len(S))
    coords[:, :k] = U[:, :k] * (S[:k] * signs[:k])
    total = float((S**2).sum())
    ratios = np.zeros(2)
    ratios[:k] = S[:k] ** 2 / total if total > 0 else 0.0
    return coords, ratios


def _tsne(X: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    try:
        from sklearn.manifold import TSNE  # type: ignore[import-untyped]
    except ImportError:
        raise KotobaError("t-SNE word maps need scikit-learn: pip install 'kotoba[tsne]' (or use PCA)") from None
    if rng is None:
        raise ConfigError("t-SNE is random: pass rng=numpy.random.default_rng(seed)")
    n = len(X)
    # sklearn requires perplexity < n; 30 is its default, a third of n keeps small maps meaningful.
    # The exact gradient is plain NumPy; Barnes-Hut is multi-threaded Cython whose threads spin on a
    # busy machine: on 2 shared cores 30 words took 0.55 s exact vs 11.6 s Barnes-Hut, 200 words 5.0 vs 54.6 s.
    tsne = TSNE(
        n_components=2,
        perplexity=min(30.0, max(1.0, (n - 1) / 3)),
        init="pca" if X.shape[1] >= 2 else "random",
        method="exact" if n <= 500 else "barnes_hut",
        metric="cosine",
        random_state=int(rng.integers(2**31 - 1)),
    )
    return tsne.fit_transform(_unit_rows(X)).astype(np.float64)


def project_2d(vectors: np.ndarray, method: str = "pca", rng: np.random.Generator | None = None) -> np.ndarray:
    """(N, D) word vectors → (N, 2) map coordinates.

    ``"pca"``: the first two principal components of the unit-length, centred vectors (plain NumPy
    SVD; deterministic). ``"tsne"``: scikit-learn's t-SNE on cosine distances, seeded from ``rng``.
    """
    X = _check_vectors(vectors)
    if method == "pca":
        return _pca(X)[0]
    if method == "tsne":
        return _tsne(X, rng)
    raise ConfigError(f"unknown map method {method!r}: use 'pca' or 'tsne'")


def _group_colours(groups: Sequence[str] | None, n: int) -> tuple[dict[str, Any], list[Any]]:
    """A colour per group name, in order of first appearance (tab10; tab20 past 10 groups, repeating
    past 20), and a colour per word."""
    if groups is None:
        return {}, ["C0"] * n
    names = list(dict.fromkeys(groups))
    cmap = mpl.colormaps["tab10" if len(names) <= 10 else "tab20"]
    colour = {g: cmap(i % cmap.N) for i, g in enumerate(names)}
    return colour, [colour[g] for g in groups]


def _draw_word_map(
    words: Sequence[str],
    coords: np.ndarray,
    groups: Sequence[str] | None,
    title: str | None,
    axis_labels: tuple[str, str] | None,
) -> tuple[Figure, list]:
    """The map's figure and its label artists (after placement)."""
    n = len(words)
    side = float(np.clip(4 + 0.7 * math.sqrt(n), 6, 14))
    names, colours = _group_colours(groups, n)
    legend_width = 1.7 if names else 0.0  # inches
    fig = _figure(side + legend_width, side)
    ax = fig.subplots()
    # fixed margins, not a layout engine: a layout pass after placing the labels would move the axes
    # under them; the legend goes in a right margin of its own so it never covers a label
    fig.subplots_adjust(
        left=(0.9 if axis_labels else 0.3) / (side + legend_width),
        right=1 - (legend_width + 0.15) / (side + legend_width),
        bottom=0.07 if axis_labels else 0.03,
        top=0.94,
    )
    ax.scatter(coords[:, 0], coords[:, 1], s=14, c=colours, zorder=3)
    for name, colour in names.items():
        ax.scatter([], [], s=14, color=colour, label=name)
    span = np.ptp(coords, axis=0)
    span = np.where(span > 0, span, 1.0)
    lo, hi = coords.min(axis=0) - 0.08 * span, coords.max(axis=0) + 0.08 * span
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    size = 10 if n <= 80 else 8
    # a white outline keeps a label legible where it crosses a point or a leader line
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    texts = [
        ax.text(x, y, w, fontproperties=_fp(w, size), color=c, zorder=4, path_effects=halo)
        for (x, y), w, c in zip(coords, words, colours)
    ]
    if axis_labels:
        ax.set_xlabel(axis_labels[0])
        ax.set_ylabel(axis_labels[1])
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    if names:
        ax.legend(prop=_fp(" ".join(names), 9), loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    _title(ax, title)
    # stronger pushes and wider margins than adjustText's defaults: with them no label sat on
    # another word's point in the 50-word English and Japanese sample maps. The points repel labels
    # through avoid_self (the texts start on them); untangling crossed leader lines is a Python loop
    # over all pairs that doubled the time without a visible gain on those maps.
    adjust_text(
        texts,
        ax=ax,
        iter_lim=_repel_iterations(n),
        expand=(1.4, 1.8),
        force_text=(0.3, 0.6),
        force_static=(0.3, 0.6),
        prevent_crossings=False,
        arrowprops={"arrowstyle": "-", "color": "0.55", "lw": 0.6},
    )
    return fig, texts


def plot_word_map(
    words: Sequence[str],
    vectors: np.ndarray,
    path: str | os.PathLike,
    method: str = "pca",
    title: str | None = None,
    groups: Sequence[str] | None = None,
    rng: np.random.Generator | None = None,
) -> Path:
    """A labelled 2-D map of words; returns ``path``.

    words: N labels. vectors: (N, D) their vectors. method: ``"pca"`` or ``"tsne"`` (see
    :func:`project_2d`; t-SNE needs ``rng`` and scikit-learn, the ``kotoba[tsne]`` extra).
    groups: N group names (e.g. "country", "capital") to colour the words by, with a legend.
    Labels are pushed apart (adjustText, a fixed number of iterations, so the same input gives the
    same picture) and joined to their points by a thin line when moved far.
    """
    X = _check_words(words, vectors, groups)
    if method == "pca":
        coords, ratios = _pca(X)
        axis_labels = (f"PC 1 ({100 * ratios[0]:.0f}% of variance)", f"PC 2 ({100 * ratios[1]:.0f}% of variance)")
    else:
        coords, axis_labels = project_2d(X, method, rng), None
    fig, _ = _draw_word_map(list(words), coords, groups, title, axis_labels)
    return _save(fig, path)


# ---- TensorBoard Embedding Projector --------------------------------------------------------

_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def projector_label(word: str) -> str:
    """``word`` made safe for one cell of metadata.tsv: tab, newline and carriage return become the
    two-character escapes ``\\t``, ``\\n``, ``\\r`` (the projector splits rows on newlines and
    columns on tabs, so those characters would shift every later label)."""
    return word.translate(_ESCAPES)


def export_projector(
    words: Sequence[str], vectors: np.ndarray, directory: str | os.PathLike, groups: Sequence[str] | None = None
) -> tuple[Path, Path]:
    """Write ``vectors.tsv`` and ``metadata.tsv`` for the Embedding Projector
    (projector.tensorflow.org → Load, or TensorBoard); returns their paths.

    vectors.tsv: N rows of D tab-separated floats, no header (``%.9g``: float32 values read back exactly).
    metadata.tsv: with one column, one label per line and no header (the projector's rule); with
    ``groups``, a header line ``word<TAB>group`` and then two columns. Labels pass through
    :func:`projector_label`.
    """
    X = np.asarray(vectors)
    if X.ndim != 2 or X.shape[0] != len(words) or len(words) == 0:
        raise DataError(f"need one vector per word: {len(words)} words but vectors of shape {X.shape}")
    if groups is not None and len(groups) != len(words):
        raise DataError(f"{len(words)} words but {len(groups)} groups: give one group per word")
    if not np.isfinite(X).all():
        raise DataError("the vectors contain NaN or infinite values, which the projector cannot read")
    directory = Path(directory)
    vec_path, meta_path = directory / "vectors.tsv", directory / "metadata.tsv"
    with atomic_write(vec_path, "w", encoding="utf-8") as f:
        np.savetxt(f, X, fmt="%.9g", delimiter="\t")
    if groups is None:
        lines = [projector_label(w) for w in words]
    else:
        lines = ["word\tgroup"] + [f"{projector_label(w)}\t{projector_label(g)}" for w, g in zip(words, groups)]
    with atomic_write(meta_path, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    return vec_path, meta_path
