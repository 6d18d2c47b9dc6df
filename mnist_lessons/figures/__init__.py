"""Every figure of the book, drawn in its style.

``style`` (the ambivalent style and the figure width), ``plots`` (digits,
predictions, training curves, sweeps, seed bands, regularisation and
convolution figures), ``tables`` (tables with named headers) and ``diagrams``
(network drawings).
"""
