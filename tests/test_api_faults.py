"""Misuse of the Python API: each mistake raises a ValueError or TypeError that names it (review probes G5-G18)."""

import pytest
import torch
from torch import nn

from mnist_lessons.data.batches import TensorBatches
from mnist_lessons.distributed import ShardedBatches
from mnist_lessons.figures import plots
from mnist_lessons.models import NonlinearClassifier, predict
from mnist_lessons.training.loops import History, check_learned, evaluate, fit, make_optimizer
from mnist_lessons.schedules import CosineSchedule, StepSchedule


@pytest.fixture
def batches():
    g = torch.Generator().manual_seed(0)
    return TensorBatches(torch.rand(40, 1, 28, 28, generator=g), torch.randint(0, 10, (40,), generator=g), 8)


def test_a_generator_as_training_data_is_refused_up_front(batches):
    model = NonlinearClassifier()
    with pytest.raises(TypeError, match="train_loader is a one-shot iterator"):
        fit(model, (b for b in batches), batches, make_optimizer("sgd", model.parameters()), epochs=2)


def test_an_empty_batch_and_a_model_without_parameters_are_named(batches):
    empty = [(torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.long))]
    with pytest.raises(ValueError, match="got no batches"):
        evaluate(empty, NonlinearClassifier(), nn.CrossEntropyLoss())
    with pytest.raises(TypeError, match="has no parameters"):
        evaluate(batches, nn.Flatten(), nn.CrossEntropyLoss())


def test_empty_histories_say_so():
    for call in (lambda: History().last(), lambda: check_learned(History(), 50)):
        with pytest.raises(ValueError, match="history is empty"):
            call()


@pytest.mark.parametrize("rank, world, message", [(0, 0, "world_size"), (5, 2, "rank must be below")])
def test_sharded_batches_check_rank_and_world_size(batches, rank, world, message):
    with pytest.raises(ValueError, match=message):
        ShardedBatches(batches, rank, world)


@pytest.mark.parametrize("call, message", [
    (lambda x: plots.show_digits(x[:0]), "no images to show"),
    (lambda x: plots.show_digits(x, ncols=0), "ncols"),
    (lambda x: plots.show_digits(x[:5], labels=[1, 2]), "2 titles or labels for 5 images"),
    (lambda x: predict(NonlinearClassifier(), []), "got no batches"),
    (lambda x: plots.plot_activations([]), "at least one activation"),
])
def test_figure_helpers_name_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call(torch.rand(10, 1, 28, 28))


@pytest.mark.parametrize("make, message", [
    (lambda: StepSchedule(1, -1.0), "gamma"),
    (lambda: StepSchedule(0, 0.1), "step_size"),
    (lambda: CosineSchedule(-0.1), "eta_min"),
])
def test_schedules_refuse_settings_that_break_the_learning_rate(make, message):
    with pytest.raises(ValueError, match=message):
        make()
