import re

import numpy as np
import pytest
import torch
from torch import nn

from mnist_lessons.data.batches import TensorBatches
from mnist_lessons.models import LinearClassifier, NonlinearClassifier
from mnist_lessons.devices import pick_device
from mnist_lessons.training.loops import (History, check_learned, evaluate, fit, make_optimizer, seed_everything, train_one_epoch)


def toy_data(n=200, seed=0):
    """Images whose class is written as a bright row: easy to learn."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.2
    x[torch.arange(n), 0, 2 * y + 3, :] = 1.0
    return x, y


def run(seed, model_cls=NonlinearClassifier, epochs=3, **kwargs):
    seed_everything(seed)
    x, y = toy_data()
    model = model_cls()
    optimizer = make_optimizer("sgd", model.parameters(), lr=0.1)
    train = TensorBatches(x[:150], y[:150], 16, shuffle=True, seed=seed)
    val = TensorBatches(x[150:], y[150:], 64)
    return model, fit(model, train, val, optimizer, epochs=epochs, log_every=0, **kwargs)


def test_a_tiny_fit_lowers_the_loss_and_learns():
    _, history = run(0, LinearClassifier, epochs=5)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_acc[-1] > 80.0
    check_learned(history, min_val_acc=80.0)


def test_same_seed_gives_identical_history_and_weights():
    model_a, a = run(4)
    model_b, b = run(4)
    assert a.train_loss == b.train_loss and a.val_acc == b.val_acc
    for pa, pb in zip(model_a.parameters(), model_b.parameters()):
        assert torch.equal(pa, pb)
    _, c = run(5)
    assert c.train_loss != a.train_loss


def test_history_records_every_epoch_and_the_scheduled_lr():
    seed_everything(0)
    x, y = toy_data()
    model = LinearClassifier()
    optimizer = make_optimizer("sgd", model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    history = fit(model, TensorBatches(x, y, 32), TensorBatches(x, y, 64), optimizer, epochs=5, scheduler=scheduler, log_every=0)
    assert history.epoch == [1, 2, 3, 4, 5]
    assert history.lr == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])
    assert all(s > 0 for s in history.seconds)
    assert len(history) == 5 and history.last()["epoch"] == 5


def test_evaluate_is_independent_of_batch_size_and_leaves_weights_alone():
    x, y = toy_data()
    seed_everything(1)
    model = NonlinearClassifier()
    before = [p.clone() for p in model.parameters()]
    loss_fn = nn.CrossEntropyLoss()
    acc_small, loss_small = evaluate(TensorBatches(x, y, 7), model, loss_fn)
    acc_big, loss_big = evaluate(TensorBatches(x, y, 200), model, loss_fn)
    assert acc_small == pytest.approx(acc_big) and loss_small == pytest.approx(loss_big, rel=1e-5)
    assert not model.training
    expected = (model(x).argmax(1) == y).float().mean().item() * 100
    assert acc_big == pytest.approx(expected)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_train_one_epoch_takes_one_step_per_batch():
    x, y = toy_data(64)
    model = LinearClassifier()
    optimizer = make_optimizer("sgd", model.parameters(), lr=0.1)
    steps = []
    optimizer.register_step_post_hook(lambda *args: steps.append(1))
    train_one_epoch(TensorBatches(x, y, 10), model, nn.CrossEntropyLoss(), optimizer)
    assert len(steps) == 7 and model.training
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())


def test_logs_one_line_per_epoch(lessons_log):
    seed_everything(0)
    x, y = toy_data()
    model = LinearClassifier()
    fit(model, TensorBatches(x, y, 50), TensorBatches(x, y, 50), make_optimizer("sgd", model.parameters()), epochs=2)
    lines = [r.getMessage() for r in lessons_log.records if r.name == "mnist_lessons.training.loops"]
    assert len(lines) == 2
    assert re.fullmatch(r"epoch 1 \| train loss \d\.\d{3} acc \d+\.\d\d % \| val loss \d\.\d{3} acc \d+\.\d\d % "
                        r"\| lr 0\.05 \| \d+\.\d\d s", lines[0]), lines[0]  # each number says what it is


@pytest.mark.parametrize("epochs", [0, -1, 1.5])
def test_bad_epochs_are_rejected(epochs):
    model = LinearClassifier()
    x, y = toy_data(10)
    batches = TensorBatches(x, y, 5)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        fit(model, batches, batches, make_optimizer("sgd", model.parameters()), epochs=epochs)


@pytest.mark.parametrize("lr, error", [(0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                                       (True, ValueError), ("0.1", TypeError)])
def test_bad_learning_rate_is_rejected(lr, error):
    with pytest.raises(error, match="learning rate lr must be a number > 0"):
        make_optimizer("sgd", LinearClassifier().parameters(), lr=lr)


def test_numpy_scalars_are_accepted_where_numbers_are():
    model = LinearClassifier()
    optimizer = make_optimizer("sgd", model.parameters(), lr=np.float32(0.5))
    assert optimizer.defaults["lr"] == pytest.approx(0.5)
    x, y = toy_data(10)
    assert len(TensorBatches(x, y, np.int64(4))) == 3


def test_unknown_optimizer_lists_the_choices():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'.*sgd, adam"):
        make_optimizer("lbfgs", LinearClassifier().parameters())


def test_evaluate_refuses_an_empty_loader():
    with pytest.raises(ValueError, match="no batches"):
        evaluate([], LinearClassifier(), nn.CrossEntropyLoss())


def test_check_learned_catches_a_run_that_did_not_learn():
    history = History(epoch=[0, 1], train_loss=[1.0, 1.2], train_acc=[10, 9], val_loss=[1, 1], val_acc=[10, 9], lr=[0.1, 0.1], seconds=[1, 1])
    with pytest.raises(AssertionError, match="did not fall"):
        check_learned(history, 5)


def test_pick_device_defaults_to_the_current_accelerator_and_rejects_junk(monkeypatch):
    found = torch.accelerator.current_accelerator(check_available=True)
    assert pick_device() == (torch.device("cpu") if found is None else found)
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="not a device name"):
        pick_device("banana")
    # What pick_device asks, answered both ways, whatever this wheel and machine have.
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda check_available=False: None)
    assert pick_device() == pick_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="'cuda' was asked for but is not available"):
        pick_device("cuda")
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda check_available=False: torch.device("mps"))
    assert pick_device() == torch.device("mps")
    with pytest.raises(ValueError, match="'cuda' was asked for but is not available"):
        pick_device("cuda")


@pytest.mark.parametrize("seed", [-1, 1.5])
def test_bad_seed_is_rejected(seed):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(seed)


def test_a_diverging_run_stops_with_a_clear_error_naming_the_learning_rate():
    from mnist_lessons.training.loops import TrainingDiverged

    seed_everything(0)
    x, y = toy_data()
    model = NonlinearClassifier()
    optimizer = make_optimizer("sgd", model.parameters(), lr=1e6)
    with pytest.raises(TrainingDiverged, match="learning rate 1e\\+06 is probably too large") as caught:
        fit(model, TensorBatches(x, y, 16), TensorBatches(x, y, 64), optimizer, epochs=5, log_every=0)
    assert caught.value.epoch >= 1 and len(caught.value.history) == caught.value.epoch - 1


def test_on_epoch_end_sees_each_epoch_and_can_stop_training():
    seen = []

    def hook(model, history):
        seen.append(history.epoch[-1])
        return len(history) == 2

    _, history = run(0, epochs=5, on_epoch_end=hook)
    assert seen == [1, 2] and history.epoch == [1, 2]


def one_hot(y):
    return nn.functional.one_hot(y, 10)


@pytest.mark.parametrize("bad_labels, error, message", [
    (lambda y: y.float(), TypeError, r"got float32 labels: use y\.long\(\)$"),
    (lambda y: y + 1, ValueError, r"got labels from 1 to 10: numbered from 1\? use y - 1$"),
    (one_hot, ValueError, r"got shape \(16, 10\), one-hot rows: use y\.argmax\(1\)$"),
    (lambda y: y.int(), TypeError, "got int32 labels"),
])
def test_fit_names_labels_it_cannot_train_on_before_the_first_step(bad_labels, error, message):
    x, y = toy_data(48)
    model = LinearClassifier()
    before = model.linear.weight.detach().clone()
    batches = TensorBatches(x, bad_labels(y), 16)
    with pytest.raises(error, match=r"^fit\(\) train_loader: labels must be integer class labels 0-9 of shape \(N,\); " + message):
        fit(model, batches, batches, make_optimizer("sgd", model.parameters()), epochs=1, log_every=0)
    assert torch.equal(model.linear.weight, before)  # refused before any step


def test_evaluate_names_bad_labels_and_pairs_of_the_wrong_length():
    x, y = toy_data(20)
    model, loss_fn = LinearClassifier(), nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"^evaluate\(\): labels must be .* got labels from 1 to 10: numbered from 1"):
        evaluate(TensorBatches(x, y + 1, 20), model, loss_fn)
    with pytest.raises(ValueError, match=r"one per image; got shape \(10,\) for 20 images"):
        evaluate([(x, y[:10])], model, loss_fn)
    with pytest.raises(TypeError, match=r"^evaluate\(\) needs \(X, y\) batches.* got a batch of 1 item$"):
        evaluate([[x]], model, loss_fn)


def test_uint8_labels_and_dataloader_batches_are_accepted():
    x, y = toy_data(40)
    model = LinearClassifier()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y.to(torch.uint8)), batch_size=8)
    history = fit(model, loader, loader, make_optimizer("sgd", model.parameters()), epochs=1, log_every=0)
    assert len(history) == 1 and 0 <= history.val_acc[0] <= 100


def test_labels_are_checked_on_the_first_batch_only_not_every_step():
    """Labels are checked once per call, on the first batch: later batches are not inspected (PyTorch's own error)."""
    x, y = toy_data(32)
    bad_second = [(x[:16], y[:16]), (x[16:], y[16:] + 10)]
    with pytest.raises(IndexError):
        evaluate(bad_second, LinearClassifier(), nn.CrossEntropyLoss())


def test_fit_refuses_an_optimizer_over_another_models_parameters():
    x, y = toy_data(32)
    model, other = LinearClassifier(), LinearClassifier()
    batches = TensorBatches(x, y, 16)
    for optimizer in (torch.optim.SGD(other.parameters(), lr=0.05), "sgd"):
        with pytest.raises(ValueError, match=r"holds none of this model's parameters, so training would change nothing"):
            fit(model, batches, batches, optimizer, epochs=1, log_every=0)
    # an optimiser over part of the model (fine-tuning one layer) is the model's own
    part = NonlinearClassifier()
    fit(part, batches, batches, make_optimizer("sgd", part.layers[-1].parameters()), epochs=1, log_every=0)


@pytest.mark.parametrize("batches", [lambda x, y: [x], lambda x, y: x])
def test_predict_says_it_needs_images_with_labels(batches):
    from mnist_lessons.models import predict

    x, y = toy_data(8)
    with pytest.raises(TypeError, match=r"^predict\(\) needs \(X, y\) batches, images with their labels"):
        predict(LinearClassifier(), batches(x, y))
    predicted, labels = predict(LinearClassifier(), [(x[0], 3), (x[1], 5)])  # single (image, label) samples still work
    assert labels.tolist() == [3, 5] and predicted.shape == (2,)
