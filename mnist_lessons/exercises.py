"""Checkers for the book's exercises: each runs your function on tiny seeded data and names its first mistake."""

from __future__ import annotations

import copy
import inspect
import math
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
from torch import nn

from mnist_lessons.checks import check_choice as check_one_of
from mnist_lessons.config import MIN_SEEDS, SEEDS
from mnist_lessons.experiments.verdicts import verdict
from mnist_lessons.models import NonlinearClassifier
from mnist_lessons.training import loops
from mnist_lessons.training.recipe import RunConfig, run


@dataclass(frozen=True)
class Feedback:
    """A checker's answer: ``ok`` is True (right), False (a mistake) or None (nothing to check yet)."""

    exercise: str
    ok: bool | None
    message: str

    def __repr__(self) -> str:  # str() uses it too
        mark = {True: "✓ right", False: "✗ not yet", None: "·"}[self.ok]
        return f"{mark} ({self.exercise}): {self.message}"


def _probabilities(scores: torch.Tensor) -> bool:
    """Whether every row of ``scores`` is non-negative and sums to 1: a softmax was applied."""
    rows = scores.detach().sum(dim=1)
    return bool((scores >= 0).all()) and torch.allclose(rows, torch.ones_like(rows), atol=1e-4)


class _Watch:
    """Records, in order, what a student's function does to the model, the loss and the optimiser."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> None:
        self.events: list[str] = []  # backward, step and zero_grad, in order
        self.forwards: list[tuple[bool, bool]] = []  # each forward pass's (training mode, autograd on)
        self.softmaxed = False
        model.register_forward_pre_hook(lambda net, _: self.forwards.append((net.training, torch.is_grad_enabled())))
        next(model.parameters()).register_hook(lambda grad: self.events.append("backward"))  # grad unchanged
        if optimizer is not None:
            for name in ("step", "zero_grad"):
                setattr(optimizer, name, self._wrap(name, getattr(optimizer, name)))

    def _wrap(self, name: str, method: Callable) -> Callable:
        def recorded(*args, **kwargs):
            self.events.append(name)
            return method(*args, **kwargs)
        return recorded

    def loss(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy, noting whether it was given probabilities rather than raw scores."""
        self.softmaxed |= _probabilities(scores)
        return nn.functional.cross_entropy(scores, labels)


def _raised(exercise: str, error: Exception, fn: Callable) -> Feedback:
    """The exception a student's function raised, at the last line of their own code it passed through."""
    frames = traceback.extract_tb(error.__traceback__)
    own = getattr(getattr(fn, "__code__", None), "co_filename", None)
    frame = next((f for f in reversed(frames) if f.filename == own), frames[-1])
    return Feedback(exercise, False, f"your function raised {type(error).__name__}: {error} "
                                     f"(line {frame.lineno}: {frame.line!r}). Fix that line and run the check again.")


def _seeded(fn: Callable, *args, seed: int = 2) -> Any:
    """``fn(*args)`` with the global generator seeded; its state is restored after."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return fn(*args)


def _attempt(exercise: str, fn: Callable, *args) -> tuple[Any, Feedback | None]:
    """The student's ``fn(*args)``, seeded: what it returned, or the exception it raised as feedback."""
    try:
        return _seeded(fn, *args), None
    except Exception as error:  # the student's code: report it, do not crash the notebook
        return None, _raised(exercise, error, fn)


def _first(exercise: str, mistakes: list[tuple[bool, str]]) -> Feedback | None:
    return next((Feedback(exercise, False, message) for found, message in mistakes if found), None)


def _tiny_model() -> nn.Module:
    """A small network with dropout, in float64, the same weights every time."""
    return _seeded(lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.5),
                                         nn.Linear(32, 10)).double(), seed=0)


def _batches(sizes: tuple[int, ...]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    return [(torch.randn(n, 1, 28, 28, generator=generator, dtype=torch.float64),
             torch.randint(0, 10, (n,), generator=generator)) for n in sizes]


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.allclose(p, q, rtol=1e-9, atol=1e-12) for p, q in zip(a.parameters(), b.parameters()))


