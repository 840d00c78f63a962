// Printable pages: the print button (no inline script: the pages run under a content security policy).
(function () {
  "use strict";
  var button = document.getElementById("print-now");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
}());
