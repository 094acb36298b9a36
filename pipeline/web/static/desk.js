// Evidence panel: with scripts on, the panel shows one source at a time, chosen by the
// citation number clicked in the article (or in the panel's index). Without scripts every
// source is listed and the links jump to it (#evidence-N). No other script on the desk.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var panel = document.getElementById("evidence-panel");
  if (!panel) { return; }
  document.body.classList.add("js");
  function show(number, focus) {
    var target = document.getElementById("evidence-" + number);
    if (!target) { return false; }
    panel.querySelectorAll(".evidence-item.is-active").forEach(function (item) {
      item.classList.remove("is-active");
    });
    document.querySelectorAll("a.cite[aria-current], a.evidence-link[aria-current]")
      .forEach(function (link) { link.removeAttribute("aria-current"); });
    document.querySelectorAll('a.cite[data-ref="' + number + '"], a.evidence-link[data-ref="' + number + '"]')
      .forEach(function (link) { link.setAttribute("aria-current", "true"); });
    target.classList.add("is-active");
    if (focus) { target.focus(); }
    return true;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.cite, a.evidence-link");
    if (!link) { return; }
    if (show(link.getAttribute("data-ref"), true)) {
      event.preventDefault();
      history.replaceState(null, "", "#evidence-" + link.getAttribute("data-ref"));
    }
  });
  var match = /^#evidence-(\d+)$/.exec(window.location.hash);
  show(match ? match[1] : "1", false);
});
