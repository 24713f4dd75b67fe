// Renders a case's BPMN diagram with bpmn-js and marks where the case stands.
(function () {
  const holder = document.getElementById('diagram');
  if (!holder || !window.BpmnJS) return;
  const active = JSON.parse(holder.dataset.active || '[]');
  const viewer = new window.BpmnJS({ container: holder });
  fetch(holder.dataset.src, { credentials: 'same-origin' })
    .then((r) => r.text())
    .then((xml) => viewer.importXML(xml))
    .then(() => {
      const canvas = viewer.get('canvas');
      canvas.zoom('fit-viewport');
      active.forEach((id) => {
        try { canvas.addMarker(id, 'gf-current'); } catch (e) { /* element not in this diagram */ }
      });
      holder.dataset.rendered = 'true';
    })
    .catch((err) => {
      holder.textContent = holder.dataset.error || 'diagram unavailable';
      holder.dataset.rendered = 'error';
      console.warn(err);
    });
})();
