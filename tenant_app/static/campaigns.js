// Campaign form builder: question rows <-> the hidden `questions_json` field; fan-out progress polling.
(function () {
  "use strict";

  function builder() {
    var hidden = document.getElementById("questions_json");
    var rows = document.getElementById("question-rows");
    var tpl = document.getElementById("question-template");
    var form = document.getElementById("campaign-form");
    if (!hidden || !rows || !tpl || !form) { return; }

    function show(row) {
      var type = row.querySelector(".q-type").value;
      row.querySelector(".q-options-row").hidden = !(type === "choice" || type === "multi_choice");
      row.querySelector(".q-bounds-row").hidden = !(type === "integer" || type === "number");
    }

    function add(q) {
      var row = tpl.content.firstElementChild.cloneNode(true);
      q = q || {};
      row.querySelector(".q-label").value = q.label || "";
      row.querySelector(".q-key").value = q.key || "";
      row.querySelector(".q-type").value = q.type || "integer";
      row.querySelector(".q-required").checked = !!q.required;
      row.querySelector(".q-options").value = (q.options || []).join(",");
      row.querySelector(".q-min").value = q.min === undefined || q.min === null ? "" : q.min;
      row.querySelector(".q-max").value = q.max === undefined || q.max === null ? "" : q.max;
      row.querySelector(".q-type").addEventListener("change", function () { show(row); });
      row.querySelector(".q-remove").addEventListener("click", function () { row.remove(); });
      row.querySelector(".q-up").addEventListener("click", function () {
        if (row.previousElementSibling) { rows.insertBefore(row, row.previousElementSibling); }
      });
      row.querySelector(".q-down").addEventListener("click", function () {
        if (row.nextElementSibling) { rows.insertBefore(row.nextElementSibling, row); }
      });
      show(row);
      rows.appendChild(row);
      return row;
    }

    function number(value, integer) {
      if (value === "") { return undefined; }
      var n = Number(value);
      if (isNaN(n)) { return value; }
      return integer ? Math.trunc(n) : n;
    }

    function collect() {
      return Array.prototype.map.call(rows.querySelectorAll(".question-row"), function (row, i) {
        var type = row.querySelector(".q-type").value;
        var q = {key: row.querySelector(".q-key").value.trim() || ("q" + (i + 1)),
                 label: row.querySelector(".q-label").value.trim(), type: type,
                 required: row.querySelector(".q-required").checked};
        if (type === "choice" || type === "multi_choice") {
          q.options = row.querySelector(".q-options").value.split(/[,，、]/).map(function (s) { return s.trim(); })
            .filter(function (s) { return s; });
        }
        if (type === "integer" || type === "number") {
          var min = number(row.querySelector(".q-min").value, type === "integer");
          var max = number(row.querySelector(".q-max").value, type === "integer");
          if (min !== undefined) { q.min = min; }
          if (max !== undefined) { q.max = max; }
        }
        return q;
      });
    }

    var initial = [];
    try { initial = JSON.parse(hidden.value || "[]"); } catch (e) { initial = []; }
    (Array.isArray(initial) ? initial : []).forEach(add);
    document.getElementById("add-question").addEventListener("click", function () {
      add({}).querySelector(".q-label").focus();
    });
    form.addEventListener("submit", function () { hidden.value = JSON.stringify(collect()); });
  }

  function poll() {
    var box = document.getElementById("fanout-progress");
    if (!box || box.getAttribute("data-status") !== "publishing") { return; }
    var url = box.getAttribute("data-url");
    var timer = setInterval(function () {
      fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
        box.setAttribute("data-status", data.status);
        var count = document.getElementById("task-count");
        if (count) { count.textContent = data.task_count; }
        if (data.status !== "publishing") { clearInterval(timer); window.location.reload(); }
      }).catch(function () { clearInterval(timer); });
    }, 1500);
  }

  document.addEventListener("DOMContentLoaded", function () { builder(); poll(); });
})();
