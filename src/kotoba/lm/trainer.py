"""Training recurrent language models with truncated BPTT, and measuring perplexity.

:class:`RnnlmTrainer` follows the book's ``RnnlmTrainer`` plus its ``train_better_rnnlm.py``
recipe: reset the state at every epoch start, clip the gradient norm, evaluate the validation
perplexity after every epoch, keep the best parameters, and divide the learning rate by
``lr_decay`` (4) whenever the validation perplexity does not improve.

A run can be stopped and resumed exactly: :meth:`RnnlmTrainer.save_state` writes one ``.npz``
(parameters, optimizer moments, kept LSTM state, best parameters, dropout RNG state, epoch and
batch position, histories) and :meth:`RnnlmTrainer.load_state` restores it into a trainer
built the same way; calling :meth:`~RnnlmTrainer.fit` again with the same arguments then
continues as if it had never stopped.
"""

from __future__ import annotations

import io as _io
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError, DataError, DivergenceError, FormatError
from ..io import atomic_write, load_npz, save_npz
from ..layers.time import GATE_ORDER, reorder_gates
from ..optim import clip_grads
from .batch import bptt_batches, num_batches
from .checkpoint import V1_GATE_ORDER, lstm_param_positions, save_lm

STATE_FORMAT = "kotoba-lm-trainer-state"
#: 2: LSTM gate blocks in the book's order; 1: in :data:`~kotoba.lm.checkpoint.V1_GATE_ORDER` (converted on load)
STATE_VERSION = 2


def _nll_sum(scores: np.ndarray, ts: np.ndarray, ignore_label: int = -1) -> float:
    """Sum of ``-log softmax(scores)[t]`` over positions whose target is not ``ignore_label``."""
    V = scores.shape[-1]
    s = scores.reshape(-1, V)
    t = ts.reshape(-1)
    rows = np.flatnonzero(t != ignore_label)
    s = s[rows]
    m = s.max(axis=1, keepdims=True)
    lse = np.log(np.exp(s - m).sum(axis=1, dtype=np.float64)) + m[:, 0]
    return float((lse - s[np.arange(len(rows)), t[rows]]).sum())


def perplexity(model: Any, ids: np.ndarray, batch_size: int = 10, time_size: int = 35) -> float:
    """``exp`` of the mean negative log-likelihood of every next token of ``ids``.

    All ``len(ids) - 1`` predicted tokens are scored exactly once (the book's
    ``eval_perplexity`` skips the remainder). The corpus is cut into ``batch_size`` contiguous
    rows whose lengths differ by at most one (the first ``(len(ids) - 1) % batch_size`` rows are
    one longer; the shorter rows' missing last target is ignored via label -1); each row is read
    from a fresh state, ``time_size`` tokens per call. With ``batch_size=1`` this is the
    perplexity of reading the whole text in one pass. The model's state is reset before and after.
    """
    ids = np.asarray(ids)
    L = len(ids) - 1
    if L < 1:
        raise DataError(f"need at least 2 tokens to measure perplexity, got {len(ids)}")
    if batch_size < 1 or time_size < 1:
        raise ConfigError(f"batch_size and time_size must be >= 1, got {batch_size} and {time_size}")
    N = min(batch_size, L)
    base, extra = divmod(L, N)
    lengths = base + (np.arange(N) < extra)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    row_len = base + (extra > 0)
    total = 0.0
    model.reset_state()
    for t0 in range(0, row_len, time_size):
        steps = t0 + np.arange(min(time_size, row_len - t0))
        valid = steps[None, :] < lengths[:, None]
        pos = np.where(valid, starts[:, None] + steps[None, :], 0)
        xs = ids[pos].astype(np.int32)
        ts = np.where(valid, ids[pos + 1], -1).astype(np.int32)
        total += _nll_sum(model.predict(xs, train_flg=False), ts)
    model.reset_state()
    return math.exp(total / L)


def _gates_from_v1(model: Any, arrays: dict[str, np.ndarray]) -> None:
    """Move the LSTM gate blocks of a version-1 state's arrays (parameters, best parameters and the
    optimizer's per-parameter moments, all named ``<kind>.<position>``) to the book's order, in place."""
    positions = {str(k) for k in lstm_param_positions(model)}
    for name in list(arrays):
        if name.split(".")[0] in ("param", "best", "opt") and name.rsplit(".", 1)[-1] in positions:
            arrays[name] = reorder_gates(arrays[name], V1_GATE_ORDER, GATE_ORDER)


def _dropout_layers(model: Any) -> list:
    return [layer for layer in getattr(model, "layers", []) if hasattr(layer, "rng") and hasattr(layer, "train_flg")]