def _steps(exercise: str, fn: Callable, reference: Callable, arguments: Callable, batches: int) -> tuple:
    """Run ``fn`` and ``reference`` on ``arguments(model, loss_fn, optimizer)``: (first mistake, both results)."""
    mine, theirs = _tiny_model().eval(), _tiny_model()  # a right answer switches to training mode itself
    sgd = torch.optim.SGD(theirs.parameters(), lr=0.1)
    expected = _seeded(reference, *arguments(theirs, nn.CrossEntropyLoss(), sgd))
    optimizer = torch.optim.SGD(mine.parameters(), lr=0.1)
    watch = _Watch(mine, optimizer)
    returned, failed = _attempt(exercise, fn, *arguments(mine, watch.loss, optimizer))
    order, count = watch.events, Counter(watch.events)
    return failed or _first(exercise, [
        (not watch.forwards, "the model was never called: compute the scores with pred = model(X)."),
        (not all(training for training, _ in watch.forwards), "the model ran in evaluation mode: call model.train() "
         "before the loop, or dropout stays off while training."),
        (watch.softmaxed, "the loss was given probabilities (a softmax): nn.CrossEntropyLoss applies the softmax "
         "itself, so give it the model's raw scores."),
        (count["backward"] == 0, "no gradient was computed: call loss.backward() after computing the loss."),
        (count["step"] == 0, "the weights never moved: call optimizer.step() after loss.backward()."),
        (count["zero_grad"] == 0, "the gradients were never zeroed, so each step also holds every earlier batch's "
         "gradient: call optimizer.zero_grad() once per step."),
        (("backward", "zero_grad") in zip(order, order[1:]), "optimizer.zero_grad() ran between loss.backward() and "
         "optimizer.step(), so each step used a zero gradient: reset after the step (or before the backward pass)."),
        (count["step"] != batches, f"{count['step']} optimiser steps for {batches} batches: take one step per batch."),
        (not _same_weights(mine, theirs), "the steps did not give the package's weights: compare your loop with the "
         "five parts of a training step."),
    ]), returned, expected


def check_train_one_epoch(fn: Callable) -> Feedback:
    """Check ``fn(loader, model, loss_fn, optimizer)``: one pass over ``loader``, one step per batch."""
    batches = _batches((16, 16, 16))
    mistake, _, _ = _steps("train_one_epoch", fn, loops.train_one_epoch, lambda *mlo: (batches, *mlo), len(batches))
    return mistake or Feedback("train_one_epoch", True, "one step per batch, in training mode, on the raw scores, "
                               "gradients reset: the same weights as the package's train_one_epoch.")


def reference_training_step(model: nn.Module, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
                            X: torch.Tensor, y: torch.Tensor) -> float:
    """One training step on one batch; returns the batch's loss before the step."""
    model.train()
    loss = loss_fn(model(X), y)  # forward pass and loss
    loss.backward()  # backward pass
    optimizer.step()  # update
    optimizer.zero_grad()  # reset
    return loss.item()


def check_training_step(fn: Callable) -> Feedback:
    """Check ``fn(model, loss_fn, optimizer, X, y) -> float``: one step on one batch, returning its loss."""
    exercise, ((X, y),) = "training_step", _batches((16,))
    mistake, returned, expected = _steps(exercise, fn, reference_training_step, lambda *mlo: (*mlo, X, y), 1)
    if mistake:
        return mistake
    if not isinstance(returned, (float, int)) or not math.isclose(returned, expected, rel_tol=1e-6):
        return Feedback(exercise, False, f"the step was right, but it returned {returned!r}, not the batch's loss as a "
                        f"number ({expected:.4f}): return loss.item().")
    return Feedback(exercise, True, "forward, loss, backward, step, reset, and the loss returned as a number.")


