// Hazard Ledger web map: hazard areas coloured by residual hazard for the date on the
// slider, places, an area's detail (curve and records) and the priority list. Every
// request carries the user's API token; nothing is fetched from outside this server.
// Everything the ledger holds is shown as text (textContent, text nodes), never parsed as
// HTML: a name can be anything a user typed, and the token sits in this tab.
"use strict";

// What people read, in their language: the server's gettext catalog (map-text.json) for
// the language asked (?lang=uk) or the browser's; English where it has no entry.
let TEXT = {};
function tr(text, values = {}) {
  let out = TEXT[text] || text;
  for (const [k, v] of Object.entries(values)) out = out.replaceAll(`{${k}}`, String(v));
  return out;
}

function chosenLanguage() {
  const asked = new URLSearchParams(window.location.search).get("lang");
  const wanted = (asked || navigator.language || "en").toLowerCase();
  return wanted.startsWith("uk") ? "uk" : "en";
}

async function loadText() {
  const lang = chosenLanguage();
  document.documentElement.lang = lang;
  if (lang !== "en") {
    try {
      TEXT = await (await fetch(`map-text.json?lang=${lang}`)).json();
    } catch (e) {
      TEXT = {};  // the page still works, in English
    }
  }
  for (const node of document.querySelectorAll("[data-text]")) {
    node.textContent = tr(node.dataset.text);
  }
  for (const node of document.querySelectorAll("[data-label]")) {
    node.setAttribute("aria-label", tr(node.dataset.label));
  }
}

// labels translated where drawn (the catalog arrives after this runs)
const CLASSES = [[0.5, "#ffffb2", "below 0.5"], [5, "#fecc5c", "0.5 – 5"],
                 [50, "#fd8d3c", "5 – 50"], [500, "#f03b20", "50 – 500"],
                 [Infinity, "#bd0026", "500 and more"]];
const NOT_MODELLED = "#bdbdbd";
const state = { token: sessionStorage.getItem("hazardledger-token"), areas: {}, hazard: {},
                layer: null, selected: null, checkpoints: [], asOf: null };

function colour(expected) {
  if (expected === undefined || expected === null) return NOT_MODELLED;
  return CLASSES.find(([upper]) => expected < upper)[1];
}

function isoDay(offsetDays) {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + Number(offsetDays));
  return d.toISOString().slice(0, 10);
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
  if (response.status === 401) { showLogin(tr("That token was refused.")); throw new Error("401"); }
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

// A computed collection at national scale is prepared by the server in the background: until
// it is ready the server answers 503 BeingPrepared with its progress, and the map says so and
// asks again, unless the slider has moved on to another date (then null).
async function preparedApi(path, asOf) {
  for (;;) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
    if (response.status === 503) {
      const body = await response.json().catch(() => ({}));
      if (body.code === "BeingPrepared") {
        const now = body.preparing;
        status(now && now.date === asOf
          ? tr("Figures for {date} are being prepared: pass {pass}, {share} % done.", {
              date: asOf, pass: now.pass,
              share: Math.round(100 * now.blocks_done / Math.max(now.blocks, 1)) })
          : tr("Figures for {date} are being prepared: {n} dates before it.", {
              date: asOf, n: body.waiting_before }));
        await sleep(1000 * Math.min(Number(response.headers.get("Retry-After")) || 2, 30));
        if (state.asOf !== asOf) return null;
        continue;
      }
    }
    if (response.status === 401) { showLogin(tr("That token was refused.")); throw new Error("401"); }
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    return response.json();
  }
}

async function loadCheckpoints() {
  const prepared = await api("prepared");
  state.checkpoints = prepared.checkpoints.map(c => c.date);
  const slider = document.getElementById("date");
  slider.max = String(state.checkpoints.length - 1);
  const today = isoDay(0);
  const at = state.checkpoints.findIndex(d => d >= today);
  slider.value = String(at < 0 ? state.checkpoints.length - 1 : at);
}

function status(text) { document.getElementById("status").textContent = text; }

function showLogin(message) {
  const form = document.getElementById("login");
  form.hidden = false;
  if (message) status(message);
}

const map = L.map("map", { preferCanvas: false, zoomSnap: 0.25 });
map.setView([49, 32], 5);
L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(map);
const LABELLED = 10000;  // places of at least this many people carry their name on the map

