// Wide tables scroll sideways inside their own box (outputs.css). A box that
// scrolls must be reachable by keyboard (WCAG 2.1.1, axe-core's
// scrollable-region-focusable): give it a tab stop and a name, and take them
// back when the window grows and nothing is hidden any more.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll(".cell_output .output.text_html").forEach(function (box) {
      var table = box.querySelector("table");
      if (!table) return;
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        var caption = table.querySelector("caption");
        box.setAttribute("aria-label", (caption ? caption.textContent.trim() + ": " : "") + "table, scrolls sideways");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mark); else mark();
  window.addEventListener("resize", mark);
})();
