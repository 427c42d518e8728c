// Handwritten signatures: drawn with pointer events (mouse, pen or a finger on a phone)
// on a canvas, stored as a PNG through the same upload as images when the form is sent.
// "Clear" empties the pad and the field.
(function () {
  "use strict";
  var files = window.LowcodeFiles;
  if (!files) { return; }

  function setUp(box) {
    var canvas = box.querySelector(".signature-pad");
    var context = canvas.getContext("2d");
    var drawing = false;
    var dirty = false;
    var last = null;

    function size() {
      // the drawing buffer follows the box's size and the screen's pixel density
      var ratio = window.devicePixelRatio || 1;
      var width = canvas.clientWidth, height = canvas.clientHeight;
      if (canvas.width === Math.round(width * ratio)) { return; }
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.lineWidth = 2.5;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      dirty = false;
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return {x: event.clientX - rect.left, y: event.clientY - rect.top};
    }

    canvas.addEventListener("pointerdown", function (event) {
      size();
      drawing = true;
      last = point(event);
      canvas.setPointerCapture(event.pointerId);
      context.beginPath();
      context.arc(last.x, last.y, 1, 0, 2 * Math.PI);
      context.fill();
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      var next = point(event);
      context.beginPath();
      context.moveTo(last.x, last.y);
      context.lineTo(next.x, next.y);
      context.stroke();
      last = next;
      dirty = true;
      event.preventDefault();
    });
    function stop() { drawing = false; }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);

    box.querySelector(".signature-clear").addEventListener("click", function () {
      context.clearRect(0, 0, canvas.width, canvas.height);
      dirty = false;
      files.keep(box, []);
      box.querySelector(".file-list").textContent = "";
      files.say(box, "");
    });

    // a new drawing is uploaded when the form is sent, and replaces an earlier one
    files.beforeSubmit(function (form) {
      if (!dirty || !form.contains(box)) { return null; }
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/png"); }).then(function (blob) {
        return files.upload(box, blob, "signature.png");
      }).then(function (meta) {
        dirty = false;
        files.add(box, meta, true);
        files.say(box, "");
      }, function (error) {
        files.say(box, error.message);
        throw error;
      });
    });

    window.addEventListener("resize", function () { if (!dirty) { size(); } });
    size();
  }

  document.querySelectorAll(".signature-widget").forEach(setUp);
})();
