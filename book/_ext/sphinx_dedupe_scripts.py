"""Sphinx extension: write each <script> once per page.

Sphinx 7.4 adds an inline script (``app.add_js_file(None, body=...)``)
registered after the builder starts to every page twice, once as filename
``None`` and once as ``''`` (sphinx-doc/sphinx#13402, fixed in Sphinx 8;
Jupyter Book 1 needs Sphinx 7). sphinx-thebe registers
``const THEBE_JS_URL = ...`` that way, so every page threw "Identifier
'THEBE_JS_URL' has already been declared" in the browser console. Loaded
through ``sphinx.local_extensions`` in ``_config.yml``.
"""

from __future__ import annotations


def _dedupe(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set = set()
    unique = []
    for js in scripts:
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", None), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)  # after extensions add page scripts
    return {"parallel_read_safe": True, "parallel_write_safe": True}
