"""Saliency and Grad-CAM: proved against PyTorch (golden and live) and finite differences; the picture."""

import numpy as np
import pytest
from viz_reference import CAM_LAYER, FIXTURE, build_glassnet, make_input, make_weights, saliency_torch

from conftest import NORMALIZE, read_png
from glassnet import viz
from glassnet.viz.image import prepare

golden = np.load(FIXTURE, allow_pickle=False)
WEIGHTS = {k[len("weights/"):]: golden[k] for k in golden.files if k.startswith("weights/")}


@pytest.mark.parametrize("target", range(5))
def test_input_gradient_and_grad_cam_match_pytorch_golden(target):
    net, x = build_glassnet(WEIGHTS), golden["x"]
    grad, t, probs = viz.input_gradient(net, x, target)
    assert t == target and probs.shape == (5,) and np.isclose(probs.sum(), 1)
    np.testing.assert_allclose(grad, golden[f"grad/{target}"], rtol=1e-10, atol=1e-12)
    cam, small, weights, layer, _ = viz.grad_cam(net, x, target)
    assert layer == CAM_LAYER  # the default: the last block with a conv inside
    np.testing.assert_allclose(weights, golden[f"cam_weights/{target}"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(small, golden[f"cam_small/{target}"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cam, golden[f"cam/{target}"], rtol=1e-10, atol=1e-12)
    assert small.max() > 0


@pytest.mark.torch
@pytest.mark.parametrize("seed", [10, 11, 12])
def test_input_gradient_and_grad_cam_match_pytorch_live(seed):
    pytest.importorskip("torch")
    weights, x = make_weights(seed), make_input(seed + 100)
    net = build_glassnet(weights)
    target = seed % 5
    grad, _, _ = viz.input_gradient(net, x, target)
    cam, small, w, _, _ = viz.grad_cam(net, x, target, layer=CAM_LAYER)
    t_grad, t_small, t_cam, t_w = saliency_torch(weights, x, target)
    np.testing.assert_allclose(grad, t_grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w, t_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(small, t_small, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cam, t_cam, rtol=1e-10, atol=1e-12)


def test_input_gradient_matches_central_differences():
    net, x = build_glassnet(WEIGHTS), golden["x"]
    grad, _, _ = viz.input_gradient(net, x, 2)
    eps = 1e-6
    for idx in [(0, 0, 0), (0, 3, 4), (1, 7, 7), (1, 2, 5), (0, 5, 1)]:
        xp, xm = x.copy(), x.copy()
        xp[(0, *idx)] += eps
        xm[(0, *idx)] -= eps
        fd = (net(xp)[0, 2] - net(xm)[0, 2]) / (2 * eps)
        assert grad[idx] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_grad_cam_weights_are_the_mean_of_central_difference_gradients():
    """Independent of the Tap: differentiate the head (modules 5, 6) numerically with respect to A."""
    net, x = build_glassnet(WEIGHTS), golden["x"]
    a = x
    for m in list(net)[:5]:
        a = m(a)
    head = list(net)[5:]

    def score(A):
        for m in head:
            A = m(A)
        return A[0, 1]

    eps, dA = 1e-6, np.zeros_like(a)
    for i in np.ndindex(a.shape):
        ap, am = a.copy(), a.copy()
        ap[i] += eps
        am[i] -= eps
        dA[i] = (score(ap) - score(am)) / (2 * eps)
    w_fd = dA[0].mean(axis=(1, 2))
    _, small, w, _, _ = viz.grad_cam(net, x, 1)
    np.testing.assert_allclose(w, w_fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(small, np.maximum(np.tensordot(w_fd, a[0], axes=1), 0), rtol=1e-6, atol=1e-9)


def test_target_and_layer_errors_are_clear():
    net, x = build_glassnet(WEIGHTS), golden["x"]
    with pytest.raises(ValueError, match=r"target class: expected an integer in 0..4, got 5"):
        viz.input_gradient(net, x, 5)
    with pytest.raises(ValueError, match="it needs feature maps"):
        viz.grad_cam(net, x, 0, layer="6")
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        viz.grad_cam(net, x, 0, layer="conv9")


def _digit_mask(image, grow=2):
    m = image > 0.3 * 255
    for _ in range(grow):
        m = m | np.roll(m, 1, 0) | np.roll(m, -1, 0) | np.roll(m, 1, 1) | np.roll(m, -1, 1)
    return m


def test_grad_cam_finds_the_object_a_hand_built_detector_responds_to():
    """Class 1 = mean response of a bright-square detector: its CAM must sit on the square, wherever it is."""
    from glassnet import nn

    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, dtype=np.float64), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(2, 2, dtype=np.float64))
    net.load_state_dict({
        "0.weight": np.stack([np.ones((1, 3, 3)), -np.ones((1, 3, 3))]), "0.bias": np.array([-4.0, 1.0]),
        "4.weight": np.array([[0.0, 1.0], [1.0, 0.0]]), "4.bias": np.zeros(2),
    })
    rng = np.random.default_rng(0)
    for _ in range(5):
        r, c = rng.integers(0, 20, 2)
        image = np.zeros((24, 24))
        image[r:r + 4, c:c + 4] = 1.0
        cam, small, weights, layer, target = viz.grad_cam(net, image[None, None], target=1)
        assert layer == "1" and weights[0] > 0 and weights[1] == 0
        box = np.zeros_like(image, bool)
        box[max(r - 1, 0):r + 5, max(c - 1, 0):c + 5] = True
        assert box.flat[np.argmax(cam)] and cam[box].sum() / cam.sum() > 0.99


def test_trained_lenet_saliency_and_grad_cam_look_at_the_digit(model, test_set):
    """Over 40 test digits the input gradient puts about twice its share of mass on the (slightly grown) digit.

    Grad-CAM on LeNet's 10 x 10 maps (receptive field 14 x 14 pixels) is coarse and also marks the empty
    places that tell digits apart (the open left side of a 7): it gets more than its share on average.
    """
    cam_ratio, grad_ratio, zero = [], [], 0
    for i in range(40):
        image = test_set.images[i, 0]
        s, shown = viz.explain(model, image, normalize=NORMALIZE)
        assert s.gradient.shape == (1, 28, 28) and np.abs(s.gradient).max() > 0
        assert s.cam.shape == (28, 28) and s.cam_small.shape == (10, 10) and s.layer == "features.4"
        assert s.target == int(np.argmax(s.probabilities))
        mask = _digit_mask(image)
        g = np.abs(s.gradient[0])
        grad_ratio.append((g[mask].sum() / g.sum()) / mask.mean())
        if s.cam.max() == 0:
            zero += 1
        else:
            cam_ratio.append((s.cam[mask].sum() / s.cam.sum()) / mask.mean())
    assert zero <= 4
    assert np.median(grad_ratio) > 1.6 and np.percentile(grad_ratio, 10) > 1.2, grad_ratio
    assert np.mean(cam_ratio) > 1.1, cam_ratio


def test_saliency_picture(model, test_set, tmp_path):
    image = test_set.images[0, 0]
    fig = viz.saliency(model, image, normalize=NORMALIZE, class_names=test_set.classes)
    labels = [ax.get_label() for ax in fig.axes]
    assert labels[:3] == ["input", "saliency", "grad-cam"] and len(fig.axes) == 5  # + two colour bars
    titles = " ".join(ax.get_title() for ax in fig.axes[:3])
    assert f"predicted {test_set.labels[0]}" in titles and "Grad-CAM on features.4 (10\u00d710)" in titles
    # the saliency panel shows the signed gradient on a symmetric diverging scale
    im = fig.axes[1].images[0]
    x, _ = prepare(image, NORMALIZE)
    grad, _, _ = viz.input_gradient(model, x)
    np.testing.assert_allclose(im.get_array(), grad[0])
    assert im.get_cmap().name.startswith("RdBu_r") and im.get_clim()[0] == -im.get_clim()[1]
    path = viz.save(fig, tmp_path / "saliency.png")
    rgb = read_png(path, min_size=(900, 300))
    assert rgb.shape[:2] == (360, 1050)


def test_saliency_of_a_colour_model_shows_the_gradient_magnitude():
    from glassnet import nn

    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3))
    image = np.random.default_rng(0).integers(0, 256, (3, 8, 8)).astype(np.uint8)
    fig = viz.saliency(net, image, target=2)
    shown = fig.axes[1].images[0].get_array()
    x, _ = prepare(image)
    grad, _, _ = viz.input_gradient(net, x, 2)
    np.testing.assert_allclose(shown, np.abs(grad).max(axis=0))
    assert fig.axes[0].images[0].get_array().shape == (8, 8, 3)
