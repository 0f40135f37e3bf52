"""``glassnet train``: a run through the command line, its options, Ctrl-C and resume, and one-line errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import _keep_rng, tiny_mnist_fixture, trained_run_fixture  # noqa: F401 (fixtures)

from glassnet.cli import main
from glassnet.io import load_weights
from glassnet.train import Trainer


def train_args(data, out, *more):
    return ["train", "--dataset", "mnist", "--data-dir", str(data), "--epochs", "2", "--batch-size", "32",
            "--out", str(out), "--no-progress", *more]


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_help_as_a_subprocess():
    r = subprocess.run([sys.executable, "-m", "glassnet", "train", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0
    for option in ("--model", "--dataset", "--data-dir", "--epochs", "--batch-size", "--lr", "--optimizer",
                   "--seed", "--out", "--resume"):
        assert option in r.stdout
    assert "LeNet-5 on the MNIST subset" in r.stdout


def test_train_prints_epochs_and_test_accuracy_and_writes_the_run(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(tiny_mnist, out, "--optimizer", "sgd", "--lr", "0.05", "--schedule", "cosine",
                           "--seed", "3", "--val-split", "0.2", "--augment", "none")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("epoch 1/2  train loss ") and " val loss " in lines[0]
    assert lines[2].startswith("test accuracy: ") and lines[3] == f"run saved to {out}"
    config = json.loads((out / "config.json").read_text())
    assert (config["optimizer"], config["lr"], config["schedule"], config["seed"], config["val_split"],
            config["augment"], config["data_root"]) == ("sgd", 0.05, "cosine", 3, 0.2, "none", str(tiny_mnist))
    for name in ("model.safetensors", "history.json", "curves.png", "metrics.json", "checkpoint/state.json"):
        assert (out / name).is_file(), name
    reported = float(lines[2].split()[2].rstrip("%")) / 100
    assert reported == pytest.approx(json.loads((out / "metrics.json").read_text())["accuracy"], abs=5e-5)


def test_ctrl_c_saves_exits_130_and_resume_matches_an_uninterrupted_run(tiny_mnist, tmp_path, capsys, monkeypatch):
    assert main(train_args(tiny_mnist, tmp_path / "whole")) == 0
    calls = {"n": 0}
    check = Trainer._check_interrupt

    def interrupt_at_batch_12(self):
        calls["n"] += 1
        if calls["n"] == 12:  # after batch 12 of 9 + 9: in epoch 2
            raise KeyboardInterrupt
        check(self)

    monkeypatch.setattr(Trainer, "_check_interrupt", interrupt_at_batch_12)
    cut = tmp_path / "cut"
    capsys.readouterr()
    assert main(train_args(tiny_mnist, cut)) == 130
    err = capsys.readouterr().err
    assert f"checkpoint saved to {cut / 'checkpoint'}" in err and f"glassnet train --resume {cut}" in err
    assert not (cut / "model.safetensors").exists()
    monkeypatch.setattr(Trainer, "_check_interrupt", check)
    assert main(["train", "--resume", str(cut), "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith(f"resuming {cut} at epoch 2, batch 2 of 9")
    a, b = load_weights(tmp_path / "whole" / "model.safetensors"), load_weights(cut / "model.safetensors")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_diverging_loss_is_one_line_naming_epoch_and_step(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(tiny_mnist, out, "--lr", "1e6", "--schedule", "constant", "--optimizer", "sgd",
                           "--momentum", "0")) == 2
    err = one_line_error(capsys, "glassnet train: error: epoch ", "the loss is")
    assert " step " in err and "/9: " in err
    assert not out.exists()  # it diverged in epoch 1: no checkpoint, so no run directory is left


@pytest.mark.parametrize("args, needles", [
    (["--model", "lenet6"], ["unknown model 'lenet6'; valid names:", "lenet5"]),
    (["--dataset", "imagenet"], ["unknown dataset 'imagenet'; valid names:"]),
    (["--epochs", "0"], ["argument --epochs: must be an integer >= 1, got '0'"]),
    (["--arg", "width"], ["--arg expects KEY=VALUE"]),
    (["--model", "resnet20"], ["cannot take the mnist images (1x28x28)"]),
])
def test_bad_options_are_one_line_and_write_nothing(tiny_mnist, tmp_path, capsys, args, needles):
    out = tmp_path / "run"
    assert main(train_args(tiny_mnist, out, *args)) == 2
    one_line_error(capsys, "glassnet train: error: ", *needles)
    assert not out.exists()


def test_missing_and_corrupt_data_files(tmp_path, capsys, tiny_mnist):
    assert main(train_args(tmp_path / "empty", tmp_path / "run")) == 2
    err = one_line_error(capsys, "train-images-idx3-ubyte.gz", "not found in", "Add --download to fetch them",
                         "--data-dir DIR")
    assert "download=True" not in err and "root=" not in err  # command-line words, not the Python API's
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in tiny_mnist.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    data = gzip.decompress((bad / "train-images-idx3-ubyte.gz").read_bytes())
    (bad / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(data[: len(data) // 2]))
    assert main(train_args(bad, tmp_path / "run")) == 2
    one_line_error(capsys, "train-images-idx3-ubyte.gz")
    assert not (tmp_path / "run").exists()


def test_an_existing_run_is_not_overwritten(trained_run, tmp_path, capsys, tiny_mnist):
    before = (trained_run / "model.safetensors").read_bytes()
    assert main(train_args(tiny_mnist, trained_run)) == 2
    one_line_error(capsys, "already holds a run", "--resume")
    assert (trained_run / "model.safetensors").read_bytes() == before
    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    one_line_error(capsys, "no such run directory")


def test_resume_refuses_options_that_would_change_the_run(trained_run, capsys):
    assert main(["train", "--resume", str(trained_run), "--epochs", "5", "--lr-step", "2"]) == 2
    one_line_error(capsys, "--resume continues a run with its own config.json; drop --epochs, --lr-step")


def test_step_schedule_options_reach_the_config(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    assert main(train_args(tiny_mnist, out, "--schedule", "step", "--lr-step", "1", "--lr-gamma", "0.5",
                           "--lr", "0.004", "--weight-decay", "0.0001")) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["lr_step"], config["lr_gamma"], config["weight_decay"]) == (1, 0.5, 0.0001)
    history = json.loads((out / "history.json").read_text())["epochs"]
    assert [h["lr"] for h in history] == [0.004, 0.002]


def test_no_options_means_the_documented_defaults():
    from glassnet.cli import build_parser
    from glassnet.cli.train import build_config
    from glassnet.train import TrainConfig

    config = build_config(build_parser().parse_args(["train"]))
    assert config == TrainConfig()
    assert (config.model, config.dataset, config.data_root) == ("lenet5", "mnist-subset", None)
