/* Every page: the phone menu. Loaded in <head> (blocking, tiny) so that the `js` class is set before the first
   paint: the stylesheet collapses the menu on narrow screens only when the toggle can open it again. */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.add("js");

  function setOpen(toggle, menu, open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("open", open);
  }

  function wire() {
    var toggle = document.getElementById("nav-toggle");
    var menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (!menu) { return; }
    toggle.addEventListener("click", function () {
      setOpen(toggle, menu, toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(toggle, menu, false);
        toggle.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
