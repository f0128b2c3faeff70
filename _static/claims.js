// Following a prose mark (a link to #claim-KEY) opens the collapsed "Checked on this page" box,
// so that the claim's line is visible; see _ext/claim_marks.py.
(function () {
  function reveal() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (!id.startsWith("claim-")) return;
    var line = document.getElementById(id);
    var box = line && line.closest("details.checked-claims");
    if (!box) return;
    box.open = true;
    line.scrollIntoView({block: "center"});
  }
  window.addEventListener("hashchange", reveal);
  document.addEventListener("DOMContentLoaded", reveal);
})();
