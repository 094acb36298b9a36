// Evidence panel: with scripts on, the panel shows one source at a time, chosen by the
// citation number clicked in the article (or in the panel's index). On a narrow screen
// (the panel sits below the whole article there) the chosen source opens in place, right
// under the tapped sentence, with a "Back to the text" link that closes it and returns
// focus to the citation. Without scripts every source is listed and the links jump to it
// (#evidence-N); each source's "Back to the text" link jumps back to the article.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var panel = document.getElementById("evidence-panel");
  if (!panel) { return; }
  document.body.classList.add("js");
  var narrow = window.matchMedia("(max-width: 60rem)");
  var moved = null;    // {item, marker, holder} while a source is shown in place
  var lastLink = null; // the citation link that opened the source shown

  function restore() {
    if (!moved) { return; }
    moved.marker.parentNode.insertBefore(moved.item, moved.marker);
    moved.marker.parentNode.removeChild(moved.marker);
    moved.holder.parentNode.removeChild(moved.holder);
    moved = null;
  }

  function showInPlace(link, target) {
    var host = link.closest("li, p") || link.parentNode;
    var holder = document.createElement("div");
    holder.className = "inline-evidence";
    holder.setAttribute("data-testid", "inline-evidence");
    var marker = document.createComment("evidence placeholder");
    target.parentNode.insertBefore(marker, target);
    holder.appendChild(target);
    host.appendChild(holder);
    moved = {item: target, marker: marker, holder: holder};
  }

  function show(number, focus, link) {
    var target = document.getElementById("evidence-" + number);
    if (!target) { return false; }
    restore();
    panel.querySelectorAll(".evidence-item.is-active").forEach(function (item) {
      item.classList.remove("is-active");
    });
    document.querySelectorAll("a.cite[aria-current], a.evidence-link[aria-current]")
      .forEach(function (other) { other.removeAttribute("aria-current"); });
    document.querySelectorAll('a.cite[data-ref="' + number + '"], a.evidence-link[data-ref="' + number + '"]')
      .forEach(function (same) { same.setAttribute("aria-current", "true"); });
    target.classList.add("is-active");
    if (link && narrow.matches && link.classList.contains("cite")) {
      showInPlace(link, target);
    }
    if (focus) { target.focus(); }
    return true;
  }

  document.addEventListener("click", function (event) {
    var back = event.target.closest("a.evidence-back");
    if (back && lastLink) {
      event.preventDefault();
      restore();
      lastLink.focus();
      lastLink.scrollIntoView({block: "center"});
      return;
    }
    var link = event.target.closest("a.cite, a.evidence-link");
    if (!link) { return; }
    if (show(link.getAttribute("data-ref"), true, link)) {
      lastLink = link;
      event.preventDefault();
      history.replaceState(null, "", "#evidence-" + link.getAttribute("data-ref"));
    }
  });
  var match = /^#evidence-(\d+)$/.exec(window.location.hash);
  show(match ? match[1] : "1", false, null);
});
