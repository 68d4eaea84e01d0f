"""Training recurrent language models with truncated BPTT, and measuring perplexity.

:class:`RnnlmTrainer` follows the book's ``RnnlmTrainer`` plus its ``train_better_rnnlm.py``
recipe: reset the state at every epoch start, clip the gradient norm, evaluate the validation
perplexity after every epoch, keep the best parameters, and divide the learning rate by
``lr_decay`` (4) whenever the validation perplexity does not improve.

:meth:`RnnlmTrainer.fit` is a loop over named steps (``_train_step``, ``_pause``,
``_end_epoch``) driven by a :class:`FitConfig`; it reports through a ``progress`` callback
(:class:`FitProgress`) and never prints.

A run can be stopped and resumed exactly: :meth:`RnnlmTrainer.save_state` writes one ``.npz``
(parameters, optimizer moments, kept LSTM state, best parameters, dropout RNG state, epoch and
batch position, histories) and :meth:`RnnlmTrainer.load_state` restores it into a trainer
built the same way; calling :meth:`~RnnlmTrainer.fit` again with the same arguments then
continues as if it had never stopped. ``fit(..., should_stop=...)`` is the cooperative way to stop
a run from outside (a signal handler, a time limit): it saves the state and raises
:class:`~kotoba.errors.TrainingInterrupted`.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_float, check_int
from ..errors import ConfigError, DataError, DivergenceError, FormatError, TrainingInterrupted
from ..io import load_npz, save_npz
from ..layers.time import GATE_ORDER, reorder_gates
from ..optim import clip_grads
from ..text.vocab import Vocab
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
    return _exp(total / L)


def _gates_from_v1(model: Any, arrays: dict[str, np.ndarray]) -> None:
    """Move the LSTM gate blocks of a version-1 state's arrays (parameters, best parameters and the
    optimizer's per-parameter moments, all named ``<kind>.<position>``) to the book's order, in place."""
    positions = {str(k) for k in lstm_param_positions(model)}
    for name in list(arrays):
        if name.split(".")[0] in ("param", "best", "opt") and name.rsplit(".", 1)[-1] in positions:
            arrays[name] = reorder_gates(arrays[name], V1_GATE_ORDER, GATE_ORDER)


#: a mean loss (nats per token) past this means the run has diverged: exp() of it overflows, while
#: even a uniform guess over a million words costs only ln(10**6) ~ 14
_DIVERGED = 709.0


def _exp(x: float) -> float:
    """``math.exp`` that gives inf instead of raising OverflowError (a diverging run's perplexity)."""
    return math.exp(x) if x < 709.0 else math.inf


def _dropout_layers(model: Any) -> list:
    return [layer for layer in getattr(model, "layers", []) if hasattr(layer, "rng") and hasattr(layer, "train_flg")]


@dataclass(frozen=True)
class FitConfig:
    """What :meth:`RnnlmTrainer.fit` does with the batches (the data and files are its arguments).

    * ``batch_size``, ``time_size``: rows per batch and truncated-BPTT length.
    * ``max_epoch``: train up to this many epochs in total (counting those already done).
    * ``max_grad``: clip the global gradient norm to this (the book uses 0.25); None: no clip.
    * ``eval_interval``: batches per point of the training-perplexity curve (``ppl_list``).
    * ``lr_decay``: divide ``optimizer.lr`` by this when the validation perplexity does not
      improve (1 disables it).
    * ``wrap``: batch layout, see :func:`~kotoba.lm.batch.bptt_batches`.
    * ``state_every``: also save the resumable state every that many batches (needs a state path).
    * ``max_iters``: stop this call after that many batches (saving the state if there is a path).
    """

    batch_size: int
    time_size: int
    max_epoch: int = 1
    max_grad: float | None = None
    eval_interval: int = 20
    lr_decay: float = 4.0
    wrap: bool = False
    state_every: int | None = None
    max_iters: int | None = None

    def __post_init__(self) -> None:
        check_int("batch_size", self.batch_size)
        check_int("time_size", self.time_size)
        check_int("max_epoch", self.max_epoch, 0)
        if self.max_grad is not None:
            check_float("max_grad", self.max_grad, 0.0, low_open=True)
        check_int("eval_interval", self.eval_interval)
        check_float("lr_decay", self.lr_decay, 0.0, low_open=True)
        check_int("state_every", self.state_every, optional=True)
        check_int("max_iters", self.max_iters, optional=True)


@dataclass(frozen=True)
class FitProgress:
    """What :meth:`RnnlmTrainer.fit` tells its ``progress`` callback.

    ``kind`` is ``"batch"`` after every training batch (``train_ppl``: the running perplexity
    of the current ``eval_interval`` block; ``tokens_per_s`` since this epoch's start in this
    call) or ``"epoch"`` after every epoch with validation data (``valid_ppl``, ``best_ppl``, and
    ``lr`` after any decay). ``epoch`` counts from 1; ``iteration`` is the batch within it.
    """

    kind: str
    epoch: int
    iteration: int
    batches_per_epoch: int
    max_epoch: int
    train_ppl: float | None = None
    tokens_per_s: float | None = None
    valid_ppl: float | None = None
    best_ppl: float | None = None
    lr: float | None = None


Checkpoint = str | os.PathLike | Callable[[Any, dict], None]


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
        config: FitConfig | None = None,
        *,
        valid_ids: np.ndarray | None = None,
        checkpoint: Checkpoint | None = None,
        vocab: Vocab | Sequence[str] | None = None,
        state_path: str | os.PathLike | None = None,
        rng: np.random.Generator | None = None,
        progress: Callable[[FitProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        **options: Any,
    ) -> RnnlmTrainer:
        """Train from the current position (epoch ``self.epoch``, batch ``self.iteration``) up
        to ``config.max_epoch`` epochs in total. ``config`` is a :class:`FitConfig`, or its
        fields are given as keywords (``fit(ids, batch_size=20, time_size=35, max_epoch=4)``).

        * ``valid_ids``: after every epoch, measure :func:`perplexity` on them (batch 10,
          ``time_size``); on improvement copy the parameters to ``best_params`` and write
          ``checkpoint``, otherwise divide ``optimizer.lr`` by ``lr_decay``.
        * ``checkpoint``: a path for :func:`~kotoba.lm.checkpoint.save_lm` (then ``vocab`` is
          required) or a callable ``checkpoint(model, info)``; ``info`` has epoch and valid_ppl.
        * ``state_path``: write the resumable trainer state there after every epoch, every
          ``state_every`` batches, and whenever this call stops early (``max_iters``, ``should_stop``).
        * ``rng``: generator for dropout masks (replaces the one the model was built with;
          ignored after :meth:`load_state`, which restores the saved generator state).
        * ``progress``: called with a :class:`FitProgress` after every batch and every epoch.
        * ``should_stop``: asked after every batch; when it returns True the trainer saves its
          state (if ``state_path``) and raises :class:`~kotoba.errors.TrainingInterrupted`.
          :meth:`load_state` and the same ``fit`` then continue exactly where it stopped.

        Raises :class:`~kotoba.errors.DivergenceError` if the loss becomes NaN or infinite.
        """
        cfg = self._config(config, options)
        n_batches = self._prepare(train_ids, cfg, checkpoint, vocab, rng)
        done = 0  # batches trained in this call
        while self.epoch < cfg.max_epoch:
            if self.iteration == 0:
                self.model.reset_state()
            clock = (time.perf_counter(), self.iteration)
            for xs, ts in bptt_batches(
                train_ids, cfg.batch_size, cfg.time_size, wrap=cfg.wrap, start=self.iteration, epoch=self.epoch
            ):
                self._train_step(xs, ts, cfg)
                done += 1
                self._report_batch(progress, cfg, n_batches, clock)
                if self.iteration < n_batches and self._pause(cfg, done, state_path, should_stop):
                    return self
            self._end_epoch(valid_ids, cfg, checkpoint, vocab, progress, n_batches)
            if state_path is not None:
                self.save_state(state_path)
            if cfg.max_iters is not None and done >= cfg.max_iters:
                break
            if self.epoch < cfg.max_epoch:
                self._check_stop(should_stop, state_path, saved=True)
        return self

    @staticmethod
    def _config(config: FitConfig | None, options: dict[str, Any]) -> FitConfig:
        if config is not None and options:
            raise ConfigError(f"give fit either a FitConfig or its fields as keywords, not both ({sorted(options)})")
        if config is not None:
            if not isinstance(config, FitConfig):
                raise ConfigError(f"fit's second argument is a FitConfig, got {config!r} (sizes go by keyword)")
            return config
        try:
            return FitConfig(**options)
        except TypeError as e:
            raise ConfigError(f"fit options: {e}") from e

    def _prepare(self, train_ids, cfg: FitConfig, checkpoint, vocab, rng) -> int:
        """Check the arguments against the model and the saved position; -> batches per epoch."""
        model = self.model
        if isinstance(checkpoint, (str, os.PathLike)):
            if vocab is None:
                raise ConfigError("checkpoint to a file needs the vocabulary: pass vocab=")
            if len(vocab) != model.config["vocab_size"]:
                raise ConfigError(
                    f"vocab has {len(vocab)} words but the model has vocab_size={model.config['vocab_size']}"
                )
        n_batches = num_batches(len(train_ids), cfg.batch_size, cfg.time_size)
        if self.iteration >= n_batches:
            raise ConfigError(
                f"trainer state is at batch {self.iteration} of an epoch, but this corpus has only {n_batches}"
            )
        self.batches_per_epoch = n_batches
        self.eval_interval = cfg.eval_interval
        if rng is not None and not self._restored:
            for layer in _dropout_layers(model):
                layer.rng = rng
        return n_batches

    def _train_step(self, xs: np.ndarray, ts: np.ndarray, cfg: FitConfig) -> None:
        """Forward, divergence check, backward, clip, update; then count the loss."""
        model, opt = self.model, self.optimizer
        loss = model.forward(xs, ts)
        if not math.isfinite(loss) or loss > _DIVERGED:
            raise DivergenceError(
                f"training loss became {loss} at epoch {self.epoch + 1}, batch {self.iteration + 1}; "
                f"lower the learning rate (lr={getattr(opt, 'lr', '?')}) or clip gradients (max_grad)"
            )
        model.backward()
        if cfg.max_grad is not None:
            clip_grads(model.grads, cfg.max_grad)
        opt.update(model.params, model.grads)
        self.iteration += 1
        self._loss_sum += loss
        self._loss_count += 1
        if self._loss_count == cfg.eval_interval:
            self.ppl_list.append(_exp(self._loss_sum / self._loss_count))
            self._loss_sum, self._loss_count = 0.0, 0

    def _report_batch(self, progress, cfg: FitConfig, n_batches: int, clock: tuple[float, int]) -> None:
        if progress is None:
            return
        elapsed = max(time.perf_counter() - clock[0], 1e-9)
        run_ppl = _exp(self._loss_sum / self._loss_count) if self._loss_count else self.ppl_list[-1]
        tokens = (self.iteration - clock[1]) * cfg.batch_size * cfg.time_size
        progress(
            FitProgress("batch", self.epoch + 1, self.iteration, n_batches, cfg.max_epoch, run_ppl, tokens / elapsed)
        )

    def _pause(self, cfg: FitConfig, done: int, state_path, should_stop) -> bool:
        """Between two batches of an epoch: save the state when due; True when ``max_iters`` is reached
        (the state saved); raise :class:`TrainingInterrupted` when ``should_stop`` says so."""
        if cfg.max_iters is not None and done >= cfg.max_iters:
            if state_path is not None:
                self.save_state(state_path)
            return True
        due = state_path is not None and cfg.state_every and self.iteration % cfg.state_every == 0
        if due:
            self.save_state(state_path)
        self._check_stop(should_stop, state_path, saved=bool(due))
        return False

    def _check_stop(self, should_stop, state_path, saved: bool) -> None:
        if should_stop is None or not should_stop():
            return
        if state_path is not None and not saved:
            self.save_state(state_path)
        where = f"epoch {self.epoch + 1}, batch {self.iteration}" if self.iteration else f"after epoch {self.epoch}"
        saved_to = f"; state saved to {state_path}" if state_path is not None else " (no state path: not saved)"
        raise TrainingInterrupted(
            f"training stopped on request at {where}{saved_to}",
            checkpoint=None if state_path is None else Path(state_path),
        )

    def _end_epoch(self, valid_ids, cfg: FitConfig, checkpoint, vocab, progress, n_batches: int) -> None:
        """Count the epoch; with validation data: perplexity, best parameters and checkpoint, or lr decay."""
        model, opt = self.model, self.optimizer
        self.iteration = 0
        self.epoch += 1
        if valid_ids is None:
            return
        ppl = perplexity(model, valid_ids, batch_size=10, time_size=cfg.time_size)
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
            opt.lr /= cfg.lr_decay
        if progress is not None:
            lr = getattr(opt, "lr", None)
            progress(
                FitProgress(
                    "epoch", self.epoch, 0, n_batches, cfg.max_epoch, valid_ppl=ppl, best_ppl=self.best_ppl, lr=lr
                )
            )

    def use_best(self) -> None:
        """Copy ``best_params`` (the best validation perplexity so far) into the model."""
        if self.best_params is None:
            raise ConfigError("no best parameters yet: fit with valid_ids first")
        for p, b in zip(self.model.params, self.best_params):
            p[...] = b

    # ------------------------------------------------------------------------------------
    def plot(self, path: str | os.PathLike) -> Path:
        """Write a picture of the training perplexity (per ``eval_interval`` batches) and the
        validation perplexity (per epoch) against epochs (:func:`kotoba.plot.plot_lm_curves`)."""
        from ..plot import plot_lm_curves

        if not self.ppl_list and not self.valid_ppl_list:
            raise DataError("nothing to plot: train first")
        return plot_lm_curves(self, path)

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
