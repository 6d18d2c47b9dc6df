import math

import numpy as np
import pytest
import torch

from mnist_lessons.experiments.paired import McNemar, binomial_two_sided, mcnemar_exact


def brute_force_p(k, n):
    """Two-sided exact binomial p-value by summing every outcome at most as likely as k (fair coin)."""
    probs = [math.comb(n, i) / 2**n for i in range(n + 1)]
    return min(1.0, sum(p for p in probs if p <= probs[k] * (1 + 1e-12)))


@pytest.mark.parametrize(("k", "n", "expected"), [
    (0, 5, 0.0625),            # 2 * (1/2)^5
    (2, 12, 0.03857421875),    # 2 * (1 + 12 + 66) / 4096
    (5, 10, 1.0),              # an even split cannot be lopsided
    (0, 0, 1.0),               # no disagreements: no evidence
    (10, 10, 2 / 1024),
])
def test_known_binomial_p_values(k, n, expected):
    assert binomial_two_sided(k, n) == pytest.approx(expected)


def test_agrees_with_brute_force_and_is_symmetric():
    for n in range(1, 40):
        for k in range(n + 1):
            assert binomial_two_sided(k, n) == pytest.approx(brute_force_p(k, n))
            assert binomial_two_sided(k, n) == binomial_two_sided(n - k, n)


def test_large_counts_stay_exact():
    p = binomial_two_sided(300, 700)  # 2^700 overflows a float; exact integers do not
    assert 0 < p < 1e-3
    assert binomial_two_sided(5_000, 10_000) == 1.0


def test_mcnemar_counts_only_the_discordant_images():
    y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    a = torch.tensor([0, 1, 2, 3, 4, 5, 0, 0])  # wrong on 6 and 7
    b = torch.tensor([0, 1, 0, 0, 0, 5, 6, 0])  # wrong on 2, 3, 4, 7
    result = mcnemar_exact(a, b, y)
    assert result == McNemar(b=3, c=1, p=pytest.approx(binomial_two_sided(1, 4)))
    swapped = mcnemar_exact(b, a, y)
    assert (swapped.b, swapped.c, swapped.p) == (1, 3, result.p)


def test_scores_are_reduced_to_predicted_classes():
    y = torch.tensor([1, 0])
    scores = torch.tensor([[0.1, 0.9], [0.8, 0.2]])  # both right
    assert mcnemar_exact(scores, torch.tensor([0, 0]), y) == McNemar(1, 0, 1.0)


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="same length"):
        mcnemar_exact([1, 2], [1], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        mcnemar_exact([], [], [])
    with pytest.raises(ValueError, match="k must be an integer from 0 to 2, got 3"):
        binomial_two_sided(3, 2)
    assert binomial_two_sided(np.int64(0), np.int64(2)) == 0.5  # NumPy integers count as integers