class RnnlmTrainer:
    """Truncated-BPTT training loop for a model with the book's interface.

    Attributes filled while training: ``ppl_list`` (training perplexity averaged over each
    ``eval_interval`` batches), ``valid_ppl_list`` (one per epoch), ``best_ppl``,
    ``best_epoch``, ``best_params`` (copies of ``model.params`` at the best validation
    perplexity), ``epoch`` (epochs completed) and ``iteration`` (batches done in the current one).
    """

    def __init__(self, model: Any, optimizer: Any):
        self.model = model
        self.optimizer = optimizer
        self.epoch = 0
        self.iteration = 0
        self.ppl_list: list[float] = []
        self.valid_ppl_list: list[float] = []
        self.best_ppl: float | None = None
        self.best_epoch: int | None = None
        self.best_params: list[np.ndarray] | None = None
        self.eval_interval = 20
        self.batches_per_epoch: int | None = None
        self._loss_sum = 0.0
        self._loss_count = 0
        self._restored = False  # after load_state, fit's rng is ignored: the saved RNG state rules

    # ------------------------------------------------------------------------------------
    def fit(
        self,
        train_ids: np.ndarray,
        batch_size: int,
        time_size: int,
        max_epoch: int = 1,
        max_grad: float | None = None,
        valid_ids: np.ndarray | None = None,
        eval_interval: int = 20,
        progress: bool = True,
        lr_decay: float = 4.0,
        checkpoint: str | os.PathLike | Callable[[Any, dict], None] | None = None,
        rng: np.random.Generator | None = None,
        *,
        vocab: Sequence[str] | None = None,
        wrap: bool = False,
        state_path: str | os.PathLike | None = None,
        state_every: int | None = None,
        max_iters: int | None = None,
    ) -> RnnlmTrainer:
        """Train from the current position (epoch ``self.epoch``, batch ``self.iteration``) up
        to ``max_epoch`` epochs in total.

        * ``max_grad``: clip the global gradient norm to this (the book uses 0.25).
        * ``valid_ids``: after every epoch, measure :func:`perplexity` on them (batch 10,
          ``time_size``); on improvement copy the parameters to ``best_params`` and write
          ``checkpoint``, otherwise divide ``optimizer.lr`` by ``lr_decay`` (1 disables it).
        * ``checkpoint``: a path for :func:`~kotoba.lm.checkpoint.save_lm` (then ``vocab`` is
          required) or a callable ``checkpoint(model, info)``; ``info`` has epoch and valid_ppl.
        * ``rng``: generator for dropout masks (replaces the one the model was built with;
          ignored after :meth:`load_state`, which restores the saved generator state).
        * ``wrap``: batch layout, see :func:`~kotoba.lm.batch.bptt_batches`.
        * ``state_path``: write the resumable trainer state there after every epoch and every
          ``state_every`` batches, and when ``max_iters`` stops this call after that many batches.
        * ``progress``: a tqdm bar with the running perplexity and tokens/s.

        Raises :class:`~kotoba.errors.DivergenceError` if the loss becomes NaN or infinite.
        """
        model, opt = self.model, self.optimizer
        if max_epoch < 0 or eval_interval < 1 or lr_decay <= 0:
            raise ConfigError("max_epoch must be >= 0, eval_interval >= 1 and lr_decay > 0")
        if max_grad is not None and max_grad <= 0:
            raise ConfigError(f"max_grad must be > 0, got {max_grad}")
        if isinstance(checkpoint, (str, os.PathLike)):
            if vocab is None:
                raise ConfigError("checkpoint to a file needs the vocabulary: pass vocab=")
            if len(vocab) != model.config["vocab_size"]:
                raise ConfigError(
                    f"vocab has {len(vocab)} words but the model has vocab_size={model.config['vocab_size']}"
                )
        train_ids = np.asarray(train_ids)
        n_batches = num_batches(len(train_ids), batch_size, time_size)
        if self.iteration >= n_batches:
            raise ConfigError(
                f"trainer state is at batch {self.iteration} of an epoch, but this corpus has only {n_batches}"
            )
        self.batches_per_epoch = n_batches
        self.eval_interval = eval_interval
        if rng is not None and not self._restored:
            for layer in _dropout_layers(model):
                layer.rng = rng
        tokens_per_batch = batch_size * time_size
        done_this_call = 0
        while self.epoch < max_epoch:
            if self.iteration == 0:
                model.reset_state()
            bar = tqdm(
                total=n_batches,
                initial=self.iteration,
                desc=f"epoch {self.epoch + 1}/{max_epoch}",
                unit="batch",
                disable=not progress,
                leave=False,
            )
            t_start, it_start = time.perf_counter(), self.iteration
            try:
                for xs, ts in bptt_batches(
                    train_ids, batch_size, time_size, wrap=wrap, start=self.iteration, epoch=self.epoch
                ):
                    loss = model.forward(xs, ts)
                    if not math.isfinite(loss):
                        raise DivergenceError(
                            f"training loss became {loss} at epoch {self.epoch + 1}, batch {self.iteration + 1}; "
                            f"lower the learning rate (lr={getattr(opt, 'lr', '?')}) or clip gradients (max_grad)"
                        )
                    model.backward()
                    if max_grad is not None:
                        clip_grads(model.grads, max_grad)
                    opt.update(model.params, model.grads)
                    self.iteration += 1
                    done_this_call += 1
                    self._loss_sum += loss
                    self._loss_count += 1
                    if self._loss_count == eval_interval:
                        self.ppl_list.append(math.exp(self._loss_sum / self._loss_count))
                        self._loss_sum, self._loss_count = 0.0, 0
                    if progress:
                        elapsed = max(time.perf_counter() - t_start, 1e-9)
                        run_ppl = math.exp(self._loss_sum / self._loss_count) if self._loss_count else self.ppl_list[-1]
                        bar.set_postfix(
                            ppl=f"{run_ppl:.1f}",
                            tok_s=f"{(self.iteration - it_start) * tokens_per_batch / elapsed:.0f}",
                            refresh=False,
                        )
                        bar.update(1)
                    last = self.iteration == n_batches
                    if state_path is not None and state_every and self.iteration % state_every == 0 and not last:
                        self.save_state(state_path)
                    if max_iters is not None and done_this_call >= max_iters and not last:
                        if state_path is not None:
                            self.save_state(state_path)
                        return self
            finally:
                bar.close()
            self._end_epoch(valid_ids, time_size, lr_decay, checkpoint, vocab, progress)
            if state_path is not None:
                self.save_state(state_path)
            if max_iters is not None and done_this_call >= max_iters:
                break
        return self

    def _end_epoch(self, valid_ids, time_size, lr_decay, checkpoint, vocab, progress) -> None:
        model, opt = self.model, self.optimizer
        self.iteration = 0
        self.epoch += 1
        if valid_ids is None:
            return
        ppl = perplexity(model, valid_ids, batch_size=10, time_size=time_size)
        if not math.isfinite(ppl):
            raise DivergenceError(
                f"validation perplexity became {ppl} after epoch {self.epoch}; lower the learning rate"
            )
        self.valid_ppl_list.append(ppl)
        if self.best_ppl is None or ppl < self.best_ppl:
            self.best_ppl, self.best_epoch = ppl, self.epoch
            self.best_params = [p.copy() for p in model.params]
            info = {"epoch": self.epoch, "valid_ppl": ppl}
            if callable(checkpoint):
                checkpoint(model, info)
            elif checkpoint is not None:
                save_lm(checkpoint, model, vocab, meta=info)
        else:
            opt.lr /= lr_decay
        if progress:
            tqdm.write(
                f"epoch {self.epoch}: valid perplexity {ppl:.2f} (best {self.best_ppl:.2f}), "
                f"lr {getattr(opt, 'lr', float('nan')):.4g}"
            )

    def use_best(self) -> None:
        """Copy ``best_params`` (the best validation perplexity so far) into the model."""
        if self.best_params is None:
            raise ConfigError("no best parameters yet: fit with valid_ids first")
        for p, b in zip(self.model.params, self.best_params):
            p[...] = b

    # ------------------------------------------------------------------------------------
    def plot(self, path: str | os.PathLike) -> Path:
        """Write a PNG of the training perplexity (per ``eval_interval`` batches) and the
        validation perplexity (per epoch) against batches seen. Returns ``path``."""
        from matplotlib.figure import Figure  # no pyplot: no global state, Agg rendering

        if not self.ppl_list and not self.valid_ppl_list:
            raise DataError("nothing to plot: train first")
        fig = Figure(figsize=(6, 4), dpi=100)
        ax = fig.subplots()
        if self.ppl_list:
            x = (np.arange(len(self.ppl_list)) + 1) * self.eval_interval
            ax.plot(x, self.ppl_list, label="train")
        if self.valid_ppl_list and self.batches_per_epoch:
            xv = (np.arange(len(self.valid_ppl_list)) + 1) * self.batches_per_epoch
            ax.plot(xv, self.valid_ppl_list, "o-", label="valid")
        ax.set_xlabel("batches")
        ax.set_ylabel("perplexity")
        ax.set_yscale("log")
        ax.legend()
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        buf = _io.BytesIO()
        fig.savefig(buf, format="png")
        path = Path(path)
        with atomic_write(path, "wb") as f:
            f.write(buf.getvalue())
        return path

    # ------------------------------------------------------------------------------------
    def save_state(self, path: str | os.PathLike) -> Path:
        """Write everything needed to resume training to one ``.npz`` (atomic, no pickle)."""
        model = self.model
        arrays: dict[str, np.ndarray] = {f"param.{i}": p for i, p in enumerate(model.params)}
        if self.best_params is not None:
            arrays.update({f"best.{i}": p for i, p in enumerate(self.best_params)})
        if hasattr(model, "hidden_state"):
            arrays.update({f"hidden.{k}": v for k, v in model.hidden_state().items()})
        opt_scalars, opt_lists = {}, {}
        for name, value in vars(self.optimizer).items():
            if isinstance(value, (bool, int, float, np.floating, np.integer)):
                opt_scalars[name] = value.item() if isinstance(value, np.generic) else value
            elif value is None or (isinstance(value, list) and all(isinstance(a, np.ndarray) for a in value)):
                opt_lists[name] = None if value is None else len(value)
                for i, a in enumerate(value or []):
                    arrays[f"opt.{name}.{i}"] = a
            else:
                raise ConfigError(
                    f"cannot save the state of optimizer {type(self.optimizer).__name__}: attribute {name!r} "
                    f"is a {type(value).__name__} (only numbers and lists of arrays are supported)"
                )
        meta = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "config": getattr(model, "config", None),
            "optimizer": {"class": type(self.optimizer).__name__, "scalars": opt_scalars, "lists": opt_lists},
            "rng": [layer.rng.bit_generator.state for layer in _dropout_layers(model)],
            "epoch": self.epoch,
            "iteration": self.iteration,
            "loss_sum": self._loss_sum,
            "loss_count": self._loss_count,
            "ppl_list": self.ppl_list,
            "valid_ppl_list": self.valid_ppl_list,
            "best_ppl": self.best_ppl,
            "best_epoch": self.best_epoch,
            "eval_interval": self.eval_interval,
            "batches_per_epoch": self.batches_per_epoch,
        }
        arrays["meta"] = np.array(json.dumps(meta))  # a unicode scalar, not an object: no pickle
        save_npz(path, arrays)
        return Path(path)

    def load_state(self, path: str | os.PathLike) -> None:
        """Restore :meth:`save_state`'s file into this trainer, its model and optimizer (which
        must be built the same way). Raises :class:`FormatError` on a wrong or mismatched file."""
        arrays = load_npz(path)
        try:
            meta = json.loads(str(arrays.pop("meta")))
        except (KeyError, ValueError) as e:
            raise FormatError(f"{path}: not a kotoba trainer state ({e})") from e
        if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
            raise FormatError(f"{path}: not a kotoba trainer state")
        if meta.get("version") not in (1, STATE_VERSION):
            raise FormatError(f"{path}: trainer state version {meta.get('version')!r} is newer than this kotoba reads")
        if meta["version"] == 1:
            _gates_from_v1(self.model, arrays)
        model, opt = self.model, self.optimizer
        if meta["config"] != getattr(model, "config", None):
            raise FormatError(f"{path}: saved for model {meta['config']}, not {getattr(model, 'config', None)}")
        if meta["optimizer"]["class"] != type(opt).__name__:
            raise FormatError(f"{path}: saved with optimizer {meta['optimizer']['class']}, not {type(opt).__name__}")
        for i, p in enumerate(model.params):
            a = arrays.get(f"param.{i}")
            if a is None or a.shape != p.shape:
                raise FormatError(f"{path}: parameter {i} is missing or has the wrong shape")
            p[...] = a
        n_best = sum(k.startswith("best.") for k in arrays)
        self.best_params = [arrays[f"best.{i}"].copy() for i in range(n_best)] if n_best else None
        if hasattr(model, "load_hidden_state"):
            model.load_hidden_state({k[7:]: v for k, v in arrays.items() if k.startswith("hidden.")})
        for name, value in meta["optimizer"]["scalars"].items():
            setattr(opt, name, value)
        for name, n in meta["optimizer"]["lists"].items():
            setattr(opt, name, None if n is None else [arrays[f"opt.{name}.{i}"].copy() for i in range(n)])
        layers = _dropout_layers(model)
        if len(layers) != len(meta["rng"]):
            raise FormatError(f"{path}: saved {len(meta['rng'])} dropout generators, the model has {len(layers)}")
        for layer, state in zip(layers, meta["rng"]):
            layer.rng.bit_generator.state = state
        self.epoch, self.iteration = meta["epoch"], meta["iteration"]
        self._loss_sum, self._loss_count = meta["loss_sum"], meta["loss_count"]
        self.ppl_list, self.valid_ppl_list = meta["ppl_list"], meta["valid_ppl_list"]
        self.best_ppl, self.best_epoch = meta["best_ppl"], meta["best_epoch"]
        self.eval_interval, self.batches_per_epoch = meta["eval_interval"], meta["batches_per_epoch"]
        self._restored = True
