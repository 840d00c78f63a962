"""What "fits a phone" means, measured in the browser (JavaScript run by selenium on the page as laid out)."""

from __future__ import annotations

from pathlib import Path

PHONE = (390, 844)
DESKTOP = (1280, 900)

# Elements wider than the screen push the page sideways.
NO_SIDEWAYS = "return [document.documentElement.scrollWidth, window.innerWidth];"

# Table cells narrower than about two characters, unless the table scrolls inside its own box.
NARROW_CELLS = """
function scrollsInside(el) {
  for (var p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    var o = getComputedStyle(p).overflowX;
    if (o === 'auto' || o === 'scroll') { return true; }
  }
  return false;
}
var bad = [];
document.querySelectorAll('td, th').forEach(function (cell) {
  var r = cell.getBoundingClientRect();
  if (!r.width || !r.height || !cell.textContent.trim() || cell.closest('thead') && r.width <= 1) { return; }
  var em = parseFloat(getComputedStyle(cell).fontSize);
  if (r.width < 2 * em && !scrollsInside(cell)) {
    bad.push(cell.tagName + ' ' + Math.round(r.width) + 'px: ' + cell.textContent.trim().slice(0, 20));
  }
});
return bad;
"""

# Inputs, selects and textareas as wide as the field (or form row) they sit in.
NARROW_CONTROLS = """
var bad = [];
document.querySelectorAll('input, select, textarea').forEach(function (el) {
  if (['hidden', 'checkbox', 'radio', 'submit', 'button'].indexOf(el.type) >= 0) { return; }
  var r = el.getBoundingClientRect();
  if (!r.width || !r.height) { return; }
  var box = el.closest('.field, .task-field, form, .card');
  var s = getComputedStyle(box);
  var inner = box.getBoundingClientRect().width - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)
    - parseFloat(s.borderLeftWidth) - parseFloat(s.borderRightWidth);
  if (r.width < inner - 2) { bad.push((el.id || el.name) + ' ' + Math.round(r.width) + '/' + Math.round(inner)); }
});
return bad;
"""

# Each visible checkbox and radio: its label's text beside it on the same row, to its right; the label row is
# a finger-sized tap target (a box without a label must be large enough itself).
CHOICES = """
var out = [];
document.querySelectorAll('input[type=checkbox], input[type=radio]').forEach(function (el) {
  var box = el.getBoundingClientRect();
  if (!box.width || !box.height) { return; }
  var label = el.closest('label') || (el.id && document.querySelector('label[for="' + el.id + '"]'));
  if (!label) {
    out.push({id: el.id || el.name, label: false, box: [box.width, box.height]});
    return;
  }
  var walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
  var node, text = null;
  while ((node = walker.nextNode())) { if (node.textContent.trim()) { text = node; break; } }
  var range = document.createRange();
  range.selectNodeContents(text);
  var t = range.getClientRects()[0];
  out.push({id: el.id || el.name, label: true, text: text.textContent.trim().slice(0, 12),
            box: [box.left, box.right, box.top + box.height / 2, box.height],
            text_rect: [t.left, t.top + t.height / 2, t.height],
            label_height: label.getBoundingClientRect().height});
});
return out;
"""

# Where the transfer of a page went: the navigation itself and every resource, as the browser counted it.
TRANSFER = """
var nav = performance.getEntriesByType('navigation')[0];
var rows = [['navigation', nav.transferSize, nav.encodedBodySize]];
performance.getEntriesByType('resource').forEach(function (r) {
  rows.push([r.name, r.transferSize, r.encodedBodySize]);
});
return rows;
"""


def check_choices(driver) -> list[dict]:
    """Assert every visible checkbox/radio sits left of its label's text on the same row; returns them."""
    choices = driver.execute_script(CHOICES)
    for c in choices:
        if not c["label"]:
            width, height = c["box"]
            assert width >= 20 and height >= 20, f"unlabelled choice {c['id']} is {width}x{height}px"
            continue
        left, right, middle, height = c["box"]
        text_left, text_middle, _ = c["text_rect"]
        assert text_left >= right - 1, f"{c['id']}: label text {c['text']!r} is not to the right of its box"
        assert abs(text_middle - middle) <= height, f"{c['id']}: label text {c['text']!r} is not on the box's row"
        assert c["label_height"] >= 40, f"{c['id']}: label row is {c['label_height']}px high"
    return choices


def assert_fits(driver, page: str, shots: Path | None = None) -> None:
    """No sideways scrolling, no squeezed table cells, full-width controls, choices beside their labels."""
    scroll_width, width = driver.execute_script(NO_SIDEWAYS)
    assert scroll_width <= width, f"{page}: the page is {scroll_width}px wide on a {width}px screen"
    assert driver.execute_script(NARROW_CELLS) == [], f"{page}: table cells squeezed"
    narrow = driver.execute_script(NARROW_CONTROLS)
    assert narrow == [], f"{page}: form controls narrower than their field: {narrow}"
    check_choices(driver)
    if shots is not None:
        save_full(driver, shots / f"{page}.png")


def save_full(driver, path: Path) -> None:
    """A screenshot of the whole page: the emulated screen made as tall as the page, then put back."""
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    full = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": width, "deviceScaleFactor": 1, "mobile": width < 768}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(full, 6000)})
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
