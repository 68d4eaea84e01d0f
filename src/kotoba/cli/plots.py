"""CLI commands that draw or export saved word vectors: ``map`` (a labelled 2-D picture) and
``export`` (files for the TensorBoard Embedding Projector).

Unknown words are an error that lists every one of them (with close matches), not a silent skip:
a word missing from a picture is easy to overlook.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from .common import positive_int

if TYPE_CHECKING:  # imported by the handlers: `kotoba train` never loads them
    from ..vectors import WordVectors


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``map`` and ``export`` to the top-level parser."""
    p = sub.add_parser(
        "map",
        help="draw a labelled 2-D map of words (PCA or t-SNE)",
        description="Draw WORDS of VECTORS on a 2-D map (PCA of the unit vectors, or t-SNE) as an image.",
        epilog="example: kotoba map vectors.bin --words king queen man woman paris france -o map.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("vectors", metavar="VECTORS", help="word2vec file (text or binary, .gz ok)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--words", nargs="+", metavar="WORD", help="the words to draw")
    which.add_argument(
        "--words-file",
        metavar="FILE",
        help="one word per line, optionally followed by whitespace and a group name to colour it by",
    )
    which.add_argument(
        "--top", type=positive_int, metavar="N", help="the first N words of VECTORS (most frequent first)"
    )
    p.add_argument("-o", "--output", required=True, metavar="IMAGE", help="image to write (.png, .svg or .pdf)")
    p.add_argument(
        "--method",
        choices=("pca", "tsne"),
        default="pca",
        help="projection (default pca; tsne needs scikit-learn: pip install 'kotoba[tsne]')",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of t-SNE (default 0)")
    p.add_argument("--title", help="title above the map")
    p.set_defaults(func=_map)

    p = sub.add_parser(
        "export",
        help="write word vectors for the TensorBoard Embedding Projector",
        description=(
            "Write DIR/vectors.tsv (tab-separated floats, no header) and DIR/metadata.tsv (one word per "
            "line) for the Embedding Projector: projector.tensorflow.org -> Load, or TensorBoard. "
            "Tabs and newlines inside a word are written as \\t and \\n."
        ),
        epilog="example: kotoba export vectors.bin --projector projector/ --limit 10000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("vectors", metavar="VECTORS", help="word2vec file (text or binary, .gz ok)")
    p.add_argument("--projector", required=True, metavar="DIR", help="folder to write the two .tsv files in")
    p.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="only the first N words (the projector slows down past ~100,000)",
    )
    p.set_defaults(func=_export)


def read_words_file(path: str | Path) -> tuple[list[str], list[str] | None]:
    """Words (and their groups, if every line names one) of a words file; blank lines are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read the words file ({e.strerror})") from e
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e})") from e
    rows = [line.split(None, 1) for line in lines if line.strip()]
    if not rows:
        raise DataError(f"{path}: no words in the file")
    words = [r[0] for r in rows]
    with_group = [len(r) == 2 for r in rows]
    if any(with_group) and not all(with_group):
        line = with_group.index(False) + 1
        raise DataError(
            f"{path}: some words have a group and some do not (e.g. non-blank line {line}); give all or none"
        )
    return words, ([r[1].strip() for r in rows] if all(with_group) else None)


def _rows(wv: WordVectors, words: list[str]) -> np.ndarray:
    """(N, D) vectors of ``words``; a DataError naming every unknown word, with close matches."""
    unknown = list(dict.fromkeys(w for w in words if w not in wv))
    if unknown:

        def hint(w: str) -> str:
            s = wv.suggest(w)
            return f"{w!r} (did you mean {', '.join(map(repr, s))}?)" if s else repr(w)

        raise DataError(
            f"{len(unknown)} word(s) not in the vocabulary: "
            + ", ".join(hint(w) for w in unknown)
            + "; fix or remove them"
        )
    duplicates = sorted(w for w, n in Counter(words).items() if n > 1)
    if duplicates:
        raise DataError("words given more than once: " + ", ".join(map(repr, duplicates)))
    return wv[words]


def _map(args: argparse.Namespace) -> int:
    from ..plot import plot_word_map
    from ..vectors import WordVectors

    wv = WordVectors.load_word2vec_format(args.vectors, limit=args.top)
    groups = None
    if args.top:
        words = wv.index_to_key[: args.top]
    elif args.words_file:
        words, groups = read_words_file(args.words_file)
    else:
        words = list(args.words)
    path = plot_word_map(
        words,
        _rows(wv, words),
        args.output,
        method=args.method,
        title=args.title,
        groups=groups,
        rng=np.random.default_rng(args.seed),
    )
    print(f"wrote {path} ({len(words)} words, {args.method})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..plot import export_projector
    from ..vectors import WordVectors

    wv = WordVectors.load_word2vec_format(args.vectors, limit=args.limit)
    vec_path, meta_path = export_projector(wv.index_to_key, wv.vectors, args.projector)
    print(f"wrote {vec_path} and {meta_path} ({len(wv)} words, {wv.vector_size} dims)")
    return 0
