// Sub-table rows on the form page: add a row (a copy of the last one, emptied, with its
// field names renumbered) and remove a row. No inline script: the page's CSP allows
// scripts from this site only.
(function () {
  "use strict";

  function renumber(table) {
    table.querySelectorAll("tbody tr.subtable-row").forEach(function (row, index) {
      row.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.name = input.name.replace(/-\d+-/, "-" + index + "-");
        input.id = "f-" + input.name;
      });
      row.querySelectorAll(".computed").forEach(function (cell) {
        cell.id = cell.id.replace(/-\d+-/, "-" + index + "-");
      });
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.classList.contains("add-row")) {
      var table = document.querySelector("#sub-" + target.dataset.subtable + " table");
      var rows = table.querySelectorAll("tbody tr.subtable-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input, textarea").forEach(function (input) {
        if (input.type === "checkbox") { input.checked = false; } else { input.value = ""; }
        input.classList.remove("is-invalid");
      });
      copy.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
      copy.querySelectorAll(".invalid-feedback").forEach(function (node) { node.remove(); });
      copy.querySelectorAll(".computed").forEach(function (cell) {
        cell.textContent = cell.getAttribute("data-empty") || "";
      });
      table.querySelector("tbody").appendChild(copy);
      renumber(table);
    } else if (target.classList.contains("remove-row")) {
      var body = target.closest("tbody");
      if (body.querySelectorAll("tr.subtable-row").length > 1) {
        target.closest("tr").remove();
        renumber(body.closest("table"));
      }
    }
  });
})();
