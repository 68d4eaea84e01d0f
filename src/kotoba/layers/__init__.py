"""Reference layers (NumPy) with the book's ``params`` / ``grads`` / ``forward`` / ``backward``
convention; see :mod:`kotoba.layers.basic` for the convention and
:mod:`kotoba.layers.embedding` for row-sparse gradients (``row_grads``)."""

from .basic import (
    Affine,
    Dropout,
    MatMul,
    Sigmoid,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
    cross_entropy_error,
    sigmoid,
    softmax,
)
from .embedding import (
    Embedding,
    EmbeddingDot,
    NegativeSamplingLoss,
    RowGrad,
    UnigramSampler,
    scatter_add_rows,
    sum_rows,
)
from .time import LSTM, RNN, TimeAffine, TimeDropout, TimeEmbedding, TimeLSTM, TimeRNN, TimeSoftmaxWithLoss

__all__ = [
    "Affine",
    "Dropout",
    "MatMul",
    "Sigmoid",
    "SigmoidWithLoss",
    "Softmax",
    "SoftmaxWithLoss",
    "cross_entropy_error",
    "sigmoid",
    "softmax",
    "Embedding",
    "EmbeddingDot",
    "NegativeSamplingLoss",
    "RowGrad",
    "UnigramSampler",
    "scatter_add_rows",
    "sum_rows",
    "LSTM",
    "RNN",
    "TimeAffine",
    "TimeDropout",
    "TimeEmbedding",
    "TimeLSTM",
    "TimeRNN",
    "TimeSoftmaxWithLoss",
]
