// The report page: filters, drill-down, team-pair trends and review, from the embedded report
// model alone. Every text reaches the page through textContent or an attribute value, never as
// markup, so a message cannot run or break anything. Hidden cells carry no numbers in the model.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  if (!D.labels.length) return;
  var SVG = "http://www.w3.org/2000/svg";
  var state = { label: "", period: "", channel: "", team: "", sel: null };
  var marks = {};  // key "id|label" -> {verdict, labels}
  var names = {};
  D.labels.forEach(function (l) { names[l.id] = l.name; });

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else if (k === "cls") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) { return v === null || v === undefined ? "–" : (v < 100 ? v.toFixed(1) : v.toFixed(0)); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fill(id, values, label) {
    var s = document.getElementById(id);
    values.forEach(function (v) { s.appendChild(el("option", { value: v, text: label ? label(v) : v })); });
    s.addEventListener("change", function () { state[id.slice(2)] = s.value; state.sel = null; state.all = false; render(); });
  }
  fill("f-label", D.labels.map(function (l) { return l.id; }), function (v) { return names[v]; });
  fill("f-period", D.periods);
  fill("f-channel", D.channel_names);
  fill("f-team", D.teams);

  function labelsShown() { return D.labels.filter(function (l) { return !state.label || l.id === state.label; }); }
  function onActivate(node, fn) {  // click, or Enter / Space from the keyboard
    node.addEventListener("click", fn);
    node.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); fn(); } });
  }
  function select(sel) { state.sel = sel; state.all = false; render(); document.getElementById("detail").scrollIntoView({ block: "nearest" }); }

  // ------------------------------------------------------------------ trend charts
  function trend(title, cells, onPick, prev) {
    var W = 340, H = 170, L = 36, R = 10, T = 22, B = 30, w = W - L - R, h = H - T - B;
    var top = 1;
    cells.forEach(function (c) { if (!c.hidden && c.ci_high > top) top = c.ci_high; });
    if (prev) Object.keys(prev).forEach(function (p) { if (prev[p] > top) top = prev[p]; });
    top *= 1.1;
    var s = svg("svg", { "class": "chart", viewBox: "0 0 " + W + " " + H, role: "img" });
    s.appendChild(svg("text", { x: L, y: 14, "class": "ct" }, title));
    [0, 0.5, 1].forEach(function (f) {
      var y = T + h - h * f;
      s.appendChild(svg("line", { x1: L, x2: L + w, y1: y, y2: y, "class": "gl" }));
      s.appendChild(svg("text", { x: L - 4, y: y + 3, "class": "ax", "text-anchor": "end" }, fmt(top * f)));
    });
    var n = D.periods.length, Y = function (v) { return T + h - h * v / top; };
    var seg = [], pseg = [];
    D.periods.forEach(function (p, i) {
      var x = L + w * (i + 0.5) / n, c = cells.filter(function (c) { return c.period === p; })[0];
      s.appendChild(svg("text", { x: x, y: H - 10, "class": "ax", "text-anchor": "middle" }, p));
      if (prev && prev[p] !== undefined) pseg.push([x, Y(prev[p])]);
      if (!c || c.hidden) {
        if (c) s.appendChild(svg("text", { x: x, y: T + h / 2, "class": "sup", "text-anchor": "middle" }, "hidden"));
        seg.push(null); return;
      }
      s.appendChild(svg("line", { x1: x, x2: x, y1: Y(c.ci_low), y2: Y(c.ci_high), "class": "ci" }));
      var pt = svg("circle", { cx: x, cy: Y(c.rate), r: 4, "class": "pt", "data-period": p, tabindex: 0 });
      pt.appendChild(svg("title", {}, p + ": " + fmt(c.rate) + " per 1,000 (" + fmt(c.ci_low) + "–" + fmt(c.ci_high) + "), " + c.count + " of " + c.n));
      onActivate(pt, function () { onPick(c); });
      s.appendChild(pt);
      seg.push([x, Y(c.rate)]);
    });
    function line(points, cls) {
      var run = [];
      points.concat([null]).forEach(function (q) {
        if (q) { run.push(q); return; }
        if (run.length > 1) s.appendChild(svg("polyline", { "class": cls, points: run.map(function (a) { return a[0].toFixed(1) + "," + a[1].toFixed(1); }).join(" ") }));
        run = [];
      });
    }
    line(seg, "ln");
    if (pseg.length) { line(pseg, "prev"); pseg.forEach(function (q) { s.appendChild(svg("circle", { cx: q[0], cy: q[1], r: 2.5, "class": "prevpt" })); }); }
    return s;
  }

  function renderTrends() {
    var box = document.getElementById("trends"); clear(box);
    labelsShown().forEach(function (l) {
      var prev = null;
      if (D.previous) {
        prev = {};
        D.periods.forEach(function (p) { var v = D.previous.rates[l.id + "|" + p]; if (v !== undefined && v !== null) prev[p] = v; });
      }
      var cells = D.rates.filter(function (c) { return c.label === l.id; });
      box.appendChild(el("div", { "data-label": l.id }, [trend(l.name, cells, function (c) {
        select({ kind: "rate", label: l.id, period: c.period, cell: c });
      }, prev)]));
    });
  }

  // ------------------------------------------------------------------ heat map
  function heatCells() {
    // all labels, all periods: the matrix; one label (and period): its visible pair cells
    if (!state.label) return { note: "all labels, all periods", get: function (a, t) {
      var c = D.matrix.cells.filter(function (c) { return c.a === a && c.t === t; })[0];
      return c ? (c.hidden ? { hidden: true } : { rate: c.rate }) : null;
    } };
    return { note: names[state.label] + (state.period ? ", " + state.period : ", periods shown"), get: function (a, t) {
      var rows = D.pairs.filter(function (c) { return c.label === state.label && c.author_team === a && c.target_team === t && (!state.period || c.period === state.period); });
      if (!rows.length) return { hidden: true };
      var k = 0, n = 0;
      rows.forEach(function (r) { k += r.count; n += r.n; });
      return { rate: n ? 1000 * k / n : null, count: k, n: n };
    } };
  }

  function renderHeat() {
    var box = document.getElementById("heatmap"); clear(box);
    var teams = D.matrix.teams;
    if (!teams.length) { box.appendChild(el("p", { text: "No team pairs could be found: without a roster (or mentions of team names) messages cannot be placed between teams." })); return; }
    var src = heatCells(), vmax = 1e-9, vals = {};
    teams.forEach(function (a) { teams.forEach(function (t) {
      if (a === t) return;
      var c = src.get(a, t); vals[a + "\u0001" + t] = c;
      if (c && !c.hidden && c.rate > vmax) vmax = c.rate;
    }); });
    var tab = el("table", { "class": "heat" }), head = el("tr", {}, [el("th", { text: src.note })]);
    teams.forEach(function (t) { head.appendChild(el("th", { text: t })); });
    tab.appendChild(head);
    teams.forEach(function (a) {
      var tr = el("tr", {}, [el("th", { text: a })]);
      teams.forEach(function (t) {
        var c = vals[a + "\u0001" + t], td;
        if (a === t || !c) td = el("td", { "class": "none" });
        else if (c.hidden) td = el("td", { "class": "hid", title: "hidden", text: "–" });
        else {
          td = el("td", { "class": "open", text: fmt(c.rate), title: a + " → " + t + ": " + fmt(c.rate) + " per 1,000", "data-a": a, "data-t": t, tabindex: 0 });
          td.style.background = "rgba(200,85,61," + (0.08 + 0.92 * c.rate / vmax).toFixed(2) + ")";
          onActivate(td, function () { select({ kind: "pair", a: a, t: t, cell: c }); });
          if (state.sel && state.sel.kind === "pair" && state.sel.a === a && state.sel.t === t) td.className += " sel";
        }
        if (state.team && a !== state.team && t !== state.team) td.className += " dim";
        tr.appendChild(td);
      });
      tab.appendChild(tr);
    });
    box.appendChild(tab);
  }

  function renderPairTrends() {
    var box = document.getElementById("pairtrends"); clear(box);
    var seen = {};
    D.pairs.forEach(function (c) {
      if (state.label && c.label !== state.label) return;
      if (state.team && c.author_team !== state.team && c.target_team !== state.team) return;
      var key = c.label + "\u0001" + c.author_team + "\u0001" + c.target_team;
      (seen[key] = seen[key] || []).push(c);
    });
    Object.keys(seen).sort().slice(0, 24).forEach(function (key) {
      var p = key.split("\u0001");
      box.appendChild(el("div", {}, [trend(names[p[0]] + ": " + p[1] + " → " + p[2], seen[key], function (c) {
        select({ kind: "pair", label: p[0], period: c.period, a: p[1], t: p[2], cell: c });
      })]));
    });
    if (!box.firstChild) box.appendChild(el("p", { "class": "small muted", text: "No team pair is shown for this choice." }));
  }

  function renderChannels() {
    var box = document.getElementById("channels"); clear(box);
    var vmax = 1e-9;
    D.channels.forEach(function (c) { if (!c.hidden && c.rate > vmax) vmax = c.rate; });
    D.channels.forEach(function (c) {
      var row = el("div", { "class": "bar" + (state.channel === c.channel ? " sel" : "") });
      if (c.hidden) row.appendChild(el("span", { "class": "v muted", text: "hidden" }));
      else {
        var b = el("span", { "class": "b" }); b.style.width = (Math.max(1, 420 * c.rate / vmax)).toFixed(0) + "px";
        row.appendChild(b);
        row.appendChild(el("span", { "class": "v", text: fmt(c.rate) + " per 1,000 (" + c.n.toLocaleString("en") + " msgs)" }));
      }
      box.appendChild(el("span", { text: c.channel }));
      box.appendChild(row);
    });
  }

  // ------------------------------------------------------------------ evidence and review
  function matches(e) {
    var s = state.sel;
    if (state.label && e.label !== state.label) return false;
    if (state.period && e.period !== state.period) return false;
    if (state.channel && e.channel !== state.channel) return false;
    if (state.team && e.author_team !== state.team && e.target_team !== state.team) return false;
    if (s && s.label && e.label !== s.label) return false;
    if (s && s.period && e.period !== s.period) return false;
    if (s && s.kind === "pair" && (e.author_team !== s.a || e.target_team !== s.t)) return false;
    return true;
  }

  function evidenceItem(e) {
    var key = e.id + "|" + e.label, box = el("div", { "class": "ev" + (marks[key] ? " marked" : ""), "data-id": e.id, "data-label": e.label });
    var q = el("div", { "class": "quote" });
    e.parts.forEach(function (p, i) {
      q.appendChild(el("span", { "class": p[1] ? "hit" : "ctx", text: (i ? " " : "") + p[0] }));
    });
    box.appendChild(q);
    box.appendChild(el("div", { "class": "meta", text: names[e.label] + " · " + e.author_team + " → " + (e.target_team || "no target team") +
      " · " + (e.channel || "channel hidden") + " · " + e.period + " · score " + e.score.toFixed(2) + " · typicality " + e.typicality.toFixed(2) }));
    var rv = el("div", { "class": "review" });
    var right = el("button", { type: "button", "class": "mark-right", text: "✓ right label" });
    var other = el("select", { "class": "mark-wrong", "aria-label": "the right label" }, [el("option", { value: "", text: "wrong label: the right one is…" })]);
    D.labels.forEach(function (l) { if (l.id !== e.label) other.appendChild(el("option", { value: l.id, text: l.name })); });
    var none = el("button", { type: "button", "class": "mark-none", text: "not friction" });
    var status = el("span", { "class": "muted", text: marks[key] ? " marked: " + marks[key].verdict : "" });
    function mark(verdict, labels) {
      marks[key] = { id: e.id, label: e.label, verdict: verdict, labels: labels, text: e.parts.map(function (p) { return p[0]; }).join(" ").replace(/ +/g, " ").trim() };
      box.className = "ev marked"; status.textContent = " marked: " + verdict; countMarks();
    }
    right.addEventListener("click", function () { mark("right", e.label); });
    other.addEventListener("change", function () { if (other.value) mark("wrong", other.value); });
    none.addEventListener("click", function () { mark("not_friction", ""); });
    [right, other, none, status].forEach(function (x) { rv.appendChild(x); });
    box.appendChild(rv);
    return box;
  }

  function renderEvidence() {
    var box = document.getElementById("evidence"); clear(box);
    var per = {}, shown = 0, more = 0, cap = state.all ? Infinity : (state.sel ? 12 : 4);
    D.evidence.forEach(function (e) {
      if (!matches(e)) return;
      per[e.label] = (per[e.label] || 0) + 1;
      if (per[e.label] > cap) { more++; return; }
      box.appendChild(evidenceItem(e)); shown++;
    });
    if (!shown) box.appendChild(el("p", { "class": "small muted", text: "No evidence is shown for this choice (hidden cells show none)." }));
    if (more) {
      var b = el("button", { type: "button", id: "show-all", "class": "noprint", text: "show " + more + " more" });
      b.addEventListener("click", function () { state.all = true; renderEvidence(); });
      box.appendChild(b);
    }
    return shown;
  }

  function renderDetail() {
    var box = document.getElementById("detail"); clear(box);
    var s = state.sel;
    if (!s) return;
    var c = s.cell, what = s.kind === "rate" ? names[s.label] + ", all teams, " + s.period
      : (s.label ? names[s.label] + ", " : "") + s.a + " → " + s.t + (s.period ? ", " + s.period : "");
    box.appendChild(el("h3", { text: what }));
    var fig = c.count !== undefined ? fmt(c.rate) + " per 1,000 (" + c.count + " of " + c.n + " messages" +
      (c.ci_low !== undefined ? "; 95% interval " + fmt(c.ci_low) + "–" + fmt(c.ci_high) : "") + ")" : fmt(c.rate) + " per 1,000 messages the author team wrote";
    box.appendChild(el("p", { "class": "small", text: fig }));
    box.appendChild(el("p", { "class": "small muted", text: "Its evidence is listed under Evidence below." }));
    var close = el("button", { type: "button", text: "close" });
    close.addEventListener("click", function () { state.sel = null; render(); });
    box.appendChild(close);
  }

  function countMarks() { document.getElementById("n-marks").textContent = Object.keys(marks).length + " marked"; }

  function csvCell(v) {
    v = String(v === undefined || v === null ? "" : v);
    if (/^[=+\-@\t\r]/.test(v)) v = "'" + v;  // a spreadsheet must not run it as a formula
    return /[",\n\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }

  function reviewsCsv() {
    var rows = [["id", "text", "labels", "model_label", "verdict"]];
    Object.keys(marks).sort().forEach(function (k) {
      var m = marks[k]; rows.push([m.id, m.text, m.labels, m.label, m.verdict]);
    });
    return rows.map(function (r) { return r.map(csvCell).join(","); }).join("\n") + "\n";
  }
  window.frictionReviewsCsv = reviewsCsv;

  document.getElementById("export").addEventListener("click", function () {
    var a = el("a", { download: "reviews.csv" });
    a.href = URL.createObjectURL(new Blob([reviewsCsv()], { type: "text/csv" }));
    document.body.appendChild(a); a.click(); document.body.removeChild(a);
  });

  function render() {
    document.querySelectorAll(".label-block").forEach(function (b) {
      b.style.display = !state.label || b.getAttribute("data-label") === state.label ? "" : "none";
    });
    renderTrends(); renderHeat(); renderPairTrends(); renderChannels(); renderDetail(); renderEvidence();
  }
  render();
})();
