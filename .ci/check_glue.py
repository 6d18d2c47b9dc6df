"""Static check of a chapter: every glued name used in the prose is glued by a code cell of the same page.

    python .ci/check_glue.py book/*.md

Finds {glue:text}`name:fmt`, {glue}`name`, {glue:figure} name, and glue("name", ...) / glue(f"...") calls.
Names built with f-strings are reported as patterns and matched loosely. Exit 1 on a missing name.
"""
import re
import sys
from pathlib import Path

USE = re.compile(r"\{glue(?::text|:md|:any)?\}`([A-Za-z0-9_]+)")
FIG = re.compile(r"```\{glue:(?:figure|math)\}\s+([A-Za-z0-9_]+)")
DEF = re.compile(r"glue\(\s*(f?)[\"']([^\"']+)[\"']")

bad = 0
for path in sys.argv[1:]:
    text = Path(path).read_text()
    used = set(USE.findall(text)) | set(FIG.findall(text))
    exact, patterns = set(), []
    for is_f, name in DEF.findall(text):
        if is_f and "{" in name:
            patterns.append(re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[A-Za-z0-9_]+", re.escape(name)) + "$"))
        else:
            exact.add(name)
    for name in sorted(used):
        if name not in exact and not any(p.match(name) for p in patterns):
            print(f"{path}: {{glue}} uses {name!r}, which no glue() call on the page defines")
            bad += 1
sys.exit(1 if bad else 0)
