"""Tables on the page: every header cell named (for screen readers), padded cells, numbers right-aligned."""

from __future__ import annotations

import re
from typing import Any

from ..checks import check_int


def show_table(frame: Any, decimals: int = 2, caption: str | None = None) -> Any:
    """``frame`` as a pandas ``Styler``, a named index made its first column; numbers shown to ``decimals``."""
    if not hasattr(frame, "reset_index") or not hasattr(frame, "style"):
        raise TypeError(f"show_table() needs a pandas DataFrame, got {type(frame).__name__}")
    decimals = check_int("decimals", decimals, minimum=0)
    flat = frame.reset_index() if any(name is not None for name in frame.index.names) else frame
    numeric = [column for column in flat.columns if flat[column].dtype.kind in "iuf"
               or flat[column].map(lambda v: bool(NUMBER_TEXT.fullmatch(str(v).strip()))).all()]
    styler = flat.style.hide(axis="index").format(precision=decimals)
    styler = styler.set_table_styles(CELL_STYLES).set_properties(subset=numeric, **{"text-align": "right"})
    return styler.set_caption(caption) if caption else styler


#: Text that reads as a number ("87.36 ± 0.45", "1,000", "-0.5 %"): right-aligned like one.
NUMBER_TEXT = re.compile(r"[-+\u2212]?[\d.,]+( ?\u00b1 ?[\d.,]+)?( ?%)?")
CELL_STYLES = [
    {"selector": "th, td", "props": "padding: 0.3em 0.75em; font-variant-numeric: tabular-nums; white-space: nowrap;"},
    {"selector": "th", "props": "text-align: left; vertical-align: bottom;"},
    {"selector": "", "props": "border-collapse: collapse;"},
]
