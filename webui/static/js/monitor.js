/* The monitor's process diagram (bpmn-js navigated viewer, vendored): on every step a badge of
   what is open and overdue, below it what was done in the period; the heatmap colours the steps
   by their typical (p50) or slowest-tenth (p90) time; a click on a step lists the instances
   waiting there. The bpmn.io watermark stays visible. */
(function () {
  "use strict";
  var container = document.getElementById("monitor-diagram");
  if (!container || !window.BpmnJS) return;
  var stats = {}, labels = {};
  try { stats = JSON.parse(container.dataset.stats || "{}"); labels = JSON.parse(container.dataset.labels || "{}"); } catch (e) { stats = {}; }
  var viewer = new window.BpmnJS({ container: container });
  var HEAT = 5;

  function badge(className, text, title) {
    var span = document.createElement("span");
    span.className = "badge " + className;
    span.textContent = text;
    span.title = title;
    return span;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 3600) return Math.max(1, Math.round(seconds / 60)) + "m";
    if (seconds < 86400 * 2) return (seconds / 3600).toFixed(1) + "h";
    return (seconds / 86400).toFixed(1) + "d";
  }

  function heat(canvas, mode) {
    var values = Object.keys(stats).map(function (k) { return stats[k][mode + "_seconds"]; }).filter(function (v) { return v !== null && v !== undefined; });
    var top = values.length ? Math.max.apply(null, values) : 0;
    Object.keys(stats).forEach(function (key) {
      for (var i = 1; i <= HEAT; i++) { try { canvas.removeMarker(key, "crm-heat-" + i); } catch (e) { /* not on the diagram */ } }
      var value = mode ? stats[key][mode + "_seconds"] : null;
      if (!mode || value === null || value === undefined) return;
      var level = top ? Math.max(1, Math.ceil((value / top) * HEAT)) : 1;  // all instant: all alike
      try { canvas.addMarker(key, "crm-heat-" + level); } catch (e) { /* not on the diagram */ }
    });
    container.dataset.heat = mode || "";
  }

  fetch(container.dataset.xmlUrl, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var overlays = viewer.get("overlays");
      var loading = container.querySelector(".diagram-loading");
      if (loading) loading.remove();
      canvas.zoom("fit-viewport", "auto");
      Object.keys(stats).forEach(function (key) {
        var s = stats[key];
        if (!registry.get(key)) return;
        var top = document.createElement("div");
        top.className = "monitor-badges";
        top.dataset.step = key;
        if (s.open) top.appendChild(badge("badge-open", String(s.open), labels.open || "open"));
        if (s.overdue) top.appendChild(badge("badge-overdue", String(s.overdue), labels.overdue || "overdue"));
        overlays.add(key, "crm-monitor", { position: { top: -12, right: 8 }, html: top });
        var below = document.createElement("div");
        below.className = "monitor-below small";
        below.textContent = (labels.completed || "done") + " " + s.completed + " · " + (labels.p50 || "p50") + " " + duration(s.p50_seconds);
        overlays.add(key, "crm-monitor", { position: { bottom: -4, left: 0 }, html: below });
      });
      viewer.get("eventBus").on("element.click", function (event) {
        var id = event.element && event.element.id;
        if (id && stats[id]) window.location.href = container.dataset.stepUrl + "&step=" + encodeURIComponent(id) + "#waiting";
      });
      document.querySelectorAll("[data-heat]").forEach(function (input) {
        input.addEventListener("change", function () { if (input.checked) heat(canvas, input.value); });
      });
      container.dataset.ready = "true";
    })
    .catch(function (error) {
      container.dataset.error = String(error);
      var loading = container.querySelector(".diagram-loading");
      if (loading) loading.textContent = container.dataset.errorText || String(error);
    });
})();
