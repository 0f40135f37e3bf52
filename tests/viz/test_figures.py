"""Each picture rendered for a small trained LeNet-5: file decodes, sensible size, not blank, right content."""

import os

import numpy as np
import pytest

from conftest import NORMALIZE, read_png, standardise
from glassnet import nn, viz
from glassnet.viz.history import as_columns


def panels(fig, prefix):
    return [ax for ax in fig.axes if ax.get_label().startswith(prefix)]


# ---------------------------------------------------------------------------- filters
def tiles(fig, kh, kw, gap=1):
    """The kernels drawn in the figure's tiled image, by (row, column) of the grid (empty tiles left out)."""
    (ax,) = panels(fig, "kernels")
    image = np.asarray(ax.images[0].get_array(), np.float64)
    rows, cols = (image.shape[0] + gap) // (kh + gap), (image.shape[1] + gap) // (kw + gap)
    assert image.shape[:2] == (rows * (kh + gap) - gap, cols * (kw + gap) - gap)
    out = {}
    for r in range(rows):
        for c in range(cols):
            t = image[r * (kh + gap): r * (kh + gap) + kh, c * (kw + gap): c * (kw + gap) + kw]
            if np.isfinite(t).all():
                out[r, c] = t
    return ax, out


def test_first_layer_filters_one_tile_per_kernel(model, tmp_path):
    fig = viz.filters(model)
    ax, kernels = tiles(fig, 5, 5)
    assert len(kernels) == 6  # 6 filters x 1 input channel, on a 2 x 3 grid
    w = model.features[0].weight.data
    np.testing.assert_array_equal(kernels[1, 0], w[3, 0])
    vmin, vmax = ax.images[0].get_clim()
    assert vmin == -vmax == pytest.approx(-np.abs(w).max())  # one shared, symmetric scale
    assert ax.images[0].get_cmap().name.startswith("RdBu_r")
    assert [a.get_ylabel() for a in fig.axes if a is not ax] == ["weight"]  # the labelled colour bar
    assert "features.0" in fig._suptitle.get_text()
    read_png(viz.save(fig, tmp_path / "f0.png"), min_size=(400, 250))


def test_second_layer_filters_grid_of_filters_by_input_channels(model, tmp_path):
    fig = viz.filters(model, "features.3")
    ax, kernels = tiles(fig, 5, 5)
    assert len(kernels) == 16 * 6
    np.testing.assert_array_equal(kernels[4, 11], model.features[3].weight.data[11, 4])  # row: channel 4, column: filter 11
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(f) for f in range(16)]
    assert viz.filters(model, 1)._suptitle.get_text() == fig._suptitle.get_text()  # index among convolutions
    rgb = read_png(viz.save(fig, tmp_path / "f1.png"), min_size=(800, 300))
    # signed colour map: both blue (negative) and red (positive) weights appear
    r, b = rgb[..., 0], rgb[..., 2]
    assert ((b - r) > 0.3).mean() > 0.005 and ((r - b) > 0.3).mean() > 0.005


def test_filters_cap_large_layers_and_say_so():
    net = nn.Sequential(nn.Conv2d(3, 40, 3), nn.ReLU(), nn.Conv2d(40, 50, 3))
    fig = viz.filters(net, "2", max_filters=10, max_channels=4)
    _, kernels = tiles(fig, 3, 3)
    assert len(kernels) == 40
    assert "first 10 of 50 filters, first 4 of 40 inputs" in fig._suptitle.get_text()


def test_rgb_first_layer_in_colour():
    net = nn.Sequential(nn.Conv2d(3, 5, 3))
    fig = viz.filters(net)
    (ax,) = panels(fig, "kernels")
    image = ax.images[0].get_array()
    assert image.shape == (2 * 4 - 1, 3 * 4 - 1, 3)  # 5 filters on a 2 x 3 grid, RGB
    w = net[0].weight.data.astype(np.float64)
    expected = np.moveaxis(w, 1, -1) / (2 * np.abs(w).max()) + 0.5
    np.testing.assert_allclose(image[0:3, 8:11], expected[2], rtol=1e-6)  # filter 2: row 0, column 2
    np.testing.assert_allclose(image[4:7, 8:11], 1.0)  # the sixth place is empty (white)
    _, kernels = tiles(viz.filters(net, colour=False), 3, 3)
    assert len(kernels) == 15


def test_filters_errors_name_the_layer():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    with pytest.raises(ValueError, match=r"layer '1' is a ReLU, not a convolution; convolutions: 0"):
        viz.filters(net, "1")
    with pytest.raises(ValueError, match="index 3 out of range: the model has 1 convolutions"):
        viz.filters(net, 3)
    with pytest.raises(ValueError, match="has no convolutional layer"):
        viz.filters(nn.Sequential(nn.Linear(2, 2)))


