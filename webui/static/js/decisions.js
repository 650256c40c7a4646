/* A decision table in dmn-js (vendored in vendor/designer/decisions.js): opens on the page's
   decision, switches between its views (DRD, tables), validates and deploys through the same
   endpoints as the BPMN designer. The bpmn.io watermark stays visible (its licence). */
(function () {
  "use strict";
  var root = document.getElementById("decisions");
  if (!root || !window.CrmDecisions || !window.CrmDesignerKit) return;
  var Kit = window.CrmDesignerKit;
  // Every view (DRD, table, literal expression) speaks the page's language (js/dmn-texts.js);
  // dmn-js takes a view's own modules over the common ones, so each view gets the translation.
  var words = document.documentElement.lang.indexOf("zh") === 0 && window.CrmDmnTexts ? window.CrmDmnTexts.zh : null;
  var missing = {};
  function translate(template, replacements) {
    var values = replacements || {};
    var found = words && words[template];
    if (words && !found && template) missing[template] = true;
    return (found || template).replace(/{([^}]+)}/g, function (all, key) {
      return values[key] !== undefined ? values[key] : all;
    });
  }
  var translation = { additionalModules: [{ translate: ["value", translate] }] };
  var modeler = new window.CrmDecisions.DmnModeler({
    container: document.getElementById("dmn-canvas"),
    drd: translation,
    decisionTable: translation,
    literalExpression: translation,
    boxedExpression: translation,
  });
  window.CrmDmnMissingTexts = missing; // what a test checks has no English left
  var viewsBox = root.querySelector("[data-views]");

  function showViews() {
    viewsBox.innerHTML = "";
    var active = modeler.getActiveView();
    modeler.getViews().forEach(function (view) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-small" + (active && view.element === active.element ? " btn-primary" : "");
      button.textContent = (view.element.name || view.element.id) + (view.type === "drd" ? " (" + translate("DRD") + ")" : "");
      button.dataset.view = view.element.id;
      button.setAttribute("aria-pressed", String(!!active && view.element === active.element));
      button.addEventListener("click", function () { modeler.open(view); });
      viewsBox.appendChild(button);
    });
  }

  // Each kind of view has its own viewer and command stack; dmn-js creates a viewer once and
  // reuses it, so each one is listened to once, however often the views are switched.
  modeler.on("viewer.created", function (event) {
    event.viewer.on("commandStack.changed", function (change) {
      if (change && change.trigger === "clear") return;
      editor.changed();
    });
  });

  var editor = new Kit.Editor(root, {
    fileName: root.dataset.key + ".dmn",
    xml: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); },
    locate: function () { return null; },
    reveal: function () {},
    mark: function () {},
  });

  // Import without opening dmn-js's first view (the DRD), then open the page's decision: the
  // diagram is drawn once.
  function open(text) {
    return modeler.importXML(text, { open: false }).then(function (result) {
      var views = modeler.getViews();
      var wanted = views.filter(function (v) { return v.element.id === root.dataset.key && v.type !== "drd"; })[0];
      var view = wanted || views.filter(function (v) { return v.type === "decisionTable"; })[0] || views[0];
      if (!view) throw new Error("no displayable contents");
      return modeler.open(view).then(function (shown) {
        return { warnings: (result.warnings || []).concat((shown && shown.warnings) || []), views: views.length };
      });
    }).then(function (loaded) {
      var rules = root.querySelectorAll(".tjs-table tbody tr").length;
      return editor.opened(rules || loaded.views, loaded.warnings);
    }, function (error) { editor.openFailed(error); });
  }

  modeler.on("views.changed", showViews);
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
