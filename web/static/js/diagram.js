// A model's names are written in both languages ("整改 Rectification"); the reader sees the half of each
// in the page's language only (Chinese first), as everywhere else on the platform.
function oneLanguage(xml) {
  const chinese = (document.documentElement.lang || 'zh').startsWith('zh');
  return xml.replace(/name="([^"]*[\u4e00-\u9fff][^"]*?) ([A-Za-z][A-Za-z_ ,.'()-]*)"/g,
    (whole, zh, en) => `name="${chinese ? zh : en}"`);
}

// Renders a case's BPMN diagram with bpmn-js and marks where the case stands; linked cases
// (the case that opened this one, the cases it opened) get a compact diagram each, behind tabs.
(function () {
  if (!window.BpmnJS) return;

  // data-rendered is set only once drawing ended (tests wait for it), so a separate set
  // remembers which holders were started.
  const started = new Set();
  function render(holder) {
    if (started.has(holder)) return;
    started.add(holder);
    const active = JSON.parse(holder.dataset.active || '[]');
    const viewer = new window.BpmnJS({ container: holder });
    fetch(holder.dataset.src, { credentials: 'same-origin' })
      .then((r) => {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then((xml) => viewer.importXML(oneLanguage(xml)))
      .then(() => {
        const canvas = viewer.get('canvas');
        canvas.zoom('fit-viewport');
        active.forEach((id) => {
          try { canvas.addMarker(id, 'gf-current'); } catch (e) { /* element not in this diagram */ }
        });
        // The path taken: the elements passed through, and each sequence flow between two of them
        // (or into the current step).
        const path = new Set(JSON.parse(holder.dataset.path || '[]'));
        const reached = new Set([...path, ...active]);
        viewer.get('elementRegistry').forEach((el) => {
          const flow = el.type === 'bpmn:SequenceFlow';
          const done = flow ? (el.source && el.target && path.has(el.source.id) && reached.has(el.target.id))
            : path.has(el.id) && !active.includes(el.id);
          if (done) canvas.addMarker(el.id, 'gf-done');
        });
        holder.dataset.rendered = 'true';
      })
      .catch((err) => {
        holder.textContent = holder.dataset.error || 'diagram unavailable';
        holder.dataset.rendered = 'error';
        console.warn(err);
      });
  }

  const main = document.getElementById('diagram');
  if (main) render(main);

  // A hidden container has no size for bpmn-js to fit to, so each linked diagram is drawn
  // the first time its tab is shown.
  const tabs = Array.from(document.querySelectorAll('.linked-tab'));
  function show(tab) {
    tabs.forEach((t) => {
      const panel = document.getElementById(t.dataset.target);
      const on = t === tab;
      t.classList.toggle('on', on);
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      if (panel) panel.hidden = !on;
    });
    const panel = document.getElementById(tab.dataset.target);
    if (panel) render(panel);
  }
  tabs.forEach((t) => t.addEventListener('click', () => show(t)));
  if (tabs.length) show(tabs[0]);
})();
