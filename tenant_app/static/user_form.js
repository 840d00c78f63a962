// The new-user form: the partner organisation's fields matter for the partner reporter and partner department
// roles only, so they show when one of those is chosen. Without JavaScript they simply stay visible (and are ignored for other roles).
(function () {
  "use strict";

  function init() {
    var role = document.getElementById("role");
    var partner = document.getElementById("partner-fields");
    if (!role || !partner) { return; }
    function sync() { partner.hidden = role.value !== "reporter" && role.value !== "department"; }
    role.addEventListener("change", sync);
    sync();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
