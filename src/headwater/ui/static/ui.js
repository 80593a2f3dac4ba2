// Small progressive enhancement; every page works without it.
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.title = el.textContent; el.textContent = fmt.format(d); }
      el.removeAttribute("data-local");
    });
    root.querySelectorAll("svg [data-iso]").forEach(function (el) {
      var d = new Date(el.getAttribute("data-iso"));
      if (!isNaN(d)) { el.textContent = fmt.format(d); }
      el.removeAttribute("data-iso");
    });
    root.querySelectorAll("input[name=tz_offset]").forEach(function (el) {
      el.value = String(-new Date().getTimezoneOffset());
    });
    root.querySelectorAll("[data-tz-label]").forEach(function (el) {
      el.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
    });
  }

  function filters(root) {
    root.querySelectorAll("input[data-filter]").forEach(function (input) {
      var list = document.getElementById(input.getAttribute("data-filter"));
      if (!list) { return; }
      input.addEventListener("input", function () {
        var q = input.value.trim().toLowerCase();
        list.querySelectorAll("[data-name]").forEach(function (item) {
          item.hidden = q !== "" && item.getAttribute("data-name").toLowerCase().indexOf(q) < 0;
        });
      });
    });
  }

  function copyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var src = document.getElementById(btn.getAttribute("data-copy"));
        if (src && navigator.clipboard) {
          navigator.clipboard.writeText(src.textContent).then(function () {
            btn.textContent = "Copied";
          });
        }
      });
    });
  }

  function enhance(root) { localTimes(root); filters(root); copyButtons(root); }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (e) { enhance(e.target); });
})();
