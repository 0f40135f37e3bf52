"""Every endpoint of the explorer gives glassnet's own numbers (forward, backward, weights, attribution)."""

import io
import json

import numpy as np
import pytest

from glassnet import nn
from glassnet.explore.arrays import decode
from glassnet.explore.compute import softmax
from glassnet.nn.module import no_grad

HOST = {"Host": "127.0.0.1:8765"}


def get(app, target, status=200):
    r = app.handle("GET", target, HOST)
    body = json.loads(r.body)
    assert r.status == status, body
    return body


def model_input(app, spec):
    src = app.explorer.source
    raw, _, _ = src.image(spec)
    return src.model_input(raw, src.model.dtype)[0]


def png(array2d):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array2d).save(buf, format="PNG")
    return buf.getvalue()


def test_info_lists_layers_graph_epochs_and_history(app):
    info = get(app, "/api/info")
    assert info["model"] == "lenet5" and info["input_size"] == [1, 28, 28] and info["can_draw"]
    assert [layer["name"] for layer in info["layers"]][:3] == ["features.0", "features.1", "features.2"]
    conv = info["layers"][0]
    assert conv["kind"] == "conv" and conv["shape"] == [6, 28, 28] and conv["padding"] == [2, 2]
    assert info["epochs"] == [1, 2] and len(info["history"]) == 2
    assert info["graph"]["totals"]["params"] == 61706
    assert info["test_images"] == 2000


def test_forward_equals_the_model(app):
    f = get(app, "/api/forward?input=test:3")
    x = model_input(app, "test:3")
    model = app.explorer.source.model
    with no_grad():
        logits = model(x)[0]
    assert np.allclose(f["logits"], logits, rtol=1e-6)
    assert np.allclose(f["probs"], softmax(logits), rtol=1e-6)
    assert f["pred"] == int(np.argmax(logits)) and f["label"] == int(app.explorer.source.test_set.labels[3])
    assert np.array_equal(decode(f["x"]), x[0])
    first = model.features[0](x)[0]
    assert f["layers"][0]["min"] == pytest.approx(float(first.min()), rel=1e-6)


def test_activation_equals_the_layer_outputs(app):
    x = model_input(app, "test:1")
    model = app.explorer.source.model
    with no_grad():
        h = model.features[:3](x)[0]          # conv, ReLU, max-pool
        out = model(x)[0]
    a = get(app, "/api/activation?input=test:1&layer=features.2")
    assert a["shape"] == [6, 14, 14] and np.array_equal(decode(a["array"]), h)
    part = get(app, "/api/activation?input=test:1&layer=features.2&start=2&count=3")
    assert part["start"] == 2 and np.array_equal(decode(part["array"]), h[2:5])
    last = get(app, "/api/activation?input=test:1&layer=classifier.4")
    assert np.allclose(decode(last["array"]), out, rtol=1e-6)


@pytest.mark.parametrize("layer,c,y,x", [("features.0", 3, 0, 27), ("features.0", 1, 14, 9), ("features.3", 7, 4, 5)])
def test_conv_detail_products_sum_to_the_map_value(app, layer, c, y, x):
    d = get(app, f"/api/detail?input=test:2&layer={layer}&c={c}&y={y}&x={x}")
    act = decode(get(app, f"/api/activation?input=test:2&layer={layer}")["array"])
    assert d["value"] == act[c, y, x]
    products = np.asarray(d["products"])
    assert products.sum() + d["bias"] == pytest.approx(d["total"], rel=1e-12)
    assert d["total"] == pytest.approx(d["value"], rel=1e-5, abs=1e-6)  # float64 arithmetic vs float32 forward
    assert len(d["window"]) == (1 if layer == "features.0" else 6)


def test_pool_and_relu_details(app):
    pool = get(app, "/api/detail?input=test:2&layer=features.2&c=2&y=7&x=6")
    before = decode(get(app, "/api/activation?input=test:2&layer=features.1")["array"])
    assert pool["op"] == "maxpool" and pool["total"] == pool["value"] == before[2, 14:16, 12:14].max()
    relu = get(app, "/api/detail?input=test:2&layer=features.1&c=0&y=5&x=5")
    conv = decode(get(app, "/api/activation?input=test:2&layer=features.0")["array"])
    assert relu["input"] == pytest.approx(conv[0, 5, 5]) and relu["value"] == max(conv[0, 5, 5], 0)
    assert relu["cut"] == int((conv[0] < 0).sum())
    lin = get(app, "/api/detail?input=test:2&layer=classifier.4&c=4")
    assert lin["op"] == "linear" and lin["total"] == pytest.approx(lin["value"], rel=1e-5)


