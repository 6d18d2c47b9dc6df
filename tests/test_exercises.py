"""The exercise checkers: each passes the package's own solution and names each mistake of its catalogue."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnist_lessons import exercises as ex
from mnist_lessons.models import NonlinearClassifier
from mnist_lessons.training.loops import evaluate, train_one_epoch


# --- train_one_epoch and one training step: right, and each mistake ----------------------------------


def no_zero_grad(loader, model, loss_fn, optimizer):
    model.train()
    for X, y in loader:
        loss_fn(model(X), y).backward()
        optimizer.step()


def zero_grad_between(loader, model, loss_fn, optimizer):
    model.train()
    for X, y in loader:
        loss_fn(model(X), y).backward()
        optimizer.zero_grad()
        optimizer.step()


def no_train_mode(loader, model, loss_fn, optimizer):
    for X, y in loader:
        loss_fn(model(X), y).backward()
        optimizer.step()
        optimizer.zero_grad()


def softmax_first(loader, model, loss_fn, optimizer):
    model.train()
    for X, y in loader:
        loss_fn(torch.softmax(model(X), dim=1), y).backward()
        optimizer.step()
        optimizer.zero_grad()


def no_step(loader, model, loss_fn, optimizer):
    model.train()
    for X, y in loader:
        loss_fn(model(X), y).backward()
        optimizer.zero_grad()


def no_backward(loader, model, loss_fn, optimizer):
    model.train()
    for X, y in loader:
        loss_fn(model(X), y)
        optimizer.step()
        optimizer.zero_grad()


def first_batch_only(loader, model, loss_fn, optimizer):
    model.train()
    X, y = loader[0]
    loss_fn(model(X), y).backward()
    optimizer.step()
    optimizer.zero_grad()


def raises(loader, model, loss_fn, optimizer):
    model.train()
    for X, y in loader:
        loss = loss_fn(model(X), y.float())  # CrossEntropyLoss wants class indices: a RuntimeError
        loss.backward()


EPOCH_MISTAKES = [
    (no_zero_grad, "never zeroed"),
    (zero_grad_between, "between loss.backward() and optimizer.step()"),
    (no_train_mode, "call model.train()"),
    (softmax_first, "applies the softmax itself"),
    (no_step, "call optimizer.step()"),
    (no_backward, "call loss.backward()"),
    (first_batch_only, "1 optimiser steps for 3 batches"),
    (raises, "your function raised"),
]


def test_train_one_epoch_passes_the_package_s_own():
    feedback = ex.check_train_one_epoch(train_one_epoch)
    assert feedback.ok is True, feedback


@pytest.mark.parametrize("fn, phrase", EPOCH_MISTAKES, ids=[fn.__name__ for fn, _ in EPOCH_MISTAKES])
def test_train_one_epoch_names_each_mistake(fn, phrase):
    feedback = ex.check_train_one_epoch(fn)
    assert feedback.ok is False and phrase in feedback.message, feedback


def test_an_exception_names_the_student_s_line():
    feedback = ex.check_train_one_epoch(raises)
    assert "y.float()" in feedback.message and "RuntimeError" in feedback.message, feedback


def step_returns_tensor(model, loss_fn, optimizer, X, y):
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss


def step_without_reset(model, loss_fn, optimizer, X, y):
    model.train()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def test_training_step_passes_the_reference_and_names_mistakes():
    assert ex.check_training_step(ex.reference_training_step).ok is True
    assert "return loss.item()" in ex.check_training_step(step_returns_tensor).message
    assert "never zeroed" in ex.check_training_step(step_without_reset).message


# --- evaluate ------------------------------------------------------------------------------------


def eval_no_eval_mode(loader, model, loss_fn):
    with torch.no_grad():
        right = total = n = 0
        for X, y in loader:
            pred = model(X)
            total += loss_fn(pred, y).item() * len(y)
            right += (pred.argmax(1) == y).sum().item()
            n += len(y)
    return 100 * right / n, total / n


def eval_batch_means(loader, model, loss_fn):
    model.eval()
    accs, losses = [], []
    with torch.no_grad():
        for X, y in loader:
            pred = model(X)
            accs.append(100 * (pred.argmax(1) == y).float().mean().item())
            losses.append(loss_fn(pred, y).item())
    return sum(accs) / len(accs), sum(losses) / len(losses)


def eval_loss_batch_means(loader, model, loss_fn):
    accuracy, _ = evaluate(loader, model, loss_fn)
    return accuracy, eval_batch_means(loader, model, loss_fn)[1]


def eval_fraction(loader, model, loss_fn):
    accuracy, loss = evaluate(loader, model, loss_fn)
    return accuracy / 100, loss


def eval_softmax(loader, model, loss_fn):
    model.eval()
    with torch.no_grad():
        X, y = loader[0]
        loss_fn(torch.softmax(model(X), 1), y)
    return evaluate(loader, model, loss_fn)


def eval_with_grad(loader, model, loss_fn):
    model.eval()
    for X, y in loader:
        model(X)
    return 0.0, 0.0


def eval_trains(loader, model, loss_fn):
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for X, y in loader:
        loss_fn(model(X), y).backward()
        optimizer.step()
    return 0.0, 0.0


EVAL_MISTAKES = [
    (eval_no_eval_mode, "call model.eval()"),
    (eval_batch_means, "average of the batches' accuracies"),
    (eval_loss_batch_means, "average of the batches' mean losses"),
    (eval_fraction, "is a fraction"),
    (eval_softmax, "give nn.CrossEntropyLoss the model's raw scores"),
    (eval_with_grad, "torch.no_grad()"),
    (eval_trains, "the weights changed"),
]


def test_evaluate_passes_the_package_s_own():
    feedback = ex.check_evaluate(evaluate)
    assert feedback.ok is True, feedback


@pytest.mark.parametrize("fn, phrase", EVAL_MISTAKES, ids=[fn.__name__ for fn, _ in EVAL_MISTAKES])
def test_evaluate_names_each_mistake(fn, phrase):
    feedback = ex.check_evaluate(fn)
    assert feedback.ok is False and phrase in feedback.message, feedback


# --- the multilayer model, the choice, the sanity checks, guesses ----------------------------------


class TwoLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)


class EndsInSoftmax(TwoLinear):
    def forward(self, x):
        return torch.softmax(torch.relu(self.net[1](self.net[0](x))) @ torch.ones(64, 10), dim=1)


class WrongShape(TwoLinear):
    def forward(self, x):
        return self.net(x)[:, :5]


class Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(784, 64), nn.Linear(64, 10)]  # a plain list: the parameters are not registered
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        return self.layers[1](torch.relu(self.layers[0](x.flatten(1)))) + self.bias


@pytest.mark.parametrize("model, phrase", [(TwoLinear, "linear in its input"), (EndsInSoftmax, "a softmax at the end"),
                                           (WrongShape, "(16, 5)"), (Frozen, "registered")])
def test_model_names_each_mistake(model, phrase):
    feedback = ex.check_model(model)
    assert feedback.ok is False and phrase in feedback.message, feedback


def test_model_passes_the_package_s_network_class_and_instance():
    assert ex.check_model(NonlinearClassifier).ok is True
    assert ex.check_model(NonlinearClassifier()).ok is True


def test_choice_by_validation_passes_and_by_test_or_training_is_named():
    assert ex.check_choice(ex.reference_choice).ok is True
    assert ex.check_choice(lambda rs: max(rs, key=lambda r: r["val_acc"])["setting"]).ok is True
    by_test = ex.check_choice(lambda rs: max(rs, key=lambda r: r["test_acc"]))
    assert by_test.ok is False and "chose by test accuracy" in by_test.message
    by_train = ex.check_choice(lambda rs: max(rs, key=lambda r: r["train_acc"]))
    assert by_train.ok is False and "chose by training accuracy" in by_train.message


def test_sanity_checks():
    assert ex.check_sanity(initial_loss=2.30, one_batch_loss=0.02, chance_accuracy=11.2).ok is True
    assert "far from ln 10" in ex.check_sanity(initial_loss=9.1).message
    assert "not near 0" in ex.check_sanity(one_batch_loss=1.2).message
    assert "expected about 10 %" in ex.check_sanity(chance_accuracy=0.11).message
    assert ex.check_sanity().ok is None


def test_guesses_are_confirmed_refuted_or_missing():
    assert ex.compare_guess(90, 87.6, tolerance=5, unit=" %").ok is True
    assert ex.compare_guess(50, 87.6, tolerance=5, unit=" %").ok is False
    assert ex.compare_guess(None, 87.6, tolerance=5).ok is None


def test_hints_and_solutions_print(capsys):
    ex.hint("evaluate")
    ex.solution("train_one_epoch")
    out = capsys.readouterr().out
    assert "torch.no_grad()" in out and "def train_one_epoch" in out
    with pytest.raises(ValueError, match="unknown exercise 'loop'"):
        ex.hint("loop")


# --- the homework's results table: checked against the package's own runs ----------------------------


@pytest.fixture(scope="module")
def small_splits():
    from mnist_lessons.data.batches import MNISTSplits, Split

    g = torch.Generator().manual_seed(0)
    y = torch.arange(96) % 10
    x = torch.rand(96, 1, 28, 28, generator=g) * 0.2
    for label in range(10):  # a bar whose row gives the label: learnable in one epoch
        x[y == label, 0, 2 + 2 * label : 4 + 2 * label, 4:24] = 1.0
    wrong = torch.where(torch.arange(96) % 2 == 0, y, (y + 1) % 10)  # half the validation labels unlearnable: the two columns differ
    return MNISTSplits(Split(x, y), Split(x, wrong), Split(x, wrong))


def table_of(splits, column="val_acc", sizes=(16, 32), seeds=(0, 1, 2)):
    from mnist_lessons.training.recipe import RunConfig, run

    return {bs: {s: getattr(run(RunConfig(batch_size=bs, seed=s, epochs=5, hidden_sizes=(8,), lr=0.5), splits).history,
                            column)[-1] for s in seeds} for bs in sizes}


def test_results_table_of_the_package_runs_passes_and_each_mistake_is_named(small_splits):
    from mnist_lessons.training.recipe import RunConfig

    base = RunConfig(epochs=5, hidden_sizes=(8,), lr=0.5)
    check = lambda table: ex.check_results(table, "batch_size", small_splits, base)
    right = table_of(small_splits)
    assert check(right).ok is True
    assert "within its uncertainty" in check(right).message
    assert check(None).ok is None
    assert "in %" in check({bs: {s: v / 100 for s, v in row.items()} for bs, row in right.items()}).message
    assert "at least 3" in check({bs: {0: row[0]} for bs, row in right.items()}).message
    assert "different seeds" in check({16: right[16], 32: {1: 1.0, 2: 2.0, 3: 3.0}}).message
    shifted = {bs: {s: v + 5.0 + 0.1 * s for s, v in row.items()} for bs, row in right.items()}
    assert check(shifted).ok is False and "told apart" in check(shifted).message
    train = table_of(small_splits, "train_acc")
    assert min(train[16].values()) > max(right[16].values()) + 10  # the data makes the two columns differ
    assert "training accuracy" in check(train).message
    assert "not a setting" in ex.check_results({"x": right[16]}, "no_such_setting", small_splits, base).message
