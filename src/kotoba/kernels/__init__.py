"""Numba kernels for the fast word2vec trainer (plain arrays in, plain arrays out).

:mod:`.sampling` builds the negative-sampling alias table and the Huffman tree;
:mod:`.w2v` holds the jitted training steps and the per-job loop that :mod:`kotoba.word2vec`
runs on each worker thread.
"""

from .sampling import AliasTable, HuffmanTree, alias_probabilities, build_alias_table, build_huffman_tree
from .w2v import cbow_step, sg_step, sg_window_step, sigmoid, train_job

__all__ = [
    "AliasTable",
    "HuffmanTree",
    "alias_probabilities",
    "build_alias_table",
    "build_huffman_tree",
    "cbow_step",
    "sg_step",
    "sg_window_step",
    "sigmoid",
    "train_job",
]
