/* The monitor's report charts (Apache ECharts, vendored): each [data-chart] element holds its
   categories and series as JSON; the same numbers are in the table beside it. Horizontal bars, so
   long Chinese step and department names stay readable; stacked for on time / late. */
(function () {
  "use strict";
  if (!window.echarts) return;
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (element) {
    var spec = JSON.parse(element.getAttribute("data-chart"));
    element.style.height = Math.max(160, 36 * spec.categories.length + 60) + "px";
    var chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: spec.categories, inverse: true, axisLabel: { width: 220, overflow: "truncate" } },
      series: spec.series.map(function (s) {
        return { name: s.name, type: "bar", stack: spec.stacked ? "all" : undefined, data: s.data, itemStyle: { color: s.color }, barMaxWidth: 24 };
      })
    });
    element.setAttribute("data-ready", "true");
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
