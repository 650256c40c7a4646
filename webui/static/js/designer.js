/* The process designer (bpmn-js Modeler + Camunda 7 properties panel, vendored in
   vendor/designer/modeler.js). Every change is validated by the server with the same code as
   deployment: problems become overlays on their elements and a list; Deploy stays disabled while
   any error remains. The bpmn.io watermark stays visible (its licence). */
(function () {
  "use strict";
  var root = document.getElementById("designer");
  if (!root || !window.CrmDesigner || !window.CrmDesignerKit) return;
  var Kit = window.CrmDesignerKit;
  var D = window.CrmDesigner;
  // The palette, menus and properties panel speak the page's language (bpmn-js-i18n-zh).
  // What bpmn-js-i18n-zh lacks (the root of a diagram with pools is a collaboration).
  var OWN_WORDS = {
    "Collaboration": "协作",
    "Lane": "泳道",
    "Text Annotation": "文本注释",
    "Timer Boundary Event (Non Interrupting)": "定时边界事件（非中断）",
    "Ad-hoc sub-process (collapsed)": "自由子流程（折叠）",
    "Ad-hoc sub-process (expanded)": "自由子流程（展开）",
    "Completion": "完成条件",
    "Custom type": "自定义类型",
    "<custom type>": "<自定义类型>",
    "Search in diagram": "在图中搜索",
    "Values": "值",
    "DMN": "DMN 决策表",
    // Form field types: the label translated, the stored value stays the code.
    "string": "文本 (string)",
    "long": "整数 (long)",
    "boolean": "是/否 (boolean)",
    "date": "日期 (date)",
    "enum": "选项 (enum)",
  };
  var words = document.documentElement.lang.indexOf("zh") === 0 ? D.texts.zh : null;
  var missing = {};
  window.CrmDesignerMissingTexts = missing; // what a test checks has no English left
  function translate(template, replacements) {
    var values = replacements || {};
    // The panel's header says "User Task" where the catalogue has "User task".
    var found = words && (words[template] || words[template.charAt(0) + template.slice(1).toLowerCase()] || OWN_WORDS[template]);
    if (words && !found && template) missing[template] = true;
    return (found || template).replace(/{([^}]+)}/g, function (all, key) {
      return values[key] !== undefined ? values[key] : all;
    });
  }
  var modeler = new D.BpmnModeler({
    container: document.getElementById("canvas"),
    propertiesPanel: { parent: "#properties" },
    additionalModules: D.additionalModules.concat([{ translate: ["value", translate] }]),
    moddleExtensions: D.moddleExtensions,
  });
  var registry = modeler.get("elementRegistry");
  var canvas = modeler.get("canvas");
  var overlays = modeler.get("overlays");
  var marked = [];

  // The process in the diagram: its id is the key drafts and downloads are saved under.
  function processElement() {
    var definitions = modeler.getDefinitions();
    var processes = ((definitions && definitions.rootElements) || []).filter(function (e) { return e.$type === "bpmn:Process"; });
    return processes.filter(function (p) { return p.isExecutable; })[0] || processes[0] || null;
  }
  function currentKey() {
    var process = processElement();
    return process && process.id ? process.id : null;
  }

  // --- problems on the diagram: a marker and a badge on each element, the gateway of a flow ---
  function badge(id, severity, title) {
    var el = document.createElement("div");
    el.className = "crm-problem-badge crm-problem-" + severity;
    el.textContent = severity === "error" ? "!" : "i";
    el.title = title;
    el.dataset.problemFor = id;
    overlays.add(id, "crm-problem", { position: { top: -12, right: 12 }, html: el });
  }
  function flag(id, severity, title) {
    canvas.addMarker(id, "crm-has-" + severity);
    marked.push([id, "crm-has-" + severity]);
    badge(id, severity, title);
  }
  function mark(problems) {
    overlays.remove({ type: "crm-problem" });
    marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    marked = [];
    var byElement = {};
    problems.forEach(function (p) {
      var element = p.element_id ? registry.get(p.element_id) : null;
      if (!element) return;
      var entry = byElement[element.id] || (byElement[element.id] = { severity: "warning", messages: [], element: element });
      if (p.severity === "error") entry.severity = "error";
      entry.messages.push(p.message);
    });
    Object.keys(byElement).forEach(function (id) {
      var entry = byElement[id];
      flag(id, entry.severity, entry.messages.join("\n"));
      // A condition lives on a sequence flow: the gateway it leaves is flagged too.
      var source = entry.element.businessObject && entry.element.businessObject.sourceRef;
      if (entry.severity === "error" && source && /Gateway$/.test(source.$type) && registry.get(source.id) && !byElement[source.id]) {
        flag(source.id, "error", editor.texts.flowOfGateway + "\n" + entry.messages.join("\n"));
      }
    });
  }

  var editor = new Kit.Editor(root, {
    fileName: root.dataset.key + ".bpmn",
    xml: function () { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); },
    locate: function (p) { return p.element_id ? registry.get(p.element_id) || null : null; },
    reveal: function (element) {
      modeler.get("selection").select(element);
      canvas.scrollToElement(element);
    },
    mark: mark,
    key: currentKey,
    // A new process, once deployed, is edited at its own address (a reload opens what is live).
    deployed: function (items) {
      var own = items.filter(function (d) { return d.kind === "process" && d.key === currentKey(); })[0];
      if (own && root.dataset.source === "new") window.history.replaceState(null, "", editor.urls.edit.replace("__key__", encodeURIComponent(own.key)));
    },
  });

  // Fit the diagram into the canvas to the right of the palette (which would hide its left edge).
  function fit() {
    var box = canvas.viewbox();
    var inner = box.inner;
    var outer = box.outer;
    if (!inner.width || !inner.height) return;
    var left = 130;
    var margin = 24;
    var scale = Math.min((outer.width - left - margin) / inner.width, (outer.height - 2 * margin) / inner.height, 1);
    canvas.viewbox({ x: inner.x - left / scale, y: inner.y - margin / scale, width: outer.width / scale, height: outer.height / scale });
  }

  // Activiti's files bind the prefix "camunda" to their own namespace; the Camunda extension
  // claims that prefix, and the diagram could then not be saved. XML prefixes carry no meaning:
  // the foreign namespace gets a prefix of its own.
  var CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn";
  function ownPrefixes(text) {
    var bound = /xmlns:camunda\s*=\s*["']([^"']*)["']/.exec(text);
    if (!bound || bound[1] === CAMUNDA_NS) return text;
    var prefix = /activiti/.test(bound[1]) && !/xmlns:activiti\s*=/.test(text) ? "activiti" : "foreign_camunda";
    return text.replace(/xmlns:camunda(\s*=)/g, "xmlns:" + prefix + "$1").replace(/([<\s"'/])camunda:(?=[A-Za-z_])/g, "$1" + prefix + ":");
  }

  function open(text) {
    mark([]);
    return modeler.importXML(ownPrefixes(text)).then(function (result) {
      fit();
      var process = processElement();
      if (process && process.id) {
        root.querySelector("[data-process-key]").textContent = process.id;
        if (process.name) root.querySelector("[data-process-name]").textContent = process.name;
      }
      var shown = registry.filter(function (e) { return e.type !== "label" && e.type !== "bpmn:Process" && e.type !== "bpmn:Collaboration"; });
      return editor.opened(shown.length, result.warnings || []);
    }, function (error) { editor.openFailed(error); });
  }

  function saveDraft() {
    var key = currentKey();
    if (!key) { Kit.toast(editor.texts.noProcess, "error"); return Promise.resolve(); }
    return editor.run(function () {
      return editor.options.xml()
        .then(function (text) { return editor.post(editor.urls.draft.replace("__key__", encodeURIComponent(key)), text); })
        .then(function (answer) {
          if (!answer.ok) { Kit.toast(editor.say("failed", { detail: answer.data.message || "HTTP " + answer.status }), "error"); return; }
          editor.setDirty(false);
          Kit.toast(editor.texts.saved);
          root.dataset.draftSaved = answer.data.updated_at || "yes";
        });
    });
  }

  // Candidate groups are role codes: the panel's text field gets the roles as toggle buttons
  // beside it (typing stays possible, for an expression). The panel redraws its entries when
  // the selection changes, so the buttons are added again whenever the field reappears.
  var roles = JSON.parse(root.dataset.roles || "[]");
  function codes(value) { return value.split(",").map(function (c) { return c.trim(); }).filter(Boolean); }
  function syncPicker(input, picker) {
    var chosen = codes(input.value);
    picker.querySelectorAll("button[data-role]").forEach(function (b) { b.setAttribute("aria-pressed", String(chosen.indexOf(b.dataset.role) >= 0)); });
  }
  function addRolePicker() {
    var input = document.getElementById("bio-properties-panel-candidateGroups");
    if (!input || !roles.length) return;
    var existing = input.parentNode.querySelector(".crm-role-picker");
    if (existing) { syncPicker(input, existing); return; }
    var picker = document.createElement("div");
    picker.className = "crm-role-picker";
    picker.setAttribute("role", "group");
    picker.setAttribute("aria-label", (editor && editor.texts.chooseRoles) || "");
    roles.forEach(function (role) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "crm-role-choice";
      button.dataset.role = role.name;
      button.textContent = role.label;
      button.title = role.name;
      button.addEventListener("click", function () {
        var chosen = codes(input.value);
        var at = chosen.indexOf(role.name);
        if (at >= 0) chosen.splice(at, 1); else chosen.push(role.name);
        input.value = chosen.join(",");
        input.dispatchEvent(new Event("input", { bubbles: true }));
        syncPicker(input, picker);
      });
      picker.appendChild(button);
    });
    input.addEventListener("input", function () { syncPicker(input, picker); });
    input.parentNode.insertBefore(picker, input.nextSibling);
    syncPicker(input, picker);
  }
  new MutationObserver(addRolePicker).observe(document.getElementById("properties"), { childList: true, subtree: true });

  modeler.on("commandStack.changed", function (event) {
    if (event && event.trigger === "clear") return; // a diagram was opened, nothing was edited
    editor.changed();
  });
  root.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-action]");
    if (!button || button.disabled) return;
    var action = button.dataset.action;
    var name = currentKey() || "diagram";
    if (action === "validate") editor.check();
    else if (action === "deploy") editor.deploy();
    else if (action === "save-draft") saveDraft();
    else if (action === "download-bpmn") editor.options.xml().then(function (text) { Kit.download(name + ".bpmn", text, "application/xml"); });
    else if (action === "download-svg") modeler.saveSVG().then(function (r) { Kit.download(name + ".svg", r.svg, "image/svg+xml"); });
  });
  editor.start(open);
})();
