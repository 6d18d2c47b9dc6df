// Code cells wrap their long lines (outputs.css) so nothing hides behind a
// sideways scroll bar. A wrapped line must not look like a new, unindented
// line of Python: wrap each source line in a span whose continuation rows hang
// four columns to the right of the line's own indentation.
//
// The newlines stay as text between the spans, so the copy button and a
// selection still give the source exactly as it was written.
(function () {
  "use strict";
  var HANG = 4; // columns a continuation row sits right of its line's indent

  // The highlighted pre as a list of lines, each a list of nodes (clones of
  // Pygments' token spans, cut where a token holds a newline).
  function cut(pre) {
    var lines = [[]];
    Array.prototype.slice.call(pre.childNodes).forEach(function (node) {
      var parts = node.textContent.split("\n");
      parts.forEach(function (text, i) {
        if (i > 0) lines.push([]);
        if (!text) return;
        var piece;
        if (node.nodeType === Node.ELEMENT_NODE) {
          piece = node.cloneNode(false);
          piece.textContent = text;
        } else {
          piece = document.createTextNode(text);
        }
        lines[lines.length - 1].push(piece);
      });
    });
    return lines;
  }

  function hang(pre) {
    if (pre.hasAttribute("data-code-lines")) return;
    var lines = cut(pre);
    var frag = document.createDocumentFragment();
    lines.forEach(function (nodes, i) {
      if (i > 0) frag.appendChild(document.createTextNode("\n"));
      if (!nodes.length && i === lines.length - 1) return; // the closing newline
      var line = document.createElement("span");
      line.className = "code-line";
      nodes.forEach(function (n) { line.appendChild(n); });
      var lead = /^[ ]*/.exec(line.textContent)[0].length;
      line.style.setProperty("--hang", String(lead + HANG));
      frag.appendChild(line);
    });
    pre.textContent = "";
    pre.appendChild(frag);
    pre.setAttribute("data-code-lines", String(lines.length));
  }

  function run() {
    document.querySelectorAll(".bd-content div.cell_input div.highlight pre").forEach(hang);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run); else run();
})();
