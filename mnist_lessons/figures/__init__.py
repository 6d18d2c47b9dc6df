"""Every figure of the book, in its style: ``style``, ``plots``, ``tables`` and ``diagrams``."""
