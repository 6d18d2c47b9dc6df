"""The networks the book trains (linear, mlp, cnn: all return raw scores), built by name, saved, loaded and run."""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

from .checks import check_choice, check_int, check_number, check_widths, checked_batches
from .config import DROPOUT, HIDDEN_SIZES, IMAGE_SHAPE, NUM_CLASSES, NUM_PIXELS
from .outputs import WEIGHTS_FORMAT

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "silu": nn.SiLU, "identity": nn.Identity,
}

ActivationSpec = str | nn.Module | type[nn.Module]


def activation_key(name: str) -> str:
    """The key of :data:`ACTIVATIONS` that ``name`` means (``"Leaky-ReLU"``: ``"leaky_relu"``)."""
    return check_choice("activation", name.strip().lower().replace("-", "_"), ACTIVATIONS)


def make_activation(activation: ActivationSpec) -> nn.Module:
    """A fresh activation module from a name, a module (copied) or a module class."""
    if isinstance(activation, str):
        return ACTIVATIONS[activation_key(activation)]()
    if isinstance(activation, nn.Module):
        return copy.deepcopy(activation)  # a layer of its own: learnable activations are not shared
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    raise TypeError(f"activation must be a name, an nn.Module or an nn.Module class, got {type(activation).__name__}")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (weights and biases)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def check_images(x: torch.Tensor) -> None:
    """Raise a clear error unless ``x`` is a batch of 28 x 28 images with float pixels."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"input x must be a torch tensor of images, got {type(x).__name__}: use torch.as_tensor(x)")
    if not x.is_floating_point():
        raise TypeError(f"input x must be float32 in [0, 1]; got {str(x.dtype).removeprefix('torch.')}: "
                        "divide by 255 or use as_tensors()")
    if x.dim() < 2 or x.shape[1:].numel() != NUM_PIXELS:
        raise ValueError(f"input x must be a batch of 28x28 images, shape (N, 1, 28, 28) or (N, 784); "
                         f"got shape {tuple(x.shape)}")


class LinearClassifier(nn.Module):
    """Flatten each image, then one ``Linear(784, 10)``: 7,850 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(NUM_PIXELS, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        return self.linear(self.flatten(x))


class NonlinearClassifier(nn.Module):
    """A multilayer perceptron: Linear and activation (one, or a list) per hidden layer; dropout after the first."""

    def __init__(self, hidden_sizes: Sequence[int] = HIDDEN_SIZES,
                 activation: ActivationSpec | Sequence[ActivationSpec] = "relu", dropout: float = DROPOUT) -> None:
        super().__init__()
        sizes = check_widths("hidden_sizes", hidden_sizes)
        dropout = check_number("dropout", dropout, minimum=0.0, maximum=1.0)
        activations = list(activation) if isinstance(activation, (list, tuple)) else [activation] * len(sizes)
        if len(activations) != len(sizes):
            raise ValueError(f"activation lists one per hidden layer: got {len(activations)} for {len(sizes)} layers")
        layers: list[nn.Module] = []
        width = NUM_PIXELS
        for i, (size, act) in enumerate(zip(sizes, activations)):
            layers += [nn.Linear(width, size), make_activation(act)]
            if i == 0 and dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, NUM_CLASSES))
        self.flatten = nn.Flatten()
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        return self.layers(self.flatten(x))


class ConvClassifier(nn.Module):
    """Convolution blocks (padded Conv2d, BatchNorm2d, ReLU, MaxPool2d(2): each halves the image), then Linear."""

    def __init__(self, channels: Sequence[int] = (16, 32), kernel_size: int = 3) -> None:
        super().__init__()
        widths = check_widths("channels", channels, most=3)
        kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be an odd integer >= 1, got {kernel_size!r}")
        blocks: list[nn.Module] = []
        in_channels, side = IMAGE_SHAPE[0], IMAGE_SHAPE[1]
        for width in widths:
            # no bias: the batch norm right after it has its own shift
            conv = nn.Conv2d(in_channels, width, kernel_size, padding=kernel_size // 2, bias=False)
            blocks.append(nn.Sequential(conv, nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)))
            in_channels, side = width, side // 2
        self.features = nn.Sequential(*blocks)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(in_channels * side * side, NUM_CLASSES)
        # Filters stored channels-last (each pixel's channels side by side): on CPUs the convolutions
        # then run about 1.5x faster than in PyTorch's default layout, with the same arithmetic.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x)
        x = x.reshape(len(x), *IMAGE_SHAPE)  # flat 784-vectors become images again
        return self.classifier(self.flatten(self.features(x)))


#: The networks by name: what ``--model`` and ``RunConfig(model=...)`` accept.
MODELS: dict[str, type[nn.Module]] = {"linear": LinearClassifier, "mlp": NonlinearClassifier, "cnn": ConvClassifier}