async function drawBasemap() {
  // Tiles only if an admin set a tile server in the ledger's settings (the page's policy
  // then allows images from that one host); otherwise the outlines this server ships.
  const { tiles } = await (await fetch("map-settings.json")).json();
  if (tiles) {
    L.tileLayer(tiles.url, { maxZoom: 19, attribution: "" }).addTo(map);
    const credit = L.control({ position: "bottomright" });
    credit.onAdd = () => {
      const box = L.DomUtil.create("div", "tile-attribution");
      box.textContent = tiles.attribution;  // text: Leaflet's own control would parse HTML
      return box;
    };
    credit.addTo(map);
    return;
  }
  const outlines = await (await fetch("basemap.geojson")).json();
  L.geoJSON(outlines, { interactive: false,
    style: { color: "#888", weight: 1, fillColor: "#f2efe9", fillOpacity: 1 } }).addTo(map);
}

function drawLegend() {
  const legend = document.getElementById("legend");
  legend.replaceChildren();
  for (const [, fill, label] of [...CLASSES, [null, NOT_MODELLED, "not modelled"]]) {
    const swatch = document.createElement("span");
    swatch.style.background = fill;  // CSSOM, allowed by a strict style-src
    legend.append(swatch, document.createTextNode(tr(label)));
  }
}

function textElement(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

async function drawAreas() {
  const areas = await api("collections/hazard_areas/items?limit=10000");
  state.layer = L.geoJSON(areas, {
    style: () => ({ color: "#404040", weight: 1, fillOpacity: 0.85, fillColor: NOT_MODELLED,
                    className: "hazard-area" }),
    onEachFeature: (feature, layer) => {
      state.areas[feature.id] = { feature, layer };
      layer.getElement?.()?.setAttribute("data-area", feature.id);
      layer.on("click", () => openDetail(feature.id));
    },
  }).addTo(map);
  for (const [id, { layer }] of Object.entries(state.areas)) {
    layer.getElement().setAttribute("data-area", id);
  }
  if (areas.features.length) map.fitBounds(state.layer.getBounds(), { padding: [20, 20] });
  return areas.features.length;
}

async function drawPlaces() {
  // places within about 50 km of the hazard areas
  const b = state.layer.getBounds(), m = 0.5;
  const bbox = [b.getWest() - m, b.getSouth() - m, b.getEast() + m, b.getNorth() + m]
    .map(v => v.toFixed(4));
  const places = await api(`collections/places/items?limit=10000&bbox=${bbox.join(",")}`);
  L.geoJSON(places, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, {
      radius: 2 + 10 * Math.sqrt(f.properties.population / 100000), color: "#fff", weight: 0.5,
      fillColor: "#3182bd", fillOpacity: 0.6, className: "place" }),
    onEachFeature: (f, layer) => {
      if (Number(f.properties.population) >= LABELLED) {
        layer.bindTooltip(textElement(f.properties.name), { permanent: true,
          direction: "right", offset: [6, 0], className: "place-label" });
      } else {
        layer.bindTooltip(textElement(
          `${f.properties.name} (${Number(f.properties.population).toLocaleString()})`));
      }
    },
  }).addTo(map);
}

async function colourFor(index) {
  const asOf = state.checkpoints[Number(index)];
  state.asOf = asOf;
  document.getElementById("date-label").textContent = asOf;
  status(tr("computing residual hazard on {date}…", { date: asOf }));
  const hazard = await preparedApi(
    `collections/residual_hazard/items?limit=10000&as_of=${asOf}`, asOf);
  if (hazard === null || state.asOf !== asOf) return;  // the slider moved on meanwhile
  state.hazard = {};
  for (const f of hazard.features) state.hazard[f.id] = f.properties;
  for (const [id, { layer }] of Object.entries(state.areas)) {
    const fill = colour(state.hazard[id]?.expected_q50);
    layer.setStyle({ fillColor: fill });
    layer.getElement().setAttribute("data-fill", fill);
  }
  document.body.dataset.asOf = asOf;
  if (hazard.figures && hazard.figures.state === "earlier") {
    // the ledger was written to since: these are its figures from just before, said so,
    // and asked for again until the present state's are ready
    status(tr("Figures from before the latest edits ({n}), while they are brought up to date.",
              { n: hazard.figures.writes_since ?? "?" }));
    setTimeout(() => { if (state.asOf === asOf) colourFor(index); }, 2000);
  } else {
    status(tr("{n} areas modelled on {date} (scenario pessimistic).",
              { n: hazard.numberReturned, date: asOf }));
  }
  await listPriorities(asOf);
  if (state.selected) openDetail(state.selected);
}

async function listPriorities(asOf) {
  const ranked = await preparedApi(`collections/priorities/items?limit=20&as_of=${asOf}`,
                                   asOf);
  if (ranked === null || state.asOf !== asOf) return;
  const list = document.getElementById("priority-list");
  list.replaceChildren();
  for (const f of ranked.features) {
    const p = f.properties;
    const item = document.createElement("li");
    item.textContent = `${p.id} ${p.name}: ` + tr("score {score} ({low}–{high})", {
      score: p.score.toFixed(2), low: p.score_q05.toFixed(2), high: p.score_q95.toFixed(2) });
    item.addEventListener("click", () => openDetail(p.id));
    list.appendChild(item);
  }
}

