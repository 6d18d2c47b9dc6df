"""A chapter's MyST markdown as plain Jupyter markdown, for the downloaded notebook (no Sphinx build needed).

Jupyter and Colab render CommonMark (with math), not MyST, so a download
would show ``{glue:text}`val_acc:.1f``` where the page shows "90.2", and an
empty box where the page lists the code it teaches. :func:`plain_markdown`
turns each MyST construct the book uses into what the page shows:

- ``{glue:text}`` (and ``{glue}``) roles: the glued value, formatted as on the page;
- ``{doc}``, ``{ref}`` and ``{numref}``: links to the page or figure on the site;
- ``literalinclude`` blocks: the included code itself, in a fenced block;
- admonitions: a quoted block under a bold title; definition lists: bold terms;
- ``quiz`` and ``predict``: a bold label, the question, the options lettered, and
  each option's explanation in a ``<details>`` ("Is (A) right?") that Jupyter opens;
- ``raw html``: the HTML; target labels ``(name)=`` and ``%`` comments: dropped;
- any other directive: a line linking to the page on the site, where it is shown.

What to put in comes from a :class:`Resolver` (the Sphinx side: glue values,
titles, figure numbers, included files); math and plain code blocks are kept
as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from quizzes import KINDS, letter, parse_body

ROLE = re.compile(r"\{(?P<role>[a-z]+(?::[a-z]+)?)\}`(?P<body>[^`]*)`")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}\s*(?P<argument>.*)$")
PLAIN_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})")
OPTION = re.compile(r"^\s*:(?P<key>[a-z-]+):\s*(?P<value>.*)$")
LABEL = re.compile(r"^\s*\([A-Za-z0-9_.:-]+\)=\s*$")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)


@dataclass
class Resolver:
    """What the conversion needs from the build; each raises ``KeyError`` for what it does not know."""

    glue: Callable[[str, str], str]  # (key, format spec) -> the text the page shows
    link: Callable[[str, str, str | None], tuple[str, str]]  # (role, target, text or None) -> (text, url)
    include: Callable[[str, dict], tuple[str, str]]  # (file argument, options) -> (code, language)
    page_url: str  # this page on the site, for what only the site can show


def _role(match: re.Match, resolver: Resolver) -> str:
    role, body = match["role"], match["body"]
    if role in ("glue", "glue:text", "glue:any"):
        key, _, spec = body.rpartition(":") if ":" in body else (body, "", "")
        return resolver.glue(key, spec)
    if role in ("doc", "ref", "numref"):
        explicit = EXPLICIT.match(body)
        text, target = (explicit["text"], explicit["target"]) if explicit else (None, body)
        text, url = resolver.link(role, target.strip(), text)
        return f"[{text}]({url})"
    raise KeyError(f"role {{{role}}} has no plain-markdown form")


def _roles(line: str, resolver: Resolver) -> str:
    return ROLE.sub(lambda m: _role(m, resolver), line)


def _block(lines: list[str], start: int, fence: str) -> tuple[list[str], dict, int]:
    """The body lines of a directive opened at ``start``, its options, and the index after its closing fence."""
    options, body, i = {}, [], start + 1
    while i < len(lines) and OPTION.match(lines[i]) and not body:
        option = OPTION.match(lines[i])
        value = option["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":  # a quoted value, as YAML reads it
            value = value[1:-1]
        options[option["key"]] = value or None
        i += 1
    while i < len(lines) and lines[i].strip() != fence:
        body.append(lines[i])
        i += 1
    return body, options, i + 1


def _definition_lists(lines: list[str]) -> list[str]:
    """``Term`` followed by ``: definition`` lines: a bullet with the term in bold."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() and not line.startswith((" ", ":", "-", "*", "#", ">")) and i + 1 < len(lines) \
                and lines[i + 1].startswith(": "):
            out.append(f"- **{line.strip()}**: {lines[i + 1][2:].strip()}")
            i += 2
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                out.append("  " + lines[i].strip())
                i += 1
            continue
        out.append(line)
        i += 1
    return out


def _quiz(name: str, question: str, body: list[str], resolver: Resolver) -> list[str]:
    """A ``quiz`` or ``predict`` block: its label and question, lettered options, each explanation folded."""
    choices = parse_body(body)
    out = [f"**{KINDS[name].label}:** {_roles(question, resolver)}", ""]
    if name == "predict":
        out += ["*Choose your guess before you run the next cell, then compare it with the output.*", ""]
    out += [f"- **({letter(n)})** {_roles(choice.text, resolver)}" for n, choice in enumerate(choices)]
    for n, choice in enumerate(choices):
        verdict = "Yes" if choice.right else "No"
        out += ["", f"<details><summary>Is ({letter(n)}) right?</summary>", "",
                f"**{verdict}.** {_roles(choice.explanation, resolver)}", "", "</details>"]
    return out


def plain_markdown(source: str, resolver: Resolver) -> str:
    """``source`` (one markdown cell of a MyST notebook) with every MyST construct replaced; see the module."""
    lines, out, i = source.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        directive = FENCE.match(line)
        plain = PLAIN_FENCE.match(line) if not directive else None
        if plain:  # a code block: copied as it is, roles and all
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == plain["fence"]), len(lines) - 1)
            out.extend(lines[i:end + 1])
            i = end + 1
            continue
        if directive:
            body, options, i = _block(lines, i, directive["fence"])
            name, argument = directive["name"], directive["argument"].strip()
            if name == "literalinclude":
                code, language = resolver.include(argument, options)
                out.extend([f"```{language}", *code.rstrip("\n").splitlines(), "```"])
            elif name in ("admonition", "note", "tip", "important", "warning", "hint", "seealso"):
                title = argument or name.capitalize()
                inner = plain_markdown("\n".join(body).strip("\n"), resolver).splitlines()
                out.extend([f"> **{_roles(title, resolver)}**", ">", *[f"> {x}".rstrip() for x in inner]])
            elif name in KINDS:
                out.extend(_quiz(name, argument, body, resolver))
            elif name == "raw" and argument == "html":
                out.extend(body)
            else:
                out.append(f"*(This part is shown on [the page on the site]({resolver.page_url}).)*")
            continue
        if LABEL.match(line) or line.lstrip().startswith("% ") or line.strip() == "%":
            i += 1
            continue
        out.append(_roles(line, resolver))
        i += 1
    return "\n".join(_definition_lists(out))


#: What no downloaded notebook may contain: a MyST role, a directive fence, a definition-list line or a label.
LEFTOVER = re.compile(r"\{[a-z]+(:[a-z]+)?\}`|^\s*(`{3,}|:{3,})\{|^: |^\s*\([A-Za-z0-9_.:-]+\)=\s*$", re.MULTILINE)