def model_options(name: str) -> tuple[str, ...]:
    """The options (keyword arguments) the network called ``name`` accepts: ``("channels", "kernel_size")``."""
    return tuple(inspect.signature(MODELS[check_choice("model", name, MODELS)]).parameters)


def build_model(name: str, **options) -> nn.Module:
    """A freshly initialised network by name (see :data:`MODELS`), with its options; seed first to reproduce it."""
    accepted = model_options(name)
    if unknown := [key for key in options if key not in accepted]:
        raise ValueError(f"model {name!r} has no option {unknown[0]!r}; its options: {', '.join(accepted) or 'none'}")
    return MODELS[name](**options)


def _plain(value):
    """An option's value as a weights file records it: activations by name, sequences as lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return activation_key(value)
        return value
    kind = value if isinstance(value, type) else type(value)
    if issubclass(kind, nn.Module):
        return next((key for key, cls in ACTIVATIONS.items() if cls is kind), kind.__name__)
    return value


def describe_network(name: str, **options) -> dict:
    """Every option of network ``name``, defaults filled in, as a weights file records them."""
    accepted = inspect.signature(MODELS[check_choice("model", name, MODELS)]).parameters
    if set(options) - set(accepted):
        build_model(name, **options)  # raises, naming the option
    return {key: _plain(options.get(key, p.default)) for key, p in accepted.items()}


def load_weights(path, model: str | None = None, **options) -> nn.Module:
    """The network in a ``--save`` file, rebuilt; a given ``model`` (with options) must match, bare weights need one."""
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist; give the file that --save wrote") from None
    except Exception as err:  # truncated, not a PyTorch file
        raise ValueError(f"{path} is not a readable weights file ({str(err).split('.')[0][:120]}); "
                         "save the weights again") from None
    described = isinstance(content, dict) and content.get("format") == WEIGHTS_FORMAT and content.get("model")
    if not described and model is None:
        raise ValueError(f"{path} holds weights without a description of their network; "
                         "say which: load_weights(path, 'mlp', ...)")
    asked = None if model is None else (model, describe_network(model, **options))
    saved = (content["model"], content["options"]) if described else asked
    if asked is not None and asked != saved:
        shown = lambda n, o: n + "".join(f", {k}={v!r}" for k, v in o.items())  # noqa: E731
        raise ValueError(f"{path} holds {shown(*saved)}, not {shown(*asked)}; "
                         f"load it with load_weights(path) to rebuild the saved network")
    network = build_model(saved[0], **saved[1])
    try:
        network.load_state_dict(content["state_dict"] if described else content.get("state_dict", content))
    except RuntimeError as err:
        detail = str(err).splitlines()[1].strip()[:160]
        raise ValueError(f"{path}: its weights do not fit {saved[0]} ({detail})") from None
    return network


Batch = tuple[torch.Tensor, torch.Tensor]
#: One ``(X, y)`` pair or an iterable of them: a ``DataLoader``, ``TensorBatches``, a list.
Batches = Batch | Iterable[Batch]


def as_batches(name: str, data: Batches) -> Iterator[Batch]:
    """``(X, y)`` batches from one pair or an iterable of pairs (an ``(image, label)`` sample: a batch of one)."""
    one_pair = isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)
    for x, y in checked_batches(name, [data] if one_pair else data):
        y = torch.as_tensor(y)
        yield (x.unsqueeze(0), y.unsqueeze(0)) if y.ndim == 0 else (x, y)


@contextlib.contextmanager
def _evaluating(model: nn.Module) -> Iterator[torch.device]:
    """Evaluation mode while inside, the model's own mode restored after; yields its device."""
    was_training = model.training
    model.eval()
    try:
        yield next(model.parameters(), torch.empty(0)).device
    finally:
        model.train(was_training)


def predictions(model: nn.Module, batches: Batches) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Yield ``(X, y, predicted)`` per batch, on the CPU, without gradients."""
    with _evaluating(model) as device:
        for x, y in as_batches("predict()", batches):
            with torch.no_grad():  # only around the model: the caller's code between batches keeps its grad mode
                predicted = model(x.to(device)).argmax(dim=1).cpu()
            yield x.cpu(), y.cpu(), predicted


def predict(model: nn.Module, batches: Batches) -> tuple[torch.Tensor, torch.Tensor]:
    """``(predicted, true)`` labels over all batches."""
    results = list(predictions(model, batches))
    if not results:
        raise ValueError("predict() got no batches: the loader is empty")
    return torch.cat([p for _, _, p in results]), torch.cat([y for _, y, _ in results])


def first_layer_maps(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """The first block of a :class:`ConvClassifier` on one image, before pooling: shape (C, 28, 28)."""
    layers = nn.Sequential(*[m for m in model.features[0] if not isinstance(m, nn.MaxPool2d)])  # type: ignore[index]
    with _evaluating(model) as device, torch.no_grad():
        return layers(image.reshape(1, 1, *image.shape[-2:]).to(device))[0].cpu()
