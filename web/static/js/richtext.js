// Rich text: a contenteditable box with bold, italic, lists and links, whose HTML goes
// into the field's hidden input on every change. The server sanitises what it stores
// (no scripts, event handlers or javascript: links) and pages show only that.
(function () {
  "use strict";

  function sync(editor) {
    var box = editor.closest(".richtext-widget");
    box.querySelector(".richtext-value").value = editor.innerHTML;
  }

  document.querySelectorAll(".richtext-widget").forEach(function (box) {
    var editor = box.querySelector(".richtext-editor");
    editor.addEventListener("input", function () { sync(editor); });
    box.querySelectorAll("[data-command]").forEach(function (button) {
      // keep the selection in the editor when the button is pressed
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () {
        var command = button.dataset.command;
        editor.focus();
        if (command === "createLink") {
          var address = window.prompt(button.dataset.ask, "https://");
          if (!address || !/^(https?:\/\/|mailto:)/i.test(address.trim())) { return; }
          document.execCommand("createLink", false, address.trim());
        } else {
          document.execCommand(command, false, null);
        }
        sync(editor);
      });
    });
  });
})();