def check_evaluate(fn: Callable) -> Feedback:
    """Check ``fn(loader, model, loss_fn) -> (accuracy in %, mean loss per example)``."""
    exercise, model, before = "evaluate", _tiny_model(), _tiny_model().eval()  # a right answer calls model.eval()
    with torch.no_grad():  # labels the model gets wrong in the two large batches and right in the small one
        batches = [(X, (before(X).argmax(1) + (0 if len(y) == 3 else 1)) % 10) for X, y in _batches((30, 30, 3))]
    watch = _Watch(model)
    returned, failed = _attempt(exercise, fn, batches, model, watch.loss)
    mistake = failed or _first(exercise, [
        (any(training for training, _ in watch.forwards), "the model ran in training mode, so dropout changed its "
         "answers at random: call model.eval() before the loop."),
        (not _same_weights(model, before), "the weights changed: evaluation must only measure, with no optimiser "
         "step."),
        (watch.softmaxed, "the loss was given probabilities (a softmax): give nn.CrossEntropyLoss the model's raw "
         "scores."),
        (any(grad for _, grad in watch.forwards), "autograd recorded every forward pass: wrap the loop in "
         "torch.no_grad(), as nothing is trained here (faster, less memory)."),
    ])
    if mistake:
        return mistake
    try:
        accuracy, loss = (float(v) for v in returned)
    except (TypeError, ValueError):
        return Feedback(exercise, False, f"it returned {returned!r}: return two numbers, (accuracy in %, mean loss).")
    right = loops.evaluate(batches, before, nn.CrossEntropyLoss())
    per_batch = [loops.evaluate([b], before, nn.CrossEntropyLoss()) for b in batches]
    batch_accuracy, batch_loss = (sum(m) / len(batches) for m in zip(*per_batch))  # each batch counting the same
    close = lambda a, b: math.isclose(a, b, rel_tol=1e-6)  # noqa: E731
    return _first(exercise, [
        (close(accuracy, right.accuracy / 100), f"the accuracy {accuracy:.4f} is a fraction: multiply by 100 for a "
         "percentage."),
        (close(accuracy, batch_accuracy), "the accuracy is an average of the batches' accuracies, which weighs the "
         "small last batch's images more: count correct answers over all images."),
        (close(loss, batch_loss), "the loss is an average of the batches' mean losses: multiply each by its batch's "
         "size, add them up, divide by the number of images."),
        (not (close(accuracy, right.accuracy) and close(loss, right.loss)), f"it gave ({accuracy:.3f} %, {loss:.4f}), "
         f"the package's evaluate ({right.accuracy:.3f} %, {right.loss:.4f}) on the same batches."),
    ]) or Feedback(exercise, True, "evaluation mode, no gradients, and accuracy and loss averaged over images.")


def check_model(model: nn.Module | type) -> Feedback:
    """Check a multilayer network (or its class): MNIST images in, ten raw scores out, nonlinear, trainable."""
    exercise, cls = "model", model if isinstance(model, type) else type(model)
    try:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = (model() if isinstance(model, type) else copy.deepcopy(model)).float().train()
            X, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
            scores = net(X)
    except Exception as error:  # the student's code
        return _raised(exercise, error, cls.forward)
    if tuple(scores.shape) != (16, 10):
        return Feedback(exercise, False, f"16 images gave scores of shape {tuple(scores.shape)}: the network must "
                        "give (16, 10), ten scores per image.")
    if _probabilities(scores):
        return Feedback(exercise, False, "the scores are probabilities (a softmax at the end): return raw scores, "
                        "nn.CrossEntropyLoss applies the softmax itself.")
    net.eval()
    with torch.no_grad():
        zero = net(torch.zeros(1, 1, 28, 28))
        a, b = net(X[:1]) - zero, net(2 * X[:1]) - zero
    if torch.allclose(b, 2 * a, rtol=1e-4, atol=1e-5):
        return Feedback(exercise, False, "the network is linear in its input: two nn.Linear layers with nothing "
                        "between them are one linear map. Put an activation such as nn.ReLU() between them.")
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses = _seeded(lambda: [reference_training_step(net, nn.CrossEntropyLoss(), optimizer, X, y)
                              for _ in range(60)], seed=0)
    if not losses[-1] < 0.7 * losses[0]:
        return Feedback(exercise, False, f"60 steps on one batch took the loss only from {losses[0]:.3f} to "
                        f"{losses[-1]:.3f}: check that every layer's parameters are registered (layers assigned as "
                        "attributes in __init__).")
    return Feedback(exercise, True, f"ten raw scores per image, nonlinear, and it learns: 60 steps on one batch took "
                    f"its loss from {losses[0]:.2f} to {losses[-1]:.2f}.")


