"""Experiments built from runs: seed noise and sweeps over seeds, and the small demos of the regularisation chapter.

``noise`` (one setting across values, each trained from the same seeds),
``polynomials`` (bias and variance with polynomial fits) and ``gradients``
(vanishing and exploding gradients in deep networks).
"""
