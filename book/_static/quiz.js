// The {quiz} and {predict} widgets (book/_ext/quizzes.py). Without this script
// a widget is its radio buttons and a "Show the explanations" list; with it,
// the button appears, the list hides until the reader has answered, and the
// live region says "Right" or "Wrong" (words, not only colour) with the chosen
// option's explanation. A predict widget locks the guess in for good.
(function () {
  "use strict";

  function paragraph(strong, rest) {
    var p = document.createElement("p");
    if (strong) {
      var b = document.createElement("strong");
      b.textContent = strong;
      p.append(b, " ");
    }
    p.append.apply(p, rest);
    return p;
  }

  function setUp(quiz) {
    var predict = quiz.dataset.quiz === "predict";
    var button = quiz.querySelector(".quiz-button");
    var feedback = quiz.querySelector(".quiz-feedback");
    var details = quiz.querySelector(".quiz-explanations");
    var items = quiz.querySelectorAll(".quiz-explanations li");
    var radios = quiz.querySelectorAll("input[type=radio]");
    button.hidden = false;
    details.hidden = true;

    button.addEventListener("click", function () {
      if (button.getAttribute("aria-disabled") === "true") return;
      var chosen = quiz.querySelector("input[type=radio]:checked");
      if (!chosen) {
        feedback.dataset.verdict = "none";
        feedback.replaceChildren(paragraph("", [predict ? "Choose your guess first." : "Choose an option first."]));
        return;
      }
      var item = items[Number(chosen.value)];
      var right = item.dataset.right === "true";
      var letter = "(" + String.fromCharCode(65 + Number(chosen.value)) + ")";
      var explanation = item.querySelector(".quiz-explanation").cloneNode(true);
      var verdict = paragraph(right ? "Right." : "Wrong.", [explanation]);
      feedback.dataset.verdict = right ? "right" : "wrong";
      if (predict) {
        var option = chosen.labels[0].cloneNode(true);
        option.querySelector(".quiz-letter").remove();
        feedback.replaceChildren(
          paragraph("You guessed " + letter + ":", Array.from(option.childNodes)), verdict,
          paragraph("", ["The output below " + (right ? "confirms" : "refutes") + " your guess."]));
        radios.forEach(function (radio) { radio.disabled = true; });
        button.textContent = "Guess locked in";
        button.setAttribute("aria-disabled", "true");
        details.hidden = false;
      } else {
        feedback.replaceChildren(verdict, paragraph("", [right
          ? "Every option's explanation is under \u201cShow the explanations\u201d."
          : letter + " is not the answer: try another option."]));
        if (right) details.hidden = false;
      }
    });
  }

  function start() { document.querySelectorAll(".quiz").forEach(setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
