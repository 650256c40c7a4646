/* The process diagram (bpmn-js navigated viewer, vendored): the current step highlighted and in
   view at a readable scale, the completed elements and the sequence flows taken marked. The
   bpmn.io watermark stays visible. */
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container || !window.BpmnJS) return;
  var state = {};
  try { state = JSON.parse(container.dataset.state || "{}"); } catch (e) { state = {}; }
  var viewer = new window.BpmnJS({ container: container });
  // Fitted to the width, a wide process draws its labels about 5 px high (#13.15): when it is
  // smaller than this, open at this scale centred on the current step; the whole is a scroll or a
  // wheel away.
  var READABLE = 0.9;
  function openOnCurrentStep(canvas, registry, active) {
    var current = active.map(function (id) { return registry.get(id); }).filter(Boolean)[0];
    if (!current || canvas.zoom() >= READABLE) return;
    var outer = canvas.viewbox().outer;
    var width = outer.width / READABLE, height = outer.height / READABLE;
    canvas.viewbox({
      x: current.x + current.width / 2 - width / 2,
      y: current.y + current.height / 2 - height / 2,
      width: width,
      height: height
    });
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
      var loading = container.querySelector(".diagram-loading");
      if (loading) loading.remove();
      canvas.zoom("fit-viewport", "auto");
      openOnCurrentStep(canvas, registry, state.active || []);
      (state.completed || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "crm-done"); });
      (state.active || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "crm-active"); });
      (state.incidents || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "crm-incident"); });
      var taken = {};
      (state.flows || []).forEach(function (pair) { taken[pair[0] + ">" + pair[1]] = true; });
      registry.filter(function (element) { return element.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
        var bo = flow.businessObject;
        if (bo.sourceRef && bo.targetRef && taken[bo.sourceRef.id + ">" + bo.targetRef.id]) canvas.addMarker(flow.id, "crm-flow-done");
      });
      container.dataset.ready = "true";
    })
    .catch(function (error) {
      container.dataset.error = String(error);
      var loading = container.querySelector(".diagram-loading");
      if (loading) loading.textContent = container.dataset.errorText || String(error);
    });
})();
