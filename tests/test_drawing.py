"""The preparation of a drawn digit (mnist_lessons.data.drawing), on tiny synthetic strokes."""

import numpy as np
import pytest

from mnist_lessons.data.drawing import area_weights, fit_and_centre, prepare_strokes, render_strokes, shift


def test_a_dot_is_a_disc_of_the_pen_radius():
    ink = render_strokes([[(10.5, 10.5)]], 21, 21, radius=3)
    assert ink[10, 10] == 1.0
    assert ink[10, 13] == 0.5  # distance 3: radius + 0.5 - 3
    assert ink[10, 14] == 0.0 and ink[0, 0] == 0.0
    assert np.allclose(ink, ink.T) and np.allclose(ink, ink[::-1])


def test_a_line_has_even_ink_along_it_and_round_ends():
    ink = render_strokes([[(5.5, 10.5), (15.5, 10.5)]], 21, 21, radius=2)
    assert (ink[10, 5:16] == 1.0).all()
    assert ink[10, 16] == 1.0 and ink[10, 17] == 0.5 and ink[10, 18] == 0.0  # the round tip
    assert ink[13, 10] == 0.0 and ink[12, 10] == 0.5


def test_area_weights_average_and_keep_the_total():
    w = area_weights(30, 20)
    assert np.allclose(w.sum(axis=1), 1.0)  # each new pixel is a mean
    assert np.allclose(w.sum(axis=0), 20 / 30)  # each old pixel counts in full, once
    assert np.allclose(area_weights(20, 20), np.eye(20))


def test_fit_and_centre_fits_the_box_and_centres_the_mass():
    ink = np.zeros((100, 100))
    ink[5:25, 70:80] = 1.0  # a small upright bar in the top right corner
    image = fit_and_centre(ink)
    assert image.shape == (28, 28) and image.dtype == np.float32
    rows, cols = np.nonzero(image > 0)
    assert rows.max() - rows.min() + 1 == 20  # the long side fills the 20-pixel box
    assert cols.max() - cols.min() + 1 == 10  # the proportions are kept
    centres = np.arange(28) + 0.5
    assert abs((image.sum(axis=1) * centres).sum() / image.sum() - 14) <= 0.5
    assert abs((image.sum(axis=0) * centres).sum() / image.sum() - 14) <= 0.5


def test_where_and_how_big_the_digit_is_drawn_does_not_matter():
    small_corner = prepare_strokes([[(20, 20), (20, 60), (40, 60)]], 280, 280, radius=2)
    big_centre = prepare_strokes([[(100, 60), (100, 220), (180, 220)]], 280, 280, radius=8)
    assert np.abs(small_corner - big_centre).max() < 0.2
    assert small_corner.max() == pytest.approx(1.0)


def test_empty_and_bad_input():
    assert not fit_and_centre(np.zeros((5, 5))).any()
    with pytest.raises(ValueError, match="divide 8-bit pixels by 255"):
        fit_and_centre(np.full((5, 5), 255.0))
    with pytest.raises(ValueError, match="one grey image"):
        fit_and_centre(np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="pen radius"):
        render_strokes([], 5, 5, radius=0)


def test_shift_moves_and_crops():
    image = np.arange(9.0).reshape(3, 3)
    assert (shift(image, 1, -1) == [[0, 0, 0], [1, 2, 0], [4, 5, 0]]).all()
    assert not shift(image, 5, 0).any()
