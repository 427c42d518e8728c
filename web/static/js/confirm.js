// Forms with data-confirm ask before they are sent (a step button, a manual rule).
// Inline handlers are not allowed by the page's Content-Security-Policy.
document.addEventListener("submit", function (event) {
  var text = event.target.getAttribute("data-confirm");
  if (text && !window.confirm(text)) {
    event.preventDefault();
  }
});