# ---------------------------------------------------------------------------- feature maps
def test_feature_maps_one_panel_per_conv_and_pool_layer(model, test_set, tmp_path):
    image = test_set.images[0]
    fig = viz.feature_maps(model, image, normalize=NORMALIZE)
    layers = panels(fig, "layer ")
    assert [ax.get_label() for ax in layers] == ["layer features.0", "layer features.2", "layer features.3",
                                                 "layer features.5"]
    assert "6\u00d728\u00d728" in layers[0].get_title() and "16\u00d75\u00d75" in layers[3].get_title()
    acts, x, shown = viz.activations(model, image, normalize=NORMALIZE)
    np.testing.assert_allclose(x, standardise(image[None]), rtol=1e-6)
    # the pooled map panel tiles the 16 channels of the real activation, 4 x 4 with 1-pixel gaps
    tiled = layers[3].images[0].get_array()
    assert tiled.shape == (4 * 6 - 1, 4 * 6 - 1)
    np.testing.assert_allclose(tiled[6:11, 12:17], acts[3][2][6])
    # signed conv output on the diverging map, non-negative pooled ReLU output on a sequential one from 0
    assert layers[0].images[0].get_cmap().name.startswith("RdBu_r")
    assert layers[3].images[0].get_clim()[0] == 0
    read_png(viz.save(fig, tmp_path / "features.png"), min_size=(1000, 250))


def test_feature_maps_of_chosen_layers_and_channel_cap(model, test_set):
    fig = viz.feature_maps(model, test_set.images[1], normalize=NORMALIZE, layers=["features.4"], max_channels=9)
    (ax,) = panels(fig, "layer ")
    assert "first 9" in ax.get_title() and ax.images[0].get_array().shape == (3 * 11 - 1, 3 * 11 - 1)
    with pytest.raises(ValueError, match="no 4-D output recorded for classifier.0"):
        viz.feature_maps(model, test_set.images[1], layers=["classifier.0"])


# ---------------------------------------------------------------------------- curves
HISTORY = [
    {"epoch": e, "train_loss": 2.0 / e, "train_acc": 0.6 + 0.04 * e, "val_loss": 2.2 / e + 0.02 * e,
     "val_acc": [0.62, 0.7, 0.78, 0.81, 0.8][e - 1], "lr": 0.1 * 0.5 ** (e // 2), "seconds": 3.0}
    for e in range(1, 6)
]


def test_curves_plot_train_and_validation_per_epoch(tmp_path):
    fig = viz.curves(HISTORY)
    loss, acc, lr = panels(fig, "loss")[0], panels(fig, "acc")[0], panels(fig, "lr")[0]
    labels = [line.get_label() for line in loss.lines]
    assert labels == ["training", "validation"]
    np.testing.assert_allclose(loss.lines[1].get_ydata(), [h["val_loss"] for h in HISTORY])
    np.testing.assert_allclose(acc.lines[0].get_ydata(), [100 * h["train_acc"] for h in HISTORY])  # percent
    assert "best validation: 81.00% at epoch 4" in acc.get_title()
    assert acc.get_ylabel() == "accuracy (%)" and loss.get_xlabel() == "epoch"
    np.testing.assert_allclose(lr.lines[0].get_ydata(), [h["lr"] for h in HISTORY])
    read_png(viz.save(fig, tmp_path / "curves.png"), min_size=(1000, 300))


def test_curves_accept_every_history_form(tmp_path):
    import json

    cols = {k: [h[k] for h in HISTORY] for k in HISTORY[0]}
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"epochs": HISTORY}))
    for form in (HISTORY, cols, {"history": HISTORY}, path, str(path)):
        np.testing.assert_allclose(as_columns(form)["val_acc"], cols["val_acc"])
    constant_lr = [dict(h, lr=0.1) for h in HISTORY]
    assert len(viz.curves(constant_lr).axes) == 2  # no learning-rate panel when it never changes
    percent = [{"train_acc": 0.5, "val_acc": 1.0}, {"train_acc": 60.0, "val_acc": 0.9}]  # one scale for both
    np.testing.assert_allclose(viz.curves(percent).axes[1].lines[1].get_ydata(), [1.0, 0.9])
    train_only = [{"train_loss": 1.0 / e} for e in range(1, 4)]
    fig = viz.curves(train_only)
    assert [line.get_label() for line in fig.axes[0].lines] == ["training"]


@pytest.mark.parametrize("bad, match", [
    ([], "no epochs recorded"),
    ([{"seconds": 1.0}], "none of train_loss"),
    ({"train_loss": [1, 2], "val_loss": [1]}, "lists of one length"),
    (3, "expected a list of per-epoch dicts"),
])
def test_curves_reject_bad_histories(bad, match):
    with pytest.raises(ValueError, match=match):
        viz.curves(bad)


def test_curves_name_a_missing_or_corrupt_file(tmp_path):
    with pytest.raises(ValueError, match="no such history file"):
        viz.curves(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match=r"bad.json: corrupt JSON"):
        viz.curves(tmp_path / "bad.json")


