// Runs after the image and stylesheet have loaded, then writes what it found into the DOM,
// which the test reads from `chromium --dump-dom`.
window.addEventListener("load", function () {
  var title = document.getElementById("title");
  var img = document.getElementById("pixel");
  title.textContent = "Loaded";
  var report = document.getElementById("report");
  report.textContent =
    "script-ran color=" + getComputedStyle(title).color +
    " image=" + img.naturalWidth + "x" + img.naturalHeight;
  report.setAttribute("data-ok", "yes");
});
