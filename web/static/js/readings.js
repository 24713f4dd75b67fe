// The readings page: one sensor's trend (vendored ECharts) with its threshold rules as lines and the
// warnings raised on it as shaded spans, from the JSON the page carries (CSP allows no inline script).
// Times arrive as UTC milliseconds and are shown in Beijing time whatever the browser's own zone.
(function () {
  const picker = document.getElementById('readings-picker');
  if (picker) {
    // A new site has sensors of its own: the old sensor is not sent along.
    const site = document.getElementById('pick-site');
    const sensor = document.getElementById('pick-sensor');
    site.addEventListener('change', () => { sensor.disabled = true; picker.submit(); });
    sensor.addEventListener('change', () => picker.submit());
  }
  const holder = document.getElementById('readings-chart');
  const source = document.getElementById('readings-data');
  if (!holder || !source || !window.echarts) return;
  const d = JSON.parse(source.textContent);
  const text = JSON.parse(document.getElementById('readings-text').textContent);
  const BEIJING = 8 * 3600 * 1000;
  const LEVEL_COLOURS = { 1: '#b42318', 2: '#dc6803', 3: '#ca8504' };
  const unit = d.unit || '';
  const bucketed = !!d.bucket_seconds;
  const shift = (ms) => ms + BEIJING;
  const start = Date.parse(d.from), end = Date.parse(d.until);
  const fmt = (v) => (v === null || v === undefined ? '—' : (Math.round(v * 1000) / 1000) + unit);

  const values = [];
  d.points.forEach((p) => values.push(...p.slice(1)));
  d.thresholds.forEach((t) => values.push(t.threshold));
  // The axis spans the readings and every threshold line, rounded out to a readable step.
  let lo = Math.min(...values), hi = Math.max(...values);
  const span = (hi - lo) || Math.abs(hi) || 1;
  const step = Math.pow(10, Math.floor(Math.log10(span))) / 2;
  lo = Math.floor((lo - span * 0.05) / step) * step;
  hi = Math.ceil((hi + span * 0.05) / step) * step;
  if (Math.min(...values) >= 0 && lo < 0) lo = 0;

  const thresholdLines = d.thresholds.map((t) => ({
    yAxis: t.threshold,
    lineStyle: { color: LEVEL_COLOURS[t.level] || '#555', type: 'dashed' },
    label: { formatter: (text.levels[t.level] || '') + ' ' + (t.comparison === '>' ? '>' : '<') + ' ' + fmt(t.threshold),
             position: 'insideEndTop' },
  }));
  const spans = d.warnings.map((w) => [
    { xAxis: shift(Math.max(w.span_ms[0], start)), itemStyle: { color: LEVEL_COLOURS[w.level] || '#555', opacity: 0.12 } },
    { xAxis: shift(Math.min(Math.max(w.span_ms[1], w.span_ms[0] + 60000), end)) },
  ]);
  const peaks = d.warnings.filter((w) => w.peak_value !== null && w.span_ms[0] >= start).map((w) => ({
    coord: [shift(w.span_ms[0]), w.peak_value], value: text.levels[w.level] || '',
    itemStyle: { color: LEVEL_COLOURS[w.level] || '#555' }, symbolSize: 40, label: { fontSize: 10 },
  }));
  const marks = {
    markLine: { symbol: 'none', silent: true, data: thresholdLines },
    markArea: { silent: true, data: spans },
    markPoint: { silent: true, symbol: 'pin', data: peaks },
  };
  const series = [];
  if (bucketed) {
    series.push({ name: text.min, type: 'line', stack: 'band', symbol: 'none', lineStyle: { opacity: 0 },
                  data: d.points.map((p) => [shift(p[0]), p[2]]) });
    series.push({ name: text.max, type: 'line', stack: 'band', symbol: 'none', lineStyle: { opacity: 0 },
                  areaStyle: { color: '#1d4f91', opacity: 0.15 }, data: d.points.map((p) => [shift(p[0]), p[3] - p[2]]) });
    series.push(Object.assign({ name: text.mean, type: 'line', symbol: 'none', data: d.points.map((p) => [shift(p[0]), p[1]]),
                                lineStyle: { color: '#1d4f91', width: 1.5 }, itemStyle: { color: '#1d4f91' } }, marks));
  } else {
    series.push(Object.assign({ name: text.value, type: 'line', showSymbol: d.points.length < 60,
                                data: d.points.map((p) => [shift(p[0]), p[1]]),
                                lineStyle: { color: '#1d4f91', width: 1.5 }, itemStyle: { color: '#1d4f91' } }, marks));
  }
  const pad2 = (n) => String(n).padStart(2, '0');
  const when = (ms) => {
    const t = new Date(ms);
    return `${t.getUTCFullYear()}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())} ${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}`;
  };
  const chart = window.echarts.init(holder);
  chart.on('finished', () => holder.setAttribute('data-drawn', 'yes'));
  chart.setOption({
    useUTC: true,  // the times are already shifted to Beijing time
    animation: false,
    grid: { left: 56, right: 24, top: 36, bottom: 56 },
    tooltip: {
      trigger: 'axis',
      formatter: (items) => {
        if (!items.length) return '';
        const i = items[0].dataIndex, p = d.points[i];
        const head = when(items[0].value[0]);
        return bucketed
          ? `${head}<br>${text.mean}：${fmt(p[1])}<br>${text.min}：${fmt(p[2])}<br>${text.max}：${fmt(p[3])}`
          : `${head}<br>${text.value}：${fmt(p[1])}`;
      },
    },
    xAxis: {
      type: 'time', min: shift(start), max: shift(end),
      axisLabel: { hideOverlap: true, formatter: { year: '{yyyy}', month: '{M}月', day: '{M}-{d}', hour: '{HH}:{mm}',
                                                   minute: '{HH}:{mm}', second: '{HH}:{mm}', none: '{HH}:{mm}' } },
    },
    yAxis: { type: 'value', min: lo, max: hi, name: unit, axisLabel: { formatter: (v) => String(Math.round(v * 1000) / 1000) } },
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8, labelFormatter: (v) => when(v) }],
    series,
  });
  window.addEventListener('resize', () => chart.resize());
})();
