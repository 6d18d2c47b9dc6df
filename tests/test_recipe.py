"""The one recipe: models by name, RunConfig and run(), and the one validation helper."""

import numpy as np
import pytest
import torch
from torch import nn

from mnist_lessons.checks import check_choice, check_int, check_number
from mnist_lessons.data.augment import Augmentation, AugmentedBatches
from mnist_lessons.data.batches import MNISTSplits, Split
from mnist_lessons.models import MODELS, ConvClassifier, LinearClassifier, NonlinearClassifier, build_model
from mnist_lessons.training.loops import Evaluation, evaluate
from mnist_lessons.training.recipe import RunConfig, run
from mnist_lessons.schedules import CosineSchedule, StepSchedule


def toy_splits(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.2
    for label in range(10):
        x[y == label, 0, 2 + 2 * label : 4 + 2 * label, 4:24] = 1.0
    return MNISTSplits(Split(x, y), Split(x[: n // 2], y[: n // 2]), Split(x[: n // 2], y[: n // 2]))


# --- checks -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [128, np.int64(128), np.int32(128)])
def test_check_int_accepts_python_and_numpy_integers(value):
    assert check_int("batch_size", value, minimum=1) == 128
    assert type(check_int("batch_size", value, minimum=1)) is int


@pytest.mark.parametrize("value, error", [(True, ValueError), (np.bool_(True), ValueError), (2.5, ValueError),
                                          (0, ValueError), ("8", TypeError), (None, TypeError)])
def test_check_int_rejects_bools_fractions_and_non_numbers_naming_the_argument(value, error):
    with pytest.raises(error, match=r"^epochs must be an integer >= 1, got "):
        check_int("epochs", value, minimum=1)


@pytest.mark.parametrize("value", [0.5, np.float32(0.5), np.float64(0.5), 1])
def test_check_number_accepts_numpy_scalars(value):
    assert check_number("lr", value, minimum=0.0, strict=True) == pytest.approx(0.5 if value != 1 else 1.0)


@pytest.mark.parametrize("value", [-0.5, float("nan"), float("inf"), False, 1.0])
def test_check_number_rejects_out_of_range_and_bools(value):
    with pytest.raises(ValueError, match="dropout must be a number >= 0 and < 1"):
        check_number("dropout", value, minimum=0.0, maximum=1.0)


def test_check_choice_lists_the_choices():
    with pytest.raises(ValueError, match="unknown model 'vit'; choose one of: linear, mlp, cnn"):
        check_choice("model", "vit", MODELS)


# --- models by name -----------------------------------------------------------------


@pytest.mark.parametrize("name, cls", [("linear", LinearClassifier), ("mlp", NonlinearClassifier), ("cnn", ConvClassifier)])
def test_build_model_builds_each_network_by_name(name, cls):
    torch.manual_seed(0)
    model = build_model(name)
    assert type(model) is cls
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_build_model_passes_options_and_rejects_unknown_ones():
    assert build_model("mlp", hidden_sizes=(8,), dropout=0.0).layers[0].out_features == 8
    assert build_model("cnn", channels=(4,)).classifier.in_features == 4 * 14 * 14
    with pytest.raises(ValueError, match="model 'cnn' has no option 'dropout'; its options: channels, kernel_size"):
        build_model("cnn", dropout=0.1)
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        build_model("resnet")


# --- RunConfig ----------------------------------------------------------------------


def test_run_config_builds_the_network_it_names_with_its_options():
    assert type(RunConfig().build_model()) is NonlinearClassifier
    assert type(RunConfig(model="linear").build_model()) is LinearClassifier
    cnn = RunConfig(model="cnn", channels=[8, 16]).build_model()
    assert type(cnn) is ConvClassifier and cnn.features[0][0].out_channels == 8


@pytest.mark.parametrize("changes, message", [
    ({"model": "linear", "dropout": 0.5}, "dropout is not an option of model 'linear'"),
    ({"model": "cnn", "hidden_sizes": (8,)}, "hidden_sizes is not an option of model 'cnn'"),
    ({"model": "mlp", "channels": (8,)}, "channels is not an option of model 'mlp'"),
    ({"model": "gpt"}, "unknown model 'gpt'"),
    ({"train_eval_size": 0}, "train_eval_size must be an integer >= 1"),
])
def test_run_config_refuses_options_that_do_not_apply(changes, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**changes)


@pytest.mark.parametrize("changes, error, message", [
    ({"activation": "swish"}, ValueError, r"^unknown activation 'swish'; choose one of: relu, sigmoid, tanh"),
    ({"activation": ("relu", "Swish")}, ValueError, r"^unknown activation 'swish'"),
    ({"activation": ("relu", "tanh")}, ValueError, r"^activation lists one per hidden layer: got 2 for 3 layers$"),
    ({"hidden_sizes": (0,)}, ValueError, r"^hidden_sizes must be an integer >= 1, got 0$"),
    ({"hidden_sizes": []}, ValueError, r"^hidden_sizes must be one or more positive widths, got \[\]$"),
    ({"hidden_sizes": 50}, TypeError, r"^hidden_sizes must be a sequence of layer widths such as \(50, 50, 50\), got 50$"),
    ({"model": "cnn", "channels": (4, 4, 4, 4)}, ValueError, r"^channels must be one to 3 positive widths"),
    ({"schedule": CosineSchedule}, TypeError, r"^schedule=CosineSchedule\(\): add the parentheses; the class itself is not a schedule$"),
    ({"schedule": StepSchedule}, TypeError, r"^schedule=StepSchedule\(step_size, gamma\): add the parentheses"),
])
def test_run_config_refuses_at_construction_what_could_never_run(changes, error, message):
    with pytest.raises(error, match=message):
        RunConfig(**changes)


def test_run_config_keeps_the_settings_the_networks_accept():
    config = RunConfig(activation=["Leaky-ReLU", "tanh", nn.ReLU], hidden_sizes=[np.int64(8), 8, 8])
    assert config.hidden_sizes == (8, 8, 8) and type(config.hidden_sizes[0]) is int
    kinds = [type(m).__name__ for m in config.build_model().layers if not isinstance(m, (nn.Linear, nn.Dropout))]
    assert kinds == ["LeakyReLU", "Tanh", "ReLU"]
    assert RunConfig(hidden_sizes=[50, 50, 50]) == RunConfig()


def test_run_config_accepts_numpy_integers_and_stays_hashable():
    config = RunConfig(batch_size=np.int64(32), epochs=np.int64(2))
    assert config == RunConfig(batch_size=32, epochs=2) and hash(config) == hash(RunConfig(batch_size=32, epochs=2))
    assert type(config.batch_size) is int


def test_train_batches_follow_the_settings():
    x, y = torch.rand(10, 1, 28, 28), torch.arange(10)
    plain = RunConfig(batch_size=4).train_batches(x, y)
    assert [len(b) for b, _ in plain] == [4, 4, 2]
    augmented = RunConfig(batch_size=4, augmentation=Augmentation(max_shift=1, max_degrees=0)).train_batches(x, y)
    assert isinstance(augmented, AugmentedBatches) and augmented.max_shift == 1


def test_a_cnn_trains_as_a_run_like_any_other():
    config = RunConfig(model="cnn", channels=(4,), optimizer="adam", lr=0.01, schedule=CosineSchedule(),
                       batch_size=16, epochs=2, shuffle=True, seed=3, train_eval_size=32)
    first, second = run(config, toy_splits()), run(config, toy_splits())
    assert type(first.model) is ConvClassifier and len(first.history) == 2
    assert first.history.val_acc == second.history.val_acc  # seeded: the same run twice
    assert first.history.lr[1] < first.history.lr[0]  # the schedule lowered it


def test_augmentation_changes_training_but_not_evaluation():
    base = RunConfig(model="linear", batch_size=16, epochs=1, seed=1)
    plain = run(base, toy_splits())
    augmented = run(base.replace(augmentation=Augmentation()), toy_splits())
    assert not torch.equal(plain.model.linear.weight, augmented.model.linear.weight)


def test_evaluate_returns_a_named_accuracy_and_loss():
    splits = toy_splits()
    result = evaluate(splits.val.eval_batches(), build_model("linear"), torch.nn.CrossEntropyLoss())
    assert isinstance(result, Evaluation) and 0 <= result.accuracy <= 100 and result.loss > 0
    accuracy, loss = result  # still unpacks as a pair
    assert (accuracy, loss) == (result.accuracy, result.loss)


def test_the_convolutional_network_is_evaluated_in_small_batches():
    from mnist_lessons.config import CONV_EVAL_BATCH_SIZE, EVAL_BATCH_SIZE

    assert RunConfig(model="cnn").eval_batch_size == CONV_EVAL_BATCH_SIZE < EVAL_BATCH_SIZE
    assert RunConfig(model="mlp").eval_batch_size == RunConfig(model="linear").eval_batch_size == EVAL_BATCH_SIZE
