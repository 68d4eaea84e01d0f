"""kotoba.train.Trainer: seeded shuffles, partial batches, loss history, clipping, divergence, plot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kotoba.errors import ConfigError, DataError, DivergenceError, EmptyCorpusError
from kotoba.models import CBOW, SimpleCBOW
from kotoba.optim import SGD, Adam, SparseAdam
from kotoba.train import Trainer
from kotoba.util import create_contexts_target, preprocess


class Recorder:
    """A stand-in model: one weight used twice (like CBOW's shared W_in), scripted losses,
    and a log of the samples each batch held."""

    def __init__(self, losses=None, grad_value=1.0):
        W = np.zeros(4, dtype=np.float32)
        self.params = [W, W]
        self.grads = [np.zeros(4, np.float32), np.zeros(4, np.float32)]
        self.losses = iter(losses) if losses is not None else None
        self.grad_value = grad_value
        self.batches: list[list[int]] = []

    def forward(self, x, t):
        assert (x == t).all()
        self.batches.append(x.tolist())
        return next(self.losses) if self.losses is not None else 1.0

    def backward(self, dout=1):
        for g in self.grads:
            g[...] = self.grad_value


class RecordingOptimizer:
    lr = 0.5

    def __init__(self):
        self.seen: list[tuple[int, list[float]]] = []

    def update(self, params, grads):
        self.seen.append((len(params), [float(np.linalg.norm(g)) for g in grads]))


def toy_data():
    corpus, w2i, _ = preprocess("You say goodbye and I say hello.")
    contexts, target = create_contexts_target(corpus, window_size=1)
    return contexts, target, len(w2i)


def run_toy(seed: int, shuffle_seed: int, epochs: int = 20) -> list[float]:
    contexts, target, V = toy_data()
    model = SimpleCBOW(V, 5, rng=np.random.default_rng(seed))
    trainer = Trainer(model, Adam(lr=0.01))
    return trainer.fit(
        contexts,
        target,
        max_epoch=epochs,
        batch_size=2,
        eval_interval=1,
        rng=np.random.default_rng(shuffle_seed),
        progress=False,
    )


def test_same_seed_same_history():
    a = run_toy(0, 1)
    b = run_toy(0, 1)
    assert a == b  # bit-identical, not just close
    c = run_toy(0, 2)
    assert len(c) == len(a) and c != a  # the shuffle really depends on the Generator


def test_every_sample_once_per_epoch_with_partial_batch():
    x = np.arange(7)
    model = Recorder()
    trainer = Trainer(model, RecordingOptimizer())
    trainer.fit(x, x, max_epoch=2, batch_size=3, eval_interval=100, rng=np.random.default_rng(0), progress=False)
    assert [len(b) for b in model.batches] == [3, 3, 1, 3, 3, 1]  # ceil(7/3) = 3 steps per epoch
    for epoch in (model.batches[:3], model.batches[3:]):
        assert sorted(sum(epoch, [])) == list(range(7))
    assert model.batches[:3] != model.batches[3:]  # reshuffled each epoch
    assert trainer.current_epoch == 2


def test_loss_list_means_per_interval_and_flush():
    x = np.arange(10)
    losses = [float(i) for i in range(10)]
    trainer = Trainer(Recorder(losses), RecordingOptimizer())
    out = trainer.fit(x, x, max_epoch=1, batch_size=1, eval_interval=4, rng=np.random.default_rng(0), progress=False)
    # intervals count across the whole run; the last 2 iterations are flushed as a shorter entry
    assert out == [1.5, 5.5, 8.5]
    assert out is trainer.loss_list


def test_shared_params_merged_and_clipped():
    x = np.arange(4)
    opt = RecordingOptimizer()
    Trainer(Recorder(grad_value=1.0), opt).fit(
        x, x, max_epoch=1, batch_size=2, progress=False, rng=np.random.default_rng(0)
    )
    # the one array held twice reaches the optimizer once, its two gradients summed: |[2,2,2,2]| = 4
    assert opt.seen == [(1, [4.0]), (1, [4.0])]

    opt = RecordingOptimizer()
    Trainer(Recorder(grad_value=1.0), opt).fit(
        x, x, max_epoch=1, batch_size=2, max_grad=0.5, progress=False, rng=np.random.default_rng(0)
    )
    for _, norms in opt.seen:
        assert math.sqrt(sum(n * n for n in norms)) == pytest.approx(0.5, rel=1e-3)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that the error reports
def test_divergence_error_on_huge_lr():
    contexts, target, V = toy_data()
    model = SimpleCBOW(V, 5, rng=np.random.default_rng(0))
    trainer = Trainer(model, SGD(lr=1e30))
    with pytest.raises(DivergenceError) as e:
        trainer.fit(contexts, target, max_epoch=50, batch_size=3, rng=np.random.default_rng(0), progress=False)
    msg = str(e.value)
    assert "lower learning rate" in msg and "lr=1e+30" in msg


def test_divergence_from_scripted_nan():
    x = np.arange(3)
    trainer = Trainer(Recorder([1.0, float("nan"), 1.0]), RecordingOptimizer())
    with pytest.raises(DivergenceError, match="iteration 2/3"):
        trainer.fit(x, x, max_epoch=1, batch_size=1, rng=np.random.default_rng(0), progress=False)


def test_bad_arguments():
    x = np.arange(3)
    trainer = Trainer(Recorder(), RecordingOptimizer())
    with pytest.raises(ConfigError):
        trainer.fit(x, x, batch_size=0, progress=False)
    with pytest.raises(ConfigError):
        trainer.fit(x, x[:2], progress=False)
    with pytest.raises(ConfigError):
        trainer.fit(x, x, max_grad=0.0, progress=False)
    with pytest.raises(EmptyCorpusError):
        trainer.fit(x[:0], x[:0], progress=False)


def test_progress_bar_only_when_asked(capsys):
    x = np.arange(5)
    trainer = Trainer(Recorder(), RecordingOptimizer())
    trainer.fit(x, x, max_epoch=2, batch_size=2, eval_interval=1, rng=np.random.default_rng(0), progress=False)
    assert capsys.readouterr().err == ""
    trainer.fit(x, x, max_epoch=2, batch_size=2, eval_interval=1, rng=np.random.default_rng(0), progress=True)
    assert "batch" in capsys.readouterr().err  # tqdm's bar, on stderr
    assert len(trainer.loss_list) == 12


class DenseOnly:
    """Hides an optimizer's row_grads parameter, forcing the Trainer's merged dense path."""

    def __init__(self, opt):
        self.opt = opt

    def update(self, params, grads):
        self.opt.update(params, grads)


def test_row_sparse_path_matches_dense():
    corpus, w2i, _ = preprocess("You say goodbye and I say hello. " * 5)
    contexts, target = create_contexts_target(corpus, window_size=2)
    weights = []
    for wrap in (lambda o: o, DenseOnly):
        model = CBOW(len(w2i), 6, 2, corpus, rng=np.random.default_rng(0))
        Trainer(model, wrap(SGD(lr=0.5))).fit(
            contexts, target, max_epoch=5, batch_size=4, rng=np.random.default_rng(1), progress=False
        )
        weights.append([p.copy() for p in model.params])
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not np.allclose(weights[0][0], CBOW(len(w2i), 6, 2, corpus, rng=np.random.default_rng(0)).word_vecs)


class SpyRows(SparseAdam):
    def update(self, params, grads, row_grads=None):
        self.got_rows = row_grads is not None
        super().update(params, grads, row_grads)


def test_row_grads_passed_only_without_clipping():
    corpus, w2i, _ = preprocess("You say goodbye and I say hello.")
    contexts, target = create_contexts_target(corpus)
    model = CBOW(len(w2i), 4, 1, corpus, rng=np.random.default_rng(0))
    opt = SpyRows(lr=0.01)
    losses = Trainer(model, opt).fit(
        contexts, target, max_epoch=100, batch_size=3, eval_interval=10, rng=np.random.default_rng(0), progress=False
    )
    assert opt.got_rows and losses[-1] < losses[0]
    Trainer(model, opt).fit(contexts, target, max_epoch=1, max_grad=1.0, progress=False, rng=np.random.default_rng(0))
    assert not opt.got_rows  # clip_grads scales dense grads only, so clipping uses the merged path


def test_plot_writes_png(tmp_path):
    trainer = Trainer(Recorder(), RecordingOptimizer())
    with pytest.raises(DataError):
        trainer.plot(tmp_path / "none.png")
    x = np.arange(6)
    trainer.fit(x, x, max_epoch=3, batch_size=2, eval_interval=1, rng=np.random.default_rng(0), progress=False)
    out = tmp_path / "sub" / "loss.png"
    trainer.plot(out, ylim=(0, 2))
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert [p.name for p in out.parent.iterdir()] == ["loss.png"]  # no temp file left behind
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # drawn without pyplot: no figure left open
