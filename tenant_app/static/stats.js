/* Dashboard pages: charts drawn with the vendored ECharts from the page's JSON block, and sortable tables.
   Without JavaScript the column headers are links that sort on the server (?sort=&dir=). */
(function () {
  "use strict";

  var COLORS = ["#1f6f5c", "#b42318", "#c27c0e", "#2563eb", "#7c3aed", "#0e7490"];
  var charts = [];

  function readData() {
    var block = document.getElementById("dashboard-data");
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function makeChart(el) {
    if (!el || typeof window.echarts === "undefined") { return null; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    charts.push(chart);
    return chart;
  }

  function drawTrend(data) {
    var el = document.getElementById("trend-chart");
    if (!data.trend || !data.trend.months.length) { return; }
    var chart = makeChart(el);
    if (!chart) { return; }
    chart.setOption({
      color: COLORS,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", boundaryGap: false, data: data.trend.months },
      yAxis: { type: "value", minInterval: 1 },
      series: data.trend.series.map(function (s) {
        return { name: s.name, type: "line", smooth: false, showSymbol: data.trend.months.length < 2,
                 data: s.data };
      })
    });
  }

  function drawUnits(data) {
    var el = document.getElementById("units-chart");
    var select = document.getElementById("units-indicator");
    if (!data.units || !data.units.names.length) { return; }
    var chart = makeChart(el);
    if (!chart) { return; }

    function render(key) {
      var ind = data.units.indicators[key];
      if (!ind) { return; }
      // Largest first, so the worst unit is at the top of a horizontal bar chart.
      var rows = data.units.names.map(function (name, i) { return [name, ind.data[i]]; });
      rows.sort(function (a, b) { return a[1] - b[1]; });
      el.style.height = Math.max(240, rows.length * 26 + 60) + "px";
      chart.resize();
      chart.setOption({
        color: [COLORS[0]],
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 8, right: 32, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: rows.map(function (r) { return r[0]; }),
                 axisLabel: { width: 110, overflow: "truncate" } },
        series: [{ name: ind.name, type: "bar", data: rows.map(function (r) { return r[1]; }),
                   label: { show: true, position: "right" } }]
      }, true);
    }

    render(select ? select.value : data.units.default);
    if (select) {
      select.addEventListener("change", function () { render(select.value); });
    }
  }

  /* --- sortable tables ------------------------------------------------------------------------ */

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell ? (cell.getAttribute("data-value") || cell.textContent.trim()) : "";
    if (!numeric) { return raw; }
    var n = parseFloat(raw);
    return isNaN(n) ? -Infinity : n;
  }

  function sortTable(table, th, dir) {
    var index = Array.prototype.indexOf.call(th.parentNode.cells, th);
    var numeric = th.getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric);
      var y = cellValue(b, index, numeric);
      var c = numeric ? x - y : String(x).localeCompare(String(y), "zh-CN");
      if (c === 0) {  // stable by code
        c = String(a.getAttribute("data-code")).localeCompare(String(b.getAttribute("data-code")));
        return c;
      }
      return dir === "asc" ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(th.parentNode.cells, function (other) {
      other.removeAttribute("aria-sort");
      var link = other.querySelector("a[data-sort-key]");
      if (link) { link.setAttribute("data-dir", ""); }
    });
    th.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
    var link = th.querySelector("a[data-sort-key]");
    if (link) {
      link.setAttribute("data-dir", dir);
      if (window.history && window.history.replaceState) {
        var url = new URL(window.location.href);
        url.searchParams.set("sort", link.getAttribute("data-sort-key"));
        url.searchParams.set("dir", dir);
        window.history.replaceState(null, "", url.toString());
      }
    }
    table.setAttribute("data-sorted-by", th.getAttribute("data-key") || "");
  }

  function setUpSorting() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      var links = table.querySelectorAll("thead a[data-sort-key]");
      Array.prototype.forEach.call(links, function (link) {
        link.addEventListener("click", function (event) {
          event.preventDefault();
          var th = link.closest("th");
          var current = th.getAttribute("aria-sort");
          var numeric = th.getAttribute("data-type") === "number";
          // Numbers sort largest first on the first click: "which unit has the most" is the usual question.
          var dir;
          if (current === "descending") { dir = "asc"; }
          else if (current === "ascending") { dir = "desc"; }
          else { dir = numeric ? "desc" : "asc"; }
          sortTable(table, th, dir);
        });
      });
    });
  }

  // Phones see no table header (rows become cards): a select sorts instead, largest first.
  function setUpSortSelect() {
    var select = document.getElementById("sort-select");
    var table = document.getElementById("units-table");
    if (!select || !table) { return; }
    select.addEventListener("change", function () {
      var th = table.querySelector('thead th[data-key="' + select.value + '"]');
      if (th) { sortTable(table, th, th.getAttribute("data-type") === "number" ? "desc" : "asc"); }
    });
    var form = document.getElementById("sort-form");
    if (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      var button = form.querySelector("button");
      if (button) { button.hidden = true; }
    }
  }

  function start() {
    setUpSorting();
    setUpSortSelect();
    var data = readData();
    if (data) {
      drawTrend(data);
      drawUnits(data);
    }
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) { window.clearTimeout(pending); }
      pending = window.setTimeout(function () {
        charts.forEach(function (chart) { chart.resize(); });
      }, 100);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
