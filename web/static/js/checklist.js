// The inspector's checklist (templates/checklist.html): keeps a draft on the server as the form is
// filled (PUT /tasks/<id>/draft; the page reads it back when the task is opened again), shows the
// names of the photos taken, and checks in the browser's location when the form is sent.
(function () {
  const form = document.getElementById('checklist-form');
  if (!form) return;
  const status = document.getElementById('draft-status');
  const checkin = document.getElementById('checkin-status');
  const summary = document.getElementById('error-summary');
  if (summary) summary.focus();

  // ---- draft ------------------------------------------------------------------------------------
  const SKIP = new Set(['csrf_token', 'submission_token']);
  function draftData() {
    const data = {};
    new FormData(form).forEach((value, name) => {
      if (SKIP.has(name) || typeof value !== 'string') return; // files travel with the form only
      data[name] = value;
    });
    return data;
  }
  function say(text) { if (status) status.textContent = text; }
  let timer = null, pending = false, sending = false, sent = false;
  function save() {
    timer = null;
    if (sent) return; // the form itself is on its way: a draft of it now would only be refused
    if (sending) { pending = true; return; }
    sending = true;
    say(status.dataset.saving);
    fetch(form.dataset.draftUrl, {
      method: 'PUT', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': form.dataset.csrf },
      body: JSON.stringify({ data: draftData() }),
    }).then((r) => r.json().then((body) => ({ ok: r.ok, body }))).then(({ ok, body }) => {
      if (ok) {
        const at = new Date(body.saved_at);
        const hhmm = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        say(status.dataset.saved.replace('{time}', hhmm));
        form.dataset.draft = 'saved';
      } else {
        const fields = (body.error && body.error.fields) || {};
        say(status.dataset.refused + ' ' + Object.values(fields).flat().join(' '));
        form.dataset.draft = 'refused';
      }
    }).catch(() => {
      say(status.dataset.offline);
      form.dataset.draft = 'offline';
      pending = true;
    }).finally(() => {
      sending = false;
      if (pending && navigator.onLine !== false) { pending = false; schedule(2000); }
    });
  }
  function schedule(ms) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, ms);
  }
  form.addEventListener('change', () => schedule(300));
  form.addEventListener('input', () => schedule(1500));
  window.addEventListener('online', () => { if (form.dataset.draft === 'offline') schedule(100); });
  form.addEventListener('submit', () => {
    sent = true;
    if (timer) clearTimeout(timer);
  });

  // ---- photos taken -------------------------------------------------------------------------------
  form.querySelectorAll('input.photo-input').forEach((input) => {
    input.addEventListener('change', () => {
      const out = form.querySelector('.photo-names[data-for="' + input.id + '"]');
      if (out) out.textContent = Array.from(input.files).map((f) => f.name).join('、');
    });
  });

  // ---- location check-in when the form is sent ---------------------------------------------------
  let located = false;
  form.addEventListener('submit', (event) => {
    if (located || !navigator.geolocation || form.elements.latitude.value) return;
    event.preventDefault();
    checkin.textContent = checkin.dataset.asking;
    const send = () => { located = true; HTMLFormElement.prototype.submit.call(form); };
    navigator.geolocation.getCurrentPosition((pos) => {
      form.elements.latitude.value = pos.coords.latitude.toFixed(6);
      form.elements.longitude.value = pos.coords.longitude.toFixed(6);
      form.elements.location_accuracy.value = Math.round(pos.coords.accuracy * 10) / 10;
      checkin.textContent = checkin.dataset.got.replace('{m}', Math.round(pos.coords.accuracy));
      send();
    }, () => {
      checkin.textContent = checkin.dataset.denied;
      send();
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  });
}());
