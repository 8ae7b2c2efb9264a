// Errors list: the header checkbox selects or clears every error on the page.
// Loaded with <script src> (the CSP allows no inline script); the page works without it.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) {
    return;
  }
  const boxes = () => Array.from(document.querySelectorAll('input[type="checkbox"][name="ids"]'));
  all.addEventListener("change", () => {
    for (const box of boxes()) {
      box.checked = all.checked;
    }
  });
  // Keep the header in step when rows are ticked one by one.
  for (const box of boxes()) {
    box.addEventListener("change", () => {
      const ticked = boxes().filter((b) => b.checked).length;
      all.checked = ticked === boxes().length;
      all.indeterminate = ticked > 0 && ticked < boxes().length;
    });
  }
});
