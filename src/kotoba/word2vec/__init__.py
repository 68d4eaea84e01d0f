"""The fast word2vec engine: config → vocabulary and ids (:mod:`kotoba.text`) → Numba kernels → vectors.

:mod:`.config` (:class:`Word2VecConfig`), :mod:`.trainer` (:func:`train`: jobs, worker threads,
learning-rate schedule, epoch checkpoints), :mod:`.kernels` (the jitted CBOW / skip-gram × NS / HS
steps), :mod:`.sampling` (alias table for negatives, Huffman tree), :mod:`.model`
(:class:`Word2VecModel` and its checkpoint). The kernels implement the maths of the reference layers
in :mod:`kotoba.layers` and are tested against them on the same inputs.
"""

from .config import Word2VecConfig
from .model import Word2VecModel
from .trainer import train

__all__ = ["Word2VecConfig", "Word2VecModel", "train"]
