// The authorities' dashboard: charts (vendored ECharts) and a map of open warnings and cases
// (vendored Leaflet), drawn from /portal/dashboard.json. The tables on the page carry the same
// figures, so nothing is lost when a chart cannot be drawn.
(function () {
  const root = document.getElementById('dashboard');
  if (!root) return;
  const text = JSON.parse(document.getElementById('dash-text').textContent);

  function chart(id, option) {
    const holder = document.getElementById(id);
    if (!holder || !window.echarts) return;
    const c = window.echarts.init(holder);
    c.setOption(Object.assign({ tooltip: { trigger: 'axis' }, grid: { left: 48, right: 16, top: 32, bottom: 40 } }, option));
    window.addEventListener('resize', () => c.resize());
    return c;
  }

  function bars(id, categories, series) {
    // Every category named under its bars, on as many lines as it needs within its share of the width
    // (six processes side by side ran into each other at a third of a wide screen, and on a phone).
    // Worked out again when the window changes (a phone turned): the labels wrap at the width they now have.
    const holder = document.getElementById(id);
    if (!categories.length) {  // empty axes would stand over the table's "none" as if they showed something
      if (holder) holder.hidden = true;
      return;
    }
    const share = () => (holder ? Math.max(24, (holder.clientWidth - 64) / Math.max(1, categories.length) - 4) : 80);
    const c = chart(id, {
      legend: { top: 0, type: 'scroll' },  // one line, paged, however many series: never over the bars
      grid: { left: 48, right: 16, top: 32, bottom: 56 },
      xAxis: { type: 'category', data: categories, axisLabel: { interval: 0, overflow: 'break', width: share() } },
      yAxis: { type: 'value', minInterval: 1 },
      series: series.map((s) => Object.assign({ type: 'bar' }, s)),
    });
    if (c) window.addEventListener('resize', () => c.setOption({ xAxis: { axisLabel: { width: share() } } }));
  }

  function pie(id, entries) {
    const shown = entries.filter(([, value]) => value > 0);
    if (!shown.length) {  // a ring of equal slices would show nothing as if it were something
      const holder = document.getElementById(id);
      if (holder) holder.hidden = true;
      return;
    }
    entries = shown;
    chart(id, {
      tooltip: { trigger: 'item' },
      // A name wraps beside its slice rather than losing its end ("车用…" on a phone).
      series: [{ type: 'pie', radius: ['35%', '65%'], label: { width: 56, overflow: 'break' },
                 data: entries.map(([name, value]) => ({ name, value })) }],
    });
  }

  function draw(d) {
    const L = d.labels;
    const byProcess = {};
    d.open_cases.forEach((r) => {
      // Process names read "整改 Rectification": the chart's axis has room for the first word only.
      const k = (L.processes[r.process] || r.process).split(' ')[0];
      byProcess[k] = byProcess[k] || { open: 0, suspended: 0, overdue: 0 };
      byProcess[k].open += r.open;
      byProcess[k].suspended += r.suspended;
      byProcess[k].overdue += r.overdue;
    });
    const names = Object.keys(byProcess);
    bars('chart-cases', names, [
      { name: text.open, data: names.map((n) => byProcess[n].open) },
      { name: text.suspended, data: names.map((n) => byProcess[n].suspended), itemStyle: { color: '#8a8f98' } },
      { name: text.overdue, data: names.map((n) => byProcess[n].overdue), itemStyle: { color: '#b42318' } },
    ]);
    pie('chart-warnings', Object.entries(d.warnings).map(([lvl, n]) => [L.levels[lvl] || lvl, n]));
    pie('chart-enterprises', Object.entries(d.enterprises).map(([k, n]) => [L.kinds[k] || k, n]));
    const kinds = Object.keys(d.inspections).filter((k) => k !== 'total');
    bars('chart-inspections', kinds.map((k) => L.kinds[k] || k), [
      { name: text.enterprises, data: kinds.map((k) => d.inspections[k].enterprises) },
      { name: text.qualified, data: kinds.map((k) => d.inspections[k].qualified) },
      ...['I', 'II', 'III'].map((c) => ({ name: L.classes[c], data: kinds.map((k) => d.inspections[k]['class_' + c]) })),
    ]);
    bars('chart-penalties', d.penalties.map((p) => L.penalty_types[p.penalty_type] || p.penalty_type), [
      { name: text.count, data: d.penalties.map((p) => p.count) },
    ]);
    drawCounties(d.counties, d.boundaries);
    drawMap(d.map_features, d.boundaries);
  }

  // The county map: the vendored outlines of Shaoxing's six counties (GB/T 2260 codes) as an ECharts
  // map, each county shaded by its open cases, its open warnings in the tooltip. One fetch of the
  // outlines serves this chart and the Leaflet map below.
  let outlines = null;
  function boundaries(url) {
    outlines = outlines || fetch(url, { credentials: 'same-origin' }).then((r) => {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    });
    return outlines;
  }

  function drawCounties(rows, url) {
    const holder = document.getElementById('chart-counties');
    if (!holder || !window.echarts || !url) return;
    boundaries(url).then((fc) => {
      // ECharts places a region's label at properties.cp.
      const counties = { type: 'FeatureCollection', features: fc.features.filter((f) => f.properties.level === 'county')
        .map((f) => Object.assign({}, f, { properties: Object.assign({ cp: f.properties.label_at }, f.properties) })) };
      window.echarts.registerMap('shaoxing-counties', counties);
      const byName = {};
      rows.forEach((r) => { byName[r.name] = r; });
      const max = Math.max(1, ...rows.map((r) => r.open_cases));
      const c = window.echarts.init(holder);
      c.setOption({
        tooltip: {
          trigger: 'item',
          formatter: (p) => {
            const r = byName[p.name];
            if (!r) return p.name;
            return p.name + '<br>' + text.open_cases + '：' + r.open_cases + '<br>' + text.warnings + '：' + r.warnings;
          },
        },
        visualMap: { min: 0, max, calculable: false, orient: 'horizontal', left: 'center', bottom: 0,
                     itemWidth: 12, itemHeight: 100, text: [String(max), '0'], inRange: { color: ['#e6eef8', '#12417a'] } },
        series: [{
          type: 'map', map: 'shaoxing-counties', roam: false, top: 8, bottom: 40,
          label: { show: true, fontSize: 11, formatter: (p) => {
            const r = byName[p.name];
            return r ? p.name + '\n' + r.open_cases + ' / ' + r.warnings : p.name;
          } },
          itemStyle: { borderColor: '#fff', borderWidth: 1, areaColor: '#eef2f7' },
          emphasis: { label: { show: true }, itemStyle: { areaColor: '#f0b429' } },
          data: rows.map((r) => ({ name: r.name, value: r.open_cases })),
        }],
      });
      holder.dataset.rendered = 'true';
      window.addEventListener('resize', () => c.resize());
    }).catch(() => { holder.textContent = text.failed; });
  }

  function drawMap(url, boundaryUrl) {
    const holder = document.getElementById('dash-map');
    if (!holder || !window.L) return;
    const map = window.L.map(holder, { minZoom: 4, maxZoom: 18 });
    holder.classList.add('gf-plain');
    map.setView([29.9, 120.6], 9);
    if (boundaryUrl) {
      boundaries(boundaryUrl).then((fc) => {
        window.L.geoJSON(fc, { style: (f) => ({ color: '#12417a', weight: f.properties.level === 'city' ? 3 : 1,
          fill: f.properties.level !== 'city', fillColor: '#dbe7f5', fillOpacity: 0.2, interactive: false }) })
          .addTo(map).bringToBack();
      }).catch(() => {});
    }
    fetch(url, { credentials: 'same-origin' }).then((r) => r.json()).then((fc) => {
      const layer = window.L.geoJSON(fc, {
        pointToLayer: (f, latlng) => window.L.circleMarker(latlng, {
          radius: 7, weight: 2,
          color: f.properties.layer === 'warnings' ? '#b42318' : '#12417a',
          fillOpacity: 0.6,
        }),
        onEachFeature: (f, l) => {
          const a = document.createElement('a');
          a.href = f.properties.url || '#';
          a.textContent = f.properties.title || f.properties.description || f.properties.name || ('#' + f.properties.id);
          l.bindPopup(a);
        },
      }).addTo(map);
      if (layer.getLayers().length) map.fitBounds(layer.getBounds().pad(0.2), { maxZoom: 13 });
    }).catch(() => { holder.textContent = text.failed; });
  }

  fetch(root.dataset.source, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(draw)
    .catch(() => {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = text.failed;
      root.prepend(p);
    });
})();
