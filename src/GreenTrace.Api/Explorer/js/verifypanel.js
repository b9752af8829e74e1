// The verify panel: trust JSON and raw bundle in visible, editable text areas; Verify runs verify.js here, in the
// browser, and lists every step. The trust prefilled from the server is only a convenience: a server that lies
// could serve its own keys, so the panel says to compare it with the copy the registry gave out (or load that).

import { el, clear, energy, short, utc } from './dom.js';
import { parseTrust } from './trust.js';
import { verifyBundle, CERTIFICATE_BUNDLE } from './verify.js';

// Kept across views so a trust file loaded once serves every later check in this tab.
const state = { trustText: null, trustSource: null, trustName: null };

async function fetchText(url) {
  const response = await fetch(url, { headers: { Accept: 'application/json' } });
  const text = await response.text();
  if (!response.ok) {
    let detail = text;
    try {
      const problem = JSON.parse(text);
      detail = `${problem.code ?? response.status}: ${problem.detail ?? problem.title ?? ''}`;
    } catch {
      // not a problem document: show the text as it came
    }
    throw new Error(`${url} answered ${response.status} (${detail})`);
  }
  return text;
}

function readFile(input) {
  return new Promise((resolve, reject) => {
    const file = input.files?.[0];
    if (!file) return resolve(null);
    const reader = new FileReader();
    reader.onload = () => resolve({ name: file.name, text: String(reader.result) });
    reader.onerror = () => reject(reader.error);
    reader.readAsText(file);
  });
}

function trustWarning() {
  const where =
    state.trustSource === 'file' ? `Loaded from your file ${state.trustName}.`
    : state.trustSource === 'edited' ? 'Edited by you.'
    : 'Prefilled from this server.';
  return [
    el('strong', {}, where),
    ' A verification is only as good as these keys. Compare them with the trust.json your registry gave you out of band, or load that file: a server that lies could also serve keys of its own.',
  ];
}

async function trustSummary(text, target) {
  clear(target);
  const parsed = await parseTrust(text);
  if (!parsed.ok) {
    target.append(el('span', { class: 'error' }, `Unusable: ${parsed.error}`));
    return;
  }
  const t = parsed.trust;
  target.append(
    el('div', {}, 'Log ', el('code', {}, t.origin), `, checkpoints need ${t.quorum} of ${t.nodes.length} nodes:`),
    el('ul', {}, t.nodes.map((n) => el('li', {}, el('code', {}, `${n.name}+${n.keyId.toString(16).padStart(8, '0')}`)))),
    el('div', {}, 'Issuers: ', [...t.issuers.values()].map((i) => `${i.id} (${i.zones.join(', ')})`).join('; ') || 'none'),
  );
}

function renderResult(target, result) {
  clear(target);
  if (result.unusable) {
    target.append(el('div', { id: 'verify-banner', class: 'banner unusable', dataset: { valid: 'unusable' } }, `UNUSABLE: ${result.unusable}`));
    return;
  }
  const failed = result.steps.find((s) => !s.passed);
  const what = result.kind === 'certificate' ? 'Certificate bundle' : 'Reading bundle';
  target.append(
    el('div', { id: 'verify-banner', class: `banner ${result.valid ? 'valid' : 'invalid'}`, dataset: { valid: String(result.valid), failedStep: failed?.step ?? '' } },
      result.valid ? `VALID — ${what.toLowerCase()} checked in your browser` : `INVALID — ${what.toLowerCase()} failed at step '${failed.step}'`),
    el('ol', { id: 'verify-steps', class: 'steps' },
      result.steps.map((s) => el('li', { dataset: { step: s.step, passed: String(s.passed) } },
        el('span', { class: 'mark' }, s.passed ? 'ok' : 'FAIL'), el('span', { class: 'name' }, s.step), el('span', { class: 'detail' }, s.detail)))),
  );
  if (result.valid) target.append(provenFacts(result));
}

