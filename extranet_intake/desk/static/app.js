// The desk's one script (no inline scripts: the Content-Security-Policy forbids them).
"use strict";

// Review desk keys (outside text fields): a = approve, r = reject (focus the reason; Enter sends),
// j / k = next / previous item, / = the queue's organisation filter.
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey) { return; }
  var target = event.target;
  var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
  if (tag === "input" || tag === "select" || tag === "textarea" || (target && target.isContentEditable)) {
    if (event.key === "Escape" && target.blur) { target.blur(); }
    return;
  }
  var go = function (id) {
    var link = document.getElementById(id);
    if (link && link.href) { window.location.href = link.href; return true; }
    return false;
  };
  var handled = false;
  if (event.key === "a") {
    var approve = document.getElementById("approve");
    if (approve && !approve.disabled) { approve.click(); handled = true; }
  } else if (event.key === "r") {
    var reason = document.getElementById("reason-code");
    if (reason) { reason.focus(); handled = true; }
  } else if (event.key === "j") {
    handled = go("next-item");
  } else if (event.key === "k") {
    handled = go("prev-item");
  } else if (event.key === "/") {
    var filter = document.querySelector("form.filters input[name=org]");
    if (filter) { filter.focus(); handled = true; }
  }
  if (handled) { event.preventDefault(); }
});
