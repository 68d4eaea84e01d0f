"""kotoba.plot and `kotoba map / export`: images are real PNGs, Japanese labels have their glyphs,
word maps are deterministic and readable, projector files parse back."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.image import imread

from kotoba import plot
from kotoba.cli import main
from kotoba.errors import ConfigError, DataError, KotobaError
from kotoba.lm.trainer import RnnlmTrainer
from kotoba.models import Rnnlm
from kotoba.optim import SGD
from kotoba.vectors import WordVectors

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JA_WORDS = ["猫", "先生", "吾輩は", "東京", "汽車", "坊っちゃん"]
WORDS_50 = (
    "france paris germany berlin italy rome spain madrid japan tokyo china beijing russia moscow england london "
    "one two three four five six seven eight nine ten run walk swim fly go come eat drink sleep write read "
    "king queen man woman boy girl father mother son daughter red blue green"
).split()
assert len(WORDS_50) == 50


def assert_png(path: Path, min_bytes: int = 8000) -> np.ndarray:
    """The file is a decodable PNG of some size whose pixels are not all one colour; returns them."""
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 200
    assert pixels[..., :3].std() > 0.05
    return pixels


def clustered(n_clusters: int, per: int, dim: int, rng: np.random.Generator, spread: float = 0.15) -> np.ndarray:
    """(n_clusters * per, dim) vectors in tight clusters around random centres: crowded labels."""
    centres = rng.normal(size=(n_clusters, dim))
    return np.repeat(centres, per, axis=0) + spread * rng.normal(size=(n_clusters * per, dim))


def glyph_warnings(record: list) -> list[str]:
    return [str(w.message) for w in record if "missing from" in str(w.message)]


# ---- fonts ----------------------------------------------------------------------------------


def test_japanese_label_gets_a_font_with_its_glyphs():
    dejavu, ja = plot.label_fonts()
    assert ja == plot.japanese_font_path() and ja.name == "ipaexg.ttf"
    for text in ["猫", "先生", "吾輩は", "坊っちゃん", "猫 先生 吾輩は"]:
        chosen = plot.font_for(text)
        assert chosen == ja
        assert plot.font_has_glyphs(text, chosen)
        assert plot.missing_glyphs(text, chosen) == []
    # the reason for the second font: matplotlib's default has none of these glyphs
    assert plot.missing_glyphs("猫 先生 吾輩は", dejavu) == ["猫", "先", "生", "吾", "輩", "は"]


def test_ascii_labels_keep_the_default_font():
    dejavu, _ = plot.label_fonts()
    for text in ["king", "Paris", "e.g. 3.14", "naïve"]:
        assert plot.font_for(text) == dejavu
        assert plot.font_has_glyphs(text, dejavu)


def test_font_lookup_leaves_matplotlib_global_font_alone():
    import matplotlib as mpl

    before = list(mpl.rcParams["font.family"])
    plot.japanese_font_path()
    assert list(mpl.rcParams["font.family"]) == before


def test_japanese_and_ascii_maps_render_without_missing_glyphs(tmp_path, rng):
    words = JA_WORDS + ["king", "queen"]
    vecs = rng.normal(size=(len(words), 10))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        path = plot.plot_word_map(
            words, vecs, tmp_path / "ja.png", title="吾輩は猫である", groups=["人"] * 4 + ["en"] * 4
        )
    assert glyph_warnings(record) == []
    assert_png(path)


def test_default_font_would_have_warned(tmp_path):
    """The warning checked above is real: drawing Japanese in the default font emits it."""
    fig = plot._figure(3, 2)
    fig.text(0.1, 0.5, "吾輩は猫", family="DejaVu Sans")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        plot._save(fig, tmp_path / "tofu.png")
    assert glyph_warnings(record)


# ---- word2vec loss --------------------------------------------------------------------------


def loss_records(epochs: int = 3, per_epoch: int = 10, with_lr: bool = True) -> list[dict]:
    total = epochs * per_epoch * 1000
    recs = []
    for e in range(epochs):
        for i in range(per_epoch):
            words = (e * per_epoch + i + 1) * 1000
            rec = {"epoch": e + 1, "words": words, "loss": 2.0 + 1.5 * np.exp(-words / 5000)}
            if with_lr:
                rec["lr"] = 0.025 * (1 - words / total) + 1e-4
            recs.append(rec)
    return recs


@pytest.mark.parametrize("with_lr", [True, False])
def test_word2vec_loss_png(tmp_path, with_lr):
    path = plot.plot_word2vec_loss(loss_records(with_lr=with_lr), tmp_path / "loss.png", title="skip-gram")
    assert path == tmp_path / "loss.png"
    assert_png(path)


def test_word2vec_loss_axes():
    cols = plot._loss_columns(loss_records(epochs=3))
    fig = plot._loss_figure(cols, None)
    ax = fig.axes[0]
    boundaries = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert boundaries == [10000, 20000]  # the last record of epochs 1 and 2
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "learning rate"
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["epoch 1", "epoch 2", "epoch 3"]
    # a record without lr: no second axis
    cols = plot._loss_columns(loss_records()[:5] + [{"epoch": 1, "words": 6000, "loss": 2.5}])
    assert "lr" not in cols and len(plot._loss_figure(cols, None).axes) == 1


def test_word2vec_loss_errors(tmp_path):
    with pytest.raises(DataError, match="no word2vec loss records"):
        plot.plot_word2vec_loss([], tmp_path / "x.png")
    with pytest.raises(DataError, match="record 1 has no words"):
        plot.plot_word2vec_loss([{"epoch": 1, "words": 5, "loss": 1.0}, {"epoch": 1, "loss": 1.0}], tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


# ---- language-model curves ------------------------------------------------------------------


def test_lm_curves_from_a_real_trainer(tmp_path, rng):
    train = rng.integers(0, 12, size=600)
    valid = rng.integers(0, 12, size=120)
    trainer = RnnlmTrainer(Rnnlm(12, 6, 8, rng=rng), SGD(lr=1.0))
    trainer.fit(train, batch_size=4, time_size=5, max_epoch=3, valid_ids=valid, eval_interval=5)
    assert_png(plot.plot_lm_curves(trainer, tmp_path / "lm.png", title="Rnnlm"))
    fig = plot._lm_figure(plot._lm_history(trainer), None)
    train_line, valid_line = fig.axes[0].get_lines()
    np.testing.assert_allclose(valid_line.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(valid_line.get_ydata(), trainer.valid_ppl_list)
    assert train_line.get_xdata()[-1] == pytest.approx(len(trainer.ppl_list) * 5 / trainer.batches_per_epoch)


def test_lm_curves_take_a_mapping_and_choose_the_scale(tmp_path):
    wide = {
        "ppl_list": [5000, 1200, 600, 300],
        "valid_ppl_list": [700, 250],
        "eval_interval": 10,
        "batches_per_epoch": 20,
    }
    narrow = dict(wide, ppl_list=[180, 160, 150, 140], valid_ppl_list=[170, 150])
    assert plot._lm_figure(plot._lm_history(wide), None).axes[0].get_yscale() == "log"
    assert plot._lm_figure(plot._lm_history(narrow), None).axes[0].get_yscale() == "linear"
    assert_png(plot.plot_lm_curves(wide, tmp_path / "wide.png"), min_bytes=5000)
    only_train = SimpleNamespace(ppl_list=[300, 200], valid_ppl_list=[], eval_interval=10, batches_per_epoch=None)
    fig = plot._lm_figure(plot._lm_history(only_train), None)
    assert fig.axes[0].get_xlabel() == "batches"
    with pytest.raises(DataError, match="nothing to plot"):
        plot.plot_lm_curves({"ppl_list": [], "valid_ppl_list": []}, tmp_path / "x.png")
    with pytest.raises(DataError, match="batches_per_epoch"):
        plot.plot_lm_curves(dict(wide, batches_per_epoch=None), tmp_path / "x.png")


# ---- word maps ------------------------------------------------------------------------------


def test_pca_is_deterministic_and_matches_sklearn(rng):
    X = rng.normal(size=(40, 16)) + rng.normal(size=16)
    a, b = plot.project_2d(X), plot.project_2d(X.copy())
    np.testing.assert_array_equal(a, b)
    # unit-length rows first: rescaling a vector does not move it on the map
    np.testing.assert_allclose(plot.project_2d(X * rng.uniform(0.5, 3, size=(40, 1))), a, atol=1e-10)
    sklearn = pytest.importorskip("sklearn.decomposition")
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    ref = sklearn.PCA(n_components=2).fit_transform(unit)
    np.testing.assert_allclose(np.abs(a), np.abs(ref), atol=1e-8)
    # the sign rule: each axis's largest loading is positive, so negating the input mirrors the map
    np.testing.assert_allclose(plot.project_2d(-X), -a, atol=1e-10)


def test_pca_handles_one_dimension_and_zero_vectors():
    X = np.array([[1.0], [2.0], [-1.0], [0.0]])
    coords = plot.project_2d(X)
    assert coords.shape == (4, 2) and np.isfinite(coords).all()
    np.testing.assert_array_equal(coords[:, 1], 0)


def test_tsne_separates_clusters_and_is_seeded():
    pytest.importorskip("sklearn.manifold")
    X = clustered(3, 8, 20, np.random.default_rng(1), spread=0.05)
    a = plot.project_2d(X, "tsne", np.random.default_rng(5))
    b = plot.project_2d(X, "tsne", np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    d = np.linalg.norm(a[:, None] - a[None], axis=2)
    np.fill_diagonal(d, np.inf)
    labels = np.repeat(np.arange(3), 8)
    assert (labels[d.argmin(axis=1)] == labels).all()
    with pytest.raises(ConfigError, match="rng"):
        plot.project_2d(X, "tsne")


def test_tsne_without_sklearn_names_the_extra(monkeypatch, rng):
    monkeypatch.setitem(sys.modules, "sklearn.manifold", None)  # makes the import fail
    with pytest.raises(KotobaError, match=r"kotoba\[tsne\]"):
        plot.project_2d(rng.normal(size=(10, 4)), "tsne", rng)


def test_word_map_errors(tmp_path, rng):
    with pytest.raises(ConfigError, match="unknown map method"):
        plot.plot_word_map(["a", "b"], rng.normal(size=(2, 3)), tmp_path / "m.png", method="umap")
    with pytest.raises(DataError, match="one vector per word"):
        plot.plot_word_map(["a", "b", "c"], rng.normal(size=(2, 3)), tmp_path / "m.png")
    with pytest.raises(DataError, match="one group per word"):
        plot.plot_word_map(["a", "b"], rng.normal(size=(2, 3)), tmp_path / "m.png", groups=["x"])
    with pytest.raises(ConfigError, match=r"cannot write a \.xyz image"):
        plot.plot_word_map(["a", "b"], rng.normal(size=(2, 3)), tmp_path / "m.xyz")
    assert not list(tmp_path.iterdir())  # nothing half-written


def overlapping_pairs(fig, texts) -> int:
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    return sum(boxes[i].overlaps(boxes[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes)))


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_labels_of_50_crowded_words_do_not_overlap(monkeypatch, lang):
    rng = np.random.default_rng(3)
    words = WORDS_50 if lang == "en" else [w + str(i) for i in range(9) for w in JA_WORDS][:50]
    coords = plot.project_2d(clustered(5, 10, 30, rng))
    groups = [str(i // 10) for i in range(50)]
    fig, texts = plot._draw_word_map(words, coords, groups, None, None)
    placed = overlapping_pairs(fig, texts)
    monkeypatch.setattr(plot, "adjust_text", lambda *a, **k: None)
    fig0, texts0 = plot._draw_word_map(words, coords, groups, None, None)
    unplaced = overlapping_pairs(fig0, texts0)
    pairs = 50 * 49 // 2
    assert unplaced > 25  # the clusters really do crowd the labels
    assert placed <= 0.01 * pairs, f"{placed} of {pairs} label pairs overlap (before placement: {unplaced})"
    # every label stays inside the axes
    ax_box = fig.axes[0].get_window_extent(fig.canvas.get_renderer())
    for t in texts:
        b = t.get_window_extent(fig.canvas.get_renderer())
        assert ax_box.x0 - 1 <= b.x0 and b.x1 <= ax_box.x1 + 1 and ax_box.y0 - 1 <= b.y0 and b.y1 <= ax_box.y1 + 1


def test_word_map_is_the_same_picture_twice(tmp_path, rng):
    X = clustered(4, 6, 10, rng)
    words = WORDS_50[:24]
    a = plot.plot_word_map(words, X, tmp_path / "a.png", groups=[w[0] for w in words])
    b = plot.plot_word_map(words, X, tmp_path / "b.png", groups=[w[0] for w in words])
    np.testing.assert_array_equal(assert_png(a), assert_png(b))


# ---- projector ------------------------------------------------------------------------------


def test_projector_files_parse_back(tmp_path, rng):
    words = ["king", "東京", "tab\there", "new\nline", "cr\rx", "back\\slash"]
    X = rng.normal(size=(len(words), 7)).astype(np.float32)
    vec_path, meta_path = plot.export_projector(words, X, tmp_path / "proj")
    back = np.loadtxt(vec_path, delimiter="\t", dtype=np.float64, ndmin=2)
    np.testing.assert_array_equal(back.astype(np.float32), X)  # %.9g: float32 exactly
    assert "\t" not in vec_path.read_text().splitlines()[0][:1]  # no header, no leading tab
    lines = meta_path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(words)
    assert lines[:-1] == ["king", "東京", "tab\\there", "new\\nline", "cr\\rx", "back\\slash"]
    assert all("\t" not in line for line in lines)

    plot.export_projector(words[:2], X[:2], tmp_path / "g", groups=["royal", "city"])
    assert (tmp_path / "g" / "metadata.tsv").read_text(encoding="utf-8") == "word\tgroup\nking\troyal\n東京\tcity\n"


def test_projector_errors(tmp_path):
    with pytest.raises(DataError, match="NaN"):
        plot.export_projector(["a"], np.array([[np.nan, 1.0]]), tmp_path)
    with pytest.raises(DataError, match="one vector per word"):
        plot.export_projector(["a", "b"], np.zeros((3, 2)), tmp_path)


# ---- CLI ------------------------------------------------------------------------------------


def write_vectors(path: Path, binary: bool) -> Path:
    """52 words (50 English, 2 Japanese) in 4 clusters of 12-dim vectors, in word2vec format."""
    vecs = clustered(4, 13, 12, np.random.default_rng(7)).astype(np.float32)
    WordVectors(WORDS_50 + ["猫", "先生"], vecs).save_word2vec_format(path, binary=binary)
    return path


@pytest.fixture(params=[True, False], ids=["binary", "text"])
def vectors_file(tmp_path, request):
    return write_vectors(tmp_path / ("v.bin" if request.param else "v.txt"), request.param)


def test_cli_map_words_top_and_file(vectors_file, tmp_path, capsys):
    out = tmp_path / "m.png"
    assert main(["map", str(vectors_file), "--words", "king", "queen", "猫", "先生", "paris", "-o", str(out)]) == 0
    assert "5 words, pca" in capsys.readouterr().out
    assert_png(out)
    assert main(["map", str(vectors_file), "--top", "20", "-o", str(tmp_path / "top.png"), "--title", "top 20"]) == 0
    assert_png(tmp_path / "top.png")
    words_file = tmp_path / "words.txt"
    words_file.write_text("king royal\nqueen royal\n\nparis city\n先生 人\n", encoding="utf-8")
    assert main(["map", str(vectors_file), "--words-file", str(words_file), "-o", str(tmp_path / "f.png")]) == 0
    assert_png(tmp_path / "f.png")


def test_cli_map_tsne(tmp_path):
    pytest.importorskip("sklearn.manifold")
    vectors_file = write_vectors(tmp_path / "v.bin", binary=True)
    out = tmp_path / "t.png"
    assert main(["map", str(vectors_file), "--top", "30", "--method", "tsne", "--seed", "3", "-o", str(out)]) == 0
    assert_png(out)


def test_cli_map_unknown_words_are_listed(vectors_file, tmp_path, capsys):
    code = main(["map", str(vectors_file), "--words", "king", "kingg", "zzzz", "-o", str(tmp_path / "m.png")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("kotoba: error: 2 word(s) not in the vocabulary")
    assert "'kingg' (did you mean 'king'?)" in err and "'zzzz'" in err
    assert not (tmp_path / "m.png").exists()


def test_cli_words_file_errors(vectors_file, tmp_path, capsys):
    f = tmp_path / "w.txt"
    f.write_text("king royal\nqueen\n", encoding="utf-8")
    assert main(["map", str(vectors_file), "--words-file", str(f), "-o", str(tmp_path / "m.png")]) == 2
    assert "some words have a group and some do not" in capsys.readouterr().err
    f.write_text("king\nking\n", encoding="utf-8")
    assert main(["map", str(vectors_file), "--words-file", str(f), "-o", str(tmp_path / "m.png")]) == 2
    assert "more than once: 'king'" in capsys.readouterr().err


def test_cli_export_round_trip(vectors_file, tmp_path, capsys):
    wv = WordVectors.load_word2vec_format(vectors_file)
    assert main(["export", str(vectors_file), "--projector", str(tmp_path / "p")]) == 0
    assert f"({len(wv)} words, {wv.vector_size} dims)" in capsys.readouterr().out
    back = np.loadtxt(tmp_path / "p" / "vectors.tsv", delimiter="\t")
    np.testing.assert_array_equal(back.astype(np.float32), wv.vectors)
    assert (tmp_path / "p" / "metadata.tsv").read_text(encoding="utf-8").splitlines() == wv.index_to_key
    assert main(["export", str(vectors_file), "--projector", str(tmp_path / "q"), "--limit", "10"]) == 0
    assert len((tmp_path / "q" / "metadata.tsv").read_text(encoding="utf-8").splitlines()) == 10


@pytest.mark.parametrize("command", ["map", "export"])
def test_cli_help_ends_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"example: kotoba {command} ")