function provenFacts(result) {
  const f = result.facts;
  const box = el('div', { id: 'verify-facts', class: 'card' });
  const c = f.certificate;
  box.append(el('p', {}, `Proven: certificate ${short(c.idHex, 16)} of ${energy(c.wh)} from meter ${c.meter} (${c.source}, ${c.zone}), ${utc(c.periodStart)} to ${utc(c.periodEnd)}, at log size ${f.checkpoint.size}.`));
  if (result.kind === 'reading') {
    const r = f.reading;
    box.append(el('p', {}, `Reading #${r.seq}: ${energy(r.wh)}, ${utc(r.start)} to ${utc(r.end)} (${r.quality === 'm' ? 'measured' : 'estimated'}).`));
    return box;
  }
  box.append(
    el('h3', {}, 'Ownership, replayed from the signed history'),
    el('table', { id: 'ownership' },
      el('thead', {}, el('tr', {}, el('th', {}, 'holding'), el('th', {}, 'owner'), el('th', { class: 'num' }, 'Wh'), el('th', {}, 'status'), el('th', { class: 'num' }, 'made at'), el('th', { class: 'num' }, 'consumed at'))),
      el('tbody', {}, f.holdings.map((h) => el('tr', { dataset: { holding: h.id, status: h.status } },
        el('td', { class: 'mono' }, short(h.id, 16)), el('td', { class: 'mono' }, el('a', { href: `#/owner/${h.ownerId}` }, short(h.ownerId, 22))),
        el('td', { class: 'num' }, String(h.wh)), el('td', { class: `status-${h.status}` }, h.status), el('td', { class: 'num' }, String(h.createdBy)),
        el('td', { class: 'num' }, h.consumedBy === null ? '—' : String(h.consumedBy)))))),
  );
  if (f.claims.length > 0) {
    box.append(
      el('h3', {}, 'Claims'),
      el('table', { id: 'claims' },
        el('thead', {}, el('tr', {}, el('th', {}, 'beneficiary'), el('th', {}, 'period'), el('th', { class: 'num' }, 'Wh'), el('th', {}, 'claimant'), el('th', { class: 'num' }, 'log index'))),
        el('tbody', {}, f.claims.map((c2) => el('tr', {},
          el('td', {}, c2.beneficiary), el('td', {}, `${utc(c2.periodStart)} to ${utc(c2.periodEnd)}`), el('td', { class: 'num' }, String(c2.wh)),
          el('td', { class: 'mono' }, short(c2.claimant, 22)), el('td', { class: 'num' }, String(c2.index)))))),
    );
  }
  return box;
}

/**
 * Renders the panel into `container`. certificate: { id, readingCount } when a certificate is in view (the bundle
 * buttons and download link fetch its bundles from this API), else null (paste or load a bundle).
 */
