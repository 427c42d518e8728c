// The form page's live logic: formulas, sub-table row formulas and totals, visibility,
// and fill_from copies from a picked record, recomputed on every change with the same
// checked expression trees the server runs (formula.js on decimal.js). The server
// computes again on saving and is the authority.
(function () {
  "use strict";
  var script = document.getElementById("form-logic");
  var form = document.getElementById("record-form");
  if (!script || !form || !window.LowcodeFormula) { return; }
  var logic = JSON.parse(script.textContent);
  var fields = logic.fields || {};
  var NUMERIC = {number: 1, money: 1, percent: 1};

  function numberOf(text) {
    // as people type money: "¥1,200.50", "1200.5", full-width digits
    var plain = String(text).replace(/[０-９]/g, function (d) {
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

  function read() {
    var values = {};
    Object.keys(fields).forEach(function (path) {
      if (path.indexOf(".") < 0 && fields[path].type !== "subtable") {
        values[path] = typed(fields[path].type, input(path));
      }
    });
    Object.keys(fields).forEach(function (path) {
      if (fields[path].type === "subtable") {
        values[path] = rowsOf(path).map(function (row) {
          var index = rowIndex(row), data = {};
          Object.keys(fields).forEach(function (column) {
            if (column.indexOf(path + ".") === 0) {
              var key = column.slice(path.length + 1);
              data[key] = typed(fields[column].type, input(path + "-" + index + "-" + key));
            }
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

  var context = {user: script.getAttribute("data-user")};

  function run(tree, values) {
    var result = LowcodeFormula.tryEvaluate(tree, values, context);
    if (!result.ok || (result.value && typeof result.value === "object" && "$unknown" in result.value)) {
      return undefined;  // the server decides
    }
    return result.value;
  }

  function compute() {
    var values = read();
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
  }

  function fill(element) {
    // name "lines-0-product" or "supplier": which relation, which row
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
        if (target && copied[key] !== null && copied[key] !== undefined) { target.value = copied[key]; }
      });
    });
  }

  form.addEventListener("input", compute);
  form.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT") {
      fill(event.target).then(compute);
    } else {
      compute();
    }
  });
  form.addEventListener("click", function (event) {
    if (event.target.classList.contains("add-row") || event.target.classList.contains("remove-row")) {
      window.setTimeout(compute, 0);
    }
  });
  compute();
})();
