// Organisation pickers (user, department, region and dealer fields): a text box that
// narrows the select's options as one types, by name or code. When the page holds only
// the first choices (a large organisation), the box also asks the server
// (/f/org/<kind>?q=), which answers within what this person may pick.
(function () {
  "use strict";

  function matches(option, words) {
    var text = (option.textContent + " " + option.value).toLowerCase();
    return text.indexOf(words) >= 0;
  }

  function narrow(select, words) {
    Array.prototype.forEach.call(select.options, function (option) {
      option.hidden = !(option.value === "" || option.selected || !words || matches(option, words));
    });
  }

  function merge(select, items) {
    var known = {};
    Array.prototype.forEach.call(select.options, function (option) { known[option.value] = true; });
    items.forEach(function (item) {
      if (!known[item[0]]) {
        var option = document.createElement("option");
        option.value = item[0];
        option.textContent = item[1];
        select.appendChild(option);
      }
    });
  }

  var asked = null;

  // delegated, so pickers in sub-table rows added later narrow too
  document.addEventListener("input", function (event) {
    var filter = event.target;
    if (!filter.classList || !filter.classList.contains("org-filter")) { return; }
    var box = filter.closest(".org-picker");
    var select = box.querySelector(".org-select");
    var words = filter.value.trim().toLowerCase();
    narrow(select, words);
    if (box.dataset.more && words) {
      var url = box.dataset.searchUrl + "?q=" + encodeURIComponent(words);
      asked = url;
      fetch(url, {credentials: "same-origin"}).then(function (answer) {
        return answer.ok ? answer.json() : {items: []};
      }).then(function (found) {
        if (asked !== url) { return; }  // a later search answers instead
        merge(select, found.items || []);
        narrow(select, filter.value.trim().toLowerCase());
      });
    }
  });

  // Enter in the search box picks the only match instead of sending the form
  document.addEventListener("keydown", function (event) {
    var filter = event.target;
    if (event.key !== "Enter" || !filter.classList || !filter.classList.contains("org-filter")) { return; }
    event.preventDefault();
    var select = filter.closest(".org-picker").querySelector(".org-select");
    var shown = Array.prototype.filter.call(select.options, function (option) {
      return option.value && !option.hidden;
    });
    if (shown.length === 1) {
      shown[0].selected = true;
      select.dispatchEvent(new Event("change", {bubbles: true}));
    }
  });
})();
