"use strict";
// gradtrace report: draws the run from the JSON above; no network, no libraries.
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const F = D.frames;
  // each frame's curve comes as whole steps above its lowest point (html.packed_curve)
  F.forEach((f) => { if (f.curve) f.curve = f.curve.steps.map((k) =>
    k === null ? null : f.curve.at[0] + k * f.curve.at[1]); });
  const slider = document.getElementById("step");
  const label = document.getElementById("step-label");
  const play = document.getElementById("play");
  slider.max = String(F.length - 1);
  document.getElementById("title").textContent = "gradtrace · " + D.title;
  const opt = Object.entries(D.optimizer).filter(([k]) => k !== "name")
    .map(([k, v]) => k + "=" + v).join(", ");
  // the message says how the run ended ("completed 93 steps", "diverged at ...")
  document.getElementById("summary").textContent =
    D.n_rows + " rows; " + D.optimizer.name + "(" + opt + "). " +
    (D.schedule ? D.schedule.charAt(0).toUpperCase() + D.schedule.slice(1) + ". " : "") +
    D.message;
  // what the run's summary warns of (far from the optimum, a rate that diverges)
  const warned = document.getElementById("warnings");
  for (const w of D.warnings || []) {
    const li = document.createElement("li");
    li.textContent = w;
    warned.appendChild(li);
  }
  warned.hidden = !warned.children.length;
  // what it noted of its data and settings, below the warnings
  const noted = document.getElementById("notes");
  for (const n of D.notes || []) {
    const li = document.createElement("li");
    li.textContent = "note: " + n;
    noted.appendChild(li);
  }
  noted.hidden = !noted.children.length;
  // seven significant digits as Python's .7g writes them, as the terminal's
  // tables do: -2.09413, not -2.094130; 1.2345e+07
  const fmt = (v) => {
    if (v === null || v === undefined) return "–";
    if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    const exp = v !== 0 && (Math.abs(v) >= 1e7 || Math.abs(v) < 1e-4);
    if (!exp) return String(Number(v.toPrecision(7)));
    const [m, e] = v.toExponential(6).split("e");
    return m.replace(/\.?0+$/, "") + "e" + (e[0] === "-" ? "-" : "+") +
      e.replace(/^[+-]/, "").padStart(2, "0");
  };
  // a tick's label: four digits are enough to read a picture by; large and tiny
  // values as 2.5e17, short enough for the axis's margin
  const tick = (v, digits = 4) => (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0)) ?
    Number(v.toPrecision(digits - 1)).toExponential().replace("+", "") :
    String(Number(v.toPrecision(digits)));
  // an axis's labels, told apart (a loss between 1.42585 and 1.4259 had six
  // ticks all labelled 1.426): with a fifth digit if that does it, else the
  // first tick whole and the others as what they add to it ("+2e-5"), short
  // enough for the axis's margin
  function tickTexts(values) {
    const apart = (texts) => new Set(texts).size === texts.length;
    const five = values.map((v) => tick(v, 5));
    if (apart(values.map((v) => tick(v)))) return values.map((v) => tick(v));
    if (apart(five)) return five;
    for (let digits = 6; digits <= 12; digits++) {
      const first = tick(values[0], digits), rest = values.slice(1).map((v) => "+" + tick(v - values[0], 3));
      if (apart([first, ...rest]) && Number(first) !== Number(tick(values[1], digits))) return [first, ...rest];
    }
    return values.map(String);
  }

  // Each canvas is drawn in CSS pixels at the screen's resolution (c.W by c.H),
  // so that its text is as large as the page's whatever the card's width (a
  // 640-pixel canvas shown 400 wide made 15px text 9px); sized again on resize.
  const FONT = "14px sans-serif";
  function fitCanvas(c) {
    const dpr = window.devicePixelRatio || 1, w = Math.max(240, c.clientWidth || 640);
    c.W = w; c.H = Math.round(w * 0.75);
    c.width = Math.round(c.W * dpr); c.height = Math.round(c.H * dpr);
    c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  // the plot's area within a canvas: room on the left and below for the ticks'
  // labels and the axes' names
  const M = { l: 66, r: 14, t: 12, b: 46 };
  function scales(canvas, xr, yr) {
    const w = canvas.W - M.l - M.r, h = canvas.H - M.t - M.b;
    const sx = (v) => M.l + (v - xr[0]) / ((xr[1] - xr[0]) || 1) * w;
    const sy = (v) => M.t + h - (v - yr[0]) / ((yr[1] - yr[0]) || 1) * h;
    return [sx, sy];
  }
  function clipToPlot(ctx, canvas) {
    ctx.beginPath(); ctx.rect(M.l, M.t, canvas.W - M.l - M.r, canvas.H - M.t - M.b); ctx.clip();
  }
  // about n round values (1, 2 or 5 times a power of ten apart) within [lo, hi]
  function ticks(lo, hi, n) {
    const span = hi - lo;
    if (!(span > 0) || !Number.isFinite(span)) return [lo];
    const raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    const step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag, out = [];
    for (let k = Math.ceil(lo / step); k * step <= hi + 1e-9 * step; k++) out.push(k * step);
    return out;
  }
  // a log axis (yr in log10): its whole decades, or round values between where
  // it spans fewer than two
  const logTicks = (yr, n) => {
    const decades = ticks(yr[0], yr[1], n).filter((v) => Number.isInteger(Math.round(v * 1e9) / 1e9));
    return decades.length >= 2 ? decades.map((v) => Math.pow(10, Math.round(v))) :
      ticks(Math.pow(10, yr[0]), Math.pow(10, yr[1]), n);
  };
  function axes(ctx, canvas, xr, yr, xl, yl, ylog, xlog) {
    const [sx, sy] = scales(canvas, xr, yr), w = canvas.W, h = canvas.H, bottom = h - M.b;
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(M.l, M.t); ctx.lineTo(M.l, bottom); ctx.lineTo(w - M.r, bottom); ctx.stroke();
    ctx.fillStyle = "#333"; ctx.font = FONT;
    ctx.textAlign = "center"; ctx.textBaseline = "alphabetic";
    ctx.fillText(xl, (w + M.l - M.r) / 2, h - 6);
    ctx.beginPath();
    // a long run's steps on a log scale (xlog maps a step to its place): 0, 1,
    // 10, 100, ...
    const xs = xlog ? [0].concat(Array.from({ length: Math.floor(xr[1]) }, (_, i) => 10 ** i))
      : ticks(xr[0], xr[1], Math.max(2, Math.floor((w - M.l) / 90)));
    const xt = tickTexts(xs), at = (v) => sx(xlog ? xlog(v) : v);
    xs.forEach((v, i) => {
      ctx.moveTo(at(v), bottom); ctx.lineTo(at(v), bottom + 5); ctx.fillText(xt[i], at(v), bottom + 19);
    });
    ctx.save(); ctx.translate(15, (M.t + bottom) / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText(yl, 0, 0); ctx.restore();
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const n = Math.max(2, Math.floor((bottom - M.t) / 50));
    const ys = ylog ? logTicks(yr, n) : ticks(yr[0], yr[1], n), yt = tickTexts(ys);
    ys.forEach((v, i) => {
      const at = sy(ylog ? Math.log10(v) : v);
      ctx.moveTo(M.l - 5, at); ctx.lineTo(M.l, at); ctx.fillText(yt[i], M.l - 7, at);
    });
    ctx.stroke();
    ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
  }
  // a note at the top right of the plot (at its bottom, low), on white so that
  // points under it do not hide it: where a line went off the chart
  function note(ctx, canvas, text, low, color) {
    ctx.font = "bold " + FONT; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const x = canvas.W - M.r - 6, y = low ? canvas.H - M.b - 14 : M.t + 14;
    const w = ctx.measureText(text).width;
    ctx.fillStyle = "rgba(255,255,255,0.85)"; ctx.fillRect(x - w - 4, y - 10, w + 8, 20);
    ctx.fillStyle = color || "#3b528b"; ctx.fillText(text, x, y);
    ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
  }
  const range = (a) => { const v = a.filter(Number.isFinite);
    let lo = Math.min(...v), hi = Math.max(...v);
    if (lo === hi) { lo -= 1; hi += 1; } const p = 0.05 * (hi - lo); return [lo - p, hi + p]; };
  const param = (f, name) => (name in f.params) ? f.params[name] : D.fixed[name];

  // -- the fit over the data (of many rows, some of them: say how many); a
  // full-batch run's every step uses every row: no batch to mark
  const fullBatch = F.length > 1 && F.slice(1).every((f) => f.n_rows === D.n_rows);
  const marked = fullBatch ? "full batch: every step uses every row" : null;
  if (D.data.index.length < D.n_rows)
    document.getElementById("fit-caption").textContent = "the fit over " +
      D.data.index.length + " of the data's " + D.n_rows + " rows (" +
      (marked || "the batch's among them in red") + ")";
  else if (marked)
    document.getElementById("fit-caption").textContent = "the fit over the data (" + marked + ")";
  const fitC = document.getElementById("fit"), fitX = fitC.getContext("2d");
  const P = D.data.predictions;
  // y against the prediction: one range for both axes (the diagonal is y =
  // prediction), the rows' y and the first and last predictions, as below
  const predRange = P ? (() => {
    const ys = P.rows.map((pos) => D.data.y[pos]), yr = range(ys), span = yr[1] - yr[0];
    const ends = [P.values[0], D.left_at === null ? P.values[P.values.length - 1] : []].flat()
      .filter((v) => v !== null && Number.isFinite(v))
      .map((v) => Math.min(yr[1] + 3 * span, Math.max(yr[0] - 3 * span, v)));
    return range(ys.concat(ends));
  })() : null;
  // y of two values (0/1) jittered up and down, or every point sits on two lines;
  // the same small offset for a row at every step
  const twoValued = P && new Set(P.rows.map((pos) => D.data.y[pos])).size <= 2;
  const jitter = (pos) => twoValued ? 0.04 * (predRange[1] - predRange[0]) *
    (2 * (Math.abs(Math.sin(pos * 12.9898 + 1) * 43758.5453) % 1) - 1) : 0;
  // the rows sorted by prediction in bins of equal counts (at least 10 rows each),
  // as fit.png draws them: whether the predictions are right on average (for 0/1
  // data, whether the probabilities are calibrated)
  const bins = P ? Math.min(10, Math.floor(P.rows.length / 10)) : 0;
  function binnedMeans(pred) {
    const pts = P.rows.map((pos, i) => [pred[i], D.data.y[pos]])
      .filter(([v, t]) => v !== null && Number.isFinite(v) && Number.isFinite(t))
      .sort((a, b) => a[0] - b[0]);
    const nb = Math.min(bins, Math.floor(pts.length / 10));
    if (nb < 2) return [];
    const q = Math.floor(pts.length / nb), extra = pts.length % nb, means = [];
    for (let b = 0, at = 0; b < nb; b++) {
      const part = pts.slice(at, at + q + (b < extra ? 1 : 0)); at += part.length;
      means.push([part.reduce((s, p) => s + p[0], 0) / part.length,
        part.reduce((s, p) => s + p[1], 0) / part.length]);
    }
    return means;
  }
  // the batch's rows among those drawn, in red: how many of them there are
  // (of a large data set's few drawn rows, often none of a small batch's)
  function batchShown(f, drawn) {
    if (marked) return marked;
    if (!f.n_rows || drawn >= f.n_rows) return "the batch's in red";
    return drawn ? "in red " + drawn + " of this batch's " + f.n_rows + " rows" :
      "none of this batch's " + f.n_rows + " rows among them";
  }
  const binRows = P && P.bins ? P.bin_rows : (P ? P.rows.length : 0);
  function predCaption(f, drawn) {
    const nb = P.bins ? Math.max(0, ...P.bins.map((b) => b.length)) : bins;
    document.getElementById("fit-caption").textContent = "y against the fitted " +
      "prediction, " + P.rows.length + (P.rows.length < D.n_rows ? " of " + D.n_rows : "") +
      " rows (" + batchShown(f, drawn) + (twoValued ? "; y jittered up and down" : "") +
      "); on the dashed line the prediction is exact" + (nb >= 2 ? "; in orange the mean of y in " +
      nb + " bins of the prediction, over " + (binRows < D.n_rows ? binRows + " of the rows" :
      "all the rows") : "");
  }
  // a mini-batch step's fit before it, dotted: the line its batch's gradient
  // was taken at (the residuals explain prints), beside the one after it
  const BEFORE = "; dotted: the fit before this step, where its gradient was taken";
  function rowsCaption(f, drawn, before) {
    const then = before ? BEFORE : "";
    if (D.data.index.length < D.n_rows)
      document.getElementById("fit-caption").textContent = "the fit over " +
        D.data.index.length + " of the data's " + D.n_rows + " rows (" +
        batchShown(f, drawn) + then + ")";
    else if (!marked)
      document.getElementById("fit-caption").textContent =
        "the fit over the data (the batch in red" + then + ")";
  }
  // over x: the data's range of y, widened to the first and last fits (as fit.png
  // draws them) but by at most three times the data's span each way; not to the
  // last fit of a run that blew up (left_at), which would squash the data into a
  // line: a note says where that fit went
  const fitRange = (() => {
    const yr = range(D.data.y), span = yr[1] - yr[0];
    const ends = [F[0], D.left_at === null ? F[F.length - 1] : {}].flatMap((f) => f.curve || [])
      .filter((v) => v !== null && Number.isFinite(v))
      .map((v) => Math.min(yr[1] + 3 * span, Math.max(yr[0] - 3 * span, v)));
    return range(D.data.y.concat(ends));
  })();
  function drawFit(f, k) {
    fitX.clearRect(0, 0, fitC.W, fitC.H);
    const y = D.data.y, inBatch = new Set(fullBatch ? [] : f.rows);
    const G = D.data.grid;
    const before = !fullBatch && k > 0 && F[k - 1].step === f.step - 1 ? F[k - 1] : null;
    const trace = (ff, sx, sy, color, dash, top) => {
      if (!ff.curve) return;
      fitX.strokeStyle = color; fitX.setLineDash(dash); fitX.lineWidth = 2; fitX.beginPath();
      let started = false;
      G.forEach((g, i) => { const v = ff.curve[i];
        if (v === null || !Number.isFinite(v)) { started = false; return; }
        const c = top === undefined ? v : Math.min(v, top * 2);
        if (started) fitX.lineTo(sx(g), sy(c)); else { fitX.moveTo(sx(g), sy(c)); started = true; } });
      fitX.stroke(); fitX.setLineDash([]); };
    if (G && D.data.x) {
      const x = D.data.x, xr = range(x), yr = fitRange;
      const [sx, sy] = scales(fitC, xr, yr);
      axes(fitX, fitC, xr, yr, D.x_name, D.y_name);
      rowsCaption(f, D.data.index.filter((row) => inBatch.has(row)).length, before);
      D.data.index.forEach((row, i) => {
        fitX.fillStyle = inBatch.has(row) ? "#d62728" : "#5ec962";
        fitX.beginPath(); fitX.arc(sx(x[i]), sy(y[i]), inBatch.has(row) ? 5 : 3, 0, 7); fitX.fill();
      });
      // the lines within the axes; where one leaves them, a note says so
      fitX.save(); clipToPlot(fitX, fitC);
      trace(F[0], sx, sy, "#9e9e9e", [6, 4]);
      if (before) trace(before, sx, sy, "rgba(59,82,139,0.55)", [2, 3]);
      trace(f, sx, sy, "#3b528b", []);
      fitX.restore();
      const out = (f.curve || []).filter((v) => v !== null && Number.isFinite(v));
      const above = out.some((v) => v > yr[1]), below = out.some((v) => v < yr[0]);
      if (above || below || (f.curve && !out.length))
        note(fitX, fitC, "the fit " + (above && below ? "leaves the chart ↑↓" : above ? "runs above the chart ↑" :
          below ? "runs below the chart ↓" : "is not finite"), below && !above);
    } else if (G) {
      const yr = D.data.discrete ? [G[0] - 0.5, G[G.length - 1] + 0.5] : [G[0], G[G.length - 1]];
      let bars;
      if (D.data.discrete) {
        const counts = new Map(); y.forEach((v) => counts.set(v, (counts.get(v) || 0) + 1));
        bars = G.map((g) => [g - 0.4, 0.8, (counts.get(g) || 0) / y.length]);
      } else {
        const nb = Math.min(50, Math.max(10, Math.round(Math.sqrt(y.length))));
        const counts = new Array(nb).fill(0), width = (yr[1] - yr[0]) / nb;
        y.forEach((v) => { counts[Math.max(0, Math.min(nb - 1, Math.floor((v - yr[0]) / width)))] += 1; });
        bars = counts.map((c, i) => [yr[0] + i * width, width, c / (y.length * width)]);
      }
      // one scale for every step, as the animation's: the data's and the last
      // fit's heights, and the first fit's where it is up to three times theirs
      // (the axis followed each step's curve, and the picture jumped in play)
      const finite = (a) => (a || []).filter((v) => v !== null && Number.isFinite(v));
      const tallest = (a) => Math.max(0, ...finite(a));
      const data = Math.max(...bars.map((b) => b[2]));
      const within = (h) => h <= 3 * data ? h : 0;  // a fit far taller flattens the data
      const top = 1.3 * Math.max(data, within(tallest(F[F.length - 1].curve)),
        within(tallest(F[0].curve))) || 1;
      const [sx, sy] = scales(fitC, yr, [0, top]);
      axes(fitX, fitC, yr, [0, top], D.y_name, D.data.discrete ? "share of rows" : "density");
      fitX.fillStyle = "#c7e9c0";
      bars.forEach(([x0, wd, d]) => fitX.fillRect(sx(x0), sy(d), sx(x0 + wd) - sx(x0) - 1, sy(0) - sy(d)));
      trace(F[0], sx, sy, "#9e9e9e", [6, 4], top);
      if (before) trace(before, sx, sy, "rgba(59,82,139,0.55)", [2, 3], top);
      trace(f, sx, sy, "#3b528b", [], top);
      fitX.fillStyle = "#d62728";
      rowsCaption(f, D.data.index.filter((row) => inBatch.has(row)).length, before);
      D.data.index.forEach((row, i) => { if (inBatch.has(row)) fitX.fillRect(sx(y[i]) - 1, sy(0) - 10, 2, 10); });
    } else if (P) {
      // several x columns: y against the prediction after the nearest frame at or
      // before this one that has predictions
      let j = 0;
      while (j + 1 < P.frames.length && P.frames[j + 1] <= k) j++;
      const pred = P.values[j], r = predRange;
      const [sx, sy] = scales(fitC, r, r);
      axes(fitX, fitC, r, r, "fitted prediction" + (P.frames[j] !== k ?
        " (at step " + F[P.frames[j]].step + ")" : ""), D.y_name);
      fitX.save(); clipToPlot(fitX, fitC);
      fitX.strokeStyle = "#d62728"; fitX.setLineDash([4, 4]); fitX.lineWidth = 1;
      fitX.beginPath(); fitX.moveTo(sx(r[0]), sy(r[0])); fitX.lineTo(sx(r[1]), sy(r[1]));
      fitX.stroke(); fitX.setLineDash([]);
      let outside = 0, finite = 0;
      predCaption(f, P.rows.filter((pos) => inBatch.has(D.data.index[pos])).length);
      P.rows.forEach((pos, i) => { const v = pred[i]; if (v === null) return;
        finite++; if (v < r[0] || v > r[1]) outside++;
        const batch = inBatch.has(D.data.index[pos]);
        fitX.fillStyle = batch ? "#d62728" : "#3b528b";
        fitX.beginPath(); fitX.arc(sx(v), sy(y[pos] + jitter(pos)), batch ? 5 : 3, 0, 7); fitX.fill(); });
      const means = P.bins ? P.bins[j] : binnedMeans(pred);
      if (means.length) {
        fitX.strokeStyle = fitX.fillStyle = "#f28e2b"; fitX.lineWidth = 1.5; fitX.beginPath();
        means.forEach(([mx, my], i) => i ? fitX.lineTo(sx(mx), sy(my)) : fitX.moveTo(sx(mx), sy(my)));
        fitX.stroke();
        means.forEach(([mx, my]) => { fitX.beginPath(); fitX.moveTo(sx(mx), sy(my) - 5);
          fitX.lineTo(sx(mx) + 5, sy(my)); fitX.lineTo(sx(mx), sy(my) + 5); fitX.lineTo(sx(mx) - 5, sy(my));
          fitX.fill(); });
      }
      fitX.restore();
      if (outside || !finite)
        note(fitX, fitC, !finite ? "the predictions are not finite" : outside + " of " + finite +
          " predictions leave the chart");
    } else {
      fitX.fillStyle = "#444"; fitX.font = FONT;
      fitX.fillText("no fitted curve to draw for this model", 24, 60);
    }
  }

  // -- the loss landscape with the path, framed as landscape.png is: a run that
  // blew up on its steps before it ran away (D.left_at) and the optimum
  const landC = document.getElementById("landscape"), landX = landC.getContext("2d");
  const L = D.landscape, left = D.left_at;
  let landImage = null;
  // colour by the log of the loss above its lowest, as landscape.png's levels:
  // log(loss) itself left a likelihood's bowl (1.4 at the bottom, 40 at the
  // edge) one purple without rings; the floor is the 1% quantile above it.
  // level(v): the cell's place on the colour scale, 0 to 1; at(t): the loss there
  function colourScale() {
    const z = L.z.flat().filter((v) => v !== null && Number.isFinite(v));
    if (!z.length) return null;
    // the darkest is the optimum's loss where the slice passes through it (a
    // grid's lowest point misses it)
    const zmin = L.lowest === null || L.lowest === undefined ? Math.min(...z) :
      Math.min(L.lowest, ...z), zmax = Math.max(...z);
    const above = z.map((v) => v - zmin).filter((d) => d > 0).sort((p, q) => p - q);
    const floor = Math.max(above.length ? above[Math.floor(0.01 * (above.length - 1))] : 1,
      (zmax - zmin) * 1e-9) || 1;
    const lo = Math.log(floor), hi = Math.log(zmax - zmin + floor);
    return { zmin, zmax,
      level: (v) => (Math.log(v - zmin + floor) - lo) / ((hi - lo) || 1),
      at: (t) => zmin + Math.exp(lo + t * (hi - lo)) - floor };
  }
  const VIRIDIS = [[68,1,84],[59,82,139],[33,145,140],[94,201,98],[253,231,37]];
  const viridis = (t) => {
    const p = Math.max(0, Math.min(1, t)) * 4, i = Math.min(3, Math.floor(p)), r = p - i;
    return "rgb(" + VIRIDIS[i].map((v, k) => Math.round(v + r * (VIRIDIS[i + 1][k] - v))).join(",") + ")"; };
  const colours = L && colourScale();
  if (L) {
    // the colour scale in words and as a bar: the loss the darkest, middle and
    // brightest cells hold, as the tables write numbers (373990400 was written whole)
    const shade = colours ? "log colour above the lowest, dark " +
      fmt(colours.zmin) + " to yellow " +
      fmt(Number(colours.zmax.toPrecision(4))) : "log colour";
    if (colours) {
      const scale = document.getElementById("landscape-scale");
      const [low, high] = scale.querySelectorAll(".end");
      low.textContent = fmt(colours.zmin);
      high.textContent = fmt(Number(colours.zmax.toPrecision(4)));
      scale.querySelector(".mid").textContent = fmt(Number(colours.at(0.5).toPrecision(3)));
      scale.querySelector(".bar").style.background = "linear-gradient(to right, " +
        [0, 0.25, 0.5, 0.75, 1].map(viridis).join(", ") + ")";
      scale.title = "the loss at each colour: the middle of the bar is " +
        "halfway on the log scale above the lowest";
      scale.hidden = false;
    }
    document.getElementById("landscape-caption").textContent =
      "the loss over " + L.labels[0] + " and " + L.labels[1] + " (" + shade + "; " + L.over +
      (L.held ? "; " + L.held : "") + "), the path and this step" + (left === null ? "" :
        "; showing " + (left === 1 ? "the start" : "steps 0-" + (left - 1)) + ": from step " +
        left + " the run left the chart (dashed red: that step, toward where it went)");
  } else {
    document.getElementById("landscape-caption").textContent = "the loss landscape needs two parameters";
  }
  // where the segment from (x0, y0), inside the plot, toward (x1, y1) leaves it
  function exitPoint(canvas, x0, y0, x1, y1) {
    const l = M.l, r = canvas.W - M.r, t = M.t, b = canvas.H - M.b;
    let s = 1;
    if (x1 < l) s = Math.min(s, (l - x0) / (x1 - x0));
    if (x1 > r) s = Math.min(s, (r - x0) / (x1 - x0));
    if (y1 < t) s = Math.min(s, (t - y0) / (y1 - y0));
    if (y1 > b) s = Math.min(s, (b - y0) / (y1 - y0));
    return [x0 + s * (x1 - x0), y0 + s * (y1 - y0)];
  }
  function buildLandscape() {
    const off = document.createElement("canvas");
    off.width = landC.width; off.height = landC.height; off.W = landC.W; off.H = landC.H;
    const ox = off.getContext("2d");
    ox.setTransform(landC.width / landC.W, 0, 0, landC.height / landC.H, 0, 0);
    const level = colours ? colours.level : () => 0;
    const xr = [L.xs[0], L.xs[L.xs.length - 1]], yr = [L.ys[0], L.ys[L.ys.length - 1]];
    const [sx, sy] = scales(landC, xr, yr);
    for (let j = 0; j < L.ys.length - 1; j++) for (let i = 0; i < L.xs.length - 1; i++) {
      const v = L.z[j][i]; ox.fillStyle = v !== null && Number.isFinite(v) ? viridis(level(v)) : "#ddd";
      ox.fillRect(sx(L.xs[i]), sy(L.ys[j + 1]), sx(L.xs[i + 1]) - sx(L.xs[i]) + 1, sy(L.ys[j]) - sy(L.ys[j + 1]) + 1);
    }
    axes(ox, off, xr, yr, L.labels[0], L.labels[1]);
    // the path up to where the run left the chart, then that step (dashed red)
    // toward where it went, as far as the chart's edge
    const at = (f) => (f.params[L.a] === null || f.params[L.b] === null) ? null :
      [sx(f.params[L.a]), sy(f.params[L.b])];
    const shown = F.filter((f) => left === null || f.step < left).map(at).filter((p) => p);
    ox.save(); clipToPlot(ox, off);
    ox.strokeStyle = "rgba(255,255,255,0.9)"; ox.lineWidth = 1; ox.beginPath();
    shown.forEach(([x, y], k) => k ? ox.lineTo(x, y) : ox.moveTo(x, y));
    ox.stroke();
    const away = left === null ? null : F.find((f) => f.step >= left);
    const to = away && at(away), from = shown[shown.length - 1];
    if (to && from) {
      const [ex, ey] = exitPoint(off, from[0], from[1], to[0], to[1]);
      ox.strokeStyle = "#d62728"; ox.lineWidth = 2; ox.setLineDash([6, 4]);
      ox.beginPath(); ox.moveTo(from[0], from[1]); ox.lineTo(ex, ey); ox.stroke(); ox.setLineDash([]);
    }
    ox.restore();
    if (L.a in D.optimum && L.b in D.optimum) { ox.fillStyle = "#d62728";
      ox.font = "20px sans-serif"; ox.fillText("★", sx(D.optimum[L.a]) - 7, sy(D.optimum[L.b]) + 7); }
    landImage = { canvas: off, sx, sy, xr, yr };
  }
  const ARROWS = ["→", "↗", "↑", "↖", "←", "↙", "↓", "↘"];
  function drawLandscape(f) {
    landX.clearRect(0, 0, landC.W, landC.H);
    if (!landImage) return;
    landX.drawImage(landImage.canvas, 0, 0, landC.W, landC.H);
    const a = f.params[L.a], b = f.params[L.b];
    if (a === null || b === null) { note(landX, landC, "this step is not finite"); return; }
    const { sx, sy, xr, yr } = landImage, x = sx(a), y = sy(b);
    landX.fillStyle = "#fde725"; landX.strokeStyle = "#000"; landX.lineWidth = 1.5;
    if (a >= xr[0] && a <= xr[1] && b >= yr[0] && b <= yr[1]) {
      landX.beginPath(); landX.arc(x, y, 6, 0, 7); landX.fill(); landX.stroke();
      return;
    }
    // off the chart: an arrow at its edge, from the plot's middle toward the point
    const cx = (M.l + landC.W - M.r) / 2, cy = (M.t + landC.H - M.b) / 2;
    const [ex, ey] = exitPoint(landC, cx, cy, x, y), angle = Math.atan2(y - cy, x - cx);
    landX.save(); landX.translate(ex, ey); landX.rotate(angle);
    landX.beginPath(); landX.moveTo(0, 0); landX.lineTo(-16, -8); landX.lineTo(-16, 8); landX.closePath();
    landX.fill(); landX.stroke(); landX.restore();
    const octant = Math.round(-angle / (Math.PI / 4));
    note(landX, landC, "this step is off the chart " + ARROWS[(octant + 8) % 8], ey < cy);
  }

  // -- the loss curves with a marker: the loss over all the data after each step
  // where it was taken; with several batches an epoch, each batch's loss before
  // its step (grey), as loss.png draws them
  const lossC = document.getElementById("loss"), lossX = lossC.getContext("2d");
  // a schedule's rates, on an axis of their own at the right (log where they
  // span over a hundredfold), as loss.png draws them
  const ratePts = F.filter((f) => f.step > 0 && f.rates && f.rates.lr !== null &&
    Number.isFinite(f.rates.lr));
  const rateVals = ratePts.map((f) => f.rates.lr);
  const rateLog = rateVals.length && Math.min(...rateVals) > 0 &&
    Math.max(...rateVals) / Math.min(...rateVals) > 100;
  const rtr = (v) => rateLog ? Math.log10(v) : v;
  const rateY = rateVals.length ? range(rateVals.map(rtr)) : null;
  const RIGHT = 66;  // the rate axis's margin
  // the loss wherever the run took it, not only at the frames' steps (a long
  // run's frames every 3000 steps skipped its descent)
  const pts = (D.loss_points || []).filter((p) => p[1] !== null && Number.isFinite(p[1]))
    .map((p) => ({ step: p[0], loss: p[1] }));
  const batchPts = D.batches_per_epoch > 1 ?
    F.filter((f) => f.step > 0 && f.batch_loss !== null && Number.isFinite(f.batch_loss)) : [];
  // taken every k-th step: mark where (a few hundred dots at most, which
  // still read as dots)
  const sparse = pts.length <= 300 && pts.length < F.length / 2;
  // the validation data's loss after each epoch, where the run had them (pink)
  const VAL_SQUARES = D.val_squares;  // the most epochs with a square each
  const valPts = (D.validation || []).filter((p) => p[1] !== null && Number.isFinite(p[1]))
    .map((p) => ({ step: p[0], val_loss: p[1] }));
  const vals = pts.map((f) => f.loss).concat(batchPts.map((f) => f.batch_loss))
    .concat(valPts.map((p) => p.val_loss));
  const useLog = vals.length && Math.min(...vals) > 0 && Math.max(...vals) / Math.min(...vals) > 100;
  const tr = (v) => useLog ? Math.log10(v) : v;
  // the optimum's loss joins the axis unless, on a log axis, it lies more than two
  // decades below the losses (1e-30 of noise-free data): then a note says where
  const hasBest = D.optimum_loss !== null && D.optimum_loss !== undefined;
  const bestShown = hasBest && (!useLog || (D.optimum_loss > 0 && D.optimum_loss >= Math.min(...vals) / 100));
  // a long run's steps on a log scale (linear from 0 to 1), as loss.png's: on a
  // linear one its whole descent was a line at step 0
  const stepAt = D.log_steps ? ((s) => s <= 1 ? s : 1 + Math.log10(s)) : null;
  const lossR = [0, stepAt ? stepAt(D.steps || 1) : D.steps || 1];
  const lossY = range(vals.concat(bestShown ? [D.optimum_loss] : []).map(tr));
  // the loss panel's scales: a step placed by stepAt where the axis is a log's
  const lossScales = (yr) => { const [sx, sy] = scales(lossC, lossR, yr);
    return [stepAt ? ((s) => sx(stepAt(s))) : sx, sy]; };
  document.getElementById("loss-caption").textContent = (batchPts.length ?
    "each batch's loss before its step (grey" + (D.frame_every > 1 ? ", one step in " +
      D.frame_every + (D.early_frames ? " and more at the start" : "") : "") +
      ") and the loss over " + D.all_rows + " after" : "the loss over " + D.all_rows + " after") +
    " each step where it was taken (blue" + (sparse ? ", dots" : "") + ")" +
    (valPts.length ? "; the validation data's loss after each epoch (pink" +
      (valPts.length <= VAL_SQUARES ? ", squares)" : ")") : "") +
    (D.optimum_loss !== null && D.optimum_loss !== undefined ? "; the optimum's loss (red, dashed)" : "") +
    (ratePts.length ? "; the learning rate each step took (orange, right axis)" : "");
  function curve(points, key, sx, sy) {
    lossX.beginPath();
    points.forEach((p, k) => { const v = sy(tr(p[key]));
      k ? lossX.lineTo(sx(p.step), v) : lossX.moveTo(sx(p.step), v); });
    lossX.stroke();
  }
  // the rate's axis at the right, its ticks and name, and its curve: each step's
  // rate held until the next drawn step's
  function drawRate() {
    const [sx, sy] = lossScales(rateY), x0 = lossC.W - M.r, bottom = lossC.H - M.b;
    lossX.strokeStyle = "#999"; lossX.lineWidth = 1; lossX.beginPath();
    lossX.moveTo(x0, M.t); lossX.lineTo(x0, bottom);
    lossX.fillStyle = "#333"; lossX.font = FONT; lossX.textAlign = "left"; lossX.textBaseline = "middle";
    const n = Math.max(2, Math.floor((bottom - M.t) / 50));
    const rs = rateLog ? logTicks(rateY, n) : ticks(rateY[0], rateY[1], n), rt = tickTexts(rs);
    rs.forEach((v, i) => {
      const at = sy(rtr(v));
      lossX.moveTo(x0, at); lossX.lineTo(x0 + 5, at); lossX.fillText(rt[i], x0 + 7, at);
    });
    lossX.stroke();
    lossX.save(); lossX.translate(lossC.W - 10, (M.t + bottom) / 2); lossX.rotate(Math.PI / 2);
    lossX.textAlign = "center"; lossX.fillText("learning rate" + (rateLog ? " (log)" : ""), 0, 0);
    lossX.restore(); lossX.textAlign = "left"; lossX.textBaseline = "alphabetic";
    lossX.save(); clipToPlot(lossX, lossC);
    lossX.strokeStyle = "#f28e2b"; lossX.lineWidth = 1.5; lossX.setLineDash([6, 3, 2, 3]);
    lossX.beginPath();
    ratePts.forEach((p, k) => { const v = sy(rtr(p.rates.lr));
      if (k) { lossX.lineTo(sx(p.step), sy(rtr(ratePts[k - 1].rates.lr))); lossX.lineTo(sx(p.step), v); }
      else lossX.moveTo(sx(p.step), v); });
    lossX.lineTo(sx(D.steps), sy(rtr(rateVals[rateVals.length - 1])));
    lossX.stroke(); lossX.setLineDash([]); lossX.restore();
  }
  function drawLoss(f) {
    const right = M.r;
    if (rateY) M.r = RIGHT;  // room for the rate's axis
    try { drawLossIn(f); if (rateY) drawRate(); } finally { M.r = right; }
  }
  function drawLossIn(f) {
    lossX.clearRect(0, 0, lossC.W, lossC.H);
    const [sx, sy] = lossScales(lossY);
    axes(lossX, lossC, lossR, lossY, stepAt ? "step (log scale)" : "step",
      "loss" + (useLog ? " (log)" : ""), useLog, stepAt);
    lossX.strokeStyle = "#9e9e9e"; lossX.lineWidth = 1; curve(batchPts, "batch_loss", sx, sy);
    lossX.strokeStyle = "#3b528b"; lossX.lineWidth = 2; curve(pts, "loss", sx, sy);
    if (sparse) { lossX.fillStyle = "#3b528b"; pts.forEach((p) => {
      lossX.beginPath(); lossX.arc(sx(p.step), sy(tr(p.loss)), 3, 0, 7); lossX.fill(); }); }
    if (valPts.length) {
      lossX.strokeStyle = "#e377c2"; lossX.lineWidth = 1.5; curve(valPts, "val_loss", sx, sy);
      // a square an epoch where they can be told apart: 400 of them hid the
      // training loss's line beneath
      lossX.fillStyle = "#e377c2";
      if (valPts.length <= VAL_SQUARES)
        valPts.forEach((p) => lossX.fillRect(sx(p.step) - 3, sy(tr(p.val_loss)) - 3, 6, 6));
    }
    if (bestShown) {
      lossX.strokeStyle = "#d62728"; lossX.setLineDash([5, 4]); lossX.beginPath();
      lossX.moveTo(sx(0), sy(tr(D.optimum_loss))); lossX.lineTo(sx(D.steps), sy(tr(D.optimum_loss)));
      lossX.stroke(); lossX.setLineDash([]);
    } else if (hasBest) {
      note(lossX, lossC, "optimum's loss " + fmt(D.optimum_loss) + ": below this axis ↓", true, "#d62728");
    }
    // this step: on the loss over all the data, or where that was not taken on
    // its batch's loss
    const here = f.loss !== null && Number.isFinite(f.loss) ? f.loss :
      batchPts.length && f.step > 0 && f.batch_loss !== null ? f.batch_loss : null;
    if (here !== null && (!useLog || here > 0)) { lossX.fillStyle = "#fde725"; lossX.strokeStyle = "#000";
      lossX.beginPath(); lossX.arc(sx(f.step), sy(tr(here)), 6, 0, 7); lossX.fill(); lossX.stroke(); }
  }

  // -- the table and the batch
  // a number in a cell may break before its exponent, nowhere else (a narrow
  // card: two cards side by side at 840 px hold 400 px each)
  const cell = (v) => fmt(v).replace("e", "<wbr>e");
  const tbody = document.querySelector("#values tbody");
  D.params.forEach((p) => { const tr_ = document.createElement("tr");
    tr_.innerHTML = "<td></td><td data-param='" + p + "'></td><td data-grad='" + p +
      "'></td><td>" + (p in D.optimum ? cell(D.optimum[p]) : "–") + "</td>";
    // a slope by its x column's name, as the pictures name it (text: a column's
    // name is the user's)
    tr_.firstChild.textContent = (D.param_labels && D.param_labels[p]) || p;
    tbody.appendChild(tr_); });
  function drawTable(f) {
    D.params.forEach((p) => {
      document.querySelector("[data-param='" + p + "']").innerHTML = cell(f.params[p]);
      document.querySelector("[data-grad='" + p + "']").innerHTML = cell(f.grads[p]); });
    // a schedule's rate (and a cycled momentum) the step used
    const rates = f.rates && f.step > 0 ? " · this step's " + Object.keys(f.rates).map((k) =>
      (k === "lr" ? "rate" : k) + " " + fmt(f.rates[k])).join(", ") : "";
    document.getElementById("losses").textContent = f.step === 0 ? "the start: loss over " + D.all_rows + " " + fmt(f.loss) :
      "batch loss " + fmt(f.batch_loss) + " (before the update) · running loss as Keras logs it " +
      fmt(f.running_loss) + " · loss over " + D.all_rows + " after the step " +
      (f.loss !== null ? fmt(f.loss) :
        f.loss_taken ? "not finite" : "not taken at this step (--eval-every)") +
      (f.val_loss !== undefined && f.val_loss !== null ?
        " · validation loss after the epoch " + fmt(f.val_loss) : "") + rates;
    document.getElementById("rows").textContent = f.step === 0 ? "" :
      f.n_rows === D.n_rows ? "this batch: every row (full-batch gradient descent)" :
      "rows in this batch (" + f.n_rows + "): " + (f.labels || f.rows).join(", ") + (f.n_rows > f.rows.length ? ", …" : "");
  }

  function show(k) {
    const f = F[k];
    slider.value = String(k);
    label.textContent = "step " + f.step + " of " + D.steps + (f.step ? " · epoch " + f.epoch + ", batch " + f.batch : "");
    drawFit(f, k); drawLandscape(f); drawLoss(f); drawTable(f);
  }
  // report.html#step=8 opens at step 8 (or the nearest frame kept), and the
  // address follows the slider, so a step can be linked to and screenshotted
  const frameOf = (step) => {
    let best = 0;
    F.forEach((f, i) => { if (Math.abs(f.step - step) < Math.abs(F[best].step - step)) best = i; });
    return best;
  };
  const asked = /(?:^#|&)step=(\d+)/.exec(location.hash);
  if (asked) slider.value = String(frameOf(Number(asked[1])));
  const follow = () => {
    try { history.replaceState(null, "", "#step=" + F[Number(slider.value)].step); } catch (e) { /* a page that may not */ }
  };
  slider.addEventListener("input", () => { show(Number(slider.value)); follow(); });
  // the canvases sized to their cards, again when the window's width changes
  function layout() {
    [fitC, landC, lossC].forEach(fitCanvas);
    if (L) buildLandscape();
    show(Number(slider.value));
  }
  let resizing = null;
  window.addEventListener("resize", () => {
    if (resizing === null) resizing = requestAnimationFrame(() => { resizing = null; layout(); });
  });
  let timer = null;
  play.addEventListener("click", () => {
    // the address follows where play stops, as it follows the slider
    if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ play"; follow(); return; }
    if (Number(slider.value) >= F.length - 1) show(0);
    play.textContent = "❚❚ pause";
    timer = setInterval(() => { const k = Number(slider.value) + 1;
      if (k >= F.length) { clearInterval(timer); timer = null; play.textContent = "▶ play"; follow(); return; }
      show(k); }, Math.max(30, Math.min(400, 8000 / F.length)));
  });
  layout();
})();
