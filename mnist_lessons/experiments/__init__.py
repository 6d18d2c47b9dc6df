"""Experiments built from runs: fair sweeps, and the small demos of the regularisation chapter.

``sweeps`` (one setting changed across values, everything else equal),
``polynomials`` (bias and variance with polynomial fits) and ``gradients``
(vanishing and exploding gradients in deep networks).
"""
