"""Sampling tables for word2vec: the negative-sampling distribution and the Huffman tree.

Negative sampling draws words with probability ``count**0.75 / sum(count**0.75)``. word2vec.c
keeps a 1e8-entry lookup table (400 MB, and every draw is a cache miss); we use Walker's alias
method instead: two arrays of length V, one random index plus one random float per draw, exact
probabilities, and small enough (8 bytes per word) to stay in cache for vocabularies up to ~100k.

Hierarchical softmax follows word2vec.c's ``CreateBinaryTree``: a Huffman tree over the counts,
where word ``w`` is reached from the root through inner nodes ``points[w, :codelens[w]]`` (indices
into the V-1 rows of ``syn1``) taking branches ``codes[w, :codelens[w]]`` (0/1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


class AliasTable(NamedTuple):
    """Walker alias table: draw ``i`` uniformly, keep it with probability ``prob[i]``, else take ``alias[i]``."""

    prob: np.ndarray  # (V,) float32 in [0, 1]
    alias: np.ndarray  # (V,) int32


class HuffmanTree(NamedTuple):
    """word2vec.c's Huffman coding of the vocabulary (rows are words, ordered as the counts)."""

    codes: np.ndarray  # (V, L) uint8, branch taken at each inner node on the root-to-leaf path
    points: np.ndarray  # (V, L) int32, inner-node index (0..V-2) at each step
    codelens: np.ndarray  # (V,) int32, path length of each word (entries past it are 0)


def build_alias_table(counts: np.ndarray, power: float = 0.75) -> AliasTable:
    """Alias table for ``p_i ∝ counts[i]**power``.  counts: (V,) -> AliasTable of (V,) arrays."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("counts must be a non-empty 1-D array")
    if np.any(counts < 0):
        raise ValueError("counts must be non-negative")
    weights = counts**power
    total = weights.sum()
    if not total > 0:
        raise ValueError("counts must not all be zero")
    prob, alias = _vose(weights * (counts.size / total))
    return AliasTable(prob.astype(np.float32), alias)


@njit(cache=True)
def _vose(scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's O(V) construction: scaled: (V,) float64 summing to V -> (prob float64, alias int32)."""
    n = scaled.size
    prob = scaled.copy()
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    ns = 0
    nl = 0
    for i in range(n):
        if prob[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        alias[s] = g
        # the large column donates (1 - prob[s]) of its mass to fill column s
        prob[g] = prob[g] + prob[s] - 1.0
        if prob[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    # leftovers are 1 up to rounding error
    for k in range(nl):
        prob[large[k]] = 1.0
    for k in range(ns):
        prob[small[k]] = 1.0
    return prob, alias


def alias_probabilities(table: AliasTable) -> np.ndarray:
    """The exact distribution an alias table samples from: (V,) float64 summing to 1."""
    v = table.prob.size
    p = table.prob.astype(np.float64).copy()
    np.add.at(p, table.alias, 1.0 - table.prob.astype(np.float64))
    return p / v


def build_huffman_tree(counts: np.ndarray) -> HuffmanTree:
    """Huffman tree of word2vec.c over ``counts`` (V >= 2, need not be sorted).  counts: (V,) -> HuffmanTree."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1 or counts.size < 2:
        raise ValueError("hierarchical softmax needs a vocabulary of at least 2 words")
    order = np.argsort(-counts, kind="stable")  # the construction wants descending counts
    codes_s, points_s, lens_s = _huffman(counts[order])
    codes = np.empty_like(codes_s)
    points = np.empty_like(points_s)
    lens = np.empty_like(lens_s)
    codes[order] = codes_s
    points[order] = points_s
    lens[order] = lens_s
    return HuffmanTree(codes, points, lens)


@njit(cache=True)
def _huffman(count_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """word2vec.c CreateBinaryTree on descending counts: (V,) int64 -> codes, points, codelens."""
    v = count_sorted.size
    count = np.empty(2 * v, np.int64)
    count[:v] = count_sorted
    count[v:] = np.iinfo(np.int64).max // 4
    binary = np.zeros(2 * v, np.uint8)
    parent = np.zeros(2 * v, np.int64)
    pos1 = v - 1  # walks left over the leaves (smallest first)
    pos2 = v  # walks right over the new inner nodes (created in increasing order)
    for a in range(v - 1):
        # pick the two smallest of the two queues' heads
        if pos1 >= 0 and count[pos1] < count[pos2]:
            min1 = pos1
            pos1 -= 1
        else:
            min1 = pos2
            pos2 += 1
        if pos1 >= 0 and count[pos1] < count[pos2]:
            min2 = pos1
            pos1 -= 1
        else:
            min2 = pos2
            pos2 += 1
        count[v + a] = count[min1] + count[min2]
        parent[min1] = v + a
        parent[min2] = v + a
        binary[min2] = 1
    root = 2 * v - 2
    lens = np.zeros(v, np.int32)
    for a in range(v):
        b = a
        n = 0
        while b != root:
            n += 1
            b = parent[b]
        lens[a] = n
    maxlen = max(1, int(lens.max()))
    codes = np.zeros((v, maxlen), np.uint8)
    points = np.zeros((v, maxlen), np.int32)
    for a in range(v):
        n = lens[a]
        b = a
        i = 0
        # walking up gives the path leaf->root; store it reversed (root first)
        while b != root:
            codes[a, n - 1 - i] = binary[b]
            p = parent[b]
            points[a, n - 1 - i] = p - v
            b = p
            i += 1
    return codes, points, lens
