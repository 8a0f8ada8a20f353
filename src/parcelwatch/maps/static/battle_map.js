/* parcelwatch battle map (挂图作战). Our own code; Leaflet is inlined from xstatic-leaflet. */
(function () {
  "use strict";
  // Compact columnar data (see battle_map.py _features): keys once, coordinates as integer
  // micro-degree deltas. Decode into GeoJSON FeatureCollections.
  function decode(packed) {
    var features = [], cols = packed.columns, vals = packed.values, scale = packed.scale;
    for (var i = 0; i < packed.geoms.length; i++) {
      var props = {};
      for (var c = 0; c < cols.length; c++) props[cols[c]] = vals[c][i];
      var g = packed.geoms[i];
      if (g.length === 2 && typeof g[0] === "number") {  // a point problem: [x, y]
        features.push({ type: "Feature", geometry: { type: "Point", coordinates: [g[0] / scale, g[1] / scale] }, properties: props });
        continue;
      }
      var polys = g.map(function (rings) {
        return rings.map(function (r) {
          var out = [], x = 0, y = 0;
          for (var k = 0; k < r.length; k += 2) { x += r[k]; y += r[k + 1]; out.push([x / scale, y / scale]); }
          return out;
        });
      });
      var geom = polys.length === 1 ? { type: "Polygon", coordinates: polys[0] } : { type: "MultiPolygon", coordinates: polys };
      features.push({ type: "Feature", geometry: geom, properties: props });
    }
    return { type: "FeatureCollection", features: features };
  }
  var cfg = JSON.parse(document.getElementById("pw-config").textContent);
  var data = decode(JSON.parse(document.getElementById("pw-data").textContent));
  var ctx = JSON.parse(document.getElementById("pw-context").textContent);
  Object.keys(ctx).forEach(function (k) { ctx[k].data = decode(ctx[k].data); });
  var S = cfg.statusStyle, L_ = cfg.labels;
  var CLASSES = ["I", "II", "III", "conversion", "none"];

  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function num(v) { return typeof v === "number" ? v : 0; }
  function fmt(v) { return (Math.round(num(v) * 100) / 100).toFixed(2); }
  function el(id) { return document.getElementById(id); }

  el("pw-title").textContent = (cfg.county || "") + cfg.title;
  el("pw-meta").innerHTML = "数据日期：" + esc(cfg.dataDate || "—") + "<br>生成时间：" + esc(cfg.generated) +
    "<br>图斑总数：" + data.features.length;

  var map = L.map("pw-map", { preferCanvas: true, zoomControl: true, attributionControl: true, fadeAnimation: false, zoomAnimation: false });
  var renderer = L.canvas({ padding: 0.5 });
  var baseLayers = {}, overlays = {};

  // ---- basemap (none by default; online layers fail quietly when offline)
  var bm = cfg.basemap || { kind: "none" };
  baseLayers["无底图"] = L.layerGroup().addTo(map);
  // 天地图 with --tianditu-key-at-view: the key is asked for here and kept in this browser only.
  var KEY_STORE = "parcelwatch.tianditu_key";
  function storedKey() { try { return window.localStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; } }
  var askedKey = bm.askKey ? storedKey() : "";
  if (bm.askKey) {
    var box = document.createElement("form"); box.id = "pw-tk-form";
    var input = document.createElement("input"); input.id = "pw-tk"; input.type = "password"; input.placeholder = "天地图密钥（tk）";
    input.setAttribute("aria-label", "天地图密钥"); input.autocomplete = "off";
    var save = document.createElement("button"); save.type = "submit"; save.textContent = askedKey ? "更换密钥" : "使用密钥";
    var forget = document.createElement("button"); forget.type = "button"; forget.id = "pw-tk-forget"; forget.textContent = "清除密钥";
    var hint = document.createElement("div"); hint.className = "pw-tk-hint";
    hint.textContent = askedKey ? "天地图密钥已保存在本浏览器中（不在文件里）。" : "输入天地图密钥以显示底图；密钥只保存在本浏览器中，不写入文件。";
    box.appendChild(input); box.appendChild(save); box.appendChild(forget); box.appendChild(hint);
    el("pw-header").appendChild(box);
    box.addEventListener("submit", function (e) {
      e.preventDefault();
      var k = String(input.value || "").trim();
      if (!k) return;
      try { window.localStorage.setItem(KEY_STORE, k); } catch (err) { /* private mode: this view only */ }
      window.location.reload();
    });
    forget.addEventListener("click", function () { try { window.localStorage.removeItem(KEY_STORE); } catch (err) { /* nothing kept */ } window.location.reload(); });
  }
  if ((bm.kind === "tianditu" && (!bm.askKey || askedKey)) || bm.kind === "xyz" || bm.kind === "amap") {
    var group = L.layerGroup((bm.layers || []).map(function (u) {
      return L.tileLayer(bm.askKey ? u + encodeURIComponent(askedKey) : u, { subdomains: bm.subdomains || "abc", attribution: bm.attribution || "", maxZoom: 20, errorTileUrl: "" });
    }));
    var name = bm.kind === "tianditu" ? "天地图" : bm.kind === "amap" ? "高德地图" : "内网底图";
    baseLayers[name] = group;
    map.removeLayer(baseLayers["无底图"]);
    group.addTo(map);
  } else if (bm.kind === "image") {
    var b = bm.bounds;
    var img = L.imageOverlay(bm.data, [[b[1], b[0]], [b[3], b[2]]], { opacity: 1 });
    baseLayers["影像"] = img;
    map.removeLayer(baseLayers["无底图"]);
    img.addTo(map);
  }
  if (bm.notice) { el("pw-notice").textContent = bm.notice; }
  if (cfg.warning) { var warn = el("pw-warning"); warn.textContent = cfg.warning; warn.style.display = "block"; }

  // ---- context layers (off by default where heavy)
  Object.keys(ctx).forEach(function (name) {
    var c = ctx[name], st = c.style;
    var layer = L.geoJSON(c.data, {
      renderer: renderer, interactive: !!st.interactive,
      style: function (f) { return { color: st.color, weight: st.weight, fill: st.fill, fillColor: (f && f.properties.fill) || st.color, fillOpacity: st.fillOpacity || 0, dashArray: st.dashArray || null }; },
      onEachFeature: function (f, l) { if (st.interactive && f.properties.label) { l.bindTooltip(esc(f.properties.label), { sticky: true }); } }
    });
    overlays[st.label] = layer;
    if (st.visible) { layer.addTo(map); }
  });

  // ---- problems: one layer per class, rebuilt when filters change
  var state = { township: "", overdue: false, statuses: {}, classes: {} };
  Object.keys(S).forEach(function (s) { state.statuses[s] = !!S[s].visible; });
  CLASSES.forEach(function (c) { state.classes[c] = true; });
  var classLayers = {}, byId = {}, drawn = [];

  // Overdue (逾期) is not a status: it gets its own outline (cfg.overdueStyle, neutral black and
  // dashed) and keeps the status fill, so an overdue 未核查 still reads yellow, never red.
  var OD = cfg.overdueStyle;
  function style(f) {
    var p = f.properties, st = S[p.status] || { color: "#999", stroke: "#444" };
    var s = { renderer: renderer, color: st.stroke, weight: 1.5, fillColor: st.color, fillOpacity: 0.55, opacity: 1 };
    if (f.geometry && f.geometry.type === "Point") { s.radius = 8; s.weight = 2; s.fillOpacity = 0.9; }
    if (p.overdue) { s.color = OD.color; s.weight = OD.weight; s.dashArray = OD.dashArray; }
    return s;
  }

  // Popups are built from DOM nodes: every value is inserted as text, never parsed as HTML.
  function node(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }
  function popupNode(p) {
    var table = node("table");
    function row(key, value, cls) {
      if (value === null || value === undefined || value === "") return;
      var tr = node("tr");
      tr.appendChild(node("th", L_[key] || key));
      var td = typeof value === "object" ? node("td", null, cls) : node("td", value, cls);
      if (typeof value === "object") td.appendChild(value);
      tr.appendChild(td);
      table.appendChild(tr);
    }
    function text(v) { return v === null || v === undefined ? "" : String(v); }
    row("parcel_ids", text(p.parcel_ids)); row("problem_id", text(p.problem_id)); row("batch", text(p.batch));
    row("source", text(p.source));
    row("township_name", text(p.township_name) + (p.village_name ? " " + p.village_name : ""));
    row("candidate_class", text(cfg.classNames[p.candidate_class] || p.candidate_class || ""));
    row("confirmed_class", text(cfg.classNames[p.confirmed_class] || p.confirmed_class || ""));
    row("status", text(p.status));
    row("reasons", text(p.reasons));
    row("parcel_area_mu", p.parcel_area_mu === null || p.parcel_area_mu === undefined ? "" : fmt(p.parcel_area_mu));
    // a figure from a layer that was not given is 未检查 (not checked), never 0
    row("farmland_mu", p.farmland_mu === null || p.farmland_mu === undefined ? "未检查" : fmt(p.farmland_mu));
    row("pbf_mu", p.pbf_mu === null || p.pbf_mu === undefined ? "未检查" : fmt(p.pbf_mu));
    row("measure", text(p.measure)); row("deadline", text(p.deadline));
    if (p.overdue) { row("days_overdue", "逾期 " + text(p.days_overdue) + " 天", "pw-overdue"); }
    row("responsible_unit", text(p.responsible_unit)); row("responsible_person", text(p.responsible_person));
    if (p.recent_events && p.recent_events.length) {
      var ul = node("ul");
      p.recent_events.forEach(function (e) { ul.appendChild(node("li", e)); });
      row("recent_events", ul);
    }
    if (p.chip_before || p.chip_after) {
      var chips = document.createDocumentFragment();
      [["前时相", p.chip_before], ["后时相", p.chip_after]].forEach(function (c) {
        if (typeof c[1] !== "string" || c[1].indexOf("data:image/") !== 0) return;  // our own inlined chips only
        var img = node("img"); img.alt = c[0]; img.src = c[1]; chips.appendChild(img);
      });
      if (chips.childNodes.length) row("chip_before", chips);
    }
    var div = node("div", null, "pw-popup");
    div.appendChild(table);
    return div;
  }

  // A problem entered as a point (lon/lat, no polygon) is a circle marker in its status colour.
  function pointToLayer(f, latlng) { return L.circleMarker(latlng, style(f)); }

  function visible(p) {
    if (!state.statuses[p.status]) return false;
    if (state.township && p.township_name !== state.township) return false;
    if (state.overdue && !p.overdue) return false;
    return true;
  }

  CLASSES.forEach(function (c) {
    classLayers[c] = L.geoJSON(null, {
      style: style, pointToLayer: pointToLayer,
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () { return popupNode(f.properties); }, { maxWidth: 460 });
        byId[f.properties.problem_id] = layer;
        String(f.properties.parcel_ids || "").split(/[,，;；\s]+/).forEach(function (pid) { if (pid) byId[pid] = layer; });
        drawn.push(f.properties);
      }
    });
    overlays[cfg.classNames[c]] = classLayers[c];
    classLayers[c].addTo(map);
  });

  function redraw() {
    byId = {}; drawn = [];
    CLASSES.forEach(function (c) {
      classLayers[c].clearLayers();
      classLayers[c].addData({ type: "FeatureCollection", features: data.features.filter(function (f) { return f.properties.map_class === c && visible(f.properties); }) });
    });
    stats();
  }

  map.on("overlayadd overlayremove", function (e) {
    CLASSES.forEach(function (c) { if (e.layer === classLayers[c]) { state.classes[c] = e.type === "overlayadd"; } });
    stats();
  });
  L.control.layers(baseLayers, overlays, { collapsed: true }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  // ---- filters
  var towns = {};
  data.features.forEach(function (f) { if (f.properties.township_name) towns[f.properties.township_name] = 1; });
  Object.keys(towns).sort().forEach(function (t) {
    var o = document.createElement("option"); o.value = t; o.textContent = t; el("pw-township").appendChild(o);
  });
  el("pw-township").addEventListener("change", function (e) { state.township = e.target.value; redraw(); fitVisible(); });
  el("pw-overdue").addEventListener("change", function (e) { state.overdue = e.target.checked; redraw(); });
  Object.keys(S).forEach(function (s) {
    var lab = document.createElement("label");
    lab.innerHTML = '<input type="checkbox" data-status="' + esc(s) + '"' + (state.statuses[s] ? " checked" : "") + '><span class="pw-swatch" style="background:' + S[s].color + '"></span>' + esc(s);
    el("pw-status-filters").appendChild(lab);
  });
  el("pw-status-filters").addEventListener("change", function (e) {
    state.statuses[e.target.getAttribute("data-status")] = e.target.checked; redraw();
  });
  CLASSES.forEach(function (c) {
    var lab = document.createElement("label");
    lab.innerHTML = '<input type="checkbox" data-class="' + c + '" checked>' + esc(cfg.classNames[c]);
    el("pw-class-filters").appendChild(lab);
  });
  el("pw-class-filters").addEventListener("change", function (e) {
    var c = e.target.getAttribute("data-class");
    if (e.target.checked) { classLayers[c].addTo(map); } else { map.removeLayer(classLayers[c]); }
  });

  // ---- search
  function search(q) {
    q = String(q || "").trim();
    var layer = byId[q];
    if (!layer) {
      var hit = data.features.filter(function (f) { return f.properties.problem_id === q || String(f.properties.parcel_ids || "").split(/[,，;；\s]+/).indexOf(q) >= 0; })[0];
      el("pw-search-msg").textContent = hit ? "该图斑被筛选隐藏（状态：" + hit.properties.status + "），请调整筛选条件" : "未找到：" + q;
      return false;
    }
    var cls = layer.feature.properties.map_class;
    if (!map.hasLayer(classLayers[cls])) { classLayers[cls].addTo(map); }
    el("pw-search-msg").textContent = "";
    if (layer.getLatLng) { map.setView(layer.getLatLng(), 17, { animate: false }); } else { map.fitBounds(layer.getBounds(), { maxZoom: 18, animate: false }); }
    layer.openPopup();
    return true;
  }
  el("pw-search-go").addEventListener("click", function () { search(el("pw-search").value); });
  el("pw-search").addEventListener("keydown", function (e) { if (e.key === "Enter") search(e.target.value); });

  // ---- statistics: figures precomputed in Python (parcelwatch.ledger.figures), looked up by
  // township; the page never recomputes a figure, so it says what the forms and `ledger stats` say.
  var F = cfg.figures;
  function stats() {
    var sc = state.township ? F.scopes[state.township] : F.county;
    var FL = F.labels;
    if (!sc) { el("pw-stats").innerHTML = ""; return; }
    var h = '<div>' + esc(FL.completion_rate) + '：<span class="pw-rate" id="pw-rate">' + esc(sc.rate) +
      "</span>（已销号 " + sc.closed + " / " + esc(FL.confirmed) + " " + sc.confirmed + "）</div>";
    h += '<div class="pw-def">' + esc(F.definition) + "</div>";
    h += '<div id="pw-illegal">' + esc(FL.illegal_confirmed) + "：" + esc(sc.illegal_confirmed_mu) + " 亩；" +
      esc(FL.illegal_candidate) + "：" + esc(sc.illegal_candidate_mu) + " 亩</div>";
    h += '<table class="pw-table" id="pw-by-status"><thead><tr><th>状态</th><th>个数</th><th>面积(亩)</th></tr></thead><tbody>';
    sc.by_status.forEach(function (r) {
      var st = S[r.name] || { color: "#999" };
      h += '<tr data-status="' + esc(r.name) + '"><td><span class="pw-swatch" style="background:' + st.color + '"></span> ' + esc(r.name) + "</td><td>" + r.count + "</td><td>" + esc(r.parcel_mu) + "</td></tr>";
    });
    h += '</tbody></table><table class="pw-table" id="pw-by-class"><thead><tr><th>类别</th><th>个数</th><th>面积(亩)</th></tr></thead><tbody>';
    sc.by_class.forEach(function (r) { h += "<tr><td>" + esc(r.name) + "</td><td>" + r.count + "</td><td>" + esc(r.parcel_mu) + "</td></tr>"; });
    h += '</tbody></table><table class="pw-table" id="pw-by-source"><thead><tr><th>问题来源</th><th>个数</th><th>' + esc(FL.confirmed) +
      "</th><th>已销号</th><th>" + esc(FL.completion_rate) + "</th><th>面积(亩)</th></tr></thead><tbody>";
    (sc.by_source || []).forEach(function (r) { h += "<tr><td>" + esc(r.name) + "</td><td>" + r.count + "</td><td>" + r.confirmed + "</td><td>" + r.closed + "</td><td>" + esc(r.rate) + "</td><td>" + esc(r.parcel_mu) + "</td></tr>"; });
    h += '</tbody></table><table class="pw-table" id="pw-by-township"><thead><tr><th>乡镇</th><th>图斑</th><th>' + esc(FL.confirmed) +
      "</th><th>已销号</th><th>整改中</th><th>逾期</th><th>" + esc(FL.completion_rate) + "</th><th>面积(亩)</th></tr></thead><tbody>";
    F.townships.forEach(function (r) {
      if (state.township && r.name !== state.township) return;
      h += "<tr><td>" + esc(r.name) + "</td><td>" + r.count + "</td><td>" + r.confirmed + "</td><td>" + r.closed + "</td><td>" + r.rectifying + "</td><td>" + r.overdue + "</td><td>" + esc(r.rate) + "</td><td>" + esc(r.parcel_mu) + "</td></tr>";
    });
    el("pw-stats").innerHTML = h + "</tbody></table>";
  }

  (function legend() {
    var h = "<strong>图例</strong><div>";
    Object.keys(S).forEach(function (s) { h += '<div><span class="pw-swatch" style="background:' + S[s].color + ";border-color:" + S[s].stroke + '"></span> ' + esc(s) + (S[s].visible ? "" : "（默认隐藏）") + "</div>"; });
    h += '<div id="pw-legend-overdue"><span class="pw-swatch" style="border:2px dashed ' + OD.color + ';background:transparent"></span> ' + esc(OD.label) + "</div></div>";
    el("pw-legend").innerHTML = h;
    if (cfg.links && cfg.links.length) {
      el("pw-links").innerHTML = "<strong>分乡镇地图</strong><ul>" + cfg.links.map(function (l) { return '<li><a href="' + esc(l.href) + '">' + esc(l.label) + "</a></li>"; }).join("") + "</ul>";
    }
  })();

  function fitVisible() {
    var b = L.latLngBounds([]);
    CLASSES.forEach(function (c) { if (map.hasLayer(classLayers[c]) && classLayers[c].getLayers().length) b.extend(classLayers[c].getBounds()); });
    if (!b.isValid()) {
      var all = L.geoJSON(data, { pointToLayer: pointToLayer }); if (all.getLayers().length) b = all.getBounds();
      Object.keys(overlays).forEach(function (k) { if (map.hasLayer(overlays[k]) && overlays[k].getBounds && overlays[k].getLayers().length) b.extend(overlays[k].getBounds()); });
    }
    if (b.isValid()) map.fitBounds(b, { padding: [20, 20], animate: false }); else map.setView([35, 110], 5);
  }

  redraw();
  fitVisible();

  // Test and automation hook.
  window.pw = {
    map: map,
    drawnByStatus: function () {
      var out = {};
      CLASSES.forEach(function (c) {
        if (!map.hasLayer(classLayers[c])) return;
        classLayers[c].eachLayer(function (l) { var s = l.feature.properties.status; out[s] = (out[s] || 0) + 1; });
      });
      return out;
    },
    search: search,
    markers: function () {  // the point problems drawn as markers, with their colours
      var out = [];
      CLASSES.forEach(function (c) {
        if (!map.hasLayer(classLayers[c])) return;
        classLayers[c].eachLayer(function (l) {
          if (l instanceof L.CircleMarker) out.push({ problem_id: l.feature.properties.problem_id, status: l.feature.properties.status, fillColor: l.options.fillColor, color: l.options.color });
        });
      });
      return out;
    },
    setTownship: function (t) { el("pw-township").value = t; state.township = t; redraw(); fitVisible(); },
    openPopupId: function () { var p = map._popup; return p && map.hasLayer(p) && p._source ? p._source.feature.properties.problem_id : null; },
    ready: true
  };
})();
