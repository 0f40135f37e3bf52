"""The fit loop: history, exact resume (epoch boundary, mid-epoch, Ctrl-C), early stopping, NaN, errors."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from train_helpers import _keep_rng, small_net, tiny_data_fixture  # noqa: F401 (fixtures)

import glassnet.backend as B
from glassnet.data import Compose, DataLoader, Normalize, RandomCrop
from glassnet.optim import SGD, Adam
from glassnet.optim.lr_scheduler import OneCycleLR, StepLR
from glassnet.train import Callback, CheckpointError, EarlyStopping, Trainer, TrainingInterrupted


def make_trainer(tiny_data, ckpt=None, epochs=2, callbacks=(), early_stopping=None, lr=0.01, schedule="onecycle"):
    """A fresh model/optimizer/scheduler/loaders from seed 0: two calls build identical trainers."""
    B.manual_seed(0)
    train, val = tiny_data
    model = small_net()
    opt = Adam(model.parameters(), lr=lr) if schedule != "none" else SGD(model.parameters(), lr=lr)
    aug = Compose([RandomCrop(28, padding=2), Normalize(0.1307, 0.3081)])
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=5, transform=aug)
    val_loader = DataLoader(val, batch_size=50, transform=Normalize(0.1307, 0.3081))
    if schedule == "onecycle":
        sched, interval = OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=len(loader)), "step"
    elif schedule == "step":
        sched, interval = StepLR(opt, step_size=1, gamma=0.5), "epoch"
    else:
        sched, interval = None, "epoch"
    return Trainer(model, opt, loader, val_loader=val_loader, epochs=epochs, scheduler=sched,
                   scheduler_interval=interval, checkpoint_dir=ckpt, callbacks=callbacks,
                   early_stopping=early_stopping)


def weights(trainer):
    return trainer.model.state_dict()


def assert_same_run(a, b):
    """Bit-identical weights, optimizer moments, learning rate and history (but for wall-clock seconds)."""
    wa, wb = weights(a), weights(b)
    assert list(wa) == list(wb)
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    for i in sa["state"]:
        for name, v in sa["state"][i].items():
            np.testing.assert_array_equal(v, sb["state"][i][name])
    assert a.optimizer.param_groups[0]["lr"] == b.optimizer.param_groups[0]["lr"]
    strip = [[{k: v for k, v in r.items() if k != "seconds"} for r in t.history] for t in (a, b)]
    assert strip[0] == strip[1]


class StopAt(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) after batch ``step`` of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch, step):
        self.epoch, self.step = epoch, step

    def on_batch_end(self, trainer, step, logs):
        if trainer.epoch == self.epoch and step == self.step:
            raise KeyboardInterrupt


def test_fit_records_history_and_learns(tiny_data):
    t = make_trainer(tiny_data, epochs=3)
    history = t.fit()
    assert [r["epoch"] for r in history] == [1, 2, 3]
    for r in history:
        assert set(r) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}
        assert 0 <= r["train_acc"] <= 1 and 0 <= r["val_acc"] <= 1 and r["seconds"] > 0
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_acc"] > 0.5  # 10 classes: chance is 0.1
    # one-cycle: the last epoch's last step ran at about max_lr / (25 * 1e4)
    assert history[-1]["lr"] < 1e-6 and t.epoch == 3 and t.step == 0


def test_train_metrics_are_exact_sums_over_the_epoch(tiny_data):
    """train_loss is the per-sample mean of the batch losses, train_acc the fraction correct."""
    seen = []

    class Spy(Callback):
        def on_batch_end(self, trainer, step, logs):
            seen.append((logs["loss"], logs["acc"]))

    t = make_trainer(tiny_data, epochs=1, callbacks=[Spy()])
    t.fit()
    sizes = [32] * 6  # 192 images, batch 32
    loss = sum(l * n for (l, _), n in zip(seen, sizes, strict=True)) / 192
    acc = sum(a * n for (_, a), n in zip(seen, sizes, strict=True)) / 192
    assert t.history[0]["train_loss"] == pytest.approx(loss, rel=1e-12)
    assert t.history[0]["train_acc"] == pytest.approx(acc, rel=1e-12)


def test_resume_after_an_epoch_gives_identical_weights(tiny_data, tmp_path):
    ref = make_trainer(tiny_data, epochs=2)
    ref.fit()
    first = make_trainer(tiny_data, tmp_path / "ckpt", epochs=2, callbacks=[StopAt(1, 0)])
    with pytest.raises(TrainingInterrupted):
        first.fit()  # stops in epoch 2; the checkpoint of epoch 1's end was written before
    again = make_trainer(tiny_data, tmp_path / "ckpt2", epochs=2)
    again.load_checkpoint(tmp_path / "ckpt")
    assert (again.epoch, again.step) == (1, 1)
    again.fit()
    assert_same_run(ref, again)


@pytest.mark.parametrize("epoch, step", [(0, 2), (1, 5), (0, 0)])
def test_interrupt_mid_epoch_and_resume_is_bitwise_identical(tiny_data, tmp_path, epoch, step):
    """Dropout, random crops, shuffling, Adam and one-cycle all continue exactly where they stopped."""
    ref = make_trainer(tiny_data, epochs=2)
    ref.fit()
    ckpt = tmp_path / "ckpt"
    first = make_trainer(tiny_data, ckpt, epochs=2, callbacks=[StopAt(epoch, step)])
    with pytest.raises(TrainingInterrupted) as info:
        first.fit()
    assert info.value.checkpoint == ckpt and (info.value.epoch, info.value.step) == (epoch, step + 1)
    assert "checkpoint saved to" in str(info.value)
    second = make_trainer(tiny_data, ckpt, epochs=2)
    second.load_checkpoint()
    second.fit()
    assert_same_run(ref, second)


def test_real_sigint_finishes_the_batch_then_saves(tiny_data, tmp_path):
    """SIGINT during a step only sets a flag: the step completes, a checkpoint is saved, resume is exact."""
    ref = make_trainer(tiny_data, epochs=2)
    ref.fit()

    class SigintInForward(Callback):
        def on_epoch_begin(self, trainer, epoch):
            if epoch == 1:
                forward = trainer.model.forward

                def forward_then_signal(x):
                    y = forward(x)
                    if trainer.step == 3:
                        os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the step
                    return y

                trainer.model.forward = forward_then_signal

    ckpt = tmp_path / "ckpt"
    first = make_trainer(tiny_data, ckpt, epochs=2, callbacks=[SigintInForward()])
    with pytest.raises(TrainingInterrupted) as info:
        first.fit()
    assert (info.value.epoch, info.value.step) == (1, 4)  # the signalled step was finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    second = make_trainer(tiny_data, ckpt, epochs=2)
    second.load_checkpoint()
    second.fit()
    assert_same_run(ref, second)


def test_interrupt_before_the_update_discards_the_step(tiny_data, tmp_path):
    """A KeyboardInterrupt raised inside forward: the step's dropout draws are undone, the state saved is exact."""
    ref = make_trainer(tiny_data, epochs=2)
    ref.fit()

    class RaiseInForward(Callback):
        def on_epoch_begin(self, trainer, epoch):
            forward = trainer.model.forward

            def forward_and_raise(x):
                y = forward(x)  # dropout has drawn from the RNG by now
                if trainer.epoch == 0 and trainer.step == 4:
                    raise KeyboardInterrupt
                return y

            trainer.model.forward = forward_and_raise

    ckpt = tmp_path / "ckpt"
    first = make_trainer(tiny_data, ckpt, epochs=2, callbacks=[RaiseInForward()])
    with pytest.raises(TrainingInterrupted) as info:
        first.fit()
    assert (info.value.epoch, info.value.step) == (0, 4)
    second = make_trainer(tiny_data, ckpt, epochs=2)
    second.load_checkpoint()
    second.fit()
    assert_same_run(ref, second)


