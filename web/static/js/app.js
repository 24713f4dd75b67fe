// The page chrome every page shares (no build step): the menu toggle on narrow screens, the account
// menu closing when a click lands elsewhere, and a confirmation before a destructive action (a form or
// button carrying data-confirm="the question").
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("nav-toggle");
    var nav = document.getElementById("site-nav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = document.body.classList.toggle("nav-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
        if (!menu.contains(event.target)) menu.removeAttribute("open");
      });
    });
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var button = event.submitter;
      var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    }, true);
    // Lists shown as cards on phones: a cell without its own label is labelled by its column's header.
    document.querySelectorAll("table.cards").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (cell.hasAttribute("data-label") || cell.hasAttribute("colspan") || !heads[i] || heads[i] === "#") return;
          if (/\bcard-(id|title|when|detail|empty)\b/.test(cell.className)) return;
          cell.setAttribute("data-label", heads[i]);
        });
      });
    });
    // Filters fold away on a phone while none is set, so the list comes first.
    if (window.matchMedia("(max-width: 600px)").matches) {
      document.querySelectorAll("details.filter-box[data-fold-on-phone=yes]").forEach(function (box) {
        box.removeAttribute("open");
      });
    }
    // A field that matters for some choices only (data-shown-when="the choice's field", data-shown-values):
    // hidden while another is chosen; without JavaScript every field shows.
    document.querySelectorAll("[data-shown-when]").forEach(function (wrap) {
      var form = wrap.closest("form");
      var name = wrap.getAttribute("data-shown-when");
      var values = wrap.getAttribute("data-shown-values").split(" ");
      function update() {
        var chosen = form.querySelector("[name='" + name + "']:checked") || form.querySelector("select[name='" + name + "']");
        // A field the server refused stays in sight, whatever is chosen, so its message can be read.
        wrap.hidden = (!chosen || values.indexOf(chosen.value) < 0) && !wrap.querySelector(".errors");
      }
      form.addEventListener("change", function (event) {
        if (event.target.name === name) update();
      });
      update();
    });
    // A failed submit: the summary of errors at the top of the form is where the eye and the focus go.
    var summary = document.querySelector(".error-summary");
    if (summary) summary.focus();
  });
})();
