"""``kotoba demo``: the main job end to end, offline, on a real corpus that ships with the install.

1. The book's toy run: SimpleCBOW (reference NumPy layers) on 'You say goodbye and I say hello.'
2. word2vec (fast Numba kernels) on the Lee background corpus — 300 Australian news documents,
   about 60,000 words — which gensim (a dev dependency, installed by ``make``) ships in its test
   data; then nearest neighbours, a WordSim353 score, and a round trip through the word2vec
   binary format.
3. A small LSTM language model on the same corpus: perplexity and a sampled sentence.

Everything is written under ``--out``. No network is used.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import time
from pathlib import Path

from ..errors import DataError
from ..io import atomic_write

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
QUERY_WORDS = ("government", "police", "australia", "fire", "president")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the main jobs offline on a small real corpus and show the results")
    p.add_argument("--out", default="demo-out", help="folder for the files it writes (default demo-out)")
    p.add_argument("--corpus", help="text file to use instead of the shipped Lee background corpus")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-lm", action="store_true", help="skip the language-model part")
    p.set_defaults(func=cmd_demo)


def shipped_data_dir() -> Path:
    """gensim's test-data folder, which holds the Lee corpus and the evaluation sets."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the demo corpus ships with gensim (a dev dependency): run `make demo`, "
            "or `pip install gensim`, or pass --corpus FILE"
        )
    d = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data"
    if not (d / "lee_background.cor").exists():
        raise DataError(f"{d / 'lee_background.cor'} is missing from this gensim install; pass --corpus FILE")
    return d


def _toy(seed: int) -> None:
    import numpy as np

    from ..models import SimpleCBOW
    from ..optim import Adam
    from ..train import Trainer
    from ..util import create_contexts_target, most_similar, preprocess

    text = "You say goodbye and I say hello."
    corpus, w2i, i2w = preprocess(text)
    contexts, target = create_contexts_target(corpus, window_size=1)
    rng = np.random.default_rng(seed)
    model = SimpleCBOW(len(w2i), 5, rng=rng)
    trainer = Trainer(model, Adam(lr=0.001))
    losses = trainer.fit(contexts, target, max_epoch=1000, batch_size=3, eval_interval=100, rng=rng, progress=False)
    print(f"[1] book toy run: {text!r}  SimpleCBOW, 1000 epochs, loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    sims = most_similar("you", w2i, i2w, model.word_vecs, top=3)
    print("    nearest to 'you': " + ", ".join(f"{w} {s:.2f}" for w, s in sims))


def tokenized_copy(src: Path, dst: Path) -> Path:
    """Lowercase ``src`` and split punctuation off words ("fire," -> "fire"), one document per line.

    kotoba itself tokenises on whitespace only (as word2vec.c does); the Lee corpus is raw news
    text, so the demo cleans it first rather than learn separate vectors for "fire" and "fire,".
    """
    with open(src, encoding="utf-8", errors="replace") as f, atomic_write(dst, "w", encoding="utf-8") as g:
        for line in f:
            g.write(" ".join(_WORD.findall(line.lower())) + "\n")
    return dst


def _word2vec(corpus: Path, data_dir: Path | None, out: Path, seed: int):
    from ..vectors import WordVectors, evaluate_word_pairs
    from ..word2vec import Word2VecConfig, train

    cfg = Word2VecConfig(
        sg=True, dim=100, window=5, negative=5, min_count=3, epochs=20, lowercase=True, seed=seed, threads=None
    )
    t0 = time.perf_counter()
    model = train(corpus, cfg, progress=False)
    secs = time.perf_counter() - t0
    st = model.stats
    loss = model.losses[-1]["loss"] if model.losses else float("nan")
    print(
        f"[2] word2vec skip-gram on {corpus.name}: {st['raw_words']:,} words x {cfg.epochs} epochs, "
        f"vocab {len(model.words):,}, {secs:.1f} s ({st['words_per_sec'] / 1e6:.2f}M words/s), "
        f"final loss {loss:.3f}"
    )
    wv = model.wv
    for w in QUERY_WORDS:
        if w in wv:
            print(f"    {w:>11}: " + ", ".join(f"{n} {s:.2f}" for n, s in wv.most_similar(w, topn=5)))
    if data_dir is not None and (data_dir / "wordsim353.tsv").exists():
        _, (rho, _), oov = evaluate_word_pairs(wv, data_dir / "wordsim353.tsv")
        print(f"    WordSim353 Spearman {rho:.3f} (OOV {oov:.1f}%; a 60k-word corpus is tiny, so expect a low score)")
    path = out / "vectors.bin"
    wv.save_word2vec_format(path, binary=True)
    back = WordVectors.load_word2vec_format(path)
    same = back.index_to_key == wv.index_to_key and (back.vectors == wv.vectors).all()
    print(f"    saved {path} (word2vec binary, loads in gensim); reloaded identical: {bool(same)}")
    return model


def _language_model(corpus: Path, out: Path, seed: int) -> None:
    import numpy as np

    from ..lm.checkpoint import save_lm
    from ..lm.data import build_lm_vocab, encode_lm
    from ..lm.generate import generate
    from ..lm.trainer import RnnlmTrainer, perplexity
    from ..models.rnnlm import Rnnlm
    from ..optim import SGD

    vocab = build_lm_vocab([corpus], max_size=5000)
    ids = encode_lm([corpus], vocab)
    n_valid = len(ids) // 10
    train_ids, valid_ids = ids[:-n_valid], ids[-n_valid:]
    rng = np.random.default_rng(seed)
    model = Rnnlm(len(vocab), 64, 64, rng=rng)
    trainer = RnnlmTrainer(model, SGD(lr=20.0))
    t0 = time.perf_counter()
    trainer.fit(train_ids, batch_size=20, time_size=35, max_epoch=2, max_grad=0.25, rng=rng)
    secs = time.perf_counter() - t0
    ppl = perplexity(model, valid_ids)
    # the baseline any LM must beat: unigram frequencies from the training part (add-one smoothed)
    freq = np.bincount(train_ids, minlength=len(vocab)) + 1.0
    unigram_ppl = float(np.exp(-np.mean(np.log(freq[valid_ids] / freq.sum()))))
    print(
        f"[3] LSTM language model (64 units) on the same text: 2 epochs in {secs:.1f} s, "
        f"held-out perplexity {ppl:.1f} (unigram baseline {unigram_ppl:.1f})"
    )
    model.reset_state()
    words = generate(model, vocab, "the government", length=20, temperature=0.8, top_k=40, rng=rng)
    print("    sample: " + " ".join(words))
    save_lm(out / "lm.npz", model, vocab, {"corpus": corpus.name})
    print(f"    saved {out / 'lm.npz'} (+ .json)")


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.corpus:
        corpus, data_dir = Path(args.corpus), None
        if not corpus.exists():
            raise DataError(f"--corpus {corpus}: no such file")
    else:
        data_dir = shipped_data_dir()
        corpus = data_dir / "lee_background.cor"
    corpus = tokenized_copy(corpus, out / "corpus.tokens.txt")
    _toy(args.seed)
    _word2vec(corpus, data_dir, out, args.seed)
    if not args.no_lm:
        _language_model(corpus, out, args.seed)
    print(f"done: files in {out}/")
    return 0
