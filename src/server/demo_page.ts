// The demo page served at GET /: pick or drop an image, see the detections drawn on it and the top-5
// classes. One self-contained HTML document (no external assets, so it works offline and in dist/).
// A banner says when the models are the embedded demo ones (GET /models "demo") and how to get real
// weights; the min-score slider filters the last answer in the page; an error clears the last results.
// Boxes are drawn in BOX_COLOR so the browser test can find them in a screenshot.

export const BOX_COLOR = '#ff00ff';

const SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const canvas = $('canvas');
const context = canvas.getContext('2d');
const MAX_SIDE = 800;
// The last answer, kept so that the min-score slider filters it without asking the server again.
let last = null;

function setStatus(text, isError) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

/** Results of the previous image go as soon as another one is chosen (or fails). */
function clearResults() {
  last = null;
  canvas.width = 0;
  canvas.height = 0;
  $('classes').replaceChildren();
  $('model').textContent = '';
}

async function post(path, file) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': file.type || 'application/octet-stream' },
    body: file,
  });
  const text = await response.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { body = null; }
  if (!response.ok) {
    const message = body && body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + response.status + (text ? ': ' + text.slice(0, 200) : '');
    throw new Error(path.split('?')[0] + ' ' + message);
  }
  return body;
}

function minScore() {
  return Number($('minScore').value);
}

function draw() {
  const { bitmap, detection } = last;
  const scale = Math.min(1, MAX_SIDE / Math.max(detection.image.width, detection.image.height));
  canvas.width = Math.round(detection.image.width * scale);
  canvas.height = Math.round(detection.image.height * scale);
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  context.lineWidth = 3;
  context.font = '14px sans-serif';
  const shown = detection.detections.filter((d) => d.score >= minScore());
  for (const d of shown) {
    const [x, y, w, h] = d.bbox.map((v) => v * scale);
    context.strokeStyle = '${BOX_COLOR}';
    context.strokeRect(x, y, w, h);
    const text = d.label + ' ' + d.score.toFixed(2);
    context.fillStyle = '${BOX_COLOR}';
    context.fillRect(x, Math.max(0, y - 18), context.measureText(text).width + 6, 18);
    context.fillStyle = '#ffffff';
    context.fillText(text, x + 3, Math.max(14, y - 4));
  }
  setStatus(shown.length + ' detections (score >= ' + minScore() + ') in ' + detection.timingMs + ' ms', false);
}

function listClasses(classification) {
  const list = $('classes');
  list.replaceChildren();
  for (const p of classification.predictions) {
    const item = document.createElement('li');
    item.textContent = p.label + ' (' + (p.score * 100).toFixed(1) + '%)';
    list.appendChild(item);
  }
}

async function analyse(file) {
  clearResults();
  document.body.dataset.state = 'busy';
  setStatus('analysing ' + file.name + ' ...', false);
  try {
    // The server's answers first: its error says more than the browser's decoder would.
    const [detection, classification] = await Promise.all([
      post('/detect?minScore=0&maxDetections=100', file),
      post('/classify?topK=5', file),
    ]);
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    last = { bitmap, detection };
    draw();
    listClasses(classification);
    $('model').textContent = 'detector: ' + detection.model + ', classifier: ' + classification.model;
    document.body.dataset.state = 'done';
  } catch (error) {
    clearResults();
    setStatus(String(error.message || error), true);
    document.body.dataset.state = 'error';
  }
}

async function showDemoBanner() {
  try {
    const models = await (await fetch('/models')).json();
    if (!models.demo) return;
    const demos = [models.classifier, models.detector].filter((m) => m && m.demo);
    $('demoText').textContent = 'These are demo models: ' + demos.map((m) => m.kind + ' (trained on ' + m.trainedOn + ')').join('; ') + '. For real ImageNet classes run:';
    $('demoCommand').textContent = models.realWeightsCommand || '';
    $('demoBanner').hidden = false;
  } catch (e) {
    // /models is not ready yet: no banner rather than a wrong one.
  }
}

$('file').addEventListener('change', (event) => {
  const file = event.target.files[0];
  if (file) analyse(file);
});
const drop = $('drop');
drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  const file = event.dataTransfer.files[0];
  if (file) analyse(file);
});
$('minScore').addEventListener('input', () => {
  $('minScoreValue').textContent = $('minScore').value;
  if (last) draw();
});
showDemoBanner();
`;

export const DEMO_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nasnet-ts demo</title>
<link rel="icon" href="data:,">
<style>
  body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
  #drop { border: 2px dashed #888; border-radius: 8px; padding: 24px; text-align: center; margin-bottom: 16px; }
  #drop.over { border-color: ${BOX_COLOR}; background: #fdf; }
  #result { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
  canvas { max-width: 100%; border: 1px solid #ccc; }
  .error { color: #b00020; }
  small { color: #666; }
  #demoBanner { background: #fff4cc; border: 1px solid #e0b800; border-radius: 6px; padding: 8px 12px; margin-bottom: 16px; }
  #demoBanner code { background: #fff; padding: 1px 4px; }
</style>
</head>
<body data-state="idle">
<h1>nasnet-ts</h1>
<div id="demoBanner" hidden><strong>Demo models.</strong> <span id="demoText"></span> <code id="demoCommand"></code> and restart the server.</div>
<div id="drop">
  <p>Drop an image here, or <input id="file" type="file" accept="image/*"></p>
  <label>min score <input id="minScore" type="range" min="0" max="1" step="0.05" value="0.5"> <span id="minScoreValue">0.5</span></label>
</div>
<p id="status">Choose a JPEG, PNG, WebP, AVIF, TIFF or GIF image.</p>
<div id="result">
  <canvas id="canvas" width="0" height="0"></canvas>
  <div><h2>Top-5 classes</h2><ol id="classes"></ol><small id="model"></small></div>
</div>
<p><small>API: <a href="/docs">/docs</a> &middot; <a href="/models">/models</a> &middot; <a href="/metrics">/metrics</a></small></p>
<script>${SCRIPT}</script>
</body>
</html>
`;
