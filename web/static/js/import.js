// The import run page (web/templates/import_run.html): while the run is queued or running,
// ask its progress.json every second and move the progress bar; once it is over, reload the
// page, which then shows the report. Also asks before cancelling. No inline script: the
// page's CSP allows scripts from this site only.
(function () {
  "use strict";

  var box = document.getElementById("import-run");
  var POLL_MS = 1000;

  document.querySelectorAll("form.confirm").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  if (!box || !box.dataset.poll) { return; }
  var bar = document.getElementById("run-progress");
  var count = document.getElementById("run-count");
  var status = document.getElementById("run-status");

  function show(state) {
    var total = state.total > 0 ? state.total : 1;
    bar.max = total;
    bar.value = Math.min(state.done, total);
    count.textContent = state.done + " / " + state.total;
    status.textContent = state.status_text;
    box.dataset.status = state.status;
  }

  function poll() {
    fetch(box.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.json();
      })
      .then(function (state) {
        show(state);
        if (state.over) {
          window.location.reload();
        } else {
          window.setTimeout(poll, POLL_MS);
        }
      })
      .catch(function () {
        // a lost connection or a restarting server: try again a little later
        window.setTimeout(poll, POLL_MS * 3);
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