# ---------------------------------------------------------------------------- confusion
def test_confusion_matrix_counts():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    m = viz.confusion_matrix(t, p, 4)
    loop = np.zeros((4, 4), int)
    for a, b in zip(t, p, strict=True):
        loop[a, b] += 1
    np.testing.assert_array_equal(m, loop)
    np.testing.assert_allclose(viz.per_class_accuracy(m), np.diag(loop) / loop.sum(1))
    with pytest.raises(ValueError, match=r"predictions must lie in 0..3, got 0..4"):
        viz.confusion_matrix([0, 1], [0, 4], 4)
    assert np.isnan(viz.per_class_accuracy([[0, 0], [1, 1]])[0])


def test_confusion_picture_of_the_trained_model(model, test_set, tmp_path):
    x = standardise(test_set.images[:500])
    pred = model(x).argmax(1)
    m = viz.confusion_matrix(test_set.labels[:500], pred, 10)
    fig = viz.confusion(m, test_set.classes)
    mat, bars = panels(fig, "matrix")[0], panels(fig, "per-class")[0]
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in mat.texts}
    assert texts[(3, 3)] == str(m[3, 3]) and len(texts) == np.count_nonzero(m)
    acc = viz.per_class_accuracy(m)
    np.testing.assert_allclose([b.get_width() for b in bars.patches], acc * 100)
    assert f"accuracy {np.trace(m) / m.sum():.2%}" in mat.get_title()
    rgb = read_png(viz.save(fig, tmp_path / "confusion.png"), min_size=(700, 450))
    assert ((rgb[..., 2] - rgb[..., 0]) > 0.4).mean() > 0.01  # the blue diagonal is drawn


def test_confusion_checks_its_input():
    with pytest.raises(ValueError, match=r"square \(K, K\) matrix, got shape \(2, 3\)"):
        viz.confusion(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 classes in the matrix but 3 class names"):
        viz.confusion(np.eye(2), ["a", "b", "c"])


# ---------------------------------------------------------------------------- maximize
def test_maximize_raises_the_target_activation(model, tmp_path):
    r = viz.maximize_input(model, "features.1", channels=[1, 2, 3], steps=60)
    assert r.images.shape == (3, 1, 28, 28) and r.maps
    assert np.all(r.end > 1.5 * r.start) and np.all(r.start > 0) and not r.dead.any()
    assert np.all(r.objective[-1] > r.objective[0])
    # the found images really give those activations: rerun the model on them
    acts, _, _ = viz.activations(model, r.images[1], layers=["features.1"])
    assert acts[0][2][2].mean() == pytest.approx(r.end[1], rel=1e-4)
    fig = viz.maximize(model, "features.1", channels=[1, 2, 3], steps=60)
    assert [ax.get_label() for ax in panels(fig, "channel")] == ["channel 1", "channel 2", "channel 3"]
    read_png(viz.save(fig, tmp_path / "max.png"), min_size=(400, 200))


def test_maximize_a_class_score_and_the_default_layer(model):
    r = viz.maximize_input(model, "classifier.4", channels=[3], steps=30)
    assert not r.maps and r.end[0] > r.start[0] + 5
    from glassnet.viz.maximization import default_layer

    assert default_layer(model) == "features.1"  # the ReLU completing the first convolution


def test_maximize_reports_a_dead_unit():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 2))
    net[0].weight.data[1] = 0
    net[0].bias.data[1] = -1.0  # channel 1 is ReLU(-1) = 0 for every input
    r = viz.maximize_input(net, "1", [0, 1], input_size=(1, 6, 6), steps=5)
    assert r.dead.tolist() == [False, True] and r.end[1] == 0
    fig = viz.maximize(net, "1", [0, 1], input_size=(1, 6, 6), steps=5)
    assert "dead" in panels(fig, "channel 1")[0].get_title()
    with pytest.raises(ValueError, match=r"channels must be in 0..1 for layer '1', got \[0, 2\]"):
        viz.maximize_input(net, "1", [0, 2], input_size=(1, 6, 6))
    with pytest.raises(ValueError, match="pass input_size"):
        viz.maximize_input(net, "1", [0])


# ---------------------------------------------------------------------------- saving
def test_save_png_and_svg_atomically(model, tmp_path):
    fig = viz.filters(model)
    png = viz.save(fig, tmp_path / "sub" / "f.png")
    svg = viz.save(fig, tmp_path / "f.svg")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    text = open(svg, encoding="utf-8").read()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "features.0" in text.replace("&#46;", ".")
    assert viz.render(fig, "png") == open(png, "rb").read()  # reproducible bytes: no date stamped in
    assert sorted(os.listdir(tmp_path)) == ["f.svg", "sub"]  # no temporary files left behind
    with pytest.raises(ValueError, match=r"f.pdf: file extension: expected png or svg, got 'pdf'"):
        viz.save(fig, tmp_path / "f.pdf")
