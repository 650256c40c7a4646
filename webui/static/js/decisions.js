/* A decision table in dmn-js (vendored in vendor/designer/decisions.js): opens on the page's
   decision, switches between its views (DRD, tables), validates and deploys through the same
   endpoints as the BPMN designer. The bpmn.io watermark stays visible (its licence). */
(function () {
  "use strict";
  var root = document.getElementById("decisions");
  if (!root || !window.CrmDecisions || !window.CrmDesignerKit) return;
  var Kit = window.CrmDesignerKit;
  var modeler = new window.CrmDecisions.DmnModeler({ container: document.getElementById("dmn-canvas") });
  var viewsBox = root.querySelector("[data-views]");
  var listening = null;

  function showViews() {
    viewsBox.innerHTML = "";
    var active = modeler.getActiveView();
    modeler.getViews().forEach(function (view) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small" + (active && view.element === active.element ? " btn-primary" : "");
      button.textContent = (view.element.name || view.element.id) + (view.type === "drd" ? " (DRD)" : "");
      button.dataset.view = view.element.id;
      button.setAttribute("aria-pressed", String(!!active && view.element === active.element));
      button.addEventListener("click", function () { modeler.open(view); });
      viewsBox.appendChild(button);
    });
  }

  // Each view has its own command stack: listen to the active one's changes.
  function watch() {
    var viewer = modeler.getActiveViewer();
    if (!viewer || viewer === listening) return;
    listening = viewer;
    viewer.on("commandStack.changed", function (event) {
      if (event && event.trigger === "clear") return;
      editor.changed();
    });
  }

  var editor = new Kit.Editor(root, {
    fileName: root.dataset.key + ".dmn",
    xml: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); },
    locate: function () { return null; },
    reveal: function () {},
    mark: function () {},
  });

  function open(text) {
    return modeler.importXML(text).then(function (result) {
      var wanted = modeler.getViews().filter(function (v) { return v.element.id === root.dataset.key && v.type !== "drd"; })[0];
      var table = wanted || modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      var ready = table ? modeler.open(table) : Promise.resolve();
      return ready.then(function () {
        var rules = root.querySelectorAll(".tjs-table tbody tr").length;
        return editor.opened(rules || modeler.getViews().length, result.warnings || []);
      });
    }, function (error) { editor.openFailed(error); });
  }

  modeler.on("views.changed", function () { showViews(); watch(); });
  root.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-action]");
    if (!button || button.disabled) return;
    var action = button.dataset.action;
    if (action === "validate") editor.check();
    else if (action === "deploy") editor.deploy();
    else if (action === "download") editor.options.xml().then(function (text) { Kit.download(root.dataset.key + ".dmn", text, "application/xml"); });
  });
  editor.start(open);
})();
