import pytest
from torch import nn

from mnist_lessons.experiments.costs import count_multiply_adds
from mnist_lessons.models import ConvClassifier, LinearClassifier, NonlinearClassifier


def test_dense_layers_cost_in_times_out():
    assert count_multiply_adds(LinearClassifier()) == 784 * 10
    assert count_multiply_adds(NonlinearClassifier((50, 50, 50))) == 784 * 50 + 50 * 50 * 2 + 50 * 10


def test_convolutions_cost_per_output_pixel():
    model = ConvClassifier(channels=(4,), kernel_size=3)
    # 4 maps of 28 x 28, each value a 1 x 3 x 3 dot product; then Linear(4 * 14 * 14, 10)
    assert count_multiply_adds(model) == 4 * 28 * 28 * 9 + 4 * 14 * 14 * 10
    default = ConvClassifier()
    expected = 16 * 28 * 28 * 9 + 32 * 14 * 14 * 16 * 9 + 32 * 7 * 7 * 10
    assert count_multiply_adds(default) == expected


def test_mode_is_restored_and_layerless_models_refused():
    model = NonlinearClassifier()
    model.train()
    count_multiply_adds(model)
    assert model.training
    with pytest.raises(ValueError, match="no Linear or Conv2d"):
        count_multiply_adds(nn.ReLU())
