"""Models with the book's interface: ``params``/``grads`` lists, ``forward(x, t) -> loss``,
``backward(dout=1)``. Train any of them with :class:`kotoba.train.Trainer`.

word2vec (chapters 3–4): :class:`SimpleCBOW`, :class:`SimpleSkipGram` (full softmax) and
:class:`CBOW`, :class:`SkipGram` (negative sampling); ``model.word_vecs`` is the input matrix.
"""

from .cbow import CBOW, SimpleCBOW
from .rnnlm import BetterRnnlm, Rnnlm, SimpleRnnlm
from .skip_gram import SimpleSkipGram, SkipGram

__all__ = ["CBOW", "SimpleCBOW", "BetterRnnlm", "Rnnlm", "SimpleRnnlm", "SimpleSkipGram", "SkipGram"]
