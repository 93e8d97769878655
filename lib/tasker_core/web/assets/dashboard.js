// tasker dashboard: confirmations, step details opened from the graph, live reload of a
// running task (keeping open what the reader opened). No dependencies.
(function () {
  "use strict";
  var RELOAD_MS = 2000;
  var KEY = "tasker-open:" + location.pathname;

  function openTarget() {
    var id = location.hash.slice(1);
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView({ block: "nearest" }); }
  }

  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    window.addEventListener("hashchange", openTarget);
    try {
      JSON.parse(sessionStorage.getItem(KEY) || "[]").forEach(function (id) {
        var el = document.getElementById(id);
        if (el) el.open = true;
      });
    } catch (e) { /* storage unavailable */ }
    openTarget();
    if (document.body.getAttribute("data-live") !== "1") return;
    setInterval(function () {
      var active = document.activeElement;
      if (active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT")) return;
      var open = Array.prototype.map.call(document.querySelectorAll("details[open][id]"), function (d) { return d.id; });
      try { sessionStorage.setItem(KEY, JSON.stringify(open)); } catch (e) { /* ignore */ }
      location.reload();
    }, RELOAD_MS);
  });
})();
