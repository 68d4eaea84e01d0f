"""Which word2vec settings `make demo` uses: a small sweep on the demo's corpus (the Wikipedia sample).

    .venv/bin/kotoba demo --out demo-out --no-lm      # writes demo-out/wiki.words.txt
    .venv/bin/python bench/demo_settings.py demo-out/wiki.words.txt

Prints seconds, analogy accuracy (questions-words, first 30,000 words), WordSim353 Spearman and the top
answer to a few analogies for each setting. Timings are whole training calls in this process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kotoba.cli.demo import shipped_data_dir
from kotoba.vectors import evaluate_analogies, evaluate_word_pairs
from kotoba.word2vec import Word2VecConfig, train

ANALOGIES = [
    ("man", "king", "woman"),
    ("france", "paris", "germany"),
    ("good", "better", "bad"),
    ("big", "bigger", "small"),
    ("go", "went", "take"),
    ("one", "two", "three"),
    ("father", "mother", "son"),
]
# (skip-gram, epochs, min_count, window)
SETTINGS = [(1, 10, 3, 5), (1, 20, 3, 5), (0, 10, 3, 5), (0, 20, 3, 5), (1, 10, 5, 5), (1, 15, 3, 8), (0, 20, 3, 8)]


def main(corpus: str) -> int:
    data = shipped_data_dir()
    for sg, epochs, min_count, window in SETTINGS:
        t0 = time.perf_counter()
        cfg = Word2VecConfig(sg=bool(sg), epochs=epochs, min_count=min_count, window=window, seed=1)
        wv = train(corpus, cfg).wv
        secs = time.perf_counter() - t0
        acc, _ = evaluate_analogies(wv, data / "questions-words.txt", restrict_vocab=30000)
        ws = evaluate_word_pairs(wv, data / "wordsim353.tsv")[1][0]
        answers = [
            f"{a}:{b}::{c}:{wv.analogy(a, b, c, topn=1)[0][0]}"
            for a, b, c in ANALOGIES
            if all(x in wv for x in (a, b, c))
        ]
        print(
            f"sg={sg} epochs={epochs} min_count={min_count} window={window}: {secs:.1f} s, "
            f"analogy {100 * acc:.1f}%, WS353 {ws:.3f}; {', '.join(answers)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(Path("demo-out/wiki.words.txt"))))