def test_interrupt_during_the_update_saves_nothing_new(tiny_data, tmp_path):
    ckpt = tmp_path / "ckpt"
    t = make_trainer(tiny_data, ckpt, epochs=2)
    calls = {"n": 0}
    update = t.optimizer._update

    def update_and_raise(p, grad, state, group):
        calls["n"] += 1
        if calls["n"] == 6 * 4 + 2 * 4 + 2:  # 6 steps x 4 parameters per epoch: epoch 2, step 3, parameter 2
            raise KeyboardInterrupt
        update(p, grad, state, group)

    t.optimizer._update = update_and_raise
    with pytest.raises(TrainingInterrupted) as info:
        t.fit()
    assert "interrupted while updating" in str(info.value) and info.value.checkpoint == ckpt
    resumed = make_trainer(tiny_data, tmp_path / "other", epochs=2)
    state = resumed.load_checkpoint(ckpt)
    assert (state["epoch"], state["step"]) == (1, 0)  # the end-of-epoch-1 checkpoint, untouched


def test_interrupt_without_checkpoint_dir_says_nothing_saved(tiny_data):
    t = make_trainer(tiny_data, None, epochs=1, callbacks=[StopAt(0, 1)])
    with pytest.raises(TrainingInterrupted, match="nothing was saved") as info:
        t.fit()
    assert info.value.checkpoint is None


