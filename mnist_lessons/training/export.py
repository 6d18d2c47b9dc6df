"""Write a trained network's weights for the book's "Try it" page.

The page runs the networks in the reader's browser with a small forward pass
of its own (``book/_static/try-it.js``), so it needs the weights as plain
numbers and the order of the layers. :func:`export_network` writes, for a
network called ``name``:

- ``name.bin``: every weight and bias as little-endian float32, one after
  the other;
- ``name.json``: the layers in order, each with where its numbers sit in the
  ``.bin`` file (offset and count, in floats), the file's SHA-256, and which
  chapter trained the network to what validation accuracy.

Layers understood: ``Linear``, ``Conv2d`` (square kernel, stride 1, "same"
zero padding) followed by ``BatchNorm2d`` in evaluation mode, which is folded
into the convolution's weights and bias, ``ReLU``, ``MaxPool2d`` (square,
stride equal to its size) and ``Flatten``/``Dropout``/``Identity`` (nothing to
do at inference: images stay flat in channel, row, column order). The
layers are taken in the order the model registered them, which is the order
of the forward pass for the book's three networks.

The book's build sets ``MNIST_LESSONS_EXPORT_DIR`` (``book/_ext/try_it.py``);
without it :func:`export_network` writes nothing, so running a chapter on
its own leaves no files behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: Environment variable naming the folder the build collects the weights in.
EXPORT_ENV = "MNIST_LESSONS_EXPORT_DIR"
FORMAT = 1
#: Modules that do nothing once the network is trained and the image is flat.
PASS_THROUGH = (nn.Flatten, nn.Dropout, nn.Identity)


def _leaves(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not list(m.children())]


def _as_float32(t: torch.Tensor | np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(t.detach().cpu().double() if isinstance(t, torch.Tensor) else t), dtype="<f4")


def network_layers(model: nn.Module) -> tuple[list[dict], list[np.ndarray]]:
    """The layers of ``model`` as descriptions, and the arrays they refer to (by index)."""
    arrays: list[np.ndarray] = []
    layers: list[dict] = []

    def add(array: np.ndarray) -> int:
        arrays.append(_as_float32(array))
        return len(arrays) - 1

    leaves = _leaves(model)
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
            weight = module.weight.detach().double()
            bias = module.bias.detach().double() if module.bias is not None else torch.zeros(module.out_channels, dtype=torch.float64)
            if i + 1 < len(leaves) and isinstance(leaves[i + 1], nn.BatchNorm2d):
                norm = leaves[i + 1]
                scale = norm.weight.detach().double() / torch.sqrt(norm.running_var.double() + norm.eps)
                weight = weight * scale[:, None, None, None]
                bias = (bias - norm.running_mean.double()) * scale + norm.bias.detach().double()
                i += 1
            layers.append({"type": "conv", "in": module.in_channels, "out": module.out_channels, "kernel": k,
                           "weight": add(weight), "bias": add(bias)})
        elif isinstance(module, nn.ReLU):
            layers.append({"type": "relu"})
        elif isinstance(module, nn.MaxPool2d):
            size = module.kernel_size
            if module.stride not in (size, (size, size)) or module.padding != 0 or module.ceil_mode or module.dilation != 1:
                raise ValueError(f"{module}: only max pooling with stride equal to its size can be exported")
            layers.append({"type": "maxpool", "size": int(size if isinstance(size, int) else size[0])})
        elif not isinstance(module, PASS_THROUGH):
            raise ValueError(
                f"cannot export {type(module).__name__}: the Try it page runs Linear, Conv2d (+BatchNorm2d), "
                "ReLU, MaxPool2d, Flatten and Dropout layers only"
            )
        i += 1
    return layers, arrays


def exported(name: str) -> Path:
    """The JSON file of network ``name`` that this build exported: in ``$MNIST_LESSONS_EXPORT_DIR``, else where
    the book's build puts it (``../_build/offline/_static/try-it``, seen from ``book/``).

    A missing file is a ``FileNotFoundError`` that says how to rebuild.
    """
    path = Path(os.environ.get(EXPORT_ENV) or "../_build/offline/_static/try-it") / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: its chapter was served from the execution cache without "
                                "exporting. Rebuild with `make clean book` (or `jupyter-book build . --all`)")
    return path


def export_network(model: nn.Module, name: str, *, val_acc: float, chapter: str,
                   directory: str | Path | None = None) -> Path | None:
    """Write ``name.json`` and ``name.bin`` for ``model`` into ``directory``.

    ``directory`` defaults to ``$MNIST_LESSONS_EXPORT_DIR``; if neither is set,
    nothing is written and ``None`` is returned. Returns the JSON file's path.
    Each file is written under a temporary name and renamed once complete.
    """
    if directory is None:
        directory = os.environ.get(EXPORT_ENV)
        if not directory:
            return None
    if not name.isidentifier():
        raise ValueError(f"name must be a simple identifier such as 'cnn', got {name!r}")
    layers, arrays = network_layers(model)
    offsets, start = [], 0
    for array in arrays:
        offsets.append([start, int(array.size)])
        start += int(array.size)
    for layer in layers:
        for key in ("weight", "bias"):
            if key in layer:
                layer[key] = offsets[layer[key]]
    payload = b"".join(a.tobytes() for a in arrays)
    meta = {"format": FORMAT, "name": name, "chapter": chapter, "val_acc": float(val_acc), "input": [1, 28, 28],
            "weights": f"{name}.bin", "floats": start, "sha256": hashlib.sha256(payload).hexdigest(), "layers": layers}
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / f"{name}.bin", payload)
    target = folder / f"{name}.json"
    _write_atomic(target, (json.dumps(meta, indent=1) + "\n").encode())
    return target


def _write_atomic(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_bytes(data)
    if temp.read_bytes() != data:
        temp.unlink()
        raise OSError(f"{temp} did not read back as written")
    os.replace(temp, path)


def read_network(path: str | Path) -> tuple[dict, np.ndarray]:
    """The description in ``path`` (a ``.json`` file) and its weights, checked against the SHA-256."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: build the book so the chapters that train the networks export them")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} has format {meta.get('format')!r}, expected {FORMAT}: export it again")
    payload = (path.parent / meta["weights"]).read_bytes()
    if hashlib.sha256(payload).hexdigest() != meta["sha256"]:
        raise ValueError(f"{path.parent / meta['weights']} does not match {path.name}: export the network again")
    return meta, np.frombuffer(payload, dtype="<f4")


