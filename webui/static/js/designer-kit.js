/* What the BPMN and the DMN editors share: texts from the page, posting XML with the session's
   CSRF token, the status line and problem list, deploy/validate state, downloads and reading a
   file in the encoding its XML declaration names. Exposed as window.CrmDesignerKit. */
(function () {
  "use strict";

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function toast(message, level) {
    document.dispatchEvent(new CustomEvent("crm-toast", { detail: { message: message, level: level || "success" } }));
  }

  function download(name, text, type) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: type }));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  // A file in the encoding its XML declaration (or BOM) names; the MIWG files include ISO-8859-1.
  function decode(buffer) {
    var bytes = new Uint8Array(buffer);
    if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le").decode(bytes);
    if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be").decode(bytes);
    var head = new TextDecoder("latin1").decode(bytes.slice(0, 200));
    var declared = /encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
    try { return new TextDecoder(declared ? declared[1] : "utf-8").decode(bytes); } catch (e) { return new TextDecoder("utf-8").decode(bytes); }
  }

  /* One editor page: `root` carries data-texts and data-urls; `options.xml()` returns a promise of
     the current XML, `options.locate(problem)` an element to show (or null), `options.mark(list)`
     draws the problems on the diagram. */
  function Editor(root, options) {
    this.root = root;
    this.options = options;
    this.texts = JSON.parse(root.dataset.texts || "{}");
    this.urls = JSON.parse(root.dataset.urls || "{}");
    this.fileName = options.fileName;
    this.status = root.querySelector("[data-status]");
    this.list = root.querySelector(".problem-list");
    this.count = root.querySelector("[data-problem-count]");
    this.deployButton = root.querySelector('[data-action="deploy"]');
    this.dirtyBadge = root.querySelector("[data-dirty]");
    this.dirty = false;
    this.busy = false;
    this.errors = -1; // unknown until the first check
    this.round = 0;
    this.timer = null;
    var self = this;
    window.addEventListener("beforeunload", function (event) {
      if (!self.dirty) return;
      event.preventDefault();
      event.returnValue = self.texts.leave;
    });
  }

  Editor.prototype.say = function (key, values) {
    var text = this.texts[key] || key;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  };

  Editor.prototype.post = function (url, body) {
    var sep = url.indexOf("?") >= 0 ? "&" : "?";
    return fetch(url + sep + "file=" + encodeURIComponent(this.fileName), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/xml", "X-CSRFToken": csrf(), "Accept": "application/json" },
      body: body,
    }).then(function (response) {
      return response.text().then(function (text) {
        var data;
        try { data = JSON.parse(text); } catch (e) { data = { message: "HTTP " + response.status }; }
        return { status: response.status, ok: response.ok, data: data || {} };
      });
    });
  };

  Editor.prototype.setStatus = function (text, level) {
    this.status.textContent = text;
    this.status.className = "small status-" + (level || "info");
  };

  Editor.prototype.setDirty = function (value) {
    this.dirty = value;
    if (this.dirtyBadge) this.dirtyBadge.hidden = !value;
  };

  Editor.prototype.updateDeploy = function () {
    this.deployButton.disabled = this.busy || this.errors !== 0;
    this.root.dataset.errors = String(this.errors);
  };

  Editor.prototype.fail = function (detail) {
    this.errors = -1;
    this.updateDeploy();
    this.setStatus(this.say("failed", { detail: detail }), "error");
  };

  Editor.prototype.showProblems = function (problems) {
    var self = this;
    this.list.innerHTML = "";
    var errors = 0;
    problems.forEach(function (p) {
      if (p.severity === "error") errors += 1;
      var element = self.options.locate(p);
      var item = document.createElement("li");
      item.className = "problem problem-" + p.severity;
      item.dataset.elementId = p.element_id || "";
      var label = document.createElement("span");
      label.className = "chip chip-problem-" + p.severity;
      label.textContent = self.texts[p.severity] || p.severity;
      var where = document.createElement(element ? "button" : "span");
      where.className = element ? "linklike problem-where" : "problem-where muted";
      where.textContent = (p.element_name ? p.element_name + " " : "") + (p.element_id ? "(" + p.element_id + ")" : "");
      if (element) {
        where.type = "button";
        where.addEventListener("click", function () { self.options.reveal(element); });
      }
      var message = document.createElement("span");
      message.className = "problem-message";
      message.textContent = p.message;
      item.append(label, " ", where, " ", message);
      self.list.appendChild(item);
    });
    this.options.mark(problems);
    this.count.textContent = String(problems.length);
    this.errors = errors;
    var warnings = problems.filter(function (p) { return p.severity === "warning"; }).length;
    if (errors) this.setStatus(this.say("invalid", { n: errors }), "error");
    else if (warnings) this.setStatus(this.say("validWithWarnings", { n: warnings }), "warning");
    else this.setStatus(this.texts.valid, "ok");
    this.updateDeploy();
  };

  // Validation by the server (the deploy code): an answer for older content no longer counts.
  Editor.prototype.check = function () {
    var self = this;
    var round = ++this.round;
    clearTimeout(this.timer);
    this.setStatus(this.texts.validating);
    return this.options.xml()
      .then(function (text) { return self.post(self.urls.validate, text); })
      .then(function (answer) {
        if (round !== self.round) return;
        if (answer.data.problems) self.showProblems(answer.data.problems);
        else self.fail(answer.data.message || "HTTP " + answer.status);
      })
      .catch(function (error) { if (round === self.round) self.fail(String(error)); });
  };

  Editor.prototype.changed = function () {
    var self = this;
    this.setDirty(true);
    clearTimeout(this.timer);
    this.errors = -1;
    this.round += 1;
    this.updateDeploy();
    this.setStatus(this.texts.unchecked);
    this.timer = setTimeout(function () { self.check(); }, 600);
  };

  Editor.prototype.run = function (action) {
    var self = this;
    this.busy = true;
    this.updateDeploy();
    return action().finally(function () { self.busy = false; self.updateDeploy(); });
  };

  // Deploy: first what it would change (the server's preview), confirmed in a dialog; then the
  // server validates again and deploys exactly the XML that was previewed. A refusal shows its
  // problems like a check does.
  Editor.prototype.deploy = function () {
    var self = this;
    var dialog = this.root.querySelector("#deploy-dialog");
    if (!dialog || !this.urls.preview) return this.options.xml().then(function (text) { return self.deployNow(text); });
    if (!this.dialogWired) {
      this.dialogWired = true;
      dialog.addEventListener("close", function () {
        var text = self.previewed;
        self.previewed = null;
        if (dialog.returnValue === "deploy" && text !== null) self.deployNow(text);
      });
    }
    var before = [this.status.textContent, this.status.className];
    return this.run(function () {
      self.setStatus(self.texts.previewing);
      return self.options.xml().then(function (text) {
        return self.post(self.urls.preview, text).then(function (answer) {
          if (!answer.ok) { self.refused(answer); return; }
          var items = answer.data.items || [];
          self.fillSummary(dialog, items);
          self.status.textContent = before[0];
          self.status.className = before[1];
          self.previewed = text;
          dialog.returnValue = "";
          dialog.showModal();
          var confirm = dialog.querySelector("[data-confirm-deploy]");
          if (confirm && !confirm.disabled) confirm.focus();
        });
      });
    });
  };

  Editor.prototype.fillSummary = function (dialog, items) {
    var self = this;
    var list = dialog.querySelector("[data-deploy-summary]");
    list.innerHTML = "";
    function names(elements) {
      return elements.map(function (e) { return e.name ? e.name + " (" + e.id + ")" : e.id; }).join("、");
    }
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.dataset.key = item.key;
      li.dataset.new = String(item.new);
      var values = { name: (item.kind === "decision" ? self.texts.decisionTable + " " : "") + (item.name || item.key), key: item.key, from: item.current_version, to: item.version, version: item.version };
      var head = document.createElement("strong");
      head.textContent = self.say(!item.new ? "planSame" : item.current_version ? "planVersion" : "planNew", values);
      li.appendChild(head);
      [["added", "planAdded"], ["removed", "planRemoved"], ["changed", "planChanged"]].forEach(function (part) {
        if (!item[part[0]] || !item[part[0]].length) return;
        var line = document.createElement("div");
        line.className = "small deploy-" + part[0];
        line.textContent = self.say(part[1], { list: names(item[part[0]]) });
        li.appendChild(line);
      });
      if (item.new && item.running) {
        var running = document.createElement("div");
        running.className = "small muted";
        running.textContent = self.say("planRunning", { n: item.running });
        li.appendChild(running);
      }
      list.appendChild(li);
    });
    var anything = items.some(function (i) { return i.new; });
    if (!anything) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = self.texts.planNothing;
      list.appendChild(none);
    }
    var confirm = dialog.querySelector("[data-confirm-deploy]");
    if (confirm) confirm.disabled = !anything;
  };

  Editor.prototype.refused = function (answer) {
    if (answer.data.problems) {
      this.showProblems(answer.data.problems);
      toast(this.say("invalid", { n: this.errors }), "error");
    } else {
      this.setStatus(this.say("failed", { detail: answer.data.message || "HTTP " + answer.status }), "error");
      toast(this.say("failed", { detail: answer.data.message || "HTTP " + answer.status }), "error");
    }
  };

  Editor.prototype.deployNow = function (text) {
    var self = this;
    return this.run(function () {
      return self.post(self.urls.deploy, text).then(function (answer) {
        if (answer.status === 201) {
          var items = answer.data.deployed || [];
          var what = items.map(function (d) { return d.key + " " + self.say("version", { version: d.version }); }).join(", ");
          if (items.some(function (d) { return d.new; })) toast(self.say("deployed", { what: what }));
          else toast(self.say("unchanged", { version: items.length ? items[0].version : "?" }), "warning");
          self.setDirty(false);
          self.setStatus(self.say("deployed", { what: what }), "ok");
          self.root.dataset.deployed = JSON.stringify(items);
          var key = self.options.key ? self.options.key() : self.root.dataset.key;
          var own = items.filter(function (d) { return d.key === key; })[0];
          if (own && own.new) self.showDeployed(own.version);
          if (self.options.deployed) self.options.deployed(items);
        } else {
          self.refused(answer);
        }
      });
    });
  };

  // The header names the version now open: the one just deployed, the latest.
  Editor.prototype.showDeployed = function (version) {
    var line = this.root.querySelector(".designer-source");
    if (!line) return;
    line.textContent = "";
    var chip = document.createElement("span");
    chip.className = "chip chip-running";
    chip.dataset.openVersion = String(version);
    chip.textContent = this.say("versionChip", { version: version });
    var latest = document.createElement("span");
    latest.className = "muted";
    latest.dataset.latestMark = "";
    latest.textContent = this.texts.latest;
    var who = document.createElement("span");
    who.className = "muted";
    who.dataset.deployedBy = "";
    who.textContent = this.texts.deployedNow;
    line.append(chip, " ", latest, " ", who);
    if (this.dirtyBadge) line.append(" ", this.dirtyBadge);
  };

  Editor.prototype.opened = function (count, warnings) {
    var loading = this.root.querySelector(".diagram-loading");
    if (loading) loading.remove();
    this.root.dataset.elements = String(count);
    this.root.dataset.importWarnings = String(warnings.length);
    this.root.dataset.ready = "true";
    if (warnings.length) toast(this.say("importWarnings", { n: warnings.length }), "warning");
    return this.check();
  };

  Editor.prototype.openFailed = function (error) {
    this.root.dataset.ready = "error";
    this.root.dataset.elements = "0";
    this.errors = -1;
    this.updateDeploy();
    this.setStatus(this.say("loadFailed", { detail: error && error.message ? error.message : String(error) }), "error");
  };

  // Load the page's diagram, and let "Open file" replace it (in any encoding).
  Editor.prototype.start = function (open) {
    var self = this;
    var picker = this.root.querySelector("[data-open-file]");
    picker.addEventListener("change", function (event) {
      var file = event.target.files && event.target.files[0];
      if (!file) return;
      self.fileName = file.name;
      self.root.dataset.file = file.name;
      self.root.dataset.ready = "false";
      file.arrayBuffer().then(function (buffer) {
        return open(decode(buffer)).then(function () { self.setDirty(true); });
      });
      event.target.value = "";
    });
    this.setStatus(this.texts.loading);
    return fetch(this.root.dataset.xmlUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(open, function (error) { self.openFailed(error); });
  };

  window.CrmDesignerKit = { Editor: Editor, toast: toast, download: download };
})();
