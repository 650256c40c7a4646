/* CRMFlow pages: toasts, bulk selection, the worklist's self-refresh, keyboard shortcuts, and the
   "comment required when returning" hint. Everything also works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // --- toasts -------------------------------------------------------------------------------
  function toast(message, level) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var item = document.createElement("div");
    item.className = "toast toast-" + (level || "success");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }
  document.addEventListener("crm-toast", function (event) {
    var detail = event.detail || {};
    toast(detail.message, detail.level);
  });
  document.querySelectorAll("#toasts .toast").forEach(function (item) {
    setTimeout(function () { item.remove(); }, 6000);
  });
  document.addEventListener("click", function (event) { // a click dismisses a toast at once
    var item = event.target.closest && event.target.closest("#toasts .toast");
    if (item) item.remove();
  });

  // --- customer suggestions -----------------------------------------------------------------
  // A form's customer field offers the customers on file as the user types (datalist).
  document.querySelectorAll("input[data-customer-suggest]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (text.length < 2 || text === asked || !list) return;
      timer = setTimeout(function () {
        asked = text;
        fetch(input.dataset.customerSuggest + "?q=" + encodeURIComponent(text), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (body) {
            list.innerHTML = "";
            (body.items || []).forEach(function (c) {
              var option = document.createElement("option");
              option.value = c.name;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 250);
    });
  });

  // --- bulk selection -----------------------------------------------------------------------
  function selected() {
    return Array.prototype.slice.call(document.querySelectorAll('#worklist input[name="task"]:checked'));
  }
  function updateBulkbar() {
    var bar = document.querySelector("[data-bulkbar]");
    if (!bar) return;
    var n = selected().length;
    var label = bar.querySelector("[data-selected-count]");
    if (label) {
      label.textContent = n ? (bar.dataset.selectedText || "{n}").replace("{n}", n) : bar.dataset.noneText || label.textContent;
    }
    bar.querySelectorAll("[data-needs-selection]").forEach(function (button) { button.disabled = n === 0; });
    var all = document.querySelector("[data-select-all]");
    var boxes = document.querySelectorAll('#worklist input[name="task"]');
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-select-all]")) {
      document.querySelectorAll('#worklist input[name="task"]').forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches && (target.matches('input[name="task"]') || target.matches("[data-select-all]"))) updateBulkbar();
    if (target.matches && target.matches('input[name="decision"]')) commentRule(target.form);
    // A filter choice applies at once (htmx swaps the list); the search box applies as you type.
    if (target.matches && target.matches("#filters select") && target.form.requestSubmit) target.form.requestSubmit();
    // Another process has other fields: its search starts without the last one's field filters.
    if (target.matches && target.matches("select[data-submit-on-change]") && target.form.requestSubmit) {
      target.form.querySelectorAll("[data-field]").forEach(function (field) { field.remove(); });
      target.form.requestSubmit();
    }
  });

  // --- a destructive button asks first (terminate): data-confirm holds the question ---------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // --- worklist refresh: not while the user is selecting or typing, nor in a hidden tab -------
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "worklist" || event.detail.triggeringEvent) return;
    var busy = selected().length > 0 || document.hidden || (document.activeElement && elt.contains(document.activeElement) && document.activeElement.tagName === "SELECT");
    if (busy) event.preventDefault();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "worklist") {
      updateBulkbar();
      restoreFocus();
    }
  });
  updateBulkbar();

  // --- the decision form: a return or rejection needs a comment -------------------------------
  function commentRule(form) {
    if (!form) return;
    var comment = form.querySelector('[name="comment"]');
    var decision = form.querySelector('input[name="decision"]:checked');
    if (!comment) return;
    var needed = !!decision && (decision.value === "return" || decision.value === "reject");
    comment.required = needed;
    var field = comment.closest(".field");
    var label = field && field.querySelector("label");
    if (label && !label.querySelector(".req-dyn") && needed) {
      var star = document.createElement("span");
      star.className = "req req-dyn";
      star.setAttribute("aria-hidden", "true");
      star.textContent = " *";
      label.appendChild(star);
    } else if (label && !needed) {
      label.querySelectorAll(".req-dyn").forEach(function (s) { s.remove(); });
    }
  }
  document.querySelectorAll("[data-task-form]").forEach(commentRule);

  // --- dialogs and printing -------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
    var opener = event.target.closest && event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.openDialog);
      if (dialog && dialog.showModal) dialog.showModal();
    }
  });

  // --- keyboard shortcuts (Camunda Tasklist style) --------------------------------------------
  var focusedId = null;
  var pendingG = false;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#worklist .task-row")); }
  function focusRow(row) {
    rows().forEach(function (r) { r.classList.remove("is-focused"); });
    if (!row) return;
    row.classList.add("is-focused");
    focusedId = row.dataset.taskId || null;
    var link = row.querySelector(".task-link");
    if (link) link.focus();
  }
  function currentRow() {
    var active = document.activeElement && document.activeElement.closest && document.activeElement.closest(".task-row");
    return active || document.querySelector("#worklist .task-row.is-focused");
  }
  function restoreFocus() {
    if (!focusedId) return;
    var row = document.querySelector('#worklist .task-row[data-task-id="' + focusedId + '"]');
    if (row) row.classList.add("is-focused");
  }
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      var nav = { t: "[data-shortcut-nav='t']", p: "[data-shortcut-nav='p']", c: "[data-shortcut-nav='c']", n: ".bell" }[key];
      var link = nav && document.querySelector(nav);
      if (link) { event.preventDefault(); link.click(); }
      return;
    }
    if (key === "g") { pendingG = true; setTimeout(function () { pendingG = false; }, 1200); return; }
    if (key === "?") {
      var help = document.getElementById("shortcuts");
      if (help && help.showModal) { event.preventDefault(); help.showModal(); }
      return;
    }
    if (key === "/") {
      var search = document.querySelector("[data-shortcut-search]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (key === "j" || key === "k") {
      var list = rows();
      if (!list.length) return;
      var index = list.indexOf(currentRow());
      index = key === "j" ? Math.min(list.length - 1, index + 1) : Math.max(0, index - 1);
      event.preventDefault();
      focusRow(list[index]);
      return;
    }
    if (key === "x") {
      var row = currentRow();
      var box = row && row.querySelector('input[name="task"]');
      if (box) { event.preventDefault(); box.click(); }
      return;
    }
    if (key === "o") {
      var open = currentRow();
      var taskLink = open && open.querySelector(".task-link");
      if (taskLink) { event.preventDefault(); taskLink.click(); }
      return;
    }
    if (key === "c") {
      var claimRow = currentRow();
      var claim = (claimRow && claimRow.querySelector("[data-claim]")) || document.querySelector("[data-shortcut-claim]");
      if (claim) { event.preventDefault(); claim.click(); }
      return;
    }
    if (key === "f") {
      var form = document.querySelector("[data-task-form]");
      var first = form && form.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { event.preventDefault(); form.scrollIntoView({ block: "start" }); first.focus(); }
    }
  });
})();
