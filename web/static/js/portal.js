// The portal's order form: "Add a line" copies the last line (blank) without a round
// trip; without scripts the button posts the form and the server adds the line.
(function () {
  var button = document.getElementById("add-line");
  var box = document.getElementById("order-lines");
  if (!button || !box) {
    return;
  }
  button.addEventListener("click", function (event) {
    var lines = box.querySelectorAll(".order-line");
    var last = lines[lines.length - 1];
    if (!last || lines.length >= 50) {
      return; // the server says what it can
    }
    event.preventDefault();
    var n = lines.length + 1;
    var copy = last.cloneNode(true);
    copy.setAttribute("data-line", String(n));
    copy.classList.remove("border-danger");
    copy.querySelectorAll(".line-error").forEach(function (el) { el.remove(); });
    copy.querySelectorAll("select, input").forEach(function (el) {
      var kind = el.name.split("-")[0];
      el.name = kind + "-" + n;
      el.id = kind + "-" + n;
      el.value = "";
      el.classList.remove("is-invalid");
    });
    copy.querySelectorAll("label").forEach(function (el) {
      el.setAttribute("for", el.getAttribute("for").split("-")[0] + "-" + n);
    });
    var legend = copy.querySelector("legend");
    var template = box.getAttribute("data-line-label") || "";
    if (legend && template) {
      legend.textContent = template.replace("%s", String(n));
    }
    box.appendChild(copy);
    copy.querySelector("select").focus();
  });
})();
