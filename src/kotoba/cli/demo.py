"""``kotoba demo``: the main job end to end, offline, on a real corpus that ships with the install.

1. A Wikipedia dump → plain text with kotoba's dump reader. The dump is the enwiki sample that ships
   inside gensim's wheel (a dev dependency, installed by ``make``): 106 articles, ~450,000 words.
2. word2vec skip-gram on it: neighbours, analogies, analogy accuracy and WordSim353 on the
   evaluation sets that ship in the same wheel.
3. A small LSTM language model on the same text: validation perplexity and a generated sentence.
4. Pictures and a report in ``--out``: vectors, LM checkpoint, loss.png, words.png, lm.png, report.md.

``--corpus FILE`` runs the same on any text kotoba reads (plain, compressed, Aozora, a dump).
No network is used.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from ..errors import DataError
from ..io import atomic_write
from .w2v import ProgressBar

LM_TOKENS = 200_000
LM_EPOCHS = 3
SAMPLE_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
QUERY_WORDS = ("king", "war", "music", "philosophy", "city", "river")
#: neighbours and analogy answers are drawn from the most frequent words: a word seen 3 times has a
#: vector, but not one worth showing
FREQUENT = 5000
ANALOGIES = (("go", "went", "take"), ("big", "bigger", "small"), ("father", "mother", "son"), ("man", "king", "woman"))
# candidates for words.png, by group: the map shows those the vocabulary has
MAP_WORDS = {
    "country": "france germany italy spain england russia greece egypt china japan india america".split(),
    "city": "paris berlin rome madrid london moscow athens cairo beijing tokyo delhi washington".split(),
    "number": "one two three four five six seven eight nine ten hundred thousand".split(),
    "verb": "go went make made take took see saw write wrote give gave know knew".split(),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the main jobs offline on a real corpus and show the results",
        description="Wikipedia dump → text → word vectors → language model → pictures and a report.",
        epilog="example:\n  kotoba demo --out demo-out\n  kotoba demo --corpus my_text.txt --out my-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="demo-out", help="folder for the files it writes (default demo-out)")
    p.add_argument("--corpus", help="text to use instead of the shipped Wikipedia sample (any corpus kotoba reads)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-lm", action="store_true", help="skip the language-model part")
    p.set_defaults(func=cmd_demo)


def shipped_data_dir() -> Path:
    """gensim's test-data folder, which holds the enwiki sample dump and the evaluation sets."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the demo corpus ships with gensim (a dev dependency): run `make demo`, "
            "or `pip install gensim`, or pass --corpus FILE"
        )
    d = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data"
    if not (d / SAMPLE_DUMP).exists():
        raise DataError(f"{d / SAMPLE_DUMP} is missing from this gensim install; pass --corpus FILE")
    return d


def _corpus(data_dir: Path, out: Path, report: list[str]) -> Path:
    from ..text.wiki import write_wiki_text

    t0 = time.perf_counter()
    text = out / "wiki.txt"
    st = write_wiki_text(data_dir / SAMPLE_DUMP, text, workers=2)
    line = (
        f"Wikipedia sample dump → {text.name}: {st.articles} articles ({st.redirects} redirects skipped), "
        f"{st.lines:,} paragraphs, {st.tokens:,} words in {time.perf_counter() - t0:.1f} s"
    )
    print(f"[1] {line}")
    report.append(f"- corpus: {line}")
    return _words_file(text, out / "wiki.words.txt")


def _words_file(text: Path, dst: Path) -> Path:
    """``text`` lowercased and split into words, punctuation dropped (the ``words`` tokeniser):
    the one file both models train on."""
    from ..text.readers import iter_sentences

    with atomic_write(dst, "w", encoding="utf-8") as f:
        for words in iter_sentences(text, lowercase=True, tokenizer="words", workers=1):
            f.write(" ".join(words) + "\n")
    return dst


