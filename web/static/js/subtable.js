// Sub-table rows on the form page: add a row (a copy of the last one, emptied), remove,
// move up or down, copy a row (the copy goes below it), and paste rows from Excel or
// any spreadsheet (tab-separated lines) from the cell pasted into. Field names are
// renumbered after every change so the rows post in the order they show. Each change
// fires "subtable-changed" on the sub-table's fieldset (form_logic.js recomputes row
// formulas and totals on it). No inline script: the page's CSP allows scripts from
// this site only.
(function () {
  "use strict";

  // web/widgets.py MAX_ROWS: the server reads at most this many rows of a sub-table
  var MAX_ROWS = 200;
  var CONTROLS = "input, select, textarea";

  function definedMax(key) {
    // the definition's max_rows, from the page's logic block, when it is lower
    var script = document.getElementById("form-logic");
    if (!script) { return MAX_ROWS; }
    if (!script._lowcodeLogic) {
      try { script._lowcodeLogic = JSON.parse(script.textContent); } catch (e) { script._lowcodeLogic = {}; }
    }
    var spec = ((script._lowcodeLogic || {}).fields || {})[key] || {};
    var max = parseInt(spec.max_rows, 10);
    return max > 0 && max < MAX_ROWS ? max : MAX_ROWS;
  }

  function rowsOf(body) {
    return Array.prototype.slice.call(body.querySelectorAll("tr.subtable-row"));
  }

  function renumber(box) {
    var body = box.querySelector("tbody");
    var rows = rowsOf(body);
    var prefix = new RegExp("^(f-)?(" + box.id.slice(4) + ")-\\d+-");
    rows.forEach(function (row, index) {
      // names post the rows in page order; ids (controls, computed cells, a widget's
      // parts) follow them
      row.querySelectorAll("[name], [id]").forEach(function (node) {
        if (node.name && prefix.test(node.name)) { node.name = node.name.replace(prefix, "$2-" + index + "-"); }
        if (node.id && prefix.test(node.id)) { node.id = node.id.replace(prefix, "$1$2-" + index + "-"); }
      });
      var up = row.querySelector(".move-up"), down = row.querySelector(".move-down");
      if (up) { up.disabled = index === 0; }
      if (down) { down.disabled = index === rows.length - 1; }
      var remove = row.querySelector(".remove-row");
      if (remove) { remove.disabled = rows.length === 1; }
    });
    var full = rows.length >= definedMax(box.id.slice(4));
    box.querySelectorAll(".add-row, .copy-row").forEach(function (button) { button.disabled = full; });
  }

  function changed(box, detail) {
    renumber(box);
    box.dispatchEvent(new CustomEvent("subtable-changed", {bubbles: true, detail: detail || {}}));
  }

  // a row and the server's message rows that follow it (they move and go with it)
  function withMessages(row) {
    var group = [row], next = row.nextElementSibling;
    while (next && !next.classList.contains("subtable-row")) {
      group.push(next);
      next = next.nextElementSibling;
    }
    return group;
  }

  function clean(row) {
    row.querySelectorAll(".is-invalid").forEach(function (node) { node.classList.remove("is-invalid"); });
    // the server's and the page's messages on a cell (a widget's own message box stays)
    row.querySelectorAll("td > .invalid-feedback, .client-error").forEach(function (node) { node.remove(); });
    row.querySelectorAll("[data-defaulted]").forEach(function (node) { node.removeAttribute("data-defaulted"); });
    row.querySelectorAll("[data-client-error]").forEach(function (node) { node.removeAttribute("data-client-error"); });
    row.querySelectorAll("[title]").forEach(function (node) {
      if (node.hasAttribute("data-paste-title")) { node.removeAttribute("title"); node.removeAttribute("data-paste-title"); }
    });
  }

  function blankRow(box) {
    var rows = rowsOf(box.querySelector("tbody"));
    var copy = rows[rows.length - 1].cloneNode(true);
    clean(copy);
    // nothing typed in the row copied from: no value kept behind a read-only-if lock
    copy.querySelectorAll("[data-typed]").forEach(function (node) { node.removeAttribute("data-typed"); });
    copy.querySelectorAll("input, textarea").forEach(function (input) {
      if (input.type === "checkbox" || input.type === "radio") { input.checked = false; } else { input.value = ""; }
    });
    copy.querySelectorAll("select").forEach(function (select) {
      Array.prototype.forEach.call(select.options, function (option) { option.selected = false; });
      select.selectedIndex = select.multiple ? -1 : 0;
    });
    copy.querySelectorAll(".computed").forEach(function (cell) {
      cell.textContent = cell.getAttribute("data-empty") || "";
    });
    box.querySelector("tbody").appendChild(copy);
    return copy;
  }

  function copyRow(row) {
    var copy = row.cloneNode(true);
    clean(copy);
    // cloning keeps what was typed in inputs and textareas, not a select's choice
    var from = row.querySelectorAll("select"), to = copy.querySelectorAll("select");
    Array.prototype.forEach.call(from, function (select, n) {
      Array.prototype.forEach.call(select.options, function (option, i) {
        to[n].options[i].selected = option.selected;
      });
    });
    var group = withMessages(row);
    group[group.length - 1].after(copy);
    return copy;
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) { return; }
    var box = target.closest("fieldset.subtable-box");
    if (target.classList.contains("add-row")) {
      box = document.getElementById("sub-" + target.dataset.subtable);
      if (!box || rowsOf(box.querySelector("tbody")).length >= definedMax(target.dataset.subtable)) { return; }
      var added = blankRow(box);
      changed(box, {added: [added]});
      var first = added.querySelector(CONTROLS);
      if (first) { first.focus(); }
      return;
    }
    if (!box) { return; }
    var row = target.closest("tr.subtable-row");
    if (!row) { return; }
    var body = row.parentNode;
    if (target.classList.contains("remove-row")) {
      if (rowsOf(body).length > 1) {
        withMessages(row).forEach(function (node) { node.remove(); });
        changed(box, {});
      }
    } else if (target.classList.contains("move-up")) {
      var before = row.previousElementSibling;
      while (before && !before.classList.contains("subtable-row")) { before = before.previousElementSibling; }
      if (before) {
        withMessages(row).forEach(function (node) { body.insertBefore(node, before); });
        changed(box, {});
        target.disabled ? row.querySelector(".move-down").focus() : target.focus();
      }
    } else if (target.classList.contains("move-down")) {
      var group = withMessages(row), after = group[group.length - 1].nextElementSibling;
      if (after) {
        var next = withMessages(after);
        var anchor = next[next.length - 1].nextElementSibling;
        group.forEach(function (node) { body.insertBefore(node, anchor); });
        changed(box, {});
        target.disabled ? row.querySelector(".move-up").focus() : target.focus();
      }
    } else if (target.classList.contains("copy-row")) {
      if (rowsOf(body).length < definedMax(box.id.slice(4))) {
        var copy = copyRow(row);
        changed(box, {added: [copy]});
      }
    }
  });

  // ---- pasting from a spreadsheet -----------------------------------------------------

  // Excel's text/plain: cells split by tabs, rows by CR LF, a cell holding a tab, a line
  // break or a quote wrapped in double quotes (a quote inside doubled), one line break
  // after the last row.
  function grid(text) {
    var rows = [], row = [], cell = "", i = 0, quoted = false, n = text.length;
    while (i < n) {
      var ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        if (ch === '"') { quoted = false; i += 1; continue; }
        cell += ch; i += 1; continue;
      }
      if (ch === '"' && cell === "") { quoted = true; i += 1; continue; }
      if (ch === "\t") { row.push(cell); cell = ""; i += 1; continue; }
      if (ch === "\r" || ch === "\n") {
        row.push(cell); rows.push(row); row = []; cell = "";
        i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
        continue;
      }
      cell += ch; i += 1;
    }
    if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
    return rows;
  }

  function isoDate(text) {
    // 2027/1/15, 2027-1-15, 2027.1.15, 2027年1月15日 -> 2027-01-15
    var m = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/.exec(text);
    if (!m) { return text; }
    return m[1] + "-" + ("0" + m[2]).slice(-2) + "-" + ("0" + m[3]).slice(-2);
  }

  function optionFor(select, text) {
    var wanted = text.trim().toLowerCase();
    var options = Array.prototype.filter.call(select.options, function (o) { return o.value !== ""; });
    var tests = [
      function (o) { return o.value.toLowerCase() === wanted; },
      function (o) { return o.text.trim().toLowerCase() === wanted; },
      function (o) { return o.text.trim().toLowerCase().split(/\s+/).indexOf(wanted) >= 0; },
      function (o) { return o.text.toLowerCase().indexOf(wanted) >= 0; }
    ];
    for (var t = 0; t < tests.length; t++) {
      var found = options.filter(tests[t]);
      if (found.length === 1) { return found[0]; }
      if (found.length > 1 && t < 2) { return found[0]; }
    }
    return null;
  }

  var YES = {"1": 1, "y": 1, "yes": 1, "true": 1, "是": 1, "✓": 1, "√": 1, "x": 1, "on": 1};

  // the cell's own control, unless it takes no input (computed, read-only)
  function control(cell) {
    var found = cell.querySelector("select[name], textarea[name], input[name]:not([type=hidden])");
    if (!found || found.readOnly || found.disabled) { return null; }
    return found;
  }

  function put(element, text, box) {
    text = text.trim();
    if (element.tagName === "SELECT") {
      var option = text === "" ? null : optionFor(element, text);
      Array.prototype.forEach.call(element.options, function (o) { o.selected = false; });
      if (option) {
        option.selected = true;
      } else {
        if (!element.multiple) { element.selectedIndex = 0; }
        if (text !== "") {
          element.classList.add("is-invalid");
          element.title = (box.getAttribute("data-no-option") || "") + "「" + text + "」";
          element.setAttribute("data-paste-title", "1");
        }
      }
    } else if (element.type === "checkbox") {
      element.checked = Object.prototype.hasOwnProperty.call(YES, text.toLowerCase());
    } else if (element.type === "date") {
      element.value = isoDate(text);
    } else {
      element.value = text;
    }
  }

  document.addEventListener("paste", function (event) {
    var target = event.target;
    if (!target || !target.closest) { return; }
    var row = target.closest("tr.subtable-row");
    var box = row ? row.closest("fieldset.subtable-box") : null;
    var data = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
    if (!box || !data || !/[\t\r\n]/.test(data)) { return; }  // one plain value: the browser pastes it
    event.preventDefault();
    var lines = grid(data);
    var cell = target.closest("td");
    var cells = Array.prototype.slice.call(row.children);
    var from = cells.indexOf(cell);
    var rows = rowsOf(row.parentNode);
    var start = rows.indexOf(row), limit = definedMax(box.id.slice(4));
    var pasted = [], added = [], cut = false;
    lines.forEach(function (values, n) {
      var at = start + n;
      if (at >= limit) { cut = true; return; }
      var line = rows[at];
      if (!line) {
        line = blankRow(box);
        rows.push(line);
        added.push(line);
      }
      // the cells from the one pasted into that take input, in order
      var targets = Array.prototype.slice.call(line.children, from).map(control).filter(Boolean);
      values.forEach(function (text, k) {
        var element = targets[k];
        if (!element) { return; }
        element.classList.remove("is-invalid");
        put(element, text, box);
        pasted.push(element);
      });
    });
    var notice = box.querySelector(".subtable-notice");
    if (notice) { notice.hidden = !cut; }
    changed(box, {pasted: pasted, added: added});
  });

  document.querySelectorAll("fieldset.subtable-box").forEach(function (box) { renumber(box); });
})();
