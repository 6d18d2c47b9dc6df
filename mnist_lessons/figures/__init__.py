"""Every figure of the book, drawn in its style.

``style`` (the ambivalent style and the figure width), ``plots`` (digits,
predictions, training curves, sweep, regularisation and convolution figures)
and ``diagrams`` (network drawings).
"""
