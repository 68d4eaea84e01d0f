"""The book's generic mini-batch ``Trainer`` (``common/trainer.py``), made reproducible.

``Trainer(model, optimizer).fit(x, t)`` runs epochs of shuffled mini-batches through any model
with the book's interface (``forward(x, t) -> loss``, ``backward()``, ``params``/``grads``
lists) and an optimizer with ``update(params, grads)``.

Differences from the book:

* the shuffle comes from a passed-in ``numpy.random.Generator`` (same seed → same batches →
  same loss history);
* the last, smaller batch of an epoch is trained on instead of dropped: with ``N`` samples an
  epoch has ``ceil(N / batch_size)`` iterations, so every sample is seen once per epoch (the book
  runs ``N // batch_size`` iterations and never sees the remainder of each shuffle). Model losses
  are batch means, so that short batch counts as one step like the others;
* ``loss_list`` holds the mean loss of every ``eval_interval`` consecutive iterations counted
  across epochs (the book restarts the count each epoch, so its first entry is a single
  iteration); whatever is left over when ``fit`` returns is flushed as a last, shorter entry;
* a NaN/inf loss stops training with :class:`~kotoba.errors.DivergenceError`;
* progress is a tqdm bar instead of printed lines; :meth:`Trainer.plot` writes a PNG file;
* when the model exposes ``row_grads`` (its Embedding layers' row-sparse gradients, see
  :mod:`kotoba.layers.embedding`), the optimizer's ``update`` accepts them (``SGD``,
  ``SparseAdam``) and no clipping is asked for, they are passed on so that a step touches only
  the embedding rows the batch used; otherwise shared params are merged and the dense gradients
  used, as in the book.
"""

from __future__ import annotations

import inspect
import math
import os
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .errors import ConfigError, DataError, DivergenceError, EmptyCorpusError
from .io import atomic_write
from .optim import clip_grads, merge_shared

__all__ = ["Trainer"]


def _takes_row_grads(optimizer: Any) -> bool:
    try:
        return "row_grads" in inspect.signature(optimizer.update).parameters
    except (TypeError, ValueError):
        return False


class Trainer:
    """Mini-batch training loop for a book-style model and optimizer.

    Attributes: ``loss_list`` (mean loss per ``eval_interval`` iterations, kept across ``fit``
    calls), ``eval_interval`` (of the last ``fit``), ``current_epoch`` (epochs done so far).
    """

    def __init__(self, model: Any, optimizer: Any):
        self.model = model
        self.optimizer = optimizer
        self.loss_list: list[float] = []
        self.eval_interval: int = 20
        self.current_epoch = 0

    def fit(
        self,
        x: np.ndarray,
        t: np.ndarray,
        max_epoch: int = 10,
        batch_size: int = 32,
        max_grad: float | None = None,
        eval_interval: int = 20,
        rng: np.random.Generator | None = None,
        progress: bool = True,
    ) -> list[float]:
        """Train for ``max_epoch`` epochs on ``x: (N, ...)`` inputs and ``t: (N, ...)`` targets.

        Each epoch draws a fresh permutation from ``rng`` (a new unseeded Generator if None).
        ``max_grad`` clips the global gradient norm (after shared parameters are merged). Returns
        ``self.loss_list``. Raises :class:`DivergenceError` as soon as a batch loss is NaN or inf.
        """
        if max_epoch < 0:
            raise ConfigError(f"max_epoch must be >= 0, got {max_epoch}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if eval_interval < 1:
            raise ConfigError(f"eval_interval must be >= 1, got {eval_interval}")
        if max_grad is not None and not max_grad > 0:
            raise ConfigError(f"max_grad must be > 0 (or None for no clipping), got {max_grad}")
        x, t = np.asarray(x), np.asarray(t)
        n = len(x)
        if n == 0:
            raise EmptyCorpusError("no training samples (x is empty)")
        if len(t) != n:
            raise ConfigError(f"x has {n} samples but t has {len(t)}")
        rng = np.random.default_rng() if rng is None else rng
        self.eval_interval = eval_interval

        iters_per_epoch = math.ceil(n / batch_size)
        model = self.model
        sparse = max_grad is None and getattr(model, "row_grads", None) is not None and _takes_row_grads(self.optimizer)
        total_loss, loss_count = 0.0, 0
        with tqdm(total=max_epoch * iters_per_epoch, disable=not progress, unit="batch", leave=False) as bar:
            for _ in range(max_epoch):
                order = rng.permutation(n)
                for it in range(iters_per_epoch):
                    batch = order[it * batch_size : (it + 1) * batch_size]
                    loss = float(model.forward(x[batch], t[batch]))
                    if not math.isfinite(loss):
                        raise DivergenceError(self._divergence_message(loss, it, iters_per_epoch))
                    model.backward()
                    self._step(max_grad, sparse)

                    total_loss += loss
                    loss_count += 1
                    if loss_count == eval_interval:
                        self._record(total_loss / loss_count, bar)
                        total_loss, loss_count = 0.0, 0
                    bar.update()
                self.current_epoch += 1
        if loss_count:
            self.loss_list.append(total_loss / loss_count)
        return self.loss_list

    def _step(self, max_grad: float | None, sparse: bool) -> None:
        model = self.model
        if sparse:
            # SGD / SparseAdam sum repeated (shared) params themselves and, given the Embedding
            # layers' RowGrads, touch only the rows this batch looked up.
            self.optimizer.update(model.params, model.grads, model.row_grads)
            return
        # Layers that share one weight (CBOW's context Embeddings, a transposed tied output)
        # each hold a gradient for it: sum them into one update. Only real views count as
        # tied: the book's equal-values test could merge two independent all-zero matrices.
        params, grads = merge_shared(model.params, model.grads, compare_values=False)
        if max_grad is not None:
            clip_grads(grads, max_grad)
        self.optimizer.update(params, grads)

    def _record(self, mean_loss: float, bar: tqdm) -> None:
        self.loss_list.append(mean_loss)
        bar.set_postfix(epoch=self.current_epoch + 1, loss=f"{mean_loss:.4f}", refresh=False)

    def _divergence_message(self, loss: float, it: int, iters_per_epoch: int) -> str:
        lr = getattr(self.optimizer, "lr", None)
        lr_text = f" (lr={lr:g})" if isinstance(lr, (int, float)) else ""
        return (
            f"loss became {loss} at epoch {self.current_epoch + 1}, iteration {it + 1}/{iters_per_epoch}: "
            f"training diverged. Use a lower learning rate{lr_text} or clip gradients with max_grad."
        )

    def plot(self, path: str | os.PathLike, ylim: tuple[float, float] | None = None) -> None:
        """Write the loss curve (``loss_list`` against iterations) to the PNG file ``path``.

        Draws on a bare ``Figure`` with the Agg canvas, so no GUI backend or pyplot state is
        involved; the file is written atomically.
        """
        if not self.loss_list:
            raise DataError("no loss history to plot: call fit() first")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.4, 4.8))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.plot(np.arange(len(self.loss_list)), self.loss_list, label="train")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_xlabel(f"iterations (x{self.eval_interval})")
        ax.set_ylabel("loss")
        ax.legend()
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png")
