"""The convolutional network and the data augmentation of chapter 9."""

import pytest
import torch
from torch import nn

from mnist_lessons.data.augment import AugmentedBatches, random_shift_and_rotate, shift_and_rotate
from mnist_lessons.data.batches import TensorBatches
from mnist_lessons.models import ConvClassifier, count_parameters


def test_conv_classifier_default_shapes_and_parameter_count():
    model = ConvClassifier()
    conv1, conv2 = (block[0] for block in model.features)
    assert (conv1.in_channels, conv1.out_channels, conv1.kernel_size) == (1, 16, (3, 3))
    assert (conv2.in_channels, conv2.out_channels, conv2.kernel_size) == (16, 32, (3, 3))
    assert model.classifier.in_features == 32 * 7 * 7
    # conv weights (no bias) + batch-norm scale and shift + the final linear layer
    expected = 16 * 9 + 2 * 16 + 32 * 16 * 9 + 2 * 32 + 32 * 7 * 7 * 10 + 10
    assert count_parameters(model) == expected == 20538
    assert model(torch.rand(5, 1, 28, 28)).shape == (5, 10)


def test_conv_classifier_feature_maps_halve_per_block():
    model = ConvClassifier(channels=(4, 8, 6), kernel_size=5).eval()
    x = torch.rand(2, 1, 28, 28)
    sizes = []
    for block in model.features:
        x = block(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(4, 14, 14), (8, 7, 7), (6, 3, 3)]
    assert model.classifier.in_features == 6 * 3 * 3


def test_conv_classifier_accepts_flat_784_vectors():
    model = ConvClassifier().eval()
    images = torch.rand(3, 1, 28, 28)
    assert torch.equal(model(images.reshape(3, 784)), model(images))


@pytest.mark.parametrize("shape", [(4, 1, 32, 32), (4, 3, 28, 28), (4, 100), (784,)])
def test_conv_classifier_rejects_inputs_that_are_not_28x28_images(shape):
    with pytest.raises(ValueError, match="28x28"):
        ConvClassifier()(torch.rand(shape))


@pytest.mark.parametrize("kwargs, message", [
    ({"channels": ()}, r"channels must be one to 3 positive widths, got \[\]"),
    ({"channels": (8, 0)}, r"channels must be an integer >= 1, got 0"),
    ({"channels": (1, 2, 3, 4)}, r"channels must be one to 3 positive widths, got \[1, 2, 3, 4\]"),
    ({"kernel_size": 4}, r"kernel_size must be an odd integer >= 1, got 4"),
    ({"kernel_size": 0}, r"kernel_size must be an integer >= 1, got 0"),
])
def test_conv_classifier_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvClassifier(**kwargs)


def test_conv_classifier_learns_a_tiny_problem():
    torch.manual_seed(0)
    y = torch.arange(40) % 2
    x = torch.zeros(40, 1, 28, 28)
    x[y == 0, 0, 5:9, :] = 1  # a horizontal bar
    x[y == 1, 0, :, 5:9] = 1  # a vertical bar
    model = ConvClassifier(channels=(4, 4))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert (model.eval()(x).argmax(1) == y).all()


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


def test_augmentation_keeps_shape_dtype_and_range():
    x = torch.rand(16, 1, 28, 28)
    out = random_shift_and_rotate(x, generator=_generator())
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1


def test_augmentation_changes_the_images():
    x = torch.zeros(32, 1, 28, 28)
    x[:, 0, 8:20, 12:16] = 1
    out = random_shift_and_rotate(x, max_shift=2, max_degrees=10, generator=_generator())
    changed = (out - x).abs().flatten(1).amax(1) > 0.1
    assert changed.float().mean() > 0.9


def test_augmentation_is_seeded():
    x = torch.rand(8, 1, 28, 28)
    first = random_shift_and_rotate(x, generator=_generator(3))
    again = random_shift_and_rotate(x, generator=_generator(3))
    other = random_shift_and_rotate(x, generator=_generator(4))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_whole_pixel_shifts_move_pixels_exactly():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 10, 10] = 1
    out = shift_and_rotate(x, shifts=torch.tensor([[3, -2]]))  # 3 right, 2 up
    assert out[0, 0, 8, 13] == pytest.approx(1, abs=1e-5) and out.sum() == pytest.approx(1, abs=1e-5)


def test_random_shifts_stay_within_max_shift():
    x = torch.zeros(500, 1, 28, 28)
    x[:, 0, 14, 14] = 1  # one bright pixel in the middle
    out = random_shift_and_rotate(x, max_shift=2, max_degrees=0, generator=_generator())
    rows, cols = out[:, 0].amax(2).argmax(1), out[:, 0].amax(1).argmax(1)
    assert torch.allclose(out.amax((1, 2, 3)), torch.ones(500), atol=1e-5)  # moved whole, not blurred
    assert set((rows - 14).tolist()) == set((cols - 14).tolist()) == {-2, -1, 0, 1, 2}


def test_rotation_turns_anticlockwise_about_the_centre():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 13:15, 22:24] = 1  # right of the centre
    out = shift_and_rotate(x, degrees=torch.tensor([90.0]))
    assert out[0, 0, 4:6, 13:15].min() > 0.99  # now above it


def test_augmentation_rejects_bad_limits():
    with pytest.raises(ValueError, match="max_shift"):
        random_shift_and_rotate(torch.rand(2, 1, 28, 28), max_shift=1.5)
    with pytest.raises(ValueError, match="max_degrees"):
        AugmentedBatches([], max_degrees=200)


def test_augmented_batches_keep_labels_and_draw_anew_each_epoch():
    x, y = torch.rand(10, 1, 28, 28), torch.arange(10)
    batches = AugmentedBatches(TensorBatches(x, y, batch_size=4), seed=1)
    first, second = list(batches), list(batches)
    assert len(batches) == 3 and [len(b) for b, _ in first] == [4, 4, 2]
    assert torch.equal(torch.cat([labels for _, labels in first]), y)
    assert not torch.equal(first[0][0], second[0][0])
    replay = list(AugmentedBatches(TensorBatches(x, y, batch_size=4), seed=1))
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(first, replay))


def test_channels_last_filters_train_like_the_default_layout():
    from mnist_lessons.models import ConvClassifier

    torch.manual_seed(3)
    fast = ConvClassifier()
    assert fast.features[1][0].weight.is_contiguous(memory_format=torch.channels_last)
    plain = ConvClassifier()
    plain.load_state_dict(fast.state_dict())
    plain.to(memory_format=torch.contiguous_format)
    fast, plain = fast.double(), plain.double()  # in float64 the rounding of either order is far below the checks
    assert fast.features[1][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert plain.features[1][0].weight.is_contiguous() and not plain.features[1][0].weight.is_contiguous(
        memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 784, generator=gen, dtype=torch.float64), torch.randint(0, 10, (64,), generator=gen)
    assert torch.allclose(fast(x), plain(x), atol=1e-10)  # same scores, up to the order of the sums
    grads = []
    for model in (fast, plain):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-12), (a - b).abs().max()
    fast.eval(), plain.eval()
    assert torch.equal(fast(x).argmax(1), plain(x).argmax(1))
