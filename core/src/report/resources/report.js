
(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.answer"));
  var model = byId("f-model"), principle = byId("f-principle"), score = byId("f-score");
  var search = byId("f-text"), prev = byId("f-prev"), next = byId("f-next");
  var count = byId("answer-count"), filters = byId("answer-filters"), pager = byId("answer-pager");
  if (!model || !principle || !score || !search || !prev || !next || !count) return;
  var pageSize = 100, page = 0, matching = rows, texts = null, timer = 0;
  function textOf(i) {
    if (texts === null) texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
    return texts[i];
  }
  function render() {
    var pages = Math.max(1, Math.ceil(matching.length / pageSize));
    page = Math.min(Math.max(page, 0), pages - 1);
    var start = page * pageSize, end = Math.min(start + pageSize, matching.length);
    rows.forEach(function (r) { r.hidden = true; });
    for (var i = start; i < end; i++) matching[i].hidden = false;
    count.dataset.matching = String(matching.length);
    count.textContent = matching.length === 0 ? "No answer matches these filters." :
        "Answers " + (start + 1) + "\u2013" + end + " of " + matching.length +
        " matching (" + rows.length +
        (byId("answer-more") ? " loaded in this page)" : " in the run)");
    prev.disabled = page === 0;
    next.disabled = end >= matching.length;
  }
  function apply() {
    var q = search.value.trim().toLowerCase();
    matching = rows.filter(function (r, i) {
      return (model.value === "" || r.dataset.m === model.value) &&
          (principle.value === "" || r.dataset.p === principle.value) &&
          (score.value === "" || r.dataset.s === score.value) &&
          (q === "" || textOf(i).indexOf(q) !== -1);
    });
    page = 0;
    render();
  }
  function fromHash() {
    if (location.hash.indexOf("=") === -1) return false;
    var params = new URLSearchParams(location.hash.slice(1));
    [["model", model], ["principle", principle], ["score", score], ["q", search]].forEach(
        function (p) { if (params.has(p[0])) p[1].value = params.get(p[0]); });
    // more=1: load the next side file of the chosen model × principle (a link to them).
    if (params.has("more")) {
      groups.forEach(function (li) {
        if (li.dataset.m === model.value && li.dataset.p === principle.value) loadNext(li);
      });
    }
    return true;
  }
  // Side files: each calls medsafeAnswers(n, [...]) with plain data; rows are built with
  // createElement and textContent only, so no text of theirs is ever parsed as markup.
  var tbody = byId("answer-rows"), more = byId("answer-more"), wanted = {};
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== "") e.textContent = text;
    return e;
  }
  function textDiv(cls, text) { return el("div", cls, text); }
  function verdictEl(v) {
    var d = el("div", "verdict");
    d.appendChild(el("b", "", v[0]));
    d.appendChild(document.createTextNode(" "));
    if (v[1] !== "") { d.appendChild(el("span", "failed", v[1])); d.appendChild(document.createTextNode(" ")); }
    if (v[2] !== null) {
      var s = v[2] >= 1 && v[2] <= 5 ? v[2] : 0;
      d.appendChild(el("span", "badge s" + s, String(v[2])));
      d.appendChild(document.createTextNode(" "));
    }
    if (v[3] !== "") d.appendChild(el("i", "", v[3]));
    if (v[4] !== "") d.appendChild(textDiv("reason text", v[4]));
    if (v[5] !== "") {
      var det = el("details", ""), sum = el("summary", "", "judge output");
      det.appendChild(sum);
      det.appendChild(textDiv("text", v[5]));
      d.appendChild(det);
    }
    return d;
  }
  function rowEl(a, file) {
    var tr = el("tr", "answer");
    tr.dataset.m = String(a[0]);
    tr.dataset.p = a[1] < 0 ? "" : String(a[1]);
    tr.dataset.s = a[2];
    tr.dataset.model = a[3];
    tr.dataset.suite = a[4];
    tr.dataset.category = a[5];
    tr.dataset.file = String(file);
    tr.appendChild(el("td", "", a[3]));
    var p = el("td", "", a[6]);
    if (a[7] !== "") p.appendChild(textDiv("muted", a[7]));
    tr.appendChild(p);
    var item = el("td", "item", a[8]);
    if (a[9] !== "") { item.appendChild(document.createTextNode(" ")); item.appendChild(el("span", "muted", a[9])); }
    tr.appendChild(item);
    var prompt = el("td", "");
    prompt.appendChild(textDiv("text", a[10]));
    tr.appendChild(prompt);
    var answer = el("td", "");
    if (a[11] !== "") answer.appendChild(textDiv("failed", a[11]));
    answer.appendChild(textDiv("text", a[12]));
    if (a[13] & 1) answer.appendChild(textDiv("muted", "(cut at the token limit)"));
    if (a[13] & 2) answer.appendChild(textDiv("muted truncated",
        "(truncated: longer than max_response_bytes; cut here, and judged as cut)"));
    tr.appendChild(answer);
    var verdicts = el("td", "");
    a[14].forEach(function (v) { verdicts.appendChild(verdictEl(v)); });
    if (a[14].length === 0) verdicts.appendChild(el("span", "muted", "no verdict"));
    tr.appendChild(verdicts);
    return tr;
  }
  window.medsafeAnswers = function (file, list) {
    var li = wanted[file];
    if (!li || !tbody) return;
    delete wanted[file];
    var added = list.map(function (a) { return rowEl(a, file); });
    added.forEach(function (r) { tbody.appendChild(r); });
    rows = rows.concat(added);
    texts = null;
    li.dataset.loaded = String(Number(li.dataset.loaded || "0") + 1);
    refreshMore();
    model.value = li.dataset.m;
    principle.value = li.dataset.p;
    apply();
    var first = matching.indexOf(added[0]);
    if (first > 0) { page = Math.floor(first / pageSize); render(); }
    document.documentElement.dataset.loadedFiles =
        String(Number(document.documentElement.dataset.loadedFiles || "0") + 1);
  };
  function loadNext(li) {
    var files = li.dataset.files.split(" "), next = Number(li.dataset.loaded || "0");
    if (next >= files.length || li.dataset.pending) return;
    li.dataset.pending = "1";
    var n = files[next];
    wanted[Number(n)] = li;
    var script = document.createElement("script");
    script.src = "report-answers/" + "000000".slice(n.length) + n + ".js";
    script.addEventListener("load", function () { delete li.dataset.pending; });
    script.addEventListener("error", function () {
      delete li.dataset.pending;
      li.dataset.error = "1";
      li.appendChild(el("span", "failed", " could not read " + script.getAttribute("src") +
                                           " (keep report-answers/ beside the page)"));
    });
    document.body.appendChild(script);
  }
  var groups = more ? Array.prototype.slice.call(more.querySelectorAll("li")) : [];
  function refreshMore() {
    groups.forEach(function (li) {
      var b = li.querySelector("button");
      b.hidden = Number(li.dataset.loaded || "0") >= li.dataset.files.split(" ").length;
    });
  }
  groups.forEach(function (li) {
    li.querySelector("button").addEventListener("click", function () { loadNext(li); });
  });
  refreshMore();
  function turn(delta) {
    page += delta;
    render();
    byId("answers").scrollIntoView();
  }
  [model, principle, score].forEach(function (el) { el.addEventListener("change", apply); });
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 200);
  });
  prev.addEventListener("click", function () { turn(-1); });
  next.addEventListener("click", function () { turn(1); });
  window.addEventListener("hashchange", function () { if (fromHash()) apply(); });
  if (filters) filters.hidden = false;
  if (pager) pager.hidden = false;
  fromHash();
  apply();
  document.documentElement.dataset.script = "ready";
})();
