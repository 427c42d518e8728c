// The list page: choose all rows of the page, count the chosen ones, move columns up and
// down in the column chooser, apply a new page size at once, and ask before deleting.
// No inline script: the page's CSP allows scripts from this site only.
(function () {
  "use strict";

  var all = document.getElementById("pick-all");
  var count = document.getElementById("chosen-count");

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(".pick-row"));
  }

  function showCount() {
    if (!count) { return; }
    var chosen = rows().filter(function (box) { return box.checked; }).length;
    count.textContent = chosen ? count.dataset.text.replace("{n}", chosen) : "";
    if (all) {
      all.checked = chosen > 0 && chosen === rows().length;
      all.indeterminate = chosen > 0 && chosen < rows().length;
    }
  }

  if (all) {
    all.addEventListener("change", function () {
      rows().forEach(function (box) { box.checked = all.checked; });
      showCount();
    });
  }
  rows().forEach(function (box) { box.addEventListener("change", showCount); });
  showCount();

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button") : null;
    if (!button) { return; }
    var item = button.closest(".column-item");
    if (item && button.classList.contains("move-up") && item.previousElementSibling) {
      item.parentNode.insertBefore(item, item.previousElementSibling);
    } else if (item && button.classList.contains("move-down") && item.nextElementSibling) {
      item.parentNode.insertBefore(item.nextElementSibling, item);
    } else if (button.classList.contains("confirm-click") && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });

  document.querySelectorAll("form.confirm").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  var size = document.getElementById("size");
  if (size) {
    size.addEventListener("change", function () { size.form.submit(); });
  }
})();
