"""CLI commands on saved word vectors: ``similar``, ``analogy``, ``evaluate``.

Vectors files are word2vec text or binary (gzipped or not); the format is detected.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .common import add_text_options, positive_int, tokenizer_from

if TYPE_CHECKING:  # imported by the handlers: `kotoba train` never loads them
    from ..vectors import WordVectors


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the top-level parser."""
    p = sub.add_parser(
        "similar",
        help="nearest words to a word (cosine)",
        description="Nearest words to WORD by cosine similarity.",
        epilog="example:\n  kotoba similar vectors.bin king -n 10\n  kotoba similar neko.bin 猫",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("vectors", metavar="VECTORS", help="word2vec file (text or binary, .gz ok)")
    p.add_argument("word", metavar="WORD")
    p.add_argument("-n", "--topn", type=positive_int, default=10, help="how many neighbours (default 10)")
    p.add_argument(
        "--restrict-vocab", type=positive_int, default=None, metavar="N", help="search only the first N words"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_similar)

    p = sub.add_parser(
        "analogy",
        help="a is to b as c is to ?",
        description="Solve A : B :: C : ? by the words nearest to B - A + C (3CosAdd), or 3CosMul.",
        epilog="example:\n  kotoba analogy vectors.bin man king woman      # man : king :: woman : ?",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("vectors", metavar="VECTORS", help="word2vec file (text or binary, .gz ok)")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("c", metavar="C")
    p.add_argument("-n", "--topn", type=positive_int, default=5, help="how many answers (default 5)")
    p.add_argument("--method", choices=("3cosadd", "3cosmul"), default="3cosadd")
    p.add_argument(
        "--restrict-vocab", type=positive_int, default=None, metavar="N", help="answer only from the first N words"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_analogy)

    p = sub.add_parser(
        "evaluate",
        help="analogy accuracy and word-similarity correlations",
        description=(
            "Evaluate word vectors as gensim's evaluate_word_analogies / evaluate_word_pairs do: "
            "analogy accuracy per section (questions with a word outside the first N words are "
            "skipped) and Pearson/Spearman correlation with human similarity scores."
        ),
        epilog="example:\n  kotoba evaluate vectors.bin --analogies questions-words.txt --pairs wordsim353.tsv "
        "simlex999.txt\n  kotoba evaluate neko.bin --pairs score_noun.csv --lang ja",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("vectors", metavar="VECTORS", help="word2vec file (text or binary, .gz ok)")
    p.add_argument("--analogies", metavar="FILE", help="analogy questions (questions-words.txt format)")
    p.add_argument(
        "--pairs",
        metavar="FILE",
        nargs="+",
        default=[],
        help="word-pair files: word1 TAB word2 TAB score, or the Japanese Word Similarity Dataset's CSV "
        "(score_noun.csv ...: each entry is tokenised, see --lang / --tokenizer)",
    )
    add_text_options(p)
    p.add_argument(
        "--restrict-vocab",
        type=positive_int,
        default=30000,
        metavar="N",
        help="use only the first N words (default 30000)",
    )
    p.add_argument(
        "--method", choices=("3cosadd", "3cosmul"), default="3cosadd", help="analogy objective (default 3cosadd)"
    )
    p.add_argument("--case-sensitive", action="store_true", help="do not upper-case words before matching")
    p.add_argument("--delimiter", default="\t", help="field separator of the pair files (default TAB)")
    p.add_argument("--json", action="store_true", help="one JSON object per line, the last one a summary")
    p.set_defaults(func=_evaluate)


def _clean(x: float) -> float | None:
    """JSON has no NaN: an undefined correlation becomes null."""
    return None if isinstance(x, float) and math.isnan(x) else x


def _print_neighbours(results: list[tuple[str, float]], as_json: bool, label: str) -> None:
    if as_json:
        for rank, (word, sim) in enumerate(results, 1):
            print(json.dumps({"rank": rank, "word": word, label: sim}, ensure_ascii=False))
        return
    width = max((len(w) for w, _ in results), default=4)
    for rank, (word, sim) in enumerate(results, 1):
        print(f"{rank:>3}  {word:<{width}}  {sim:.4f}")


def _query_words(*words: str) -> None:
    """Refuse an empty word, and an analogy whose words repeat (its answer would be trivial)."""
    if any(not w.strip() for w in words):
        raise ConfigError("empty word in the query: give the word(s) to look up")
    if len(words) == 3 and len(set(words)) < 3:
        a, b, c = words
        raise ConfigError(f"analogy {a} : {b} :: {c} : ? repeats a word; give three different words")


def _similar(args: argparse.Namespace) -> int:
    from ..vectors import WordVectors

    _query_words(args.word)
    wv = WordVectors.load_word2vec_format(args.vectors)
    results = wv.most_similar(args.word, topn=args.topn, restrict_vocab=args.restrict_vocab)
    _print_neighbours(results, args.json, "similarity")
    return 0


def _analogy(args: argparse.Namespace) -> int:
    from ..vectors import WordVectors

    _query_words(args.a, args.b, args.c)
    wv = WordVectors.load_word2vec_format(args.vectors)
    if args.method == "3cosadd":
        results = wv.analogy(args.a, args.b, args.c, topn=args.topn, restrict_vocab=args.restrict_vocab)
    else:
        results = wv.most_similar_cosmul([args.b, args.c], [args.a], topn=args.topn, restrict_vocab=args.restrict_vocab)
    if not args.json:
        print(f"{args.a} : {args.b} :: {args.c} : ?")
    _print_neighbours(results, args.json, "score" if args.method == "3cosmul" else "similarity")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from ..vectors import WordVectors, evaluate_analogies

    if not args.analogies and not args.pairs:
        raise ConfigError("nothing to evaluate: give --analogies FILE and/or --pairs FILE ...")
    wv = WordVectors.load_word2vec_format(args.vectors)
    ci = not args.case_sensitive
    summary: dict = {
        "summary": True,
        "vectors": args.vectors,
        "words": len(wv),
        "dim": wv.vector_size,
        "restrict_vocab": args.restrict_vocab,
    }
    if not args.json:
        print(
            f"vectors: {args.vectors} ({len(wv)} words, {wv.vector_size} dims); first {args.restrict_vocab} words used"
        )

    if args.analogies:
        score, sections = evaluate_analogies(
            wv, args.analogies, restrict_vocab=args.restrict_vocab, case_insensitive=ci, method=args.method
        )
        total = sections[-1]
        n_done = len(total["correct"]) + len(total["incorrect"])
        summary.update(
            analogy_file=args.analogies,
            analogy_method=args.method,
            analogy_accuracy=score,
            analogy_correct=len(total["correct"]),
            analogy_evaluated=n_done,
            analogy_skipped=total["oov"],
        )
        if args.json:
            for s in sections[:-1]:
                c, i = len(s["correct"]), len(s["incorrect"])
                row = {
                    "analogy_section": s["section"],
                    "correct": c,
                    "evaluated": c + i,
                    "skipped": s["oov"],
                    "accuracy": c / (c + i) if c + i else None,
                }
                print(json.dumps(row, ensure_ascii=False))
        else:
            _print_analogy_table(args.analogies, args.method, sections)

    pair_rows = []
    for path in args.pairs:
        row = _pairs_row(wv, path, args, ci)
        pair_rows.append(row)
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
    if pair_rows:
        summary["spearman"] = {row["pairs_file"]: row["spearman"] for row in pair_rows}
        if not args.json:
            _print_pairs_table(pair_rows)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    return 0


def _pairs_row(wv: WordVectors, path: str, args: argparse.Namespace, ci: bool) -> dict:
    from ..text.tokenize import get_tokenizer
    from ..vectors.evaluate import evaluate_jwsd, evaluate_word_pairs, is_jwsd

    if is_jwsd(path):
        # entries are inflected words or phrases: split them as the corpus was (MeCab unless told otherwise)
        name = tokenizer_from(args, default="mecab")
        tokenize = None if name == "whitespace" else get_tokenizer(name)
        res = evaluate_jwsd(wv, path, tokenize)
        (r, rp), (rho, sp) = res["pearson"], res["spearman"]
        oov = 100.0 * res["oov"] / (res["oov"] + res["pairs"])
    else:
        (r, rp), (rho, sp), oov = evaluate_word_pairs(
            wv, path, delimiter=args.delimiter, restrict_vocab=args.restrict_vocab, case_insensitive=ci
        )
    return {
        "pairs_file": path,
        "pearson": _clean(r),
        "pearson_p": _clean(rp),
        "spearman": _clean(rho),
        "spearman_p": _clean(sp),
        "oov_percent": oov,
    }


def _print_analogy_table(path: str, method: str, sections: list[dict]) -> None:
    print(f"\nanalogies: {path} ({method})")
    width = max(len(s["section"]) for s in sections)
    print(f"  {'section':<{width}}  {'correct':>7}  {'total':>6}  {'accuracy':>8}")
    for s in sections:
        if s is sections[-1]:
            print("  " + "-" * (width + 29))
        c, i = len(s["correct"]), len(s["incorrect"])
        acc = f"{100.0 * c / (c + i):7.2f}%" if c + i else "       -"
        print(f"  {s['section']:<{width}}  {c:>7}  {c + i:>6}  {acc:>8}")
    total = sections[-1]
    asked = len(total["correct"]) + len(total["incorrect"]) + total["oov"]
    print(f"  skipped (a word outside the vocabulary): {total['oov']} of {asked} questions")


def _print_pairs_table(rows: list[dict]) -> None:
    print("\nword pairs:")
    names = [Path(r["pairs_file"]).name for r in rows]
    width = max(len("file"), *(len(n) for n in names))
    print(f"  {'file':<{width}}  {'pearson':>8}  {'spearman':>8}  {'oov':>6}")

    def fmt(x: float | None) -> str:
        return f"{x:8.4f}" if x is not None else "     nan"

    for name, r in zip(names, rows):
        print(f"  {name:<{width}}  {fmt(r['pearson'])}  {fmt(r['spearman'])}  {r['oov_percent']:5.1f}%")
