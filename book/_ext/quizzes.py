"""The ``{quiz}`` and ``{predict}`` directives: a question with one right option, answered on the page.

In a chapter (the argument is the question; a question holding backticks, a
role or code, needs the colon fence ``:::{quiz}`` ... ``:::``)::

    ```{quiz} Why does the book keep a validation set apart from the test set?
    - To have more data for training.
      : No: the validation images are never trained on.
    + So that choosing settings does not use the images that give the final score.
      : Yes: every choice made by looking at a set fits the settings to it.
    ```

A line starting ``- `` is a wrong option, ``+ `` the right one (exactly one,
and at least two options); the indented ``: `` line under an option is its
explanation, and further indented lines continue whichever came last. The
question, options and explanations are inline MyST (roles, math, code).
Anything else is a build error naming the line and the fix.

``{quiz}`` ("Check yourself") checks the chosen option; ``{predict}``
("Predict, then run") stands before a result: the reader locks in a guess,
then reads the output below. On the page each is a ``<fieldset>`` of radio
buttons with a ``<legend>``, a button and a polite live region
(``_static/quiz.js`` and ``quiz.css``); without JavaScript the explanations
stay under "Show the explanations". :func:`parse_body` is plain Python:
``notebook_markdown`` uses it for the downloaded notebooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOGGER = logging.getLogger(__name__)
OPTION_LINE = re.compile(r"^(?P<mark>[-+]) +(?P<text>\S.*)$")
EXPLANATION_LINE = re.compile(r"^\s+: *(?P<text>.*)$")
#: A backtick fence whose question holds backticks: CommonMark reads it as a paragraph, not a directive.
UNREAD_FENCE = re.compile(r"^`{3,}\{(?P<name>quiz|predict)\}")


@dataclass(frozen=True)
class Kind:
    label: str  # the small heading over the widget
    button: str


KINDS = {"quiz": Kind("Check yourself", "Check"), "predict": Kind("Predict, then run", "Lock in my guess")}


class QuizSyntaxError(ValueError):
    """A malformed quiz body; ``line`` is the 0-based body line at fault (None: the body as a whole)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Choice:
    text: str
    right: bool
    line: int  # 0-based, in the body
    explanation: str = ""
    explanation_line: int | None = None


def letter(index: int) -> str:
    return chr(ord("A") + index)


def parse_body(lines: list[str]) -> list[Choice]:
    """The options of a quiz body, each with its explanation; :class:`QuizSyntaxError` if malformed."""
    choices: list[Choice] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        option = OPTION_LINE.match(line)
        if option:
            choices.append(Choice(option["text"].strip(), option["mark"] == "+", i))
            continue
        if not choices or not line[0].isspace():
            raise QuizSyntaxError(f"{line.strip()!r} is neither an option nor an explanation: start an option "
                                  "with '- ' (wrong) or '+ ' (right) and put its explanation under it as "
                                  "an indented ': ' line", i)
        last, explanation = choices[-1], EXPLANATION_LINE.match(line)
        if explanation and last.explanation_line is not None:
            raise QuizSyntaxError(f"option ({letter(len(choices) - 1)}) has a second ': ' line: give it one "
                                  "explanation, continued on indented lines without ': '", i)
        if explanation:
            last.explanation, last.explanation_line = explanation["text"].strip(), i
        elif last.explanation_line is None:
            last.text += " " + line.strip()
        else:
            last.explanation += " " + line.strip()
    if len(choices) < 2:
        raise QuizSyntaxError(f"it has {len(choices)} option{'s' * (len(choices) != 1)}, at least 2 are needed: "
                              "add options on lines starting '- ' (wrong) or '+ ' (right)")
    for n, choice in enumerate(choices):
        if not choice.explanation:
            raise QuizSyntaxError(f"option ({letter(n)}) {choice.text!r} has no explanation: add an indented "
                                  "line '  : ...' under it saying why it is right or wrong", choice.line)
    right = [n for n, choice in enumerate(choices) if choice.right]
    if not right:
        raise QuizSyntaxError("no option is marked right: start the right option's line with '+ ' instead of '- '")
    if len(right) > 1:
        marked = ", ".join(f"({letter(n)})" for n in right)
        raise QuizSyntaxError(f"{len(right)} options are marked right, {marked}: mark exactly one with '+ ' "
                              "and the others with '- '", choices[right[1]].line)
    return choices


class QuizPart(nodes.General, nodes.Element):
    """One piece of the widget; ``part`` picks its HTML (:data:`HTML`), its other attributes fill it in."""


