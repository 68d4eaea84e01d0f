"""Word vectors as a user holds them: queries, word2vec-format files, evaluation.

:mod:`.wordvectors` (:class:`WordVectors`, gensim-identical queries), :mod:`.formats` (word2vec.c
text/binary files), :mod:`.evaluate` (analogies and word-pair similarity, gensim's rules).
"""

from .evaluate import evaluate_analogies, evaluate_word_pairs, read_analogies
from .formats import read_word2vec_format, write_word2vec_format
from .wordvectors import WordVectors

__all__ = [
    "WordVectors",
    "evaluate_analogies",
    "evaluate_word_pairs",
    "read_analogies",
    "read_word2vec_format",
    "write_word2vec_format",
]
