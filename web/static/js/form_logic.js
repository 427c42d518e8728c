// The form page's live logic, recomputed on every change with the same checked
// expression trees the server runs (formula.js on decimal.js): formulas, sub-table row
// formulas and totals, visibility, required-if (an asterisk and the `required`
// attribute; submitting with such a field blank is stopped here, with the server's own
// message), read-only-if, defaults (a new record's empty fields; a sub-table row's
// empty columns once something is typed in the row), and fill_from copies from a
// picked record. The server computes and checks everything again on saving and is the
// authority: whatever the browser cannot decide (LOOKUP, an error) is left to it.
(function () {
  "use strict";
  var script = document.getElementById("form-logic");
  var form = document.getElementById("record-form");
  if (!script || !form || !window.LowcodeFormula) { return; }
  var logic = JSON.parse(script.textContent);
  var fields = logic.fields || {};
  var NUMERIC = {number: 1, money: 1, percent: 1};
  var context = Object.assign({user: script.getAttribute("data-user")}, logic.context || {});
  // The new-record page posts back to itself; the record page's edit form posts to its
  // resubmit action. Defaults are for new records only (the server's rule), and only
  // on a fresh page: after a refusal the page shows what the person chose, and the
  // server already gave every field left blank its default.
  var isNew = !form.hasAttribute("action");
  var fresh = isNew && !document.querySelector(".alert-danger, .is-invalid");

  function numberOf(text) {
    // as people type money: "¥1,200.50", "1200.5", full-width digits
    var plain = String(text).replace(/[０-９．]/g, function (d) {
      return String.fromCharCode(d.charCodeAt(0) - 0xFEE0);
    }).replace(/[¥￥,\s]/g, "");
    return /^-?\d+(\.\d+)?$/.test(plain) ? {"$number": plain} : null;
  }

  function typed(type, element) {
    if (!element) { return null; }
    if (element.type === "checkbox") { return element.checked; }
    var text = element.value;
    if (text === "" || text === undefined) { return null; }
    if (NUMERIC[type]) { return numberOf(text); }
    if (type === "date") { return {"$date": text}; }
    if (type === "relation") { return /^\d+$/.test(text) ? Number(text) : null; }
    return text;
  }

  function input(name) {
    return form.querySelector('[name="' + name + '"]');
  }

  function rowsOf(key) {
    var box = document.getElementById("sub-" + key);
    return box ? Array.prototype.slice.call(box.querySelectorAll("tr.subtable-row")) : [];
  }

  function rowIndex(row) {
    var named = row.querySelector("[name]");
    var found = named ? /-(\d+)-/.exec(named.name) : null;
    return found ? found[1] : "0";
  }

  function isTop(path) { return path.indexOf(".") < 0; }

  function columnsOf(table) {
    return Object.keys(fields).filter(function (path) { return path.indexOf(table + ".") === 0; });
  }

  function cellOf(table, row, column) {
    return input(table + "-" + rowIndex(row) + "-" + column.slice(table.length + 1));
  }

  function read() {
    var values = {};
    Object.keys(fields).forEach(function (path) {
      if (isTop(path) && fields[path].type !== "subtable") {
        values[path] = typed(fields[path].type, input(path));
      }
    });
    Object.keys(fields).forEach(function (path) {
      if (fields[path].type === "subtable") {
        values[path] = rowsOf(path).map(function (row) {
          var data = {};
          columnsOf(path).forEach(function (column) {
            data[column.slice(path.length + 1)] = typed(fields[column].type, cellOf(path, row, column));
          });
          return data;
        });
      }
    });
    return values;
  }

  function shown(value, spec) {
    if (value === null || value === undefined) { return ""; }
    if (typeof value === "object" && "$number" in value) {
      var places = spec.result === "money" ? 2 : spec.precision;
      var number = new Decimal(value.$number);
      var text = places === null || places === undefined ? number.toString() : number.toFixed(places);
      var parts = text.split(".");
      parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
      return (spec.result === "money" ? "¥" : "") + parts.join(".");
    }
    if (typeof value === "object" && "$date" in value) { return value.$date; }
    if (typeof value === "boolean") { return value ? "✓" : "—"; }
    return String(value);
  }

  function put(element, value, spec) {
    if (!element) { return; }
    var text = shown(value, spec);
    element.textContent = text || element.getAttribute("data-empty") || "";
  }

  function run(tree, values) {
    var result = LowcodeFormula.tryEvaluate(tree, values, context);
    if (!result.ok || (result.value && typeof result.value === "object" && "$unknown" in result.value)) {
      return undefined;  // the server decides
    }
    return result.value;
  }

  // ---- defaults ---------------------------------------------------------------------

  function defaultOf(spec, scope) {
    if (spec.exprs.default_expr) {
      var value = run(spec.exprs.default_expr, scope);
      return value === undefined ? null : value;
    }
    return "default" in spec ? spec.default : null;
  }

  function isBlank(element) {
    if (!element) { return false; }
    if (element.type === "checkbox") { return !element.checked; }
    if (element.tagName === "SELECT") {
      return !Array.prototype.some.call(element.options, function (o) { return o.selected && o.value !== ""; });
    }
    return String(element.value).trim() === "";
  }

  function setValue(element, value) {
    // a canonical value into an input as a person would type it; false when it does not fit
    if (value === null || value === undefined) { return false; }
    if (element.type === "checkbox") {
      if (value !== true && value !== "true") { return false; }
      element.checked = true;
      return true;
    }
    var texts = (Array.isArray(value) ? value : [value]).map(function (item) {
      if (item && typeof item === "object") {
        if ("$number" in item) { return item.$number; }
        if ("$date" in item) { return item.$date; }
        if ("$datetime" in item) { return item.$datetime.slice(0, 16); }
      }
      return typeof item === "boolean" ? "" : String(item);
    });
    if (element.tagName === "SELECT") {
      var hit = false;
      Array.prototype.forEach.call(element.options, function (option) {
        option.selected = option.value !== "" && texts.indexOf(option.value) >= 0;
        hit = hit || option.selected;
      });
      if (!hit && !element.multiple) { element.selectedIndex = 0; }
      return hit;
    }
    if (element.type === "datetime-local" && texts[0].length > 16) { texts[0] = texts[0].slice(0, 16); }
    element.value = texts[0];
    return element.value !== "";
  }

  function fillDefault(element, spec, scope) {
    if (!element || !isBlank(element) || element.hasAttribute("data-defaulted")) { return false; }
    var value = defaultOf(spec, scope);
    if (value === null) { return false; }
    element.setAttribute("data-defaulted", "1");  // once: a person may clear it again
    return setValue(element, value);
  }

  function topDefaults() {
    var values = read(), filled = [];
    Object.keys(fields).forEach(function (path) {
      var spec = fields[path];
      if (!isTop(path) || spec.type === "subtable" || spec.type === "formula" || !hasDefault(spec)) { return; }
      var element = input(path);
      if (fillDefault(element, spec, values)) {
        values[path] = typed(spec.type, element);
        filled.push(element);
      }
    });
    // other widgets (pickers) follow their input; a relation copies its fill_from
    filled.forEach(function (element) { element.dispatchEvent(new Event("change", {bubbles: true})); });
  }

  function hasDefault(spec) { return "default" in spec || !!spec.exprs.default_expr; }

  function rowIsBlank(row, except) {
    return !Array.prototype.some.call(row.querySelectorAll("[name]"), function (element) {
      return except.indexOf(element) < 0 && !isBlank(element);
    });
  }

  function rowDefaults(values) {
    // The server gives a new row's left-out columns their default; a wholly blank row is
    // not sent at all, so a default appears only once something is typed in the row.
    var changed = false;
    Object.keys(fields).forEach(function (table) {
      if (fields[table].type !== "subtable") { return; }
      var columns = columnsOf(table).filter(function (c) { return fields[c].type !== "formula" && hasDefault(fields[c]); });
      if (!columns.length) { return; }
      rowsOf(table).forEach(function (row, n) {
        var cells = columns.map(function (c) { return cellOf(table, row, c); });
        if (rowIsBlank(row, cells)) { return; }
        var scope = Object.assign({}, values, values[table][n]);
        columns.forEach(function (column, k) {
          changed = fillDefault(cells[k], fields[column], scope) || changed;
        });
      });
    });
    return changed;
  }

  // ---- required and read-only ---------------------------------------------------------

  var requiredNow = [];  // [{element, message}] visible fields that must not be blank

  function condition(spec, purpose, scope, fallback) {
    var tree = spec.exprs[purpose];
    if (!tree) { return fallback; }
    var value = run(tree, scope);
    return value === undefined ? fallback : value === true;
  }

  function staticRequired(spec) {
    // a required field with a default is filled in by the server when left blank
    return spec.required && !hasDefault(spec);
  }

  function markRequired(element, on) {
    element.required = on;
    if (on) { element.setAttribute("aria-required", "true"); } else { element.removeAttribute("aria-required"); }
  }

  function asterisk(path, on) {
    var label = form.querySelector('label[for="f-' + path + '"]');
    if (!label) { return; }
    var fixed = Array.prototype.some.call(label.querySelectorAll(".text-danger"), function (span) {
      return !span.classList.contains("required-mark");
    });
    var mark = label.querySelector(".required-mark");
    if (on && !fixed && !mark) {
      mark = document.createElement("span");
      mark.className = "text-danger required-mark";
      mark.textContent = " *";
      label.appendChild(mark);
    } else if ((!on || fixed) && mark) {
      mark.remove();
    }
  }

  function markReadonly(element, on) {
    if (!element) { return; }
    var mine = element.hasAttribute("data-logic-readonly");
    if (!on && !mine) { return; }
    // a select or checkbox cannot be read-only: disabled, it is not posted, and the
    // server keeps the stored value or the default, as it does for read-only input
    var property = element.tagName === "SELECT" || element.type === "checkbox" ? "disabled" : "readOnly";
    element[property] = on;
    if (on) { element.setAttribute("data-logic-readonly", "1"); } else { element.removeAttribute("data-logic-readonly"); }
  }

  function snapshot(element) {
    if (element.type === "checkbox") { return element.checked ? "1" : ""; }
    if (element.tagName === "SELECT") {
      return JSON.stringify(Array.prototype.filter.call(element.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; }));
    }
    return element.value;
  }

  function restore(element, kept) {
    if (element.type === "checkbox") { element.checked = kept === "1"; return; }
    if (element.tagName === "SELECT") {
      var chosen = JSON.parse(kept);
      Array.prototype.forEach.call(element.options, function (o) { o.selected = chosen.indexOf(o.value) >= 0; });
      return;
    }
    element.value = kept;
  }

  function lockValue(element, spec, scope, locked) {
    // On a new record the server ignores input to a field whose readonly_if holds and
    // keeps its default: show that while it is locked, and give back what the person
    // had typed when it unlocks.
    if (!isNew || !spec.exprs.readonly_if || spec.readonly) { return false; }
    var kept = element.getAttribute("data-typed");
    if (locked && kept === null) {
      element.setAttribute("data-typed", snapshot(element));
      restore(element, element.type === "checkbox" ? "" : element.tagName === "SELECT" ? "[]" : "");
      setValue(element, defaultOf(spec, scope));
      return true;
    }
    if (!locked && kept !== null) {
      element.removeAttribute("data-typed");
      restore(element, kept);
      return true;
    }
    return false;
  }

  function states(values) {
    // true when a locked field's shown value changed (formulas then read it again)
    var changed = false;
    requiredNow = [];
    Object.keys(fields).forEach(function (path) {
      var spec = fields[path];
      if (!isTop(path) || spec.type === "subtable" || spec.type === "formula") { return; }
      var element = input(path);
      if (!element) { return; }
      var box = form.querySelector('[data-field="' + path + '"]');
      var visible = !box || !box.hidden;
      // read-only input is ignored by the server (the default or stored value stands)
      var readonly = spec.readonly || condition(spec, "readonly_if", values, false);
      markReadonly(element, readonly);
      changed = lockValue(element, spec, values, readonly) || changed;
      var required = visible && !readonly && element.type !== "checkbox" &&
        (staticRequired(spec) || condition(spec, "required_if", values, false));
      markRequired(element, required);
      if (spec.exprs.required_if) { asterisk(path, required); }
      if (required) { requiredNow.push({element: element, message: spec.required_message}); }
      if (!required) { clearError(element); }
    });
    Object.keys(fields).forEach(function (table) {
      if (fields[table].type !== "subtable") { return; }
      var columns = columnsOf(table).filter(function (c) { return fields[c].type !== "formula"; });
      var tableBox = form.querySelector('[data-field="' + table + '"]');
      var tableVisible = !tableBox || !tableBox.hidden;
      rowsOf(table).forEach(function (row, n) {
        var scope = Object.assign({}, values, values[table][n]);
        var blank = rowIsBlank(row, []);  // a wholly blank row is not sent
        columns.forEach(function (column) {
          var spec = fields[column], element = cellOf(table, row, column);
          if (!element) { return; }
          var readonly = spec.readonly || condition(spec, "readonly_if", scope, false);
          markReadonly(element, readonly);
          changed = lockValue(element, spec, scope, readonly) || changed;
          var required = tableVisible && !blank && !readonly && element.type !== "checkbox" &&
            condition(spec, "visible_if", scope, true) &&
            (staticRequired(spec) || condition(spec, "required_if", scope, false));
          markRequired(element, required);
          if (required) { requiredNow.push({element: element, message: spec.required_message}); }
          if (!required) { clearError(element); }
        });
      });
    });
    return changed;
  }

  function clearError(element) {
    if (!element || !element.hasAttribute("data-client-error")) { return; }
    element.removeAttribute("data-client-error");
    element.classList.remove("is-invalid");
    var next = element.nextElementSibling;
    if (next && next.classList.contains("client-error")) { next.remove(); }
  }

  function showError(element, text) {
    if (element.hasAttribute("data-client-error")) { return; }
    element.setAttribute("data-client-error", "1");
    element.classList.add("is-invalid");
    var note = document.createElement("div");
    note.className = "invalid-feedback d-block client-error";
    note.textContent = text;
    element.after(note);
  }

  // ---- computing ----------------------------------------------------------------------

  function compute(again) {
    var values = read();
    if (rowDefaults(values)) { values = read(); }
    (logic.formula_order || []).forEach(function (path) {
      var spec = fields[path], tree = spec.exprs.formula;
      if (!tree) { return; }
      var dot = path.indexOf(".");
      if (dot > 0) {
        var table = path.slice(0, dot), column = path.slice(dot + 1);
        rowsOf(table).forEach(function (row, n) {
          var rowValues = Object.assign({}, values, values[table][n]);
          var value = run(tree, rowValues);
          if (value !== undefined) {
            values[table][n][column] = value;
            put(document.getElementById("f-" + table + "-" + rowIndex(row) + "-" + column), value, spec);
          }
        });
      } else {
        var value = run(tree, values);
        if (value !== undefined) {
          values[path] = value;
          put(document.getElementById("f-" + path), value, spec);
        }
      }
    });
    Object.keys(fields).forEach(function (path) {
      var tree = fields[path].exprs.visible_if;
      var box = form.querySelector('[data-field="' + path + '"]');
      if (tree && box) {
        var visible = run(tree, values);
        if (visible !== undefined) { box.hidden = visible !== true; }
      }
    });
    if (states(values) && !again) { compute(true); }
  }

  function fill(element, keep) {
    // name "lines-0-product" or "supplier": which relation, which row; ``keep`` says
    // which copied-to inputs keep their value (cells pasted in the same go)
    var match = /^(\w+)-(\d+)-(\w+)$/.exec(element.name);
    var path = match ? match[1] + "." + match[3] : element.name;
    var mapping = (logic.fill_from || {})[path];
    if (!mapping || !/^\d+$/.test(element.value)) { return Promise.resolve(); }
    var url = script.getAttribute("data-fill") + "?field=" + encodeURIComponent(path) + "&id=" + element.value;
    return fetch(url, {credentials: "same-origin"}).then(function (answer) {
      return answer.ok ? answer.json() : {};
    }).then(function (copied) {
      Object.keys(copied).forEach(function (key) {
        var name = match ? match[1] + "-" + match[2] + "-" + key : key;
        var target = input(name);
        if (!target || copied[key] === null || copied[key] === undefined) { return; }
        if (keep && keep(target)) { return; }
        target.value = copied[key];
      });
    });
  }

  function normaliseNumbers() {
    // what people type ("¥1,200.50", full-width digits) posted as the plain decimal the
    // browser read, so every save path (a flow's submit included) reads the same number
    Array.prototype.forEach.call(form.querySelectorAll("input[name]"), function (element) {
      var match = /^(\w+)-\d+-(\w+)$/.exec(element.name);
      var spec = fields[match ? match[1] + "." + match[2] : element.name];
      if (!spec || !NUMERIC[spec.type] || element.value === "") { return; }
      var number = numberOf(element.value);
      if (number) { element.value = number.$number; }
    });
  }

  form.addEventListener("input", function (event) {
    clearError(event.target);
    compute();
  });
  form.addEventListener("change", function (event) {
    clearError(event.target);
    if (event.target.tagName === "SELECT") {
      fill(event.target).then(compute);
    } else {
      compute();
    }
  });
  form.addEventListener("subtable-changed", function (event) {
    var pasted = (event.detail && event.detail.pasted) || [];
    var relations = pasted.filter(function (element) { return element.tagName === "SELECT"; });
    compute();
    // a picked product copies its price, except into the cells pasted with it (what a
    // person types wins over the copy, as on the server)
    var keep = function (target) { return pasted.indexOf(target) >= 0 && !isBlank(target); };
    Promise.all(relations.map(function (element) { return fill(element, keep); })).then(compute);
  });
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    compute();
    if (!(button && button.name === "action" && button.value === "draft")) {
      var missing = requiredNow.filter(function (item) { return isBlank(item.element); });
      if (missing.length) {
        event.preventDefault();
        missing.forEach(function (item) { showError(item.element, item.message); });
        missing[0].element.focus();
        return;
      }
    }
    normaliseNumbers();
  });
  if (fresh) { topDefaults(); }
  compute();
})();
