// Attachments, images and signatures: each picked file is checked here first (type,
// size and count, as the field declares them), then uploaded on its own to the server,
// which checks everything again (name, type, content, size) and stores it. The field's
// hidden input keeps the uploaded files' metadata as JSON, which the form posts with
// the other values; nothing typed elsewhere is lost when a file is refused.
// window.LowcodeFiles is shared with signature.js.
(function () {
  "use strict";
  var pending = [];
  var beforeSubmit = [];

  function csrfToken(element) {
    var form = element.closest("form");
    var input = form ? form.querySelector('input[name="csrf_token"]') : null;
    return input ? input.value : "";
  }

  function listOf(box) {
    var input = box.querySelector(".file-value");
    try {
      var parsed = JSON.parse(input.value || "[]");
      return Array.isArray(parsed) ? parsed : [];
    } catch (error) {
      return [];
    }
  }

  function keep(box, files) {
    box.querySelector(".file-value").value = files.length ? JSON.stringify(files) : "";
  }

  function say(box, message) {
    var place = box.querySelector(".file-error");
    place.textContent = message || "";
    var control = box.querySelector(".file-input, .signature-pad");
    if (control) { control.classList.toggle("is-invalid", Boolean(message)); }
  }

  function fileUrl(box, id) {
    return box.dataset.fileUrl.replace("__file__", encodeURIComponent(id));
  }

  function item(box, file) {
    var li = document.createElement("li");
    li.className = "file-item";
    li.dataset.id = file.id;
    if (box.dataset.image) {
      var img = document.createElement("img");
      img.className = "file-thumb";
      img.src = fileUrl(box, file.id);
      img.alt = file.name;
      li.appendChild(img);
    }
    var link = document.createElement("a");
    link.className = "file-link";
    link.href = fileUrl(box, file.id) + "?download=1";
    link.textContent = file.name;
    li.appendChild(link);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-sm btn-link text-danger file-remove";
    remove.textContent = box.dataset.sayRemove;
    li.appendChild(document.createTextNode(" "));
    li.appendChild(remove);
    return li;
  }

  function add(box, file, replace) {
    var files = replace ? [] : listOf(box);
    var list = box.querySelector(".file-list");
    if (replace) { list.textContent = ""; }
    files.push(file);
    keep(box, files);
    list.appendChild(item(box, file));
  }

  function extension(name) {
    var dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  }

  // the reason this browser already knows a file would be refused, or ""
  function refusal(box, file) {
    var accept = box.dataset.accept ? box.dataset.accept.split(",") : [];
    if (accept.length && accept.indexOf(extension(file.name)) < 0) {
      return file.name + ": " + box.dataset.sayType + accept.join(", ");
    }
    if (file.size > Number(box.dataset.maxSize)) {
      return file.name + ": " + box.dataset.saySize + box.dataset.maxSizeText;
    }
    return "";
  }

  function upload(box, blob, name) {
    var body = new FormData();
    body.append("file", blob, name);
    var sending = fetch(box.dataset.upload, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(box)}
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (data) {
        if (answer.status !== 201) {
          throw new Error(name + ": " + (data.message || box.dataset.sayFailed + " (" + answer.status + ")"));
        }
        return data;
      });
    });
    pending.push(sending);
    var done = function () { pending.splice(pending.indexOf(sending), 1); };
    sending.then(done, done);
    return sending;
  }

  function picked(input) {
    var box = input.closest(".file-widget");
    var files = Array.prototype.slice.call(input.files || []);
    var room = Number(box.dataset.maxFiles) - listOf(box).length;
    var problems = [];
    if (files.length > room) {
      problems.push(box.dataset.sayCount + box.dataset.maxFiles);
      files = files.slice(0, Math.max(room, 0));
    }
    var chain = Promise.resolve();
    files.forEach(function (file) {
      var reason = refusal(box, file);
      if (reason) { problems.push(reason); return; }
      chain = chain.then(function () {
        say(box, box.dataset.sayUploading);
        return upload(box, file, file.name).then(function (meta) {
          add(box, meta, false);
        }, function (error) {
          problems.push(error.message);
        });
      });
    });
    say(box, problems.join("; "));
    chain.then(function () {
      say(box, problems.join("; "));
      input.value = "";
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("file-input")) {
      picked(event.target);
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".file-remove") : null;
    if (!button) { return; }
    var box = button.closest(".file-widget");
    var li = button.closest(".file-item");
    keep(box, listOf(box).filter(function (file) { return file.id !== li.dataset.id; }));
    li.remove();
    say(box, "");
  });

  // a form is sent once its uploads (and a drawn signature) are stored
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var work = pending.slice();
    beforeSubmit.forEach(function (hook) {
      var promise = hook(form);
      if (promise) { work.push(promise); }
    });
    if (!work.length) { return; }
    event.preventDefault();
    var submitter = event.submitter;
    Promise.all(work).then(function () {
      if (submitter && submitter.form === form) { form.requestSubmit(submitter); } else { form.requestSubmit(); }
    }, function () { /* the message is next to the field; the person decides */ });
  });

  // a sub-table row added as a copy of another starts without that row's files
  if (window.MutationObserver) {
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        Array.prototype.forEach.call(change.addedNodes, function (node) {
          if (!node.querySelectorAll) { return; }
          node.querySelectorAll(".file-widget").forEach(function (box) {
            if (!box.querySelector(".file-value").value) {
              box.querySelector(".file-list").textContent = "";
              say(box, "");
            }
          });
        });
      });
    }).observe(document.body, {childList: true, subtree: true});
  }

  window.LowcodeFiles = {
    upload: upload,
    add: add,
    keep: keep,
    say: say,
    beforeSubmit: function (hook) { beforeSubmit.push(hook); }
  };
})();
