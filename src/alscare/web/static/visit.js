// The running ALSFRS-R total on the clinic-visit page (templates/clinic_visit.html): the sum of
// the items rated so far and of each domain, updated on every tap. No framework, no request.
// Without script the form works the same and this box stays hidden; the patient page shows
// the engine's total once the visit is saved.
(function () {
  "use strict";
  var form = document.getElementById("visit-form");
  var box = document.getElementById("alsfrs-r-total");
  if (!form || !box) {
    return;
  }
  var items = form.querySelectorAll("fieldset[data-item]");
  var MAX = Number(box.getAttribute("data-item-max")); // an item's best score (the scale's)

  function tally() {
    var domains = {};
    var total = { score: 0, rated: 0, items: 0 };
    items.forEach(function (item) {
      var domain = item.getAttribute("data-domain");
      var sums = domains[domain] || (domains[domain] = { score: 0, rated: 0, items: 0 });
      var chosen = item.querySelector("input[type=radio]:checked");
      sums.items += 1;
      total.items += 1;
      if (chosen && chosen.value !== "") {
        sums.score += Number(chosen.value);
        sums.rated += 1;
        total.score += Number(chosen.value);
        total.rated += 1;
      }
    });
    return { total: total, domains: domains };
  }

  function describe(cell, sums) {
    var rated = sums ? sums.rated : 0;
    cell.querySelector("[data-score]").textContent =
      rated === 0 ? "–" : rated === sums.items ? sums.score + " of " + sums.items * MAX : String(sums.score);
    cell.querySelector("[data-count]").textContent =
      rated === 0 || rated === sums.items ? "" : rated + " of " + sums.items + " rated";
  }

  function show() {
    var counts = tally();
    var total = counts.total;
    box.querySelector("[data-total]").textContent = total.rated ? String(total.score) : "–";
    box.querySelector("[data-rated]").textContent =
      total.rated === 0 ? "no item rated" :
      total.rated === total.items ? "of " + total.items * MAX + ", every item rated" :
      "so far: " + total.rated + " of " + total.items + " items rated";
    box.querySelectorAll("[data-domain-total]").forEach(function (cell) {
      describe(cell, counts.domains[cell.getAttribute("data-domain-total")]);
    });
  }

  form.addEventListener("change", show);
  box.hidden = false;
  show();
})();