def forward(meta: dict, weights: np.ndarray, images: np.ndarray) -> np.ndarray:
    """Softmax probabilities of exported network for images (N x 784, or N x 28 x 28), in float64.

    The same arithmetic as the page's JavaScript, so a notebook can check a
    drawing (or the page) against PyTorch.
    """
    x = np.asarray(images, dtype=np.float64).reshape(len(images), *meta["input"])

    def take(span: list[int]) -> np.ndarray:
        return weights[span[0] : span[0] + span[1]].astype(np.float64)

    for layer in meta["layers"]:
        kind = layer["type"]
        if kind == "linear":
            w = take(layer["weight"]).reshape(layer["out"], layer["in"])
            x = x.reshape(len(x), -1) @ w.T + take(layer["bias"])
        elif kind == "conv":
            k = layer["kernel"]
            w = take(layer["weight"]).reshape(layer["out"], layer["in"], k, k)
            pad = k // 2
            n, c, h, wd = x.shape
            padded = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
            padded[:, :, pad : pad + h, pad : pad + wd] = x
            out = np.zeros((n, layer["out"], h, wd)) + take(layer["bias"])[None, :, None, None]
            for dy in range(k):
                for dx in range(k):
                    out += np.einsum("nchw,oc->nohw", padded[:, :, dy : dy + h, dx : dx + wd], w[:, :, dy, dx])
            x = out
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "maxpool":
            s = layer["size"]
            n, c, h, wd = x.shape
            x = x[:, :, : h // s * s, : wd // s * s].reshape(n, c, h // s, s, wd // s, s).max(axis=(3, 5))
        else:
            raise ValueError(f"unknown layer type {kind!r}")
    x = x.reshape(len(x), -1)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def to_torch(meta: dict, weights: np.ndarray) -> nn.Sequential:
    """The exported network as a PyTorch module (batch norm already folded into the convolutions).

    Takes images of shape (N, 1, 28, 28) and returns the ten scores, so a
    notebook can run the page's networks with PyTorch.
    """
    modules: list[nn.Module] = [nn.Unflatten(1, tuple(meta["input"]))]
    flat = False

    def tensor(span: list[int], shape: tuple[int, ...]) -> torch.Tensor:
        return torch.from_numpy(weights[span[0] : span[0] + span[1]].copy()).reshape(shape)

    for layer in meta["layers"]:
        kind = layer["type"]
        if kind == "linear":
            if not flat:
                modules.append(nn.Flatten())
                flat = True
            module = nn.Linear(layer["in"], layer["out"])
            module.weight.data = tensor(layer["weight"], (layer["out"], layer["in"]))
        elif kind == "conv":
            k = layer["kernel"]
            module = nn.Conv2d(layer["in"], layer["out"], k, padding=k // 2)
            module.weight.data = tensor(layer["weight"], (layer["out"], layer["in"], k, k))
        elif kind == "relu":
            modules.append(nn.ReLU())
            continue
        elif kind == "maxpool":
            modules.append(nn.MaxPool2d(layer["size"]))
            continue
        else:
            raise ValueError(f"unknown layer type {kind!r}")
        module.bias.data = tensor(layer["bias"], (layer["out"],))
        modules.append(module)
    return nn.Sequential(nn.Flatten(), *modules).eval()
