// The map page (O5): layers from /api/v1/map/features drawn with the vendored Leaflet. Without a
// configured tile server nothing is fetched from elsewhere: a plain background, a lon/lat grid
// drawn here, and the county labels give the orientation.
(function () {
  const holder = document.getElementById('map');
  if (!holder || !window.L) return;
  const L = window.L;
  const text = JSON.parse(document.getElementById('map-text').textContent);
  const counties = JSON.parse(document.getElementById('map-counties').textContent);
  const form = document.getElementById('map-filters');
  const count = document.getElementById('map-count');

  const map = L.map(holder, { zoomControl: true, minZoom: 4, maxZoom: 18 });
  const tileUrl = holder.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: holder.dataset.tileAttribution || '', maxZoom: 18 }).addTo(map);
  } else {
    holder.classList.add('gf-plain');
  }

  // ---- graticule: lines at a round step that gives a handful of lines across the view ----------
  const grid = L.layerGroup().addTo(map);
  const STEPS = [10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005];
  function drawGrid() {
    grid.clearLayers();
    if (tileUrl) return;
    const b = map.getBounds();
    const span = Math.max(b.getEast() - b.getWest(), b.getNorth() - b.getSouth());
    const step = STEPS.find((s) => span / s >= 4) || STEPS[STEPS.length - 1];
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    const line = { color: '#9aa5b1', weight: 1, opacity: 0.6, interactive: false, className: 'gf-graticule' };
    // A label under the zoom buttons or the attribution could not be read: it is left out. Boxes in the map's
    // own pixels, a label's estimated from its anchor (a longitude's above its point, a latitude's to the right).
    const box = holder.getBoundingClientRect();
    const covered = [...holder.querySelectorAll('.leaflet-control')].map((c) => {
      const r = c.getBoundingClientRect();
      return { left: r.left - box.left - 4, right: r.right - box.left + 4, top: r.top - box.top - 4, bottom: r.bottom - box.top + 4 };
    });
    function hidden(lat, lng, cls) {
      const p = map.latLngToContainerPoint([lat, lng]);
      const r = cls === 'gf-lon' ? { left: p.x - 28, right: p.x + 28, top: p.y - 22, bottom: p.y }
        : { left: p.x, right: p.x + 56, top: p.y - 8, bottom: p.y + 8 };
      return covered.some((c) => r.left < c.right && r.right > c.left && r.top < c.bottom && r.bottom > c.top);
    }
    function label(lat, lng, value, cls) {
      if (hidden(lat, lng, cls)) return;
      const span = document.createElement('span');
      span.textContent = value.toFixed(digits) + '°';
      L.marker([lat, lng], {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'gf-graticule-label ' + cls, html: span, iconSize: null }),
      }).addTo(grid);
    }
    for (let x = Math.ceil(b.getWest() / step) * step; x <= b.getEast(); x += step) {
      L.polyline([[b.getSouth(), x], [b.getNorth(), x]], line).addTo(grid);
      label(b.getSouth(), x, x, 'gf-lon');
    }
    for (let y = Math.ceil(b.getSouth() / step) * step; y <= b.getNorth(); y += step) {
      L.polyline([[y, b.getWest()], [y, b.getEast()]], line).addTo(grid);
      label(y, b.getWest(), y, 'gf-lat');
    }
  }

  // ---- counties ---------------------------------------------------------------------------------
  const placed = counties.filter((c) => c.lon !== null && c.lat !== null);
  const countyLayer = L.layerGroup().addTo(map);
  placed.forEach((c) => {
    const name = document.createElement('span');
    name.textContent = c.name;
    L.marker([c.lat, c.lon], {
      interactive: false, keyboard: false, zIndexOffset: -1000,
      icon: L.divIcon({ className: 'gf-county', html: name, iconSize: null }),
    }).addTo(countyLayer);
  });
  if (placed.length) {
    map.fitBounds(L.latLngBounds(placed.map((c) => [c.lat, c.lon])).pad(0.4), { maxZoom: 12 });
  } else {
    map.setView([29.9, 120.6], 9); // Shaoxing
  }
  map.on('moveend', drawGrid);
  drawGrid();

  // ---- boundaries of the city and its counties (vendored GeoJSON), under everything else ----------
  const shown = new Set(counties.map((c) => c.code));
  function boundaryStyle(feature) {
    return feature.properties.level === 'city'
      ? { color: '#12417a', weight: 3, opacity: 0.9, fill: false, interactive: false }
      : { color: '#12417a', weight: 1.5, opacity: 0.7, dashArray: '4 3', fillColor: '#dbe7f5',
          fillOpacity: shown.has(feature.properties.code) ? 0.35 : 0.1, interactive: false };
  }
  if (holder.dataset.boundaries) {
    fetch(holder.dataset.boundaries, { credentials: 'same-origin' })
      .then((r) => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then((collection) => {
        const outlines = L.geoJSON(collection, { style: boundaryStyle }).addTo(map);
        outlines.bringToBack();
        // County names at the package's label point (the county seat) rather than amid their enterprises.
        countyLayer.clearLayers();
        outlines.eachLayer((layer) => {
          const p = layer.feature.properties;
          if (p.level !== 'county' || !shown.has(p.code)) return;
          const name = document.createElement('span');
          name.textContent = p.name;
          const at = p.label_at ? L.latLng(p.label_at[1], p.label_at[0]) : layer.getBounds().getCenter();
          L.marker(at, {
            interactive: false, keyboard: false, zIndexOffset: -1000,
            icon: L.divIcon({ className: 'gf-county gf-boundary-label', html: name, iconSize: null }),
          }).addTo(countyLayer);
        });
        if (!placed.length) map.fitBounds(outlines.getBounds());
        holder.dataset.boundaries = 'drawn';
      })
      .catch((err) => { holder.dataset.boundariesState = 'error'; console.warn(err); });
  }

  // ---- features -----------------------------------------------------------------------------------
  function el(tag, attrs, content) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function iconClass(p) {
    if (p.layer === 'enterprises') return 'gf-ent-' + p.kind;
    if (p.layer === 'stations') return 'gf-station';
    if (p.layer === 'cameras') return 'gf-camera';
    if (p.layer === 'warnings') return 'gf-warning gf-level-' + p.level;
    if (p.layer === 'checkins') return 'gf-checkin';
    return 'gf-case' + (p.process === 'accident' ? ' gf-accident' : '');
  }

  function title(p) {
    if (p.layer === 'enterprises') return p.name;
    if (p.layer === 'stations') return p.name;
    if (p.layer === 'cameras') return p.name;
    if (p.layer === 'warnings') return (text.levels[p.level] || p.level) + ' · ' + p.enterprise;
    return '#' + p.id + ' ' + (p.title || '');
  }

  function popup(p) {
    const box = el('div', { class: 'gf-popup', 'data-layer': p.layer, 'data-id': String(p.id) });
    const head = el('div', { class: 'gf-popup-kind muted' });
    const line2 = [];
    if (p.layer === 'enterprises') {
      head.textContent = text.enterprise + ' · ' + (text.enterprise_kinds[p.kind] || p.kind);
      if (p.county) line2.push(p.county);
      if (p.address) line2.push(p.address);
    } else if (p.layer === 'stations') {
      head.textContent = text.station;
      line2.push(p.enterprise);
    } else if (p.layer === 'cameras') {
      head.textContent = text.camera + ' · ' + (text.stream_kinds[p.stream_kind] || '');
      line2.push(p.enterprise);
      if (p.site) line2.push(p.site);
    } else if (p.layer === 'warnings') {
      head.textContent = text.warning + ' · ' + (text.levels[p.level] || p.level);
      if (p.description) line2.push(p.description);
      if (p.site) line2.push(p.site);
    } else if (p.layer === 'checkins') {
      head.textContent = text.checkin;
      if (p.enterprise) line2.push(p.enterprise);
      if (p.accuracy_m !== null && p.accuracy_m !== undefined) {
        line2.push(text.accuracy.replace('{m}', Math.round(p.accuracy_m)));
      }
    } else {
      head.textContent = text.case + ' · ' + (text.process[p.process] || p.process);
      if (p.suspended) line2.push(text.suspended);
      if (p.enterprise) line2.push(p.enterprise);
      if (p.located === 'enterprise') line2.push(text.at_enterprise);
    }
    box.appendChild(head);
    box.appendChild(el('a', { href: p.url, class: 'gf-popup-link' }, title(p)));
    if (line2.length) box.appendChild(el('div', { class: 'muted' }, line2.join(' · ')));
    if (p.layer === 'cases' && p.process === 'accident') {
      const button = el('button', { type: 'button', class: 'secondary gf-nearby' }, text.nearby);
      button.addEventListener('click', () => showNearby(p));
      box.appendChild(button);
    }
    return box;
  }

  const features = L.layerGroup().addTo(map);
  function marker(feature, latlng) {
    const p = feature.properties;
    const shape = document.createElement('span');
    shape.className = 'gf-shape ' + iconClass(p);
    // Warnings are rings around their enterprise's marker, and cases shown at their enterprise sit
    // beside it, so things at one place stay visible together.
    let size = [16, 16], anchor = [8, 8];
    if (p.layer === 'warnings') { size = [28, 28]; anchor = [14, 14]; }
    if (p.layer === 'cases' && p.located === 'enterprise') anchor = [-4, 20];
    const m = L.marker(latlng, {
      title: title(p), riseOnHover: true, zIndexOffset: p.layer === 'warnings' ? -100 : 0,
      icon: L.divIcon({ className: 'gf-marker', html: shape, iconSize: size, iconAnchor: anchor }),
    });
    m.bindPopup(() => popup(p));
    m.on('add', () => {
      const node = m.getElement();
      node.dataset.layer = p.layer;
      node.dataset.id = String(p.id);
    });
    return m;
  }

  function query() {
    const params = new URLSearchParams();
    const layers = Array.from(form.querySelectorAll('input[name=layer]:checked')).map((i) => i.value);
    params.set('layers', layers.join(','));
    ['county', 'kind'].forEach((name) => {
      const field = form.elements[name];
      if (field && field.value) params.set(name, field.value);
    });
    return { layers, params };
  }

  let generation = 0;
  let framedCounty = null;
  function load() {
    const { layers, params } = query();
    const mine = ++generation;
    holder.dataset.rendered = 'loading';
    features.clearLayers();
    if (!layers.length) {
      count.textContent = '';
      holder.dataset.rendered = 'true';
      holder.dataset.count = '0';
      return;
    }
    count.textContent = text.loading;
    fetch(holder.dataset.features + '?' + params.toString(), { credentials: 'same-origin' })
      .then((r) => {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then((collection) => {
        if (mine !== generation) return; // a newer filter already asked again
        const drawn = L.geoJSON(collection, { pointToLayer: marker }).addTo(features);
        // The first view, and each change of county, frames what was found.
        const county = form.elements.county ? form.elements.county.value : '';
        if (collection.features.length && (framedCounty === null || framedCounty !== county)) {
          // Not animated: the map says it has drawn (data-rendered) only once its markers stand where
          // they will stay; a click during the zoom's animation could miss a marker still moving.
          map.fitBounds(drawn.getBounds().pad(0.15), { maxZoom: 15, animate: false });
        }
        framedCounty = county;
        count.textContent = text.shown.replace('{n}', collection.features.length);
        holder.dataset.count = String(collection.features.length);
        holder.dataset.rendered = 'true';
      })
      .catch((err) => {
        count.textContent = text.failed;
        holder.dataset.rendered = 'error';
        console.warn(err);
      });
  }
  form.addEventListener('change', load);
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });

  // ---- nearby stations of an accident -------------------------------------------------------------
  const aside = document.getElementById('nearby');
  const list = document.getElementById('nearby-list');
  const circle = L.layerGroup().addTo(map);
  function showNearby(p) {
    aside.hidden = false;
    // The list takes room beside the map (under it on a phone): Leaflet must measure its box again, or it
    // keeps drawing the grid and answering taps for the size it had.
    map.invalidateSize();
    aside.dataset.state = 'loading';
    document.getElementById('nearby-of').textContent = '#' + p.id + ' ' + (p.title || '');
    list.replaceChildren(el('li', { class: 'muted' }, text.loading));
    fetch(p.nearby_url + '?radius_m=2000&layers=stations', { credentials: 'same-origin' })
      .then((r) => {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then((found) => {
        circle.clearLayers();
        L.circle([found.center.lat, found.center.lon], {
          radius: found.radius_m, color: '#b42318', weight: 1, fillOpacity: 0.05, interactive: false,
        }).addTo(circle);
        list.replaceChildren();
        found.stations.forEach((s) => {
          const item = el('li', { 'data-id': String(s.id) });
          item.appendChild(el('strong', {}, s.name));
          item.appendChild(document.createTextNode(
            ' · ' + Math.round(s.distance_m) + ' ' + text.metres + ' · ' + s.enterprise));
          list.appendChild(item);
        });
        if (!found.stations.length) list.appendChild(el('li', { class: 'muted' }, text.nearby_none));
        aside.dataset.state = 'done';
      })
      .catch((err) => {
        list.replaceChildren(el('li', { class: 'errors' }, text.failed));
        aside.dataset.state = 'error';
        console.warn(err);
      });
  }

  load();
}());
