// ConnectDesk UI helpers (no build step): live SLA countdowns and dialogs.
(function () {
  "use strict";
  var LABELS = { "on-track": "On Track", "at-risk": "At Risk", "breached": "Breached" };

  function duration(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var text = d ? d + "d " + h + "h " + pad(m) + "m" : h + "h " + pad(m) + "m " + pad(sec) + "s";
    return ms >= 0 ? text + " left" : "overdue by " + text;
  }

  // Each [data-due] clock ticks every second and is coloured on track / at risk / breached.
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var risk = el.dataset.atRisk ? Date.parse(el.dataset.atRisk) : NaN;
      var state = "on-track";
      if (now >= due || el.dataset.state === "Breached") state = "breached";
      else if (el.dataset.state === "At Risk" || (!isNaN(risk) && now >= risk)) state = "at-risk";
      el.classList.remove("sla-on-track", "sla-at-risk", "sla-breached");
      el.classList.add("sla-" + state);
      var label = el.querySelector(".sla-state"), left = el.querySelector(".sla-left");
      if (label) label.textContent = LABELS[state];
      if (left) left.textContent = duration(due - now);
    });
    // The earliest lawful moment of a disconnection: a countdown, then "lawful now".
    document.querySelectorAll("[data-lawful-at]").forEach(function (el) {
      var at = Date.parse(el.dataset.lawfulAt);
      if (isNaN(at)) return;
      el.textContent = at > now ? "in " + duration(at - now).replace(/ left$/, "") : "lawful now";
    });
  }

  function openDialogs(root) {
    (root || document).querySelectorAll("dialog[data-autoopen]").forEach(function (d) {
      if (!d.open && d.showModal) d.showModal();
    });
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (!opener) return;
    var dialog = document.getElementById(opener.dataset.openDialog);
    if (dialog && dialog.showModal) {
      dialog.showModal();
      var first = dialog.querySelector("select, textarea, input:not([type=hidden])");
      if (first) first.focus();
    }
  });

  // On phones a table reads as one card per row: label each cell with its column's heading.
  function labelTables(root) {
    (root || document).querySelectorAll("table.table:not(.compact)").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      if (!heads.length) return;
      table.classList.add("responsive");
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (td, i) {
          if (!td.hasAttribute("data-label") && heads[i]) td.setAttribute("data-label", heads[i]);
          if (td.childNodes.length > 1 && !td.classList.contains("empty")) {
            var cell = document.createElement("span");  // one flex item beside the label
            while (td.firstChild) cell.appendChild(td.firstChild);
            td.appendChild(cell);
          }
        });
      });
    });
  }

  // Behaviour that would otherwise be inline (the Content-Security-Policy allows no inline code or
  // style): filters that submit on change, "go back" links, bars whose width is data.
  // A search box searches as you type; its `change` (fired when it loses focus) must not send the
  // same search again to a filter form listening for changes of its lists (an htmx trigger filter
  // would need eval, which the policy forbids).
  document.addEventListener("change", function (event) {
    if (event.target.matches("form[hx-trigger] input[type=search]")) event.stopPropagation();
  }, true);
  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.requestSubmit();
  });
  document.addEventListener("click", function (event) {
    var back = event.target.closest("[data-back]");
    if (back && window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });
  function sizeBars(root) {
    (root || document).querySelectorAll("[data-width]").forEach(function (el) {
      var pct = Math.max(0, Math.min(100, parseFloat(el.dataset.width) || 0));
      el.style.width = pct + "%";
    });
  }

  // Bulk work on the request list: show the fields the chosen action needs, tick a whole page,
  // and say what Apply will act on. Without this script every field shows and Apply still works.
  function bulkFields() {
    var choice = document.getElementById("bulk-action");
    if (!choice) return;
    document.querySelectorAll("[data-bulk-for]").forEach(function (el) {
      el.hidden = el.dataset.bulkFor !== choice.value;
    });
  }
  function bulkCount() {
    var count = document.getElementById("bulk-count");
    if (!count) return;
    var all = document.getElementById("select-matching");
    var ticked = document.querySelectorAll("input[name=request_ids][form=bulk-form]:checked").length;
    if (all && all.checked) count.textContent = all.parentNode.textContent.trim().replace(/^Select /, "") + " selected";
    else count.textContent = ticked ? ticked + " selected" : "Tick requests below, or select all matching.";
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "bulk-action") bulkFields();
    if (target.matches("[data-select-page]")) {
      document.querySelectorAll("input[name=request_ids][form=" + target.dataset.selectPage + "]").forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.matches("[data-select-page], #select-matching, input[name=request_ids]")) bulkCount();
  });

  document.addEventListener("DOMContentLoaded", function () {
    bulkFields();
    bulkCount();
    sizeBars();
    labelTables();
    tick();
    setInterval(tick, 1000);
    openDialogs();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    sizeBars(event.target); labelTables(event.target); tick(); bulkCount();
  });
  // A change pushed by the live stream refreshes the request list's results, unless rows are ticked
  // for bulk work (a refresh would clear them). A refresh already on its way when a row is ticked
  // is dropped on arrival, for the same reason.
  function ticked() {
    return document.querySelector('#results input[type=checkbox]:checked, input[form="bulk-form"]:checked');
  }
  document.addEventListener("htmx:sseMessage", function (event) {
    if (!event.detail || event.detail.type !== "changed") return;
    var refresh = document.querySelector("[data-live-refresh]");
    if (!refresh || ticked()) return;
    htmx.trigger(refresh, "live-refresh");
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var sent = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (sent && sent.matches("[data-live-refresh]") && ticked()) event.detail.shouldSwap = false;
  });
  // The live stream's state on <main data-live>: "open" while changes are pushed, "lost" while the
  // browser reconnects (the pages then show what they loaded until the next change).
  document.addEventListener("htmx:sseOpen", function (event) { event.target.dataset.live = "open"; });
  document.addEventListener("htmx:sseError", function (event) { event.target.dataset.live = "lost"; });
})();
