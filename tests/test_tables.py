"""show_table: every header cell of a chapter's table names its column."""

import re

import pandas as pd
import pytest

from mnist_lessons.figures.tables import show_table


def header_texts(html: str) -> list[str]:
    import re

    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", html, flags=re.S)]


def test_the_index_becomes_a_titled_column_and_no_header_is_empty():
    frame = pd.DataFrame({"val acc (%)": [93.456, 94.0]}, index=pd.Index(["0.05", "0.1"], name="learning rate"))
    html = show_table(frame, decimals=1).to_html()
    assert header_texts(html) == ["learning rate", "val acc (%)"]
    assert "93.5" in html and "0.05" in html


def test_an_unnamed_index_is_left_out():
    html = show_table(pd.DataFrame({"a": [1.0]}), caption="One row").to_html()
    assert header_texts(html) == ["a"] and "One row" in html


@pytest.mark.parametrize("bad, decimals, error, message", [
    ([1, 2], 2, TypeError, "show_table() needs a pandas DataFrame, got list"),
    (pd.DataFrame({"a": [1]}), -1, ValueError, "decimals must be an integer >= 0, got -1"),
    (pd.DataFrame({"a": [1]}), 1.5, ValueError, "decimals must be an integer >= 0, got 1.5"),
])
def test_bad_arguments_are_named(bad, decimals, error, message):
    with pytest.raises(error, match=re.escape(message)):
        show_table(bad, decimals=decimals)


def test_a_numpy_integer_is_a_number_of_decimals():
    import numpy as np

    assert "93.5" in show_table(pd.DataFrame({"a": [93.456]}), decimals=np.int64(1)).to_html()


def test_cells_are_padded_and_numbers_right_aligned_in_the_html_itself():
    """The styles travel with the table: a downloaded notebook shows it as the site does."""
    frame = pd.DataFrame({"min (%)": [96.13], "max (%)": [96.42], "recipe": ["tuned"], "acc": ["87.36 ± 0.45"]})
    html = show_table(frame).to_html()
    assert "padding: 0.3em 0.75em" in html and "tabular-nums" in html
    selectors = re.findall(r"([^{}]*)\{\s*text-align: right", html)
    right = sorted(set(re.findall(r"_row0_col(\d)", " ".join(selectors))))
    assert right == ["0", "1", "3"]  # the numeric columns and "mean ± uncertainty", not the text one
