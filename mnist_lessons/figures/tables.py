"""Tables on the page: a pandas frame shown with real header cells.

pandas' default HTML for an indexed frame leaves an empty corner cell (and,
when the index has a name, a second header row of empty cells): screen readers
announce them as nameless headers. :func:`show_table` turns the index into an
ordinary, titled first column and hides the row numbers, so every header cell
names its column.
"""

from __future__ import annotations

from typing import Any


def show_table(frame: Any, decimals: int = 2, caption: str | None = None) -> Any:
    """``frame`` as a pandas ``Styler`` whose every header cell has a name; numbers shown to ``decimals``.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"val acc (%)": [93.456]}, index=pd.Index(["0.05"], name="lr"))
    >>> html = show_table(frame).to_html()
    >>> "<th" in html and "></th>" not in html
    True
    """
    if not hasattr(frame, "reset_index") or not hasattr(frame, "style"):
        raise TypeError(f"show_table() needs a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(f"decimals must be an integer >= 0, got {decimals!r}")
    named = frame.index.name is not None or any(name is not None for name in getattr(frame.index, "names", []))
    flat = frame.reset_index() if named else frame
    styler = flat.style.hide(axis="index").format(precision=decimals)
    return styler.set_caption(caption) if caption else styler