def reference_choice(results: list[dict]) -> dict:
    """The setting with the best validation accuracy: the test set chooses nothing."""
    return max(results, key=lambda r: r["val_acc"])


def check_choice(fn: Callable) -> Feedback:
    """Check ``fn(results)``: it picks the best setting (the dict or its ``"setting"``) from result dicts."""
    exercise, results = "choice", [  # the best training, validation and test accuracies: three different settings
        {"setting": "A", "train_acc": 96.0, "val_acc": 90.0, "test_acc": 93.0},
        {"setting": "B", "train_acc": 95.0, "val_acc": 92.0, "test_acc": 91.0},
        {"setting": "C", "train_acc": 99.0, "val_acc": 91.0, "test_acc": 90.0},
    ]
    picked, failed = _attempt(exercise, fn, results)
    name = picked.get("setting") if isinstance(picked, dict) else picked
    unknown = (False, f"it returned {picked!r}: return the best result's dict or its 'setting'.")
    ok, message = {  # by the setting it picked
        "B": (True, "chosen by validation accuracy; the test set stays unused until the end."),
        "A": (False, "it chose by test accuracy. Choose by validation accuracy: the test set must not choose, or its "
                     "score stops being honest."),
        "C": (False, "it chose by training accuracy. Choose by validation accuracy: training accuracy rewards "
                     "learning the training images by heart."),
    }.get(name if isinstance(name, str) else None, unknown)
    return failed or Feedback(exercise, ok, message)


def check_sanity(initial_loss: float | None = None, one_batch_loss: float | None = None,
                 chance_accuracy: float | None = None) -> Feedback:
    """Check a careful practitioner's three numbers: loss at the start, one batch overfitted, chance level (%)."""
    rules = [  # (the number, whether it is right, what it is, then what that means if right, if wrong)
        (initial_loss, lambda v: abs(v - math.log(10)) < 0.5, "initial loss {:.3f} ",
         "is near ln 10 = 2.303: the untrained model guesses evenly, as it should.",
         "is far from ln 10 = 2.303, the loss of an even guess over ten digits: look for large initial weights "
         "or a softmax before the loss."),
        (one_batch_loss, lambda v: v < 0.1, "one batch trained down to {:.3f}", ": the model and loop can learn.",
         ", not near 0: a network that cannot learn one batch by heart has a bug (or too few steps)."),
        (chance_accuracy, lambda v: 8 <= v <= 13, "chance level {:.1f} %", ": about one in ten, the baseline to beat.",
         ": expected about 10 % (give it in %, for the most common training digit)."),
    ]
    notes = [(good(v), what.format(v) + (right if good(v) else wrong)) for v, good, what, right, wrong in rules
             if v is not None]
    if not notes:
        return Feedback("sanity", None, "give at least one of initial_loss, one_batch_loss, chance_accuracy.")
    return Feedback("sanity", all(good for good, _ in notes), " ".join(note for _, note in notes))