function fmt(v) { return v === null || v === undefined ? "–" : Number(v).toLocaleString(
  undefined, { maximumSignificantDigits: 3 }); }

async function openDetail(id) {
  state.selected = id;
  const { feature, layer } = state.areas[id];
  map.fitBounds(layer.getBounds(), { maxZoom: 13 });
  const p = feature.properties, h = state.hazard[id] || {};
  document.getElementById("detail").hidden = false;
  document.getElementById("detail-title").textContent = `${id} ${p.name}`;
  const rows = [[tr("classification"), p.classification], [tr("status"), p.status],
    [tr("land use"), p.land_use], [tr("expected functioning (90 %)"),
      h.expected_q50 === undefined ? tr("no records") :
      `${fmt(h.expected_q50)} (${fmt(h.expected_q05)}–${fmt(h.expected_q95)})`],
    [tr("P(any functions)"), h.p_any_mean === undefined ? "–" :
      `${fmt(h.p_any_mean)} (${fmt(h.p_any_q05)}–${fmt(h.p_any_q95)})`],
    [tr("likely inert by (model estimate, not a land release)"),
      h.inert_by_q50 ?? tr("beyond 30 y")]];
  const table = document.getElementById("detail-facts");
  table.replaceChildren();
  for (const [k, v] of rows) {
    const row = table.insertRow();
    row.insertCell().textContent = k;
    row.insertCell().textContent = v ?? "–";
  }
  const records = await api(`collections/records/items?limit=1000&area_id=${encodeURIComponent(id)}`);
  const list = document.getElementById("detail-records");
  list.replaceChildren();
  for (const r of records.features) {
    const li = document.createElement("li");
    const count = r.properties.count ?? tr("count unknown");
    li.textContent = `${r.id}: ${r.properties.item_type}, ` + tr(
      "{count}, laid {date} ({source})", { count: count,
        date: r.properties.laid_from.slice(0, 10), source: r.properties.source });
    list.appendChild(li);
  }
  if (records.features.length) drawCurve(await api(`areas/${encodeURIComponent(id)}/curve`));
  else document.getElementById("curve").replaceChildren();
}

function drawCurve(curve) {
  const svg = document.getElementById("curve"), w = 320, h = 160, pad = 24;
  const days = curve.date.map(d => Date.parse(d));
  const top = Math.max(...curve.expected_q95, 1e-9);
  const x = t => pad + (w - 2 * pad) * (t - days[0]) / Math.max(days.at(-1) - days[0], 1);
  const y = v => h - pad - (h - 2 * pad) * v / top;
  const line = vals => vals.map((v, i) => `${x(days[i]).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const band = line(curve.expected_q95) + " " +
    line(curve.expected_q05).split(" ").reverse().join(" ");
  const now = Date.parse(document.body.dataset.asOf);
  const shape = (name, attributes, text) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", name);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  svg.replaceChildren(
    shape("polygon", { points: band, fill: "#fdae6b", opacity: 0.6 }),
    shape("polyline", { points: line(curve.expected_q50), fill: "none", stroke: "#d7301f",
                        "stroke-width": 1.5 }),
    shape("line", { x1: x(now), x2: x(now), y1: pad, y2: h - pad, stroke: "#333",
                    "stroke-dasharray": 3 }),
    shape("text", { x: pad, y: 14, "font-size": 10 }, fmt(top)),
    shape("text", { x: pad, y: h - 6, "font-size": 10 }, curve.date[0]),
    shape("text", { x: w - pad, y: h - 6, "font-size": 10, "text-anchor": "end" },
          curve.date.at(-1)));
}

async function start() {
  if (!state.token) { showLogin(tr("Enter your API token to open the ledger.")); return; }
  document.getElementById("login").hidden = true;
  drawLegend();
  await drawBasemap();
  const n = await drawAreas();
  await drawPlaces();
  await loadCheckpoints();
  const slider = document.getElementById("date");
  slider.addEventListener("change", () => colourFor(slider.value));
  await colourFor(slider.value);
  document.body.dataset.ready = String(n);
}

document.getElementById("login").addEventListener("submit", event => {
  event.preventDefault();
  state.token = document.getElementById("token").value.trim();
  sessionStorage.setItem("hazardledger-token", state.token);
  start().catch(e => status(String(e)));
});
loadText().then(start).catch(e => status(String(e)));