export function verifyPanel(container, certificate) {
  const trustArea = el('textarea', { id: 'trust-json', spellcheck: 'false', 'aria-label': 'Trust JSON: the membership keys verification uses' });
  const warning = el('p', { id: 'trust-warning', class: 'warning' });
  const summary = el('div', { id: 'trust-summary', class: 'trust-summary' });
  const trustFile = el('input', { id: 'trust-file', type: 'file', accept: '.json,application/json' });
  const bundleArea = el('textarea', { id: 'bundle-json', spellcheck: 'false', placeholder: 'Paste a proof bundle (JSON), load a file, or fetch one from this API', 'aria-label': 'Raw proof bundle (JSON)' });
  const bundleFile = el('input', { id: 'bundle-file', type: 'file', accept: '.json,application/json' });
  const result = el('div', { id: 'verify-result', class: 'result' });
  const status = el('span', { id: 'verify-status', class: 'muted' });
  const verifyButton = el('button', { id: 'verify-button', type: 'button' }, 'Verify');

  const showWarning = () => clear(warning).append(...trustWarning());
  const setTrust = (text, source, name) => {
    state.trustText = text;
    state.trustSource = source;
    state.trustName = name ?? null;
    trustArea.value = text;
    trustArea.dataset.source = source;
    showWarning();
    return trustSummary(text, summary);
  };
  const loadServerTrust = async () => {
    try {
      await setTrust(await fetchText('/api/trust'), 'server');
    } catch (e) {
      status.textContent = e.message;
    }
  };

  trustArea.addEventListener('input', () => {
    state.trustText = trustArea.value;
    state.trustSource = 'edited';
    trustArea.dataset.source = 'edited';
    showWarning();
    trustSummary(trustArea.value, summary);
  });
  trustFile.addEventListener('change', async () => {
    const file = await readFile(trustFile);
    if (file) await setTrust(file.text, 'file', file.name);
  });
  bundleFile.addEventListener('change', async () => {
    const file = await readFile(bundleFile);
    if (file) {
      bundleArea.value = file.text;
      status.textContent = `bundle loaded from ${file.name}`;
    }
  });

  const loadBundle = async (url) => {
    status.textContent = `fetching ${url}…`;
    try {
      const text = await fetchText(url);
      bundleArea.value = text;
      const format = JSON.parse(text).format;
      status.textContent = `${format === CERTIFICATE_BUNDLE ? 'certificate' : 'reading'} bundle loaded from ${url}`;
      status.dataset.loaded = url;
    } catch (e) {
      status.textContent = e.message;
    }
  };

  verifyButton.addEventListener('click', async () => {
    verifyButton.disabled = true;
    status.textContent = 'verifying…';
    clear(result);
    try {
      if (!globalThis.crypto?.subtle) {
        renderResult(result, { unusable: 'this page has no WebCrypto (it needs https, or http on localhost)' });
        return;
      }
      const trust = await parseTrust(trustArea.value);
      if (!trust.ok) {
        renderResult(result, { unusable: `trust JSON: ${trust.error}` });
        return;
      }
      renderResult(result, await verifyBundle(bundleArea.value, trust.trust));
    } catch (e) {
      renderResult(result, { unusable: `verification stopped: ${e.message}` });
    } finally {
      status.textContent = '';
      verifyButton.disabled = false;
    }
  });

  const bundleTools = el('div', { class: 'tools' });
  if (certificate) {
    const readingIndex = el('input', { id: 'reading-index', type: 'number', min: 0, max: Math.max(0, certificate.readingCount - 1), value: 0, 'aria-label': 'Reading index' });
    const base = `/api/certificates/${certificate.id}/bundle`;
    bundleTools.append(
      el('button', { id: 'load-certificate-bundle', type: 'button', class: 'secondary', onclick: () => loadBundle(base) }, 'Fetch certificate bundle'),
      el('button', { id: 'load-reading-bundle', type: 'button', class: 'secondary', onclick: () => loadBundle(`${base}?reading=${Number(readingIndex.value) || 0}`) }, 'Fetch reading bundle'),
      readingIndex,
      el('a', { id: 'bundle-download', href: base, download: `certificate-${certificate.id.slice(0, 16)}-bundle.json` }, 'download raw bundle'),
    );
  }
  bundleTools.append(el('label', { class: 'file' }, 'or load a file: ', bundleFile));

  clear(container).append(
    el('section', { class: 'verify card', id: 'verify-panel' },
      el('div', {},
        el('h3', {}, 'Trust (membership keys)'),
        warning,
        el('div', { class: 'tools' },
          el('label', { class: 'file' }, 'Load trust.json: ', trustFile),
          el('button', { id: 'trust-reload', type: 'button', class: 'secondary', onclick: loadServerTrust }, 'Reset to the server’s copy'),
          el('a', { id: 'trust-download', href: '/api/trust', download: 'trust.json' }, 'download')),
        trustArea,
        summary),
      el('div', {},
        el('h3', {}, 'Bundle'),
        el('p', { class: 'muted' }, 'The raw bundle exactly as given: every byte below is checked, nothing is taken from the page.'),
        bundleTools,
        bundleArea),
      el('div', { class: 'verify-actions' }, verifyButton, status),
      result),
  );

  if (state.trustText !== null) {
    trustArea.value = state.trustText;
    trustArea.dataset.source = state.trustSource;
    showWarning();
    trustSummary(state.trustText, summary);
  } else {
    showWarning();
    loadServerTrust();
  }
  return { loadBundle, bundleArea, trustArea };
}
