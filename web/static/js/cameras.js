// Cameras on a site page: an HLS stream plays only when asked (one at a time: a page of cameras must not
// pull every stream at once), with the vendored hls.js where the browser has no HLS of its own; RTSP/RTMP
// addresses are copied for the operator's player.
(function () {
  const textNode = document.getElementById('camera-text');
  if (!textNode) return;
  const text = JSON.parse(textNode.textContent);
  let playing = null;  // {video, hls}

  function stop() {
    if (!playing) return;
    if (playing.hls) playing.hls.destroy();
    playing.video.pause();
    playing.video.removeAttribute('src');
    playing.video.load();
    playing.video.hidden = true;
    playing = null;
  }

  function play(button) {
    const item = button.closest('li');
    const video = item.querySelector('video');
    const status = item.querySelector('.camera-status');
    const url = button.getAttribute('data-stream');
    stop();
    video.hidden = false;
    status.textContent = text.loading;
    const current = { video, hls: null };
    playing = current;
    const started = () => { status.textContent = ''; };
    video.addEventListener('playing', started, { once: true });
    if (window.Hls && window.Hls.isSupported()) {
      // No worker: the page's policy allows no blob: scripts.
      const hls = new window.Hls({ enableWorker: false });
      current.hls = hls;
      hls.on(window.Hls.Events.ERROR, (_event, data) => { if (data.fatal) { status.textContent = text.failed; } });
      hls.loadSource(url);
      hls.attachMedia(video);
      hls.on(window.Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url;  // Safari plays HLS itself
      video.addEventListener('error', () => { status.textContent = text.failed; }, { once: true });
      video.play().catch(() => {});
    } else {
      status.textContent = text.unsupported;
    }
  }

  // The buttons come disabled: on a slow phone connection the page shows before hls.js has loaded, and a
  // tap on a button nothing listens to yet would be lost without a word.
  document.querySelectorAll('.camera-play').forEach((button) => {
    button.addEventListener('click', () => play(button));
    button.disabled = false;
  });
  document.querySelectorAll('.camera-copy').forEach((button) => button.addEventListener('click', () => {
    const value = button.getAttribute('data-copy');
    const note = (message) => { button.textContent = message; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(() => note(text.copied), () => note(text.copy_failed));
    } else {
      const range = document.createRange();
      range.selectNodeContents(button.parentNode.querySelector('.camera-address'));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { note(document.execCommand('copy') ? text.copied : text.copy_failed); } catch (e) { note(text.copy_failed); }
    }
  }));
  document.querySelectorAll('.camera-copy').forEach((button) => { button.disabled = false; });
})();