def test_backward_gradients_equal_module_backward(app):
    """dL/d(output of features.0) from the endpoint equals the backward of the rest of the network, run by hand."""
    model = app.explorer.source.model
    x = model_input(app, "test:5")
    b = get(app, "/api/backward?input=test:5&target=3")
    h0 = model.features[0](x)
    logits = model.classifier(model.flatten(model.features[1:](h0)))
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(logits, np.array([3]))
    assert b["loss"] == pytest.approx(float(loss), rel=1e-5)
    dlogits = loss_fn.backward()
    assert np.allclose(b["dlogits"], dlogits[0], rtol=1e-5, atol=1e-9)
    dh = model.classifier.backward(dlogits)
    dh = model.features[1:].backward(model.flatten.backward(dh))
    g = get(app, "/api/gradient?input=test:5&target=3&layer=features.0")
    scale = float(np.abs(dh).max())
    assert np.allclose(decode(g["array"]), dh[0], rtol=1e-5, atol=1e-6 * scale)  # float32 model
    assert [layer["name"] for layer in b["layers"]][0] == "features.0"
    model.zero_grad()


def test_weight_gradient_rule_equals_library_and_model_backward(app):
    model = app.explorer.source.model
    w = get(app, "/api/wgrad?input=test:5&target=3&layer=features.3&co=4&ci=2&p=1&q=3")
    assert np.allclose(w["dF"], w["library"], rtol=1e-4, atol=1e-8)
    assert w["entry_value"] == pytest.approx(np.sum(w["products"]), rel=1e-9)
    grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(model_input(app, "test:5")), np.array([3]))
    model.backward(loss_fn.backward())
    # both are the float32 layer's weight gradient, from two backward passes: equal to float32 rounding
    assert np.allclose(w["library"], model.features[3].weight.grad[4, 2], rtol=1e-5, atol=1e-9)
    for p, g in zip(model.parameters(), grads, strict=True):
        p.grad = g


def test_filters_are_the_weights(app):
    f = get(app, "/api/filters?layer=features.3")
    w = app.explorer.source.model.features[3].weight.data
    assert f["shape"] == [16, 6, 5, 5] and np.array_equal(decode(f["array"]), w)
    assert get(app, "/api/filters?layer=features.1", 400)["error"] == "layer 'features.1' is not a convolution"


def test_attribution_equals_viz(app):
    from glassnet.viz.attribution import grad_cam, input_gradient

    model = app.explorer.source.model
    x = model_input(app, "test:4")
    a = get(app, "/api/attribution?input=test:4&target=2")
    grad, _, _ = input_gradient(model, x, 2)
    cam, *_ = grad_cam(model, x, 2)
    assert a["target"] == 2 and np.allclose(decode(a["saliency"]), grad, rtol=1e-5, atol=1e-8)
    assert np.allclose(decode(a["cam"]), cam, rtol=1e-5, atol=1e-8)


def test_inputs_by_class_and_misclassified(app):
    src = app.explorer.source
    wrong = get(app, "/api/inputs?which=wrong&limit=500")["items"]
    assert wrong, "a 2-epoch LeNet misclassifies some of the 1000 images searched"
    for it in wrong[:5]:
        f = get(app, f"/api/forward?input={it['input']}")
        assert f["pred"] == it["pred"] != it["label"] == f["label"]
    sevens = get(app, "/api/inputs?which=class&class=7&limit=10")["items"]
    assert len(sevens) == 10 and all(src.test_set.labels[int(it["input"][5:])] == 7 for it in sevens)


def test_epoch_weights_replay(app, lenet_run):
    from glassnet.explore.epochs import epoch_file
    from glassnet.io import load_model_weights
    from glassnet.models import lenet5

    m = lenet5().eval()
    load_model_weights(m, epoch_file(lenet_run, 1))
    with no_grad():
        logits = m(model_input(app, "test:0"))[0]
    f = get(app, "/api/forward?input=test:0&epoch=1")
    assert np.allclose(f["logits"], logits, rtol=1e-6)
    final = get(app, "/api/forward?input=test:0&epoch=final")
    assert not np.allclose(final["logits"], f["logits"])
    assert "no kept weights" in get(app, "/api/forward?input=test:0&epoch=7", 400)["error"]


