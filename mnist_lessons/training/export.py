"""Write a trained network for the book's "Try it" page: weights (``.bin``), layers (``.json``), both (``.js``).
Each is first run as the page runs it (:func:`to_torch`): what it cannot see (``F.relu``, a sum) is refused."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checks import check_number
from ..data.drawing import prepare_strokes
from ..models import check_images as check_model_images
from ..outputs import write_atomically

EXPORT_ENV = "MNIST_LESSONS_EXPORT_DIR"  # names the folder the book's build collects the weights in
FORMAT = 1


def _network_layers(leaves: list[nn.Module]) -> tuple[list[dict], list[np.ndarray]]:
    """The layers of ``leaves`` (in the order ``forward`` calls them) and their arrays, each ``[offset, count]``."""
    arrays: list[np.ndarray] = []
    layers: list[dict] = []

    def add(array: torch.Tensor) -> list[int]:
        arrays.append(np.ascontiguousarray(array.detach().cpu().double().numpy(), dtype="<f4"))
        return [sum(a.size for a in arrays[:-1]), int(arrays[-1].size)]

    i = 0
    while i < len(leaves):
        module = leaves[i]
        if isinstance(module, nn.Linear):
            bias = module.bias if module.bias is not None else torch.zeros(module.out_features)
            layers.append({"type": "linear", "in": module.in_features, "out": module.out_features,
                           "weight": add(module.weight), "bias": add(bias)})
        elif isinstance(module, nn.Conv2d):
            k = module.kernel_size[0]
            if (module.kernel_size != (k, k) or module.stride != (1, 1) or module.padding != (k // 2, k // 2)
                    or module.dilation != (1, 1) or module.groups != 1 or module.padding_mode != "zeros"):
                raise ValueError(f"{module}: only square, stride-1, 'same'-padded convolutions can be exported")
            weight = module.weight.double()
            bias = module.bias.double() if module.bias is not None else torch.zeros(module.out_channels).double()
            if i + 1 < len(leaves) and isinstance(leaves[i + 1], nn.BatchNorm2d):
                norm = leaves[i + 1]
                scale = norm.weight.double() / torch.sqrt(norm.running_var.double() + norm.eps)
                weight = weight * scale[:, None, None, None]
                bias = (bias - norm.running_mean.double()) * scale + norm.bias.double()
                i += 1
            layers.append({"type": "conv", "in": module.in_channels, "out": module.out_channels, "kernel": k,
                           "weight": add(weight), "bias": add(bias)})
        elif isinstance(module, nn.ReLU):
            layers.append({"type": "relu"})
        elif isinstance(module, nn.MaxPool2d):
            size = module.kernel_size
            if module.stride not in (size, (size, size)) or module.padding or module.ceil_mode or module.dilation != 1:
                raise ValueError(f"{module}: only max pooling with stride equal to its size can be exported")
            layers.append({"type": "maxpool", "size": int(size if isinstance(size, int) else size[0])})
        elif not isinstance(module, (nn.Flatten, nn.Dropout, nn.Identity)):  # nothing to do at inference
            raise ValueError(f"cannot export {type(module).__name__}: the Try it page runs Linear, Conv2d "
                             "(+BatchNorm2d), ReLU, MaxPool2d, Flatten and Dropout layers only")
        i += 1
    return layers, arrays


@functools.cache
def _scribbles() -> torch.Tensor:
    """The fixed batch an export is checked on: 16 pen scribbles prepared as the page prepares drawings, 16 of noise."""
    rng = np.random.default_rng(784)
    drawn = [prepare_strokes([rng.uniform(20, 260, (int(rng.integers(2, 6)), 2))], 280, 280) for _ in range(16)]
    noise = rng.uniform(0, 1, (16, 28, 28)) * (rng.uniform(0, 1, (16, 28, 28)) < 0.3)
    return torch.from_numpy(np.concatenate([np.stack(drawn), noise])).float().reshape(-1, 1, 28, 28)


def _check_export(name: str, meta: dict, weights: np.ndarray, images: torch.Tensor, expected: torch.Tensor) -> None:
    """``ValueError`` unless the exported network gives ``expected`` (the model's scores on ``images``)."""
    causes = ("likely causes: an activation called as a function in forward (F.relu: use an nn.ReLU module), "
              "arithmetic between layers that is not a module (a residual sum, a reshape other than flattening), "
              "or a layer the page does not run as PyTorch does; nothing was written")
    if expected.shape != (len(images), 10):
        raise ValueError(f"cannot export {name!r}: the model returns shape {tuple(expected.shape)} for "
                         f"{len(images)} images, the Try it page needs ten scores per image")
    try:
        with torch.no_grad():
            got = torch.softmax(to_torch(meta, weights)(images), dim=1)
        error = float((got - torch.softmax(expected, dim=1)).abs().max())  # a RuntimeError if the shapes differ
    except RuntimeError as err:
        raise ValueError(f"the exported {name!r} fails where the model runs ({' '.join(str(err).split())}); "
                         f"{causes}") from None
    if not error <= 1e-4:  # in every probability
        raise ValueError(f"the exported {name!r} does not compute what the model computes: its probabilities differ "
                         f"by up to {error:.3g} on {len(images)} check images; {causes}")


def exported(name: str) -> Path:
    """The ``name.json`` this build exported (its ``.bin`` and ``.js`` beside it), else how to rebuild in the error."""
    path = Path(os.environ.get(EXPORT_ENV) or "../_build/offline/_static/try-it") / f"{name}.json"
    for missing in (p for p in (path, path.with_suffix(".bin"), path.with_suffix(".js")) if not p.is_file()):
        raise FileNotFoundError(f"{missing} is missing: its chapter was served from the execution cache without "
                                "exporting. Rebuild with `make clean book` (or `jupyter-book build . --all`)")
    return path


def export_network(model: nn.Module, name: str, *, val_acc: float, chapter: str,
                   directory: str | Path | None = None,
                   check_images: torch.Tensor | np.ndarray | None = None) -> Path | None:
    """Write ``name.json``, ``.bin`` and ``.js`` for ``model`` into ``directory`` or ``$MNIST_LESSONS_EXPORT_DIR``
    (neither: nothing, ``None``), checked first on scribbles and ``check_images``; ``val_acc`` is in percent."""
    if directory is None and not (directory := os.environ.get(EXPORT_ENV)):
        return None
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a simple identifier such as 'cnn', got {name!r}")
    val_acc = check_number("val_acc", val_acc, minimum=0.0)
    if val_acc > 100:
        raise ValueError(f"val_acc is a percentage from 0 to 100, got {val_acc!r}")
    images = _scribbles()
    if check_images is not None:
        check_images = torch.as_tensor(check_images)
        try:
            check_model_images(check_images)
        except (TypeError, ValueError) as err:
            raise type(err)(f"check_images: {err}") from None
        images = torch.cat([images, check_images.detach().float().cpu().reshape(-1, 1, 28, 28)])
    reference = copy.deepcopy(model).float().cpu().eval()  # the model itself keeps its device and mode
    order: list[nn.Module] = []  # the leaves in the order forward calls them, repeats included
    for leaf in (m for m in reference.modules() if not list(m.children())):
        leaf.register_forward_hook(lambda m, _inputs, _output: order.append(m))  # on the copy, dropped after
    try:
        with torch.no_grad():
            expected = reference(images)
    except Exception as err:  # noqa: BLE001 (any failure of the model's own forward pass)
        raise ValueError(f"cannot check the export of {name!r}: the model fails on (N, 1, 28, 28) images "
                         f"({' '.join(str(err).split())})") from None
    layers, arrays = _network_layers(order)
    payload = b"".join(a.tobytes() for a in arrays)
    meta = {"format": FORMAT, "name": name, "chapter": chapter, "val_acc": val_acc, "input": [1, 28, 28],
            "weights": f"{name}.bin", "floats": sum(a.size for a in arrays),
            "sha256": hashlib.sha256(payload).hexdigest(), "layers": layers}
    _check_export(name, meta, np.frombuffer(payload, dtype="<f4"), images, expected)
    script = (f"// {name}.json and {name}.bin in one script, for the Try it page opened from disk (file://)\n"
              f"(window.mnistTryItFiles = window.mnistTryItFiles || {{}})[{json.dumps(name)}] = "
              + json.dumps({"meta": meta, "weights": base64.b64encode(payload).decode()}) + ";\n")
    folder = Path(directory)
    files = {".bin": payload, ".js": script.encode(), ".json": (json.dumps(meta, indent=1) + "\n").encode()}
    for suffix, data in files.items():
        write_atomically(folder / f"{name}{suffix}", lambda tmp, data=data: tmp.write_bytes(data))  # names the file
    return folder / f"{name}.json"


def read_network(path: str | Path) -> tuple[dict, np.ndarray]:
    """The description in ``path`` (a ``.json`` file) and its weights, checked against the SHA-256."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the book, whose chapters export the networks")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} has format {meta.get('format')!r}, expected {FORMAT}: export it again")
    payload = (path.parent / meta["weights"]).read_bytes()
    if hashlib.sha256(payload).hexdigest() != meta["sha256"]:
        raise ValueError(f"{path.parent / meta['weights']} does not match {path.name}: export the network again")
    return meta, np.frombuffer(payload, dtype="<f4")


def to_torch(meta: dict, weights: np.ndarray) -> nn.Sequential:
    """The exported network as a PyTorch module that computes as the page does: (N, 1, 28, 28) to ten scores."""
    modules: list[nn.Module] = [nn.Flatten(), nn.Unflatten(1, tuple(meta["input"]))]
    for layer in meta["layers"]:
        kind = layer["type"]
        if kind == "linear":
            modules += [nn.Flatten(), nn.Linear(layer["in"], layer["out"])]  # flattening: nothing to do once flat
        elif kind == "conv":
            modules.append(nn.Conv2d(layer["in"], layer["out"], layer["kernel"], padding=layer["kernel"] // 2))
        elif kind == "relu":
            modules.append(nn.ReLU())
        elif kind == "maxpool":
            modules.append(nn.MaxPool2d(layer["size"]))
        else:
            raise ValueError(f"unknown layer type {kind!r}")
        if kind in ("linear", "conv"):
            for key in ("weight", "bias"):  # each stored as [offset, count] into the weights
                start, count = layer[key]
                tensor = getattr(modules[-1], key)
                tensor.data = torch.from_numpy(weights[start : start + count].copy()).view_as(tensor)
    return nn.Sequential(*modules).eval()
