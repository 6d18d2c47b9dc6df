"""Network diagrams drawn by code: each node a ``Circle`` with ``gid="node"``, every weight a line."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from ..config import NUM_CLASSES, NUM_PIXELS
from .style import WIDTH, use_style

COLORS = {"input": "C0", "hidden": "C4", "output": "C2"}  # ambivalent's blue, purple, green
# Node radius and the diagram's width, in data units (one unit is the vertical distance between nodes).
RADIUS, SPAN = 0.32, 16.0
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _column(x: float, size: int, most: int) -> list[tuple[float, float, int | None]]:
    """(x, y, node index) of the nodes drawn for a layer, centred on y = 0; too many: an ellipsis (``None``) mid-way."""
    tail = most // 2
    shown = list(range(size)) if size <= most else [*range(most - tail), None, *range(size - tail, size)]
    return [(x, (len(shown) - 1) / 2 - row, index) for row, index in enumerate(shown)]


def _diagram(height: float, title: str | None, sizes: Sequence[int], most: Sequence[int],
             labels: Sequence[str]) -> tuple[Figure, Axes, float]:
    """A figure of nodes, ellipses, weights and layer labels (x₁… on inputs, 0… on outputs); also the top node's y."""
    use_style()
    fig, ax = plt.subplots(figsize=(WIDTH, height), layout="constrained")
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or "")
    muted = plt.rcParams["text.color"]
    step = SPAN / max(len(sizes) - 1, 1)
    columns = [_column(layer * step, size, cap) for layer, (size, cap) in enumerate(zip(sizes, most))]
    highest = max(y for column in columns for _, y, _ in column)
    for left, right in zip(columns, columns[1:]):
        lines = [[(x0, y0), (x1, y1)] for x0, y0, i in left if i is not None for x1, y1, j in right if j is not None]
        ax.add_collection(LineCollection(lines, colors=muted, linewidths=0.6, alpha=0.45, zorder=1, gid="weights"))
    for layer, (column, label) in enumerate(zip(columns, labels)):
        role = "input" if layer == 0 else "output" if layer == len(sizes) - 1 else "hidden"
        for x, y, index in column:
            if index is None:
                ax.plot([x] * 3, [y - 0.25, y, y + 0.25], "o", markersize=2.5, color=muted)
                continue
            ax.add_patch(Circle((x, y), RADIUS, facecolor=COLORS[role], edgecolor="none", zorder=3, gid="node"))
            if role == "input":
                ax.text(x - RADIUS - 0.15, y, "x" + str(index + 1).translate(_SUBSCRIPTS), ha="right", va="center")
            elif role == "output":
                ax.text(x, y, str(index), ha="center", va="center", color="#1e1e1e", fontsize=10, zorder=4)
        ax.text(column[0][0], -highest - 0.7, label, ha="center", va="top", linespacing=1.3)
    return fig, ax, highest


def draw_network(layer_sizes: Sequence[int], labels: Sequence[str] | None = None, *, activation: str | None = None,
                 max_nodes: int = 10, title: str | None = None) -> Figure:
    """Draw a feed-forward network, at most ``max_nodes`` nodes per layer; labels like "hidden 50 (ReLU)"."""
    if labels is None:
        hidden = [f"hidden\n{size}" + (f" ({activation})" if activation else "") for size in layer_sizes[1:-1]]
        labels = [f"input\n{layer_sizes[0]}", *hidden, f"output\n{layer_sizes[-1]}"]
    fig, ax, top = _diagram(4.6, title, layer_sizes, [max_nodes] * len(layer_sizes), labels)
    ax.set(xlim=(-1.6, SPAN + 0.8), ylim=(-top - 2.4, top + 0.5))
    return fig


def draw_linear_layer(n_inputs_shown: int = 7, n_inputs: int = NUM_PIXELS, n_outputs: int = NUM_CLASSES, *,
                      softmax: bool = True, title: str | None = None) -> Figure:
    """Draw one fully connected layer: ``n_inputs`` pixels to ``n_outputs`` scores, every weight a line."""
    fig, ax, top = _diagram(4.9, f"{n_inputs} inputs → {n_outputs} outputs" if title is None else title,
                            [n_inputs, n_outputs], [n_inputs_shown, n_outputs],
                            [f"input: {n_inputs} pixels", f"output: {n_outputs} scores"])
    ax.text(SPAN / 2, top + 0.6, f"weights W ({n_inputs} × {n_outputs}), biases b ({n_outputs})\n"
            "scores = x W + b", ha="center", va="bottom", linespacing=1.4)
    if softmax:
        ax.text(SPAN + 0.7, 0, "softmax\n→ probability\nof each digit", va="center", linespacing=1.3)
    ax.set(xlim=(-1.8, SPAN + (4.2 if softmax else 0.8)), ylim=(-top - 1.6, top + 2.2))
    return fig