class QuizText(nodes.General, nodes.TextElement):
    """A piece holding inline MyST (question, option, explanation): a TextElement, as links need."""


#: Each part's opening and closing HTML, formatted with the node's attributes.
HTML = {
    "quiz": ('<div class="quiz quiz-{kind}" data-quiz="{kind}" id="{ident}">\n'
             '<p class="quiz-kind">{label}</p>\n', "</div>\n"),
    "fieldset": ('<fieldset class="quiz-choices">\n', "</fieldset>\n"),
    "question": ('<legend class="quiz-question">', "</legend>\n"),
    "choice": ('<div class="quiz-choice"><input type="radio" name="{ident}" id="{ident}-{letter}" value="{index}">'
               '<label for="{ident}-{letter}"><span class="quiz-letter">({letter})</span> ', "</label></div>\n"),
    "controls": ('<div class="quiz-controls"><button type="button" class="quiz-button" hidden>{button}</button>\n'
                 '<div class="quiz-feedback" aria-live="polite"></div></div>\n', ""),
    "explanations": ('<details class="quiz-explanations"><summary>Show the explanations</summary>\n<ul>\n',
                     "</ul></details>\n"),
    "explanation": ('<li data-right="{right}"><strong>({letter}) {verdict}.</strong> '
                    '<span class="quiz-explanation">', "</span></li>\n"),
}


def visit_part(self, node: QuizPart | QuizText) -> None:
    self.body.append(HTML[node["part"]][0].format(**node.attributes))


def depart_part(self, node: QuizPart | QuizText) -> None:
    self.body.append(HTML[node["part"]][1])


def skip_part(self, node: QuizPart | QuizText) -> None:
    raise nodes.SkipNode  # interactive only: left out of text, LaTeX and other non-HTML output


class QuizDirective(SphinxDirective):
    """``{quiz}``: a question whose options the reader checks."""

    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True

    def line_of(self, body_line: int | None) -> int:
        """The source line of a body line (MyST's ``content_offset`` counts from the line after the fence)."""
        return self.lineno if body_line is None else self.lineno + 1 + self.content_offset + body_line

    def inline(self, text: str, body_line: int | None, **attributes) -> QuizText:
        children, messages = self.state.inline_text(text, self.line_of(body_line))
        return QuizText(text, "", *children, *messages, **attributes)

    def run(self) -> list[nodes.Node]:
        question = self.arguments[0].strip() if self.arguments else ""
        try:
            if not question:
                raise QuizSyntaxError(f"it has no question: write it on the fence line, after {{{self.name}}}")
            choices = parse_body(list(self.content))
        except QuizSyntaxError as error:
            LOGGER.error(f"{self.name}: {error}", location=(self.env.docname, self.line_of(error.line)))
            return []
        kind = KINDS[self.name]
        ident = f"{self.name}-{self.env.new_serialno('quiz') + 1}"
        quiz = QuizPart(part="quiz", kind=self.name, ident=ident, label=kind.label)
        self.set_source_info(quiz)
        fieldset = QuizPart(part="fieldset")
        fieldset += self.inline(question, None, part="question")
        explanations = QuizPart(part="explanations")
        for n, choice in enumerate(choices):
            fieldset += self.inline(choice.text, choice.line, part="choice", ident=ident, letter=letter(n), index=n)
            explanations += self.inline(choice.explanation, choice.explanation_line, part="explanation",
                                        letter=letter(n), right=str(choice.right).lower(),
                                        verdict="Right" if choice.right else "Wrong",
                                        # a reader reads the right answer's explanation (chapter_times)
                                        classes=[] if choice.right else ["not-counted-in-reading"])
        quiz.extend([fieldset, QuizPart(part="controls", button=kind.button), explanations])
        return [quiz]


def unread_fences(app, doctree: nodes.document) -> None:
    """A build error for a quiz that was never read as one (see :data:`UNREAD_FENCE`)."""
    for paragraph in doctree.findall(nodes.paragraph):
        found = UNREAD_FENCE.match(paragraph.astext())
        if found:
            name = found["name"]
            LOGGER.error(f"{name}: its question holds backticks, so this fence is read as text: open it with "
                         f":::{{{name}}} and close it with :::", location=paragraph)


def setup(app):
    for node in (QuizPart, QuizText):
        app.add_node(node, html=(visit_part, depart_part),
                     **{builder: (skip_part, None) for builder in ("latex", "text", "man", "texinfo")})
    for name in KINDS:
        app.add_directive(name, QuizDirective)
    app.connect("doctree-read", unread_fences)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
