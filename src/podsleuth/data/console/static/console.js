// podsleuth console: live list updates (Server-Sent Events) and copy buttons.
// No inline script anywhere (the Content-Security-Policy forbids it); text from the cluster is
// only ever set with textContent or arrives as server-escaped HTML.
"use strict";

function setupCopyButtons(root) {
  root.querySelectorAll("button.copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy") || "";
      var done = function () {
        var label = button.textContent;
        button.textContent = button.getAttribute("data-done") || "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
      } else {
        fallbackCopy(text);
        done();
      }
    });
  });
}

function fallbackCopy(text) {
  var area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  try { document.execCommand("copy"); } catch (e) { /* nothing else to try */ }
  document.body.removeChild(area);
}

function setupLiveList() {
  var table = document.getElementById("incidents");
  if (!table || !window.EventSource) { return; }
  var since = table.getAttribute("data-since") || "";
  var query = table.getAttribute("data-query") || "";
  var lang = table.getAttribute("data-lang") || "";
  var offset = new URLSearchParams(window.location.search).get("offset");
  var source = new EventSource("/api/changes?since=" + encodeURIComponent(since));
  var live = document.getElementById("live");
  var pending = false;
  source.addEventListener("open", function () { if (live) { live.hidden = false; } });
  source.addEventListener("error", function () { if (live) { live.hidden = true; } });
  source.addEventListener("incident", function () {
    if (pending) { return; }
    pending = true;
    setTimeout(function () {
      pending = false;
      var url = "/?" + query + (query ? "&" : "") + "fragment=rows" + (offset ? "&offset=" + encodeURIComponent(offset) : "") +
        (lang ? "&lang=" + encodeURIComponent(lang) : "");
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var parsed = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html");
        var rows = parsed.getElementById("rows");
        var current = document.getElementById("rows");
        if (rows && current) { current.replaceWith(document.importNode(rows, true)); }
        document.body.setAttribute("data-updated", String(Date.now()));
      });
    }, 200);
  });
}

document.addEventListener("DOMContentLoaded", function () {
  setupCopyButtons(document);
  setupLiveList();
});
