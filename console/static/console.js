// The console's only script: sizes the bars, refreshes running sagas, and sends the
// operator's actions to the app's existing JSON endpoints after a confirmation.
(function () {
  "use strict";
  document.querySelectorAll("[data-height]").forEach(function (el) {
    el.style.height = el.dataset.height + "%";
    var segs = el.querySelectorAll("[data-share]"), total = 0;
    segs.forEach(function (s) { total += Number(s.dataset.share); });
    segs.forEach(function (s) { s.style.height = (100 * Number(s.dataset.share) / (total || 1)) + "%"; });
  });
  document.querySelectorAll("[data-left]").forEach(function (el) {
    el.style.marginLeft = el.dataset.left + "%";
    el.style.width = el.dataset.width + "%";
  });

  var live = document.getElementById("live");
  if (live) { setTimeout(function () { location.reload(); }, Number(live.dataset.refreshMs)); }

  var message = document.getElementById("message");
  function say(text, kind) {
    message.textContent = text;  // textContent: an error message is never parsed as HTML
    message.className = "message " + kind;
    message.hidden = false;
  }

  async function send(endpoint, body, question) {
    if (!window.confirm(question)) { return; }
    try {
      var response = await fetch(endpoint, {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: body === null ? undefined : JSON.stringify(body), credentials: "same-origin"
      });
      var answer = await response.json().catch(function () { return {}; });
      if (response.ok) {
        say("Done (" + response.status + "). Reloading…", "ok");
        setTimeout(function () { location.reload(); }, 1200);
      } else {
        var error = answer.error || {};
        say("Refused (" + response.status + " " + (error.code || "") + "): " + (error.message || "no message"), "refused");
      }
    } catch (failure) {
      say("The request did not reach the app: " + failure, "refused");
    }
  }

  document.querySelectorAll("form.resolve").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var action = event.submitter ? event.submitter.value : "retry";
      var reason = form.elements.reason.value.trim();
      if (!reason) { say("A reason is required.", "refused"); return; }
      send(form.dataset.endpoint, {action: action, reason: reason},
           (action === "retry" ? "Retry the remaining undos" : "Mark this saga compensated") + "?\nReason: " + reason);
    });
  });
  document.querySelectorAll("form.cancel").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send(form.dataset.endpoint, null, "Cancel this order?");
    });
  });
})();
