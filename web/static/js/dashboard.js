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
  }

  function bars(id, categories, series) {
    chart(id, {
      legend: { top: 0 },
      xAxis: { type: 'category', data: categories, axisLabel: { interval: 0, overflow: 'truncate', width: 80 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: series.map((s) => Object.assign({ type: 'bar' }, s)),
    });
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
      series: [{ type: 'pie', radius: ['35%', '65%'], data: entries.map(([name, value]) => ({ name, value })) }],
    });
  }

  function draw(d) {
    const L = d.labels;
    const byProcess = {};
    d.open_cases.forEach((r) => {
      // Process names read "整改 Rectification": the chart's axis has room for the first word only.
      const k = (L.processes[r.process] || r.process).split(' ')[0];
      byProcess[k] = byProcess[k] || { open: 0, overdue: 0 };
      byProcess[k].open += r.open;
      byProcess[k].overdue += r.overdue;
    });
    const names = Object.keys(byProcess);
    bars('chart-cases', names, [
      { name: text.open, data: names.map((n) => byProcess[n].open) },
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
    drawMap(d.map_features);
  }

  function drawMap(url) {
    const holder = document.getElementById('dash-map');
    if (!holder || !window.L) return;
    const map = window.L.map(holder, { minZoom: 4, maxZoom: 18 });
    holder.classList.add('gf-plain');
    map.setView([29.9, 120.6], 9);
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
