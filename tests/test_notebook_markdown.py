"""A chapter's MyST markdown as the plain markdown of its download (book/_ext/notebook_markdown.py)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))

from notebook_markdown import LEFTOVER, Resolver, plain_markdown  # noqa: E402

SITE = "https://example.github.io/book/"


def resolver() -> Resolver:
    values = {"val_acc": "90.2345", "epochs": "5", "name": "'relu'"}

    def glue(key, spec):
        return format(float(values[key]), spec) if spec else values[key].strip("'")

    def link(role, target, text):
        titles = {"status": "Build status", "learning": "Learning"}
        if role == "doc":
            return text or titles[target], f"{SITE}book/{target}.html"
        if role == "numref":
            return (text or "Fig. %s").replace("%s", "3"), f"{SITE}book/learning.html#{target}"
        return text or "A section", f"{SITE}book/multilayer.html#{target}"

    def include(argument, options):
        assert (argument, options) == ("../mnist_lessons/training/loops.py", {"pyobject": "evaluate"})
        return "def evaluate(loader, model, loss_fn):\n    ...\n", "python"

    return Resolver(glue, link, include, f"{SITE}book/learning.html")


def convert(text: str) -> str:
    return plain_markdown(textwrap.dedent(text).strip("\n"), resolver())


def test_glued_values_are_written_as_the_page_shows_them():
    assert convert("It reached {glue:text}`val_acc:.1f` % after {glue:text}`epochs` epochs.") == \
        "It reached 90.2 % after 5 epochs."


def test_cross_references_become_links_to_the_site():
    text = convert("See {doc}`the status page <status>`, {doc}`learning`, {numref}`fig-curve` "
                   "and {ref}`the rule <comparison-rule>`.")
    assert text == (f"See [the status page]({SITE}book/status.html), [Learning]({SITE}book/learning.html), "
                    f"[Fig. 3]({SITE}book/learning.html#fig-curve) and "
                    f"[the rule]({SITE}book/multilayer.html#comparison-rule).")


def test_an_included_function_is_written_out_as_code():
    text = convert("""
        The function:

        ```{literalinclude} ../mnist_lessons/training/loops.py
        :pyobject: evaluate
        ```

        That is all.
        """)
    assert "```python\ndef evaluate(loader, model, loss_fn):\n    ...\n```" in text
    assert ":pyobject:" not in text and text.endswith("That is all.")


def test_admonitions_definition_lists_labels_and_comments():
    text = convert("""
        (my-label)=
        % a note to authors
        ```{admonition} Exercise
        :class: tip

        Reach {glue:text}`val_acc:.0f` %.
        ```

        Epoch
        : one pass over the training data
          at every step.
        """)
    assert text.splitlines() == ["> **Exercise**", ">", "> Reach 90 %.", "", "- **Epoch**: one pass over the "
                                 "training data", "  at every step."]


def test_plain_code_blocks_and_math_are_kept_as_they_are():
    source = "$$\\ell = -\\log p_y$$\n\n```bash\necho {glue:text}`x`\n```"
    assert convert(source) == source


def test_a_directive_only_the_site_can_show_links_to_the_page():
    assert convert("```{nb-exec-table}\n```") == f"*(This part is shown on [the page on the site]({SITE}book/learning.html).)*"


def test_a_value_the_build_did_not_glue_is_an_error_not_a_blank():
    with pytest.raises(KeyError):
        convert("{glue:text}`missing:.1f`")


@pytest.mark.parametrize("text", ["{glue:text}`a`", "```{code-cell} ipython3", ": a definition", "(label)=",
                                  ":::{note}"])
def test_the_leftover_check_finds_each_construct(text):
    assert LEFTOVER.search(text)


def test_the_leftover_check_passes_plain_markdown():
    assert not LEFTOVER.search("A *plain* [link](x.html), `code`, $x^2$ and\n```python\nprint(1)\n```")


def test_quoted_option_values_lose_their_quotes_as_myst_reads_them():
    seen = {}

    def include(argument, options):
        seen.update(options)
        return "layers = []\n", "python"

    r = resolver()
    r.include = include
    plain_markdown('```{literalinclude} m.py\n:start-at: "layers: list = []"\n:dedent:\n```', r)
    assert seen == {"start-at": "layers: list = []", "dedent": None}


def test_a_quiz_and_a_prediction_become_lettered_options_with_folded_explanations():
    text = convert("""
        :::{quiz} What did {doc}`learning` reach?
        - {glue:text}`epochs` %.
          : No: that is the number of epochs.
        + {glue:text}`val_acc:.1f` %, with $p_y$ `high`.
          : Yes: see
            {numref}`fig-curve`.
        :::

        ```{predict} Will it rise?
        + Yes.
          : It does.
        - No.
          : It does not fall.
        ```
        """)
    assert text.splitlines() == [
        f"**Check yourself:** What did [Learning]({SITE}book/learning.html) reach?", "",
        "- **(A)** 5 %.", "- **(B)** 90.2 %, with $p_y$ `high`.", "",
        "<details><summary>Is (A) right?</summary>", "", "**No.** No: that is the number of epochs.", "",
        "</details>", "",
        "<details><summary>Is (B) right?</summary>", "",
        f"**Yes.** Yes: see [Fig. 3]({SITE}book/learning.html#fig-curve).", "", "</details>", "",
        "**Predict, then run:** Will it rise?", "",
        "*Choose your guess before you run the next cell, then compare it with the output.*", "",
        "- **(A)** Yes.", "- **(B)** No.", "",
        "<details><summary>Is (A) right?</summary>", "", "**Yes.** It does.", "", "</details>", "",
        "<details><summary>Is (B) right?</summary>", "", "**No.** It does not fall.", "", "</details>"]
    assert not LEFTOVER.search(text)


def test_a_malformed_quiz_is_an_error_in_the_download_too():
    with pytest.raises(ValueError, match="no option is marked right"):
        convert("```{quiz} Which?\n- A.\n  : No.\n- B.\n  : No.\n```")
