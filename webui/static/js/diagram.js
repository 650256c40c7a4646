/* The process diagram (bpmn-js navigated viewer, vendored): the current step highlighted, the
   completed elements and the sequence flows taken marked. The bpmn.io watermark stays visible. */
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container || !window.BpmnJS) return;
  var state = {};
  try { state = JSON.parse(container.dataset.state || "{}"); } catch (e) { state = {}; }
  var viewer = new window.BpmnJS({ container: container });
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
      (state.completed || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "crm-done"); });
      (state.active || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "crm-active"); });
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