def test_upload_an_image_and_a_drawing(app):
    digit = np.zeros((140, 140), np.uint8)
    digit[20:120, 60:80] = 255  # a "1", light on dark
    up = json.loads(app.handle("POST", "/api/upload?kind=drawing", HOST, png(digit)).body)
    f = get(app, f"/api/forward?input={up['input']}")
    raw = decode(f["raw"])
    assert raw.shape == (1, 28, 28) and f["label"] is None
    ys, xs = np.nonzero(raw[0] > 0.1)
    assert 3 <= ys.min() and ys.max() <= 24 and abs(xs.mean() - 13.5) < 2  # framed like MNIST
    assert any("centre of mass" in s for s in f["steps"])
    dark_on_light = 255 - digit
    up2 = json.loads(app.handle("POST", "/api/upload?kind=image", HOST, png(dark_on_light)).body)
    f2 = get(app, f"/api/forward?input={up2['input']}")
    assert any("inverted" in s for s in f2["steps"])


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"GIF89a not really", "not an image"),
    (b"#!/bin/sh\nrm -rf /\n", "not an image"),
    (b"%PDF-1.4\n", "not an image"),
])
def test_upload_refuses_what_is_not_an_image(app, data, message):
    r = app.handle("POST", "/api/upload?kind=image", HOST, data)
    assert r.status == 400 and message in json.loads(r.body)["error"]


def test_upload_refuses_a_truncated_png(app):
    r = app.handle("POST", "/api/upload?kind=image", HOST, png(np.full((60, 60), 7, np.uint8))[:70])
    assert r.status == 400 and "corrupt image" in json.loads(r.body)["error"]


def test_upload_refuses_too_many_pixels(app, monkeypatch):
    from glassnet.explore import images

    monkeypatch.setattr(images, "MAX_PIXELS", 100 * 100)
    r = app.handle("POST", "/api/upload?kind=image", HOST, png(np.zeros((101, 100), np.uint8)))
    assert r.status == 400 and "the limit is 10,000 pixels" in json.loads(r.body)["error"]


def test_model_without_a_run_has_sample_inputs():
    from glassnet.explore import open_explorer
    from glassnet.explore.server import App

    app = App(open_explorer(model="resnet20"), "127.0.0.1", 8765)
    info = get(app, "/api/info")
    assert info["default_input"] == "sample:noise" and info["test_images"] == 0 and not info["can_draw"]
    kinds = {layer["name"]: layer["kind"] for layer in info["layers"]}
    assert kinds["layer1.0"] == "block" and kinds["bn1"] == "batchnorm"
    bn = get(app, "/api/detail?input=sample:noise&layer=bn1&c=3&y=4&x=5")
    assert bn["total"] == pytest.approx(bn["value"], rel=1e-5, abs=1e-6)
    strided = get(app, "/api/detail?input=sample:noise&layer=layer2.0.conv1&c=1&y=3&x=0")
    assert strided["stride"] == [2, 2] and strided["cols"] == [-1, 0, 1]
    assert strided["total"] == pytest.approx(strided["value"], rel=1e-5, abs=1e-6)
    assert "no test set" in get(app, "/api/forward?input=test:0", 400)["error"]


def user_model():
    """A model built by hand: Inception-like branches, a dilated residual body, padded average pooling."""
    import glassnet

    glassnet.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
        nn.Concat(nn.Conv2d(4, 2, 1), nn.Sequential(nn.Conv2d(4, 2, 3, padding=1), nn.ReLU())),
        nn.Residual(nn.Conv2d(4, 4, 3, padding=2, dilation=2), activation=nn.ReLU()),
        nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        nn.Flatten(), nn.Linear(4 * 6 * 6, 5),
    )


def test_a_model_built_by_hand(tmp_path):
    from glassnet.explore import Explorer, Source, explore
    from glassnet.explore.server import App

    model = user_model()
    app = App(Explorer(Source.from_module(model, (1, 11, 11), class_names=list("abcde"))), "127.0.0.1", 8765)
    info = get(app, "/api/info")
    assert info["classes"] == list("abcde") and info["graph"]["tree"]["children"][2]["kind"] == "concat"
    x = np.random.default_rng(0).random((1, 1, 11, 11), dtype=np.float32)
    with no_grad():
        logits = model(x)[0]
    f = get(app, "/api/forward?input=sample:noise")
    assert np.allclose(f["logits"], logits, rtol=1e-6)  # sample:noise is that seeded uniform image
    for layer, c, y, xx in (("3.body", 1, 0, 10), ("2.1.0", 0, 5, 5), ("4", 3, 5, 0)):
        d = get(app, f"/api/detail?input=sample:noise&layer={layer}&c={c}&y={y}&x={xx}")
        assert d["total"] == pytest.approx(d["value"], rel=1e-5, abs=1e-6), layer
    w = get(app, "/api/wgrad?input=sample:noise&target=2&layer=3.body&co=1&ci=3")  # dilation 2, padding 2
    assert np.allclose(w["dF"], w["library"], rtol=1e-4, atol=1e-7)
    page = explore(model, (1, 11, 11), export=tmp_path / "mine.html")
    assert page.stat().st_size > 10_000 and "forward?input=sample:noise" in page.read_text()
    with pytest.raises(ValueError, match="give input_size"):
        Source.from_module(model)
