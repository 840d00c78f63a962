/* Import progress page: polls the import's status while it runs, then reloads to show the outcome.
   The status URL comes from the progress element's data-status-url (no inline script under the page's CSP). */
(function () {
  "use strict";
  var bar = document.getElementById("import-progress");
  var url = bar && bar.getAttribute("data-status-url");
  if (!url) { return; }
  function poll() {
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      document.getElementById("rows-done").textContent = s.rows_done;
      document.getElementById("total-rows").textContent = s.total_rows;
      bar.max = s.total_rows || 1; bar.value = s.rows_done;
      if (["uploaded", "validating", "applying"].indexOf(s.status) >= 0) { setTimeout(poll, 1500); }
      else { window.location.reload(); }
    }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
