// Statistics page chart: supplied and delivered volumes per day or month (one series per measure and
// unit), and for months the pipeline supply by user category, from the page's .json twin.
(function () {
  const holder = document.getElementById('stats-chart');
  if (!holder || !window.echarts) return;
  fetch(holder.dataset.source, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then((d) => {
      const L = d.labels;
      const cats = d.categories || [];
      const periods = [...new Set(d.daily.map((r) => r.period).concat(cats.map((r) => r.period)))].sort();
      const series = {};
      d.daily.forEach((r) => {
        Object.keys(L.measures).forEach((m) => {
          const key = L.measures[m] + ' (' + (L.units[r.unit] || r.unit || '') + ')';
          series[key] = series[key] || new Array(periods.length).fill(0);
          series[key][periods.indexOf(r.period)] += r[m];
        });
      });
      const out = Object.entries(series).map(([name, data]) => ({ name, type: 'bar', data }));
      if (cats.length) {
        ['residential', 'industrial', 'commercial', 'public_welfare', 'vehicle'].forEach((c) => {
          out.push({ name: L.categories[c], type: 'bar', stack: 'categories',
            data: periods.map((p) => { const r = cats.find((x) => x.period === p); return r ? r[c] : 0; }) });
        });
      }
      const chart = window.echarts.init(holder);
      chart.setOption({
        tooltip: { trigger: 'axis' }, legend: { type: 'scroll', top: 0 },
        grid: { left: 64, right: 16, top: 40, bottom: 40 },
        xAxis: { type: 'category', data: periods }, yAxis: { type: 'value' }, series: out,
      });
      window.addEventListener('resize', () => chart.resize());
    })
    .catch(() => { holder.textContent = ''; });
})();