def _word2vec(corpus: Path, data_dir: Path | None, out: Path, seed: int, report: list[str]):
    from ..plot import plot_word2vec_loss
    from ..vectors import evaluate_analogies, evaluate_word_pairs
    from ..word2vec import Word2VecConfig, train

    # of the settings tried on this 450k-word corpus (BENCHMARKS.md, "make demo"), skip-gram with a
    # wide window and 15 epochs gave the best WordSim353 within about half a minute on 2 cores
    cfg = Word2VecConfig(sg=True, window=8, min_count=3, epochs=15, seed=seed)
    bar = ProgressBar()
    try:
        model = train(corpus, cfg, callback=bar)
    finally:
        bar.close()
    st = model.stats
    line = (
        f"word2vec skip-gram, {cfg.dim} dims, {cfg.epochs} epochs: {st['raw_words']:,} words, "
        f"vocabulary {len(model.words):,}, {st['seconds']:.1f} s ({st['words_per_sec'] / 1e6:.2f}M words/s)"
    )
    print(f"[2] {line}")
    report.append(f"- {line}")
    wv = model.wv
    print(f"    nearest words and analogy answers among the {FREQUENT:,} most frequent words:")
    for w in QUERY_WORDS:
        if w in wv:
            near = ", ".join(f"{n} {s:.2f}" for n, s in wv.most_similar(w, topn=5, restrict_vocab=FREQUENT))
            print(f"    {w:>11}: {near}")
            report.append(f"  - nearest to *{w}*: {near}")
    for a, b, c in ANALOGIES:
        if all(x in wv for x in (a, b, c)):
            ans = ", ".join(n for n, _ in wv.analogy(a, b, c, topn=3, restrict_vocab=FREQUENT))
            print(f"    {a} : {b} :: {c} : {ans}")
            report.append(f"  - {a} : {b} :: {c} : {ans}")
    if data_dir is not None:
        score, _ = evaluate_analogies(wv, data_dir / "questions-words.txt", restrict_vocab=30000)
        _, (rho, _), oov = evaluate_word_pairs(wv, data_dir / "wordsim353.tsv")
        line = f"analogy accuracy {100 * score:.1f}%, WordSim353 Spearman {rho:.3f} ({oov:.0f}% of pairs OOV)"
        print(f"    {line} — a 450k-word corpus is small; expect far more from a full dump")
        report.append(f"  - {line}")
    wv.save_word2vec_format(out / "vectors.bin", binary=True)
    plot_word2vec_loss(model.losses, out / "loss.png", title=f"word2vec skip-gram on {corpus.name}")
    return model


def _word_map(wv, out: Path) -> None:
    from ..plot import plot_word_map

    words, groups = [], []
    for group, candidates in MAP_WORDS.items():
        for w in candidates:
            if w in wv:
                words.append(w)
                groups.append(group)
    if len(words) < 3:  # a small custom corpus may have too few of them: use its frequent words
        words, groups = list(wv.index_to_key[50:100]), None
    plot_word_map(words, wv[words], out / "words.png", title="word vectors (PCA)", groups=groups)


def _language_model(corpus: Path, out: Path, seed: int, report: list[str]) -> None:
    import numpy as np

    from ..lm.checkpoint import save_lm
    from ..lm.data import load_corpus
    from ..lm.generate import generate
    from ..lm.trainer import RnnlmTrainer, perplexity
    from ..models.rnnlm import Rnnlm
    from ..optim import SGD
    from ..plot import plot_lm_curves

    ids, vocab = load_corpus(corpus, max_size=5000)
    # the first LM_TOKENS tokens keep the demo inside its time budget: 90% to train, 10% to validate
    ids = ids[:LM_TOKENS]
    n_valid = len(ids) // 10
    train_ids, valid_ids = ids[:-n_valid], ids[-n_valid:]
    rng = np.random.default_rng(seed)
    model = Rnnlm(len(vocab), 64, 64, rng=rng)
    trainer = RnnlmTrainer(model, SGD(lr=20.0))
    t0 = time.perf_counter()
    trainer.fit(
        train_ids, batch_size=20, time_size=35, max_epoch=LM_EPOCHS, max_grad=0.25, valid_ids=valid_ids, rng=rng
    )
    secs = time.perf_counter() - t0
    trainer.use_best()
    ppl = perplexity(model, valid_ids)
    model.reset_state()
    words = generate(model, vocab, "the", length=25, temperature=0.8, top_k=40, rng=rng)
    line = (
        f"LSTM language model (64 units, vocabulary {len(vocab):,}) on the first {len(ids):,} tokens: "
        f"{LM_EPOCHS} epochs in {secs:.1f} s, validation perplexity {ppl:.1f}"
    )
    print(f"[3] {line}\n    generated: {' '.join(words)}")
    report += [f"- {line}", f"  - generated: *{' '.join(words)}*"]
    save_lm(out / "lm.npz", model, vocab, {"corpus": corpus.name})
    plot_lm_curves(trainer, out / "lm.png", title=f"LSTM language model on {corpus.name}")


def _report(out: Path, lines: list[str], seconds: float) -> None:
    pictures = [f"![{p}]({p})" for p in ("loss.png", "words.png", "lm.png") if (out / p).exists()]
    text = "# kotoba demo\n\n" + "\n".join(lines) + f"\n- total {seconds:.0f} s\n\n" + "\n\n".join(pictures) + "\n"
    with atomic_write(out / "report.md", "w", encoding="utf-8") as f:
        f.write(text)


def cmd_demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: list[str] = []
    if args.corpus:
        corpus, data_dir = Path(args.corpus), None
        if not corpus.exists():
            raise DataError(f"--corpus {corpus}: no such file")
    else:
        data_dir = shipped_data_dir()
        corpus = _corpus(data_dir, out, report)
    model = _word2vec(corpus, data_dir, out, args.seed, report)
    _word_map(model.wv, out)
    if not args.no_lm:
        _language_model(corpus, out, args.seed, report)
    seconds = time.perf_counter() - t0
    _report(out, report, seconds)
    files = ", ".join(sorted(p.name for p in out.iterdir() if p.is_file()))
    print(f"[4] wrote {out}/: {files}\ndone in {seconds:.0f} s")
    return 0