def check_results(table: Mapping[Any, Mapping[int, float]] | None, setting: str, data: Any,
                  base: RunConfig = RunConfig()) -> Feedback:
    """Check ``{value: {seed: final validation accuracy in %}}`` against the package's runs of ``base``, by seed."""
    exercise, first_seeds = "results", list(SEEDS[:MIN_SEEDS])
    if not table:
        return Feedback(exercise, None, f"no results yet: fill a dict {{value: {{seed: validation accuracy}}}}, one "
                        f"row per {setting}, from the seeds {first_seeds}.")
    seeds = {value: sorted(row) for value, row in table.items()}
    if len({tuple(s) for s in seeds.values()}) > 1:
        return Feedback(exercise, False, f"the rows were trained from different seeds ({seeds}): train every {setting} "
                        "from the same seeds, so that the comparison is paired.")
    row_seeds = next(iter(seeds.values()))
    if len(row_seeds) < MIN_SEEDS:
        return Feedback(exercise, False, f"{len(row_seeds)} seed(s) per row: one run cannot tell a setting from its "
                        f"seed; train each from at least {MIN_SEEDS}, e.g. {first_seeds}.")
    if all(0 <= v <= 1 for row in table.values() for v in row.values()):
        return Feedback(exercise, False, "every accuracy is at most 1: give them in %, as the book does (x 100).")
    notes, ok = [], True
    for value, row in table.items():
        try:
            configs = [base.replace(**{setting: value, "seed": seed}) for seed in row_seeds]
        except (TypeError, ValueError) as error:
            return Feedback(exercise, False, f"{setting}={value!r} is not a setting RunConfig takes: {error}")
        try:
            histories = [run(config, data).history for config in configs]
        except loops.TrainingDiverged:
            notes.append(f"{setting}={value}: the reference diverges too, no accuracy to compare")
            continue
        mine = [float(row[seed]) for seed in row_seeds]
        v = verdict(f"{setting}={value}", "yours", "reference", mine, [h.val_acc[-1] for h in histories])
        if v.outcome is not None and verdict("", "", "", mine, [h.train_acc[-1] for h in histories]).outcome is None:
            return Feedback(exercise, False, f"the row {setting}={value!r} matches the reference's training accuracy, "
                            "not its validation accuracy: record history.val_acc[-1].")
        ok &= v.outcome is None
        notes.append(f"{setting}={value}: {v.text()} against the reference"
                     + ("" if v.outcome is None else " (told apart: check the recipe, one change at a time)"))
    summary = ("every row agrees with the package's runs within its uncertainty" if ok
               else "some rows differ from the package's runs by more than their uncertainty")
    return Feedback(exercise, ok, f"{summary}: {'; '.join(notes)}.")


def compare_guess(guess: float | None, actual: float, tolerance: float, unit: str = "") -> Feedback:
    """Say whether the result ``actual`` confirms a guess made before running (None: no guess made)."""
    if guess is None:
        return Feedback("prediction", None, f"no guess made; the result is {actual:.3g}{unit}. Next time, set your "
                                            "guess first.")
    hit = abs(guess - actual) <= tolerance
    return Feedback("prediction", hit, f"you guessed {guess:g}{unit}, the result is {actual:.3g}{unit}: "
                                       + ("confirmed." if hit else f"off by more than {tolerance:g}{unit}."))


HINTS = {
    "training_step": "Five lines: pred = model(X); loss = loss_fn(pred, y); loss.backward(); optimizer.step(); "
                     "optimizer.zero_grad(). Call model.train() first and return loss.item().",
    "train_one_epoch": "Switch to training mode once, then for every (X, y) in the loader: forward, loss, "
                       "backward, step, zero_grad. The loss takes the raw scores.",
    "evaluate": "model.eval() and torch.no_grad(); for each batch add loss_fn(pred, y) * len(y) and the number of "
                "right answers; divide both by the number of images at the end; accuracy in %.",
    "model": "nn.Flatten(), then nn.Linear(784, hidden), an activation such as nn.ReLU(), and nn.Linear(hidden, "
             "10). No softmax at the end.",
    "choice": "Use only the validation accuracy: max(results, key=lambda r: r['val_acc']).",
    "sanity": "initial_loss: loss_fn(model(X), y).item() before training; one_batch_loss: train on one batch "
              "(X, y) for a few hundred steps; chance_accuracy: the share of the most common training digit in %.",
    "results": "For each value and each seed: result = run(RunConfig(<setting>=value, seed=seed, epochs=...), "
               "splits); table[value][seed] = result.history.val_acc[-1] (validation, in %).",
}
SOLUTIONS: dict[str, Callable | type] = {
    "training_step": reference_training_step, "train_one_epoch": loops.train_one_epoch,
    "evaluate": loops.evaluate, "model": NonlinearClassifier, "choice": reference_choice,
}


def hint(name: str) -> None:
    """Print a hint for exercise ``name``."""
    print(HINTS[check_one_of("exercise", name, HINTS)])


def solution(name: str) -> None:
    """Print the worked solution of exercise ``name``: the package's own, tested code (or its hint)."""
    name = check_one_of("exercise", name, HINTS)
    print(inspect.getsource(SOLUTIONS[name]) if name in SOLUTIONS else HINTS[name])
