"""kotoba: word vectors and neural language models from scratch on NumPy.

The reference layers live in :mod:`kotoba.layers` (forward/backward with ``params`` and
``grads`` lists, as in *ゼロから作るDeep Learning ❷*); the fast word2vec trainer in
:mod:`kotoba.word2vec`; word vectors in :mod:`kotoba.vectors`; language models in
:mod:`kotoba.models.rnnlm` and :mod:`kotoba.lm`.
"""

__version__ = "0.1.0"
