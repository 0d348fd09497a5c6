// Idle warning for shared devices. The server enforces the timeout; this only warns the user
// shortly before it and, once it has passed, moves the page to the login screen so that no case
// stays on an unattended screen.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds"), 10);
  var warn = parseInt(body.getAttribute("data-warning-seconds"), 10);
  if (!idle) { return; }
  var box = document.getElementById("idle-warning");
  var stay = document.getElementById("idle-stay");
  var last = Date.now();
  function check() {
    var quiet = (Date.now() - last) / 1000;
    if (quiet >= idle) {
      window.location.assign(body.getAttribute("data-login-url"));
    } else if (quiet >= idle - warn && box.hidden) {
      box.hidden = false;
      stay.focus();
    }
  }
  stay.addEventListener("click", function () {
    var data = new FormData();
    data.append("csrf_token", body.getAttribute("data-csrf"));
    fetch(body.getAttribute("data-keepalive-url"), {
      method: "POST", body: data, credentials: "same-origin"
    }).then(function (r) {
      if (r.status === 204) { last = Date.now(); box.hidden = true; }
      else { window.location.assign(body.getAttribute("data-login-url")); }
    });
  });
  window.setInterval(check, 5000);
}());
