// studyhall: progressive enhancement only. Every page works without this file; with it, the
// review page takes keys: Space or Enter shows the answer; then 1-4 (four buttons) or 0-5
// (six grades) grade, Space takes the button marked data-space (the suggested grade after a
// checked answer, else Good); U undoes; S skips the card for now, B buries it until tomorrow,
// X suspends it. In a text box letters are text: Esc leaves the box.
(function () {
  "use strict";
  var shownAt = Date.now();

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function reveal(answer) {
    answer.hidden = false;
    var link = document.getElementById("show-answer");
    if (link) link.parentNode.hidden = true;
    // Focus must not land on a grade button: a second Space would then press it on top of
    // the key handler below. The answer section takes it instead.
    answer.setAttribute("tabindex", "-1");
    answer.focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Registration: take the time zone from the browser (the field keeps UTC without script).
    var zone = document.querySelector("input[data-detect-zone]");
    if (zone && zone.value === "UTC" && window.Intl) {
      var detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (detected) zone.value = detected;
    }
    // Sign-on links carry the browser's zone too, for an account the sign-on makes.
    var signOns = document.querySelectorAll("a[data-sign-on]");
    var browserZone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (var i = 0; browserZone && i < signOns.length; i++) {
      signOns[i].href += "&time_zone=" + encodeURIComponent(browserZone);
    }

    var answer = document.getElementById("answer");
    var link = document.getElementById("show-answer");
    if (link && answer) {
      link.addEventListener("click", function (e) { e.preventDefault(); reveal(answer); });
    }
    var form = document.getElementById("grade-form");
    if (form) {
      form.addEventListener("submit", function () {
        var ms = document.getElementById("response-ms");
        if (ms) ms.value = String(Date.now() - shownAt);
      });
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(e.target)) {
      // Esc leaves the answer box, so the keys (U to undo) work; the page's hint says so.
      if (e.key === "Escape" && e.target.blur) e.target.blur();
      return;
    }
    var answer = document.getElementById("answer");
    if ((e.key === " " || e.key === "Enter") && answer && answer.hidden) {
      e.preventDefault();
      reveal(answer);
      return;
    }
    if (answer && !answer.hidden && !e.repeat) {
      var button = null;
      if (/^[0-5]$/.test(e.key)) button = answer.querySelector('button[data-key="' + e.key + '"]');
      else if (e.key === " ") button = answer.querySelector("button[data-space]");
      if (button) { e.preventDefault(); button.click(); return; }
    }
    var control = { s: "skip-form", b: "bury-form", x: "suspend-form" }[e.key.toLowerCase()];
    if (control && !e.repeat) {
      var controlForm = document.getElementById(control);
      if (controlForm) {
        e.preventDefault();
        controlForm.requestSubmit ? controlForm.requestSubmit() : controlForm.submit();
        return;
      }
    }
    if (e.key === "u" || e.key === "U") {
      var undo = document.getElementById("undo-form");
      if (undo) { e.preventDefault(); undo.requestSubmit ? undo.requestSubmit() : undo.submit(); return; }
      // Nothing left to undo: say so, in place of the last undo's message (review pages only).
      var status = document.getElementById("took-back");
      if (status) {
        e.preventDefault();
        status.textContent = "Nothing to undo: no grade from today is left to take back.";
        status.hidden = false;
      }
    }
  });
})();
