// Tree picker for unit code fields. An <input data-unit-picker="URL"> gets a button that opens the tree of
// units the caller may choose from, loaded level by level from URL (?parent=CODE for a unit's children);
// choosing a unit writes its code into the field. Without JavaScript the field is typed in as before.
// Optional: data-pick-level="5" allows only units of that level; data-pick-label is the button's text.
(function () {
  "use strict";

  function childUrl(base, parent) {
    return parent ? base + (base.indexOf("?") < 0 ? "?" : "&") + "parent=" + encodeURIComponent(parent) : base;
  }

  function load(base, parent) {
    return fetch(childUrl(base, parent), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (body) { return body.items || []; });
  }

  function attach(input) {
    var base = input.getAttribute("data-unit-picker");
    var onlyLevel = parseInt(input.getAttribute("data-pick-level") || "0", 10);
    var open = document.createElement("button");
    open.type = "button";
    open.className = "btn btn-small unit-picker-open";
    open.textContent = input.getAttribute("data-pick-label") || "选择单位";
    open.setAttribute("aria-expanded", "false");
    var panel = document.createElement("div");
    panel.className = "unit-picker";
    panel.hidden = true;
    input.insertAdjacentElement("afterend", open);
    open.insertAdjacentElement("afterend", panel);

    function render(list, items) {
      items.forEach(function (unit) {
        var li = document.createElement("li");
        li.className = "unit-picker-item";
        li.setAttribute("data-code", unit.code);
        if (unit.has_children) {
          var toggle = document.createElement("button");
          toggle.type = "button";
          toggle.className = "btn btn-small unit-picker-expand";
          toggle.textContent = "+";
          toggle.setAttribute("aria-expanded", "false");
          toggle.setAttribute("aria-label", unit.name);
          toggle.addEventListener("click", function () { expand(li, toggle, unit.code); });
          li.appendChild(toggle);
        }
        var pick = document.createElement("button");
        pick.type = "button";
        pick.className = "btn btn-small unit-picker-choose";
        pick.textContent = unit.name + " " + unit.code;
        if (onlyLevel && unit.level !== onlyLevel) {
          pick.disabled = true;
        } else {
          pick.addEventListener("click", function () {
            input.value = unit.code;
            input.dispatchEvent(new Event("change", { bubbles: true }));
            panel.hidden = true;
            open.setAttribute("aria-expanded", "false");
            input.focus();
          });
        }
        li.appendChild(pick);
        list.appendChild(li);
      });
    }

    function expand(li, toggle, code) {
      var existing = li.querySelector("ul");
      if (existing) {
        existing.hidden = !existing.hidden;
        toggle.setAttribute("aria-expanded", existing.hidden ? "false" : "true");
        toggle.textContent = existing.hidden ? "+" : "−";
        return;
      }
      var list = document.createElement("ul");
      list.className = "plain unit-picker-level";
      li.appendChild(list);
      toggle.setAttribute("aria-expanded", "true");
      toggle.textContent = "−";
      load(base, code).then(function (items) { render(list, items); });
    }

    open.addEventListener("click", function () {
      panel.hidden = !panel.hidden;
      open.setAttribute("aria-expanded", panel.hidden ? "false" : "true");
      if (!panel.hidden && !panel.firstChild) {
        var list = document.createElement("ul");
        list.className = "plain unit-picker-level";
        panel.appendChild(list);
        load(base, "").then(function (items) { render(list, items); });
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-unit-picker]"), attach);
}());
