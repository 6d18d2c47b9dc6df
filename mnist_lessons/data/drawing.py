"""Turn a drawn digit (ink 1, background 0) into the 28 x 28 image the networks expect, as MNIST's were prepared.

:func:`render_strokes` draws pen strokes as round-tipped lines; :func:`fit_and_centre` crops the ink, pads it to a
square, shrinks it to 20 x 20 by area averaging and moves its centre of mass to the centre of 28 x 28. The "Try it"
page (``book/_static/try-it.js``) does the same arithmetic, and the browser tests compare the two.

>>> image = prepare_strokes([[(40, 40), (40, 120)]], width=280, height=280)
>>> image.shape, float(image.max())
((28, 28), 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Side of the image the networks take, and of the box the digit is fitted in.
FIELD = 28
BOX = 20
#: Pen radius in canvas pixels used by the page's 280 x 280 drawing grid.
PEN_RADIUS = 9.0

Stroke = Sequence[tuple[float, float]]


def render_strokes(strokes: Sequence[Stroke], width: int, height: int, radius: float = PEN_RADIUS) -> np.ndarray:
    """Ink, ``clip(radius + 0.5 - distance, 0, 1)``, of strokes of ``(x, y)`` points (a single point is a dot).

    Pixel (row, col) of the ``height`` x ``width`` result is centred at (col + 0.5, row + 0.5).
    """
    if width < 1 or height < 1:
        raise ValueError(f"the canvas must be at least 1 x 1 pixels, got {width} x {height}")
    if radius <= 0:
        raise ValueError(f"the pen radius must be positive, got {radius}")
    ink = np.zeros((height, width))
    reach = radius + 0.5
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        segments = list(zip(points, points[1:])) or [(p, p) for p in points]
        for (x0, y0), (x1, y1) in segments:
            c0, c1 = max(int(np.floor(min(x0, x1) - reach)), 0), min(int(np.ceil(max(x0, x1) + reach)), width)
            r0, r1 = max(int(np.floor(min(y0, y1) - reach)), 0), min(int(np.ceil(max(y0, y1) + reach)), height)
            if c0 >= c1 or r0 >= r1:
                continue
            px = np.arange(c0, c1) + 0.5
            py = (np.arange(r0, r1) + 0.5)[:, None]
            dx, dy = x1 - x0, y1 - y0
            length2 = dx * dx + dy * dy
            t = np.clip(((px - x0) * dx + (py - y0) * dy) / length2, 0.0, 1.0) if length2 > 0 else 0.0  # 0: a dot
            ex = px - (x0 + t * dx)
            ey = py - (y0 + t * dy)
            value = np.clip(reach - np.sqrt(ex * ex + ey * ey), 0.0, 1.0)
            np.maximum(ink[r0:r1, c0:c1], value, out=ink[r0:r1, c0:c1])
    return ink


def area_weights(size: int, out: int) -> np.ndarray:
    """``out`` x ``size`` matrix averaging ``size`` pixels into ``out``: row i covers [i s, (i+1) s), s = size / out."""
    scale = size / out
    weights = np.zeros((out, size))
    for i in range(out):
        start, end = i * scale, (i + 1) * scale
        for j in range(int(np.floor(start)), min(int(np.ceil(end)), size)):
            weights[i, j] = (min(end, j + 1) - max(start, j)) / scale
    return weights


def fit_and_centre(ink: np.ndarray) -> np.ndarray:
    """The 28 x 28 image (float32, 0 to 1) of the ink, prepared the way MNIST's digits were (no ink: all zeros)."""
    ink = np.asarray(ink, dtype=np.float64)
    if ink.ndim != 2:
        raise ValueError(f"expected one grey image (height x width), got shape {ink.shape}")
    if not np.isfinite(ink).all() or ink.min() < -1e-6 or ink.max() > 1 + 1e-6:
        raise ValueError("ink values must lie in [0, 1] (divide 8-bit pixels by 255; ink bright, background 0)")
    ink = np.clip(ink, 0.0, 1.0)  # rounding may leave 1 + 1e-16
    field = np.zeros((FIELD, FIELD))
    rows, cols = np.nonzero(ink > 0)
    if len(rows) == 0:
        return field.astype(np.float32)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    height, width = bottom - top, right - left
    side = max(height, width)
    square = np.zeros((side, side))
    dy, dx = (side - height) // 2, (side - width) // 2
    square[dy : dy + height, dx : dx + width] = ink[top:bottom, left:right]
    weights = area_weights(side, BOX)
    offset = (FIELD - BOX) // 2
    field[offset : offset + BOX, offset : offset + BOX] = weights @ square @ weights.T
    centres = np.arange(FIELD) + 0.5
    com_y, com_x = ((field.sum(axis=axis) * centres).sum() / field.sum() for axis in (1, 0))  # centre of mass
    down, across = (int(np.floor(FIELD / 2 - com + 0.5)) for com in (com_y, com_x))
    return shift(field, down, across).astype(np.float32)


def shift(image: np.ndarray, down: int, right: int) -> np.ndarray:
    """``image`` moved by whole pixels; what leaves the field is lost, what enters is 0."""
    out = np.zeros_like(image)
    h, w = image.shape
    src_r = slice(max(0, -down), min(h, h - down))
    dst_r = slice(max(0, down), min(h, h + down))
    src_c = slice(max(0, -right), min(w, w - right))
    dst_c = slice(max(0, right), min(w, w + right))
    out[dst_r, dst_c] = image[src_r, src_c]
    return out


def prepare_strokes(strokes: Sequence[Stroke], width: int, height: int, radius: float = PEN_RADIUS) -> np.ndarray:
    """Render pen strokes on a ``width`` x ``height`` canvas and prepare them as MNIST's digits were."""
    return fit_and_centre(render_strokes(strokes, width, height, radius))
