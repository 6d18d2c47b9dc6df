"""Tables on the page: a pandas frame shown with real header cells.

pandas' default HTML for an indexed frame leaves an empty corner cell (and,
when the index has a name, a second header row of empty cells): screen readers
announce them as nameless headers. :func:`show_table` turns the index into an
ordinary, titled first column and hides the row numbers, so every header cell
names its column. Cells are padded and numbers right-aligned in tabular
figures, so neighbouring columns never run together ("96.1396.42"), on the
site and in a downloaded notebook alike (the styles travel with the table).
"""

from __future__ import annotations

import re
from typing import Any

from ..checks import check_int


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
    decimals = check_int("decimals", decimals, minimum=0)
    named = frame.index.name is not None or any(name is not None for name in getattr(frame.index, "names", []))
    flat = frame.reset_index() if named else frame
    numeric = [column for column in flat.columns if flat[column].dtype.kind in "iuf"
               or flat[column].map(lambda v: bool(NUMBER_TEXT.fullmatch(str(v).strip()))).all()]
    styler = flat.style.hide(axis="index").format(precision=decimals)
    styler = styler.set_table_styles(CELL_STYLES).set_properties(subset=numeric, **{"text-align": "right"})
    return styler.set_caption(caption) if caption else styler


#: Text that reads as a number ("87.36 ± 0.45", "1,000", "-0.5 %"): right-aligned like one.
NUMBER_TEXT = re.compile(r"[-+\u2212]?[\d.,]+( ?\u00b1 ?[\d.,]+)?( ?%)?")
#: Padding and figures for every cell; numeric columns are right-aligned on top of these.
CELL_STYLES = [
    {"selector": "th, td", "props": "padding: 0.3em 0.75em; font-variant-numeric: tabular-nums; white-space: nowrap;"},
    {"selector": "th", "props": "text-align: left; vertical-align: bottom;"},
    {"selector": "", "props": "border-collapse: collapse;"},
]
