"""Text data path for word2vec: stream sentences, count a vocabulary, encode ids to disk.

Typical use (all in bounded memory)::

    from kotoba.text import build_vocab, encode_corpus, iter_sentences, subsample_keep_probs

    vocab = build_vocab(iter_sentences("corpus.txt"), min_count=5, corpus_name="corpus.txt")
    corpus = encode_corpus("corpus.txt", vocab, "cache/")   # memory-mapped ids + sentence offsets
    keep = subsample_keep_probs(vocab.counts, 1e-3, vocab.total_words)

    vocab, corpus = scan_corpus("corpus.txt", "cache/", min_count=5)  # the same, reading the text once
"""

from .corpus import EncodedCorpus, encode_corpus, scan_corpus, subsample_keep_probs
from .readers import ReadStats, TextReader, corpus_files, iter_sentences
from .vocab import Vocab, build_vocab

__all__ = [
    "EncodedCorpus",
    "ReadStats",
    "TextReader",
    "Vocab",
    "build_vocab",
    "corpus_files",
    "encode_corpus",
    "iter_sentences",
    "scan_corpus",
    "subsample_keep_probs",
]
