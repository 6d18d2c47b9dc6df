import pytest
import torch
from torch import nn

from mnist_lessons.models import (ACTIVATIONS, LinearClassifier, NonlinearClassifier, count_parameters, make_activation)


def test_linear_classifier_has_7850_parameters_and_ten_outputs():
    model = LinearClassifier()
    assert count_parameters(model) == 784 * 10 + 10
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)


def test_nonlinear_defaults_reproduce_the_lesson_architecture():
    model = NonlinearClassifier()
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert model.layers[2].p == pytest.approx(0.2)
    widths = [(m.in_features, m.out_features) for m in model.layers if isinstance(m, nn.Linear)]
    assert widths == [(784, 50), (50, 50), (50, 50), (50, 10)]
    assert count_parameters(model) == 785 * 50 + 51 * 50 * 2 + 51 * 10
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_flat_784_vectors_are_accepted():
    assert LinearClassifier()(torch.rand(2, 784)).shape == (2, 10)


def test_activation_per_layer_and_no_dropout():
    model = NonlinearClassifier(hidden_sizes=(8, 8, 8), activation=["sigmoid", "tanh", "relu"], dropout=0.0)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Linear", "Sigmoid", "Linear", "Tanh", "Linear", "ReLU", "Linear"]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_named_activation_builds(name):
    assert isinstance(make_activation(name), nn.Module)
    assert NonlinearClassifier(activation=name)(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def test_activation_accepts_module_and_class():
    assert isinstance(make_activation(nn.Tanh), nn.Tanh)
    leaky = nn.LeakyReLU(0.3)
    copy = make_activation(leaky)
    assert isinstance(copy, nn.LeakyReLU) and copy.negative_slope == 0.3 and copy is not leaky


def test_a_learnable_activation_instance_is_not_shared_between_layers():
    plain = count_parameters(NonlinearClassifier())
    assert count_parameters(NonlinearClassifier(activation=nn.PReLU())) == plain + 3  # one slope per layer


@pytest.mark.parametrize("kwargs, error, message", [
    ({"hidden_sizes": "50"}, TypeError, "sequence of layer widths"),
    ({"hidden_sizes": [2.7]}, ValueError, "hidden_sizes"),
    ({"activation": 123}, TypeError, "activation must be"),
])
def test_bad_network_settings_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        NonlinearClassifier(**kwargs)


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu.*sigmoid"):
        NonlinearClassifier(activation="swish")


def test_wrong_number_of_activations_is_an_error():
    with pytest.raises(ValueError, match="one per hidden layer"):
        NonlinearClassifier(hidden_sizes=(8, 8), activation=["relu"])


@pytest.mark.parametrize("bad", [(), (0, 5), (-1,)])
def test_bad_hidden_sizes_are_rejected(bad):
    with pytest.raises(ValueError, match="hidden_sizes"):
        NonlinearClassifier(hidden_sizes=bad)


def test_bad_dropout_is_rejected():
    with pytest.raises(ValueError, match="dropout"):
        NonlinearClassifier(dropout=1.5)


@pytest.mark.parametrize("model", [LinearClassifier(), NonlinearClassifier()])
def test_wrong_image_size_names_the_expected_shape(model):
    with pytest.raises(ValueError, match=r"28x28.*got shape \(4, 1, 32, 32\)"):
        model(torch.rand(4, 1, 32, 32))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64])
@pytest.mark.parametrize("model", [LinearClassifier(), NonlinearClassifier()])
def test_integer_pixels_are_refused_with_the_fix(model, dtype):
    raw = (torch.rand(4, 1, 28, 28) * 255).to(dtype)  # what dataset.data holds: bytes 0-255
    with pytest.raises(TypeError, match=rf"^input x must be float32 in \[0, 1\]; got {str(dtype)[6:]}: divide by 255 or use as_tensors\(\)$"):
        model(raw)
    assert model(raw / 255).shape == (4, 10)  # the fix the message names works


def test_a_float64_network_still_takes_float64_images():
    model = LinearClassifier().double()
    assert model(torch.rand(3, 784, dtype=torch.float64)).dtype == torch.float64
