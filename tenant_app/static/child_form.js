// Child record form: birth date and sex follow the ID number as it is typed (GB 11643: digits 7-14 are the
// birth date YYYYMMDD, the 17th digit is odd for a male). Only a date that exists fills the fields; the
// server checks everything again on save.
(function () {
  "use strict";
  var idInput = document.getElementById("id_number");
  var birth = document.getElementById("birth_date");
  var sex = document.getElementById("sex");
  var note = document.getElementById("id-fill-note");
  if (!idInput || !birth || !sex) { return; }

  function birthDateOf(number) {
    var y = +number.slice(6, 10), m = +number.slice(10, 12), d = +number.slice(12, 14);
    var date = new Date(Date.UTC(y, m - 1, d));
    if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
      return null;
    }
    return number.slice(6, 10) + "-" + number.slice(10, 12) + "-" + number.slice(12, 14);
  }

  function fill() {
    var number = idInput.value.trim().toUpperCase();
    if (!/^[0-9]{17}/.test(number)) { return; }
    var born = birthDateOf(number);
    if (!born) { return; }
    birth.value = born;
    sex.value = (+number.charAt(16)) % 2 === 1 ? "male" : "female";
    [birth, sex].forEach(function (el) { el.dispatchEvent(new Event("change", { bubbles: true })); });
    if (note) { note.hidden = false; }
  }

  idInput.addEventListener("input", fill);
}());