def test_epoch_schedulers_resume_too(tiny_data, tmp_path):
    ref = make_trainer(tiny_data, epochs=3, schedule="step")
    ref.fit()
    assert ref.history[-1]["lr"] == pytest.approx(0.01 * 0.25)
    ckpt = tmp_path / "ckpt"
    first = make_trainer(tiny_data, ckpt, epochs=3, schedule="step", callbacks=[StopAt(1, 3)])
    with pytest.raises(TrainingInterrupted):
        first.fit()
    second = make_trainer(tiny_data, ckpt, epochs=3, schedule="step")
    second.load_checkpoint()
    second.fit()
    assert_same_run(ref, second)


def test_early_stopping_when_validation_does_not_improve(tiny_data, tmp_path):
    """With lr = 0 the validation loss repeats exactly: no improvement, so stop after 1 + patience epochs."""
    es = EarlyStopping(patience=2, monitor="val_loss")
    t = make_trainer(tiny_data, tmp_path / "ckpt", epochs=10, early_stopping=es, lr=0.0, schedule="none")
    history = t.fit()
    assert len(history) == 3 and t.stopped_early and es.best_epoch == 1 and es.bad_epochs == 2
    assert history[0]["val_loss"] == history[1]["val_loss"] == history[2]["val_loss"]
    again = make_trainer(tiny_data, None, epochs=10, early_stopping=EarlyStopping(2), lr=0.0, schedule="none")
    again.load_checkpoint(tmp_path / "ckpt")
    assert again.stopped_early and again.fit() == history  # a stopped run stays stopped


def test_non_finite_loss_names_epoch_and_step(tiny_data, tmp_path):
    train, val = tiny_data
    images = train.images.astype(np.float32) / 255
    images[100, 0, 5, 5] = np.nan  # in batch 4 (index 3) without shuffling
    B.manual_seed(0)
    model = small_net()
    loader = DataLoader(type(train)(images, train.labels), batch_size=32)
    t = Trainer(model, Adam(model.parameters()), loader, epochs=2, checkpoint_dir=tmp_path / "ckpt")
    with pytest.raises(FloatingPointError, match=r"^epoch 1, step 4/6: .*loss is nan"):
        t.fit()
    assert not (tmp_path / "ckpt").exists()  # nothing half-written


def test_checkpoint_that_does_not_fit_is_refused(tiny_data, tmp_path):
    t = make_trainer(tiny_data, tmp_path / "ckpt", epochs=1)
    t.fit()
    train, val = tiny_data
    B.manual_seed(0)
    model = small_net()
    other = Trainer(model, Adam(model.parameters()), DataLoader(train, batch_size=64), epochs=1,
                    scheduler=OneCycleLR(Adam(model.parameters()), max_lr=0.1, total_steps=3))
    with pytest.raises(CheckpointError, match="32|64|batches per epoch"):
        other.load_checkpoint(tmp_path / "ckpt")


def test_constructor_checks():
    from glassnet.data import ArrayDataset

    model = small_net()
    loader = DataLoader(ArrayDataset(np.zeros((3, 1, 28, 28), np.uint8), [0, 1, 2]), batch_size=4, drop_last=True)
    with pytest.raises(ValueError, match="no batches"):
        Trainer(model, Adam(model.parameters()), loader)
    loader = DataLoader(ArrayDataset(np.zeros((3, 1, 28, 28), np.uint8), [0, 1, 2]), batch_size=2)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        Trainer(model, Adam(model.parameters()), loader, epochs=0)
    with pytest.raises(ValueError, match="needs a val_loader"):
        Trainer(model, Adam(model.parameters()), loader, early_stopping=EarlyStopping(1))
    with pytest.raises(ValueError, match="no directory"):
        Trainer(model, Adam(model.parameters()), loader).save_checkpoint()


def test_trainer_skips_the_image_gradient_unless_asked():
    from glassnet.models import lenet5
    from glassnet.optim import SGD
    from glassnet.train import Trainer

    class Loader(list):
        def set_epoch(self, epoch):
            pass

        def state_dict(self):
            return {}

    model = lenet5()
    x = np.zeros((2, 1, 28, 28), np.float32)
    asked = []
    original = model.backward
    model.backward = lambda dy, input_grad=True: asked.append(input_grad) or original(dy, input_grad=input_grad)
    Trainer(model, SGD(model.parameters(), lr=0.1), Loader([(x, np.array([0, 1]))]), progress=False).fit()
    Trainer(model, SGD(model.parameters(), lr=0.1), Loader([(x, np.array([0, 1]))]), input_grad=True, progress=False).fit()
    assert asked == [False, True]
    assert model.features[0].needs_input_grad is True  # the model itself is left as it was
