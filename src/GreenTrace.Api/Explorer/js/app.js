// The explorer's pages: search, a certificate's chain, a meter's hours, an owner's holdings and matching, and the
// verify panel. Routes live in the URL fragment (#/certificate/ID, #/meter/ID, #/owner/ID, #/verify), so the server
// serves one static page and every view can be linked.

import { el, clear, energy, facts, link, short, utc, wh } from './dom.js';
import { fromBase64, ownerId, toHex } from './bytes.js';
import { decodeEntry } from './entries.js';
import { hourlyChart, matchingChart } from './charts.js';
import { verifyPanel } from './verifypanel.js';

const view = document.getElementById('view');
const searchForm = document.getElementById('search-form');
const searchInput = document.getElementById('search-input');
const searchMessage = document.getElementById('search-message');
let renderCount = 0;

async function api(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { ok: response.ok, status: response.status, body };
}

function problem(res) {
  return res.body?.code ? `${res.body.code}: ${res.body.detail ?? res.body.title}` : `the server answered ${res.status}`;
}

function entryLink(index) {
  return link(`/api/entries?from=${index}&limit=1`, `log #${index}`, { class: 'entry-link', title: 'the signed entry as the log holds it' });
}

function ownerLink(id) {
  return id ? link(`#/owner/${id}`, short(id, 22), { class: 'mono' }) : 'the issuing body';
}

function meterLink(id) {
  return link(`#/meter/${encodeURIComponent(id)}`, id);
}

function certificateLink(id) {
  return link(`#/certificate/${id}`, short(id, 16), { class: 'mono' });
}

// ---- home ----

async function home(target) {
  document.title = 'GreenTrace explorer';
  const cp = await api('/api/checkpoint');
  target.append(
    el('h1', {}, 'Explore the ledger'),
    el('p', {}, 'Search a certificate id (64 hex digits), a meter id or an owner id (owner:…). A certificate shows its chain from the meter’s registration through the signed readings to transfers and claims; a meter its hours; an owner their holdings and hourly matching.'),
    el('div', { class: 'card', id: 'checkpoint' },
      el('h2', {}, 'Latest checkpoint'),
      cp.ok
        ? [facts([['log size', String(cp.body.size)], ['root', el('code', {}, cp.body.root)], ['signatures', String(cp.body.signatures)]]),
          el('details', {}, el('summary', {}, 'the signed note'), el('pre', { class: 'mono' }, cp.body.note)),
          el('p', { class: 'muted' }, 'As the server states it. A bundle checked in the verify panel proves its checkpoint against the trust keys you give it.')]
        : el('p', { class: 'muted' }, problem(cp))),
    el('p', {}, link('#/verify', 'Verify a bundle you hold'), ' — a reading or certificate bundle from this API, from `greentrace demo --out`, or from anyone.'),
  );
}

// ---- certificate ----

function readingsTable(readings) {
  return el('table', { id: 'readings-table' },
    el('thead', {}, el('tr', {}, el('th', { class: 'num' }, '#'), el('th', { class: 'num' }, 'sequence'), el('th', {}, 'interval (UTC)'), el('th', { class: 'num' }, 'Wh'), el('th', {}, 'quality'), el('th', {}, 'COSE (base64)'))),
    el('tbody', {}, readings.map((r) => el('tr', { dataset: { index: String(r.index), seq: String(r.sequence) } },
      el('td', { class: 'num' }, String(r.index)),
      el('td', { class: 'num' }, r.error ? '—' : String(r.sequence)),
      el('td', {}, r.error ? el('span', { class: 'error' }, r.error) : `${utc(r.start)} – ${utc(r.end).slice(11)}`),
      el('td', { class: 'num' }, r.error ? '—' : String(r.wh)),
      el('td', {}, r.quality === 'm' ? 'measured' : r.quality === 'e' ? 'estimated' : '—'),
      el('td', { class: 'cose', title: r.cose }, r.cose)))));
}

async function historyItem(entry, holdingsById) {
  const decoded = await decodeEntry(fromBase64(entry.bytes) ?? new Uint8Array(0));
  const where = el('span', { class: 'where' }, entryLink(entry.index));
  if (!decoded.ok) return el('li', { dataset: { kind: 'unknown', index: String(entry.index) } }, where, el('span', { class: 'what' }, entry.kind), ' ', el('span', { class: 'error' }, decoded.error));
  const e = decoded.entry;
  const consumed = (holding) => holdingsById.get(holding);
  switch (e.kind) {
    case 'Transferred': {
      const from = consumed(toHex(e.transfer.holding));
      return el('li', { dataset: { kind: 'transfer', index: String(entry.index) } }, where,
        el('div', { class: 'what' }, 'Transferred'),
        el('div', {}, from ? `${energy(from.wh)} ` : '', 'from ', ownerLink(e.authorId), ' to ', ownerLink(await ownerId(e.transfer.to))));
    }
    case 'Split': {
      const from = consumed(toHex(e.split.holding));
      const parts = await Promise.all(e.split.parts.map(async (p) => el('li', {}, `${energy(p.wh)} to `, ownerLink(await ownerId(p.owner)))));
      return el('li', { dataset: { kind: 'split', index: String(entry.index) } }, where,
        el('div', { class: 'what' }, `Split into ${e.split.parts.length} parts`),
        el('div', {}, from ? `${energy(from.wh)} ` : 'A holding ', 'of ', ownerLink(e.authorId), ':'),
        el('ul', {}, parts));
    }
    case 'Claimed': {
      const from = consumed(toHex(e.claim.holding));
      return el('li', { dataset: { kind: 'claim', index: String(entry.index) } }, where,
        el('div', { class: 'what' }, `Claimed for ${e.claim.beneficiary}`),
        el('div', {}, from ? `${energy(from.wh)} ` : '', `used for consumption ${utc(e.claim.periodStart)} to ${utc(e.claim.periodEnd)}, by `, ownerLink(e.authorId), '. Final.'));
    }
    case 'Withdrawn':
      return el('li', { dataset: { kind: 'withdrawal', index: String(entry.index) } }, where,
        el('div', { class: 'what' }, 'Withdrawn by the issuer'),
        el('div', {}, `${e.authorId}: ${e.withdrawal.reason}`));
    default:
      return el('li', { dataset: { kind: e.kind, index: String(entry.index) } }, where, el('div', { class: 'what' }, e.kind));
  }
}

async function certificateView(target, id) {
  document.title = `Certificate ${short(id, 16)} · GreenTrace`;
  const detail = await api(`/api/certificates/${encodeURIComponent(id)}`);
  if (!detail.ok) {
    target.append(el('h1', {}, 'Certificate'), el('p', { class: 'error', id: 'view-error' }, problem(detail)));
    return;
  }
  const d = detail.body;
  const c = d.certificate;
  const [meter, readings] = await Promise.all([api(`/api/meters/${encodeURIComponent(c.meter)}`), api(`/api/certificates/${c.id}/readings`)]);
  const holdingsById = new Map(d.holdings.map((h) => [h.id, h]));
  const readingSum = readings.ok ? readings.body.readings.reduce((n, r) => n + (r.error ? 0 : r.wh), 0) : 0;

  const chain = el('ol', { id: 'chain', class: 'chain' });
  if (meter.ok) {
    const m = meter.body;
    chain.append(el('li', { dataset: { kind: 'registration', index: String(m.registrationIndex) } },
      el('span', { class: 'where' }, entryLink(m.registrationIndex)),
      el('div', { class: 'what' }, 'Meter registered'),
      el('div', {}, 'meter ', meterLink(m.meter), ` (${m.source}/${m.technology}, ${energy(m.capacityW).replace('Wh', 'W')}, ${m.zone}, ${m.country}) by ${m.registeredBy}; new certificates go to `, ownerLink(m.owner))));
  } else {
    chain.append(el('li', { dataset: { kind: 'registration' } }, el('div', { class: 'what' }, 'Meter registration'), el('span', { class: 'error' }, problem(meter))));
  }
  chain.append(el('li', { dataset: { kind: 'readings' } },
    el('div', { class: 'what' }, `${c.readingCount} signed readings`),
    readings.ok
      ? el('details', { id: 'readings-details' }, el('summary', {}, `${readings.body.readings.length} readings, ${energy(readingSum)}, each signed by the meter (show)`), readingsTable(readings.body.readings))
      : el('div', { class: 'muted' }, `Readings are not shown: ${problem(readings)}`)));
  chain.append(el('li', { dataset: { kind: 'certificate', index: String(c.entryIndex) } },
    el('span', { class: 'where' }, entryLink(c.entryIndex)),
    el('div', { class: 'what' }, `Certificate issued: ${energy(c.wh)}`),
    el('div', {}, `${utc(c.periodStart)} to ${utc(c.periodEnd).slice(11)}${c.part > 0 ? `, supplementary part ${c.part}` : ''}, by ${c.issuingBody}; reading root `, el('code', {}, short(c.readingRoot, 16)))));
  for (const entry of d.history.filter((e) => e.kind !== 'CertificateIssued')) chain.append(await historyItem(entry, holdingsById));

  target.append(
    el('h1', {}, 'Certificate ', el('span', { class: 'mono', id: 'certificate-id' }, c.id)),
    el('div', { class: 'card' }, facts([
      ['meter', meterLink(c.meter)],
      ['energy', `${energy(c.wh)} (${wh(c.wh)})`],
      ['period', `${utc(c.periodStart)} to ${utc(c.periodEnd)}`],
      ['source', `${c.source} / ${c.technology}, ${c.zone} (${c.country})`],
      ['issued', `${utc(c.issuedAt)} by ${c.issuingBody}, expires ${utc(c.expiresAt).slice(0, 10)}`],
      ['now', `${energy(d.liveWh)} live, ${energy(d.claimedWh)} claimed${d.withdrawn ? ', withdrawn' : ''}`],
    ])),
    el('h2', {}, 'Chain'),
    el('p', { class: 'muted' }, 'What the server says happened, in log order. Verify the bundle below to prove it.'),
    chain,
    el('h2', {}, 'Holdings'),
    el('table', { id: 'holdings' },
      el('thead', {}, el('tr', {}, el('th', {}, 'holding'), el('th', {}, 'owner'), el('th', { class: 'num' }, 'Wh'), el('th', {}, 'status'), el('th', { class: 'num' }, 'made at'), el('th', { class: 'num' }, 'consumed at'))),
      el('tbody', {}, d.holdings.map((h) => el('tr', { dataset: { status: h.status.toLowerCase() } },
        el('td', { class: 'mono' }, short(h.id, 16)), el('td', {}, ownerLink(h.owner)), el('td', { class: 'num' }, String(h.wh)),
        el('td', { class: `status-${h.status.toLowerCase()}` }, h.status.toLowerCase()), el('td', { class: 'num' }, String(h.createdBy)),
        el('td', { class: 'num' }, h.consumedBy ?? '—'))))),
    el('h2', {}, 'Verify in your browser'),
  );
  const panel = el('div', {});
  target.append(panel);
  verifyPanel(panel, { id: c.id, readingCount: c.readingCount });
}

// ---- meter ----

async function meterView(target, id) {
  document.title = `Meter ${id} · GreenTrace`;
  const meter = await api(`/api/meters/${encodeURIComponent(id)}`);
  if (!meter.ok) {
    target.append(el('h1', {}, `Meter ${id}`), el('p', { class: 'error', id: 'view-error' }, problem(meter)));
    return;
  }
  const m = meter.body;
  const hourly = await api(`/api/meters/${encodeURIComponent(id)}/hourly`);
  target.append(
    el('h1', {}, 'Meter ', el('span', { class: 'mono' }, m.meter)),
    el('div', { class: 'card' }, facts([
      ['registered', el('span', {}, `by ${m.registeredBy}, `, entryLink(m.registrationIndex))],
      ['direction', m.direction === 'gen' ? 'generation' : 'consumption'],
      ['source', `${m.source} / ${m.technology}`],
      ['capacity', energy(m.capacityW).replace('Wh', 'W')],
      ['zone', `${m.zone} (${m.country}), ${(m.latE6 / 1e6).toFixed(4)}, ${(m.lonE6 / 1e6).toFixed(4)}`],
      ['owner', ownerLink(m.owner)],
      m.keyRotations > 0 && ['key rotations', String(m.keyRotations)],
      m.revokedFrom !== null && m.revokedFrom !== undefined && ['revoked', `from ${utc(m.revokedFrom)}: ${m.revocationReason}`],
    ])),
    el('h2', {}, 'Hourly generation and certificates'),
  );
  if (hourly.ok) {
    const h = hourly.body;
    target.append(
      el('p', { class: 'muted', id: 'hourly-summary' }, `${utc(h.from)} to ${utc(h.to)}: ${energy(h.readingWh)} in archived readings, ${energy(h.certificateWh)} in certificates.`),
      hourlyChart(h));
    if (h.undecodable > 0) target.append(el('p', { class: 'error' }, `${h.undecodable} archived readings no longer decode and are left out.`));
  } else {
    target.append(el('p', { class: 'muted', id: 'hourly-message' }, `No hourly figures: ${problem(hourly)}`));
  }
  target.append(
    el('h2', {}, `Certificates (${m.certificates.length})`),
    el('table', { id: 'meter-certificates' },
      el('thead', {}, el('tr', {}, el('th', {}, 'certificate'), el('th', {}, 'period (UTC)'), el('th', { class: 'num' }, 'part'), el('th', { class: 'num' }, 'Wh'), el('th', { class: 'num' }, 'readings'), el('th', { class: 'num' }, 'log index'))),
      el('tbody', {}, m.certificates.map((c) => el('tr', {},
        el('td', {}, certificateLink(c.id)), el('td', {}, `${utc(c.periodStart)} – ${utc(c.periodEnd).slice(11)}`), el('td', { class: 'num' }, String(c.part)),
        el('td', { class: 'num' }, String(c.wh)), el('td', { class: 'num' }, String(c.readingCount)), el('td', { class: 'num' }, entryLink(c.entryIndex)))))),
  );
}

// ---- owner ----

async function matchingSection(target, owner) {
  const section = el('section', { id: 'matching' });
  target.append(el('h2', {}, 'Hourly matching'), section);
  // Without bounds the server answers every hour it has data for.
  const query = `/api/matching?owner=${encodeURIComponent(owner)}`;
  const res = await api(query);
  if (!res.ok) {
    const why = res.status === 404 && !res.body?.code
      ? 'this server has no hourly matching endpoint (GET /api/matching answered 404)'
      : problem(res);
    section.append(el('p', { class: 'muted', id: 'matching-message', dataset: { status: String(res.status) } }, `No matching to show: ${why}.`));
    return;
  }
  const m = res.body;
  const t = m.totals;
  section.append(
    el('p', {}, el('span', { class: 'score', id: 'matching-score', dataset: { score: t.score === null ? '' : String(t.score) } },
      t.score === null ? 'no consumption in this period' : `${(t.score * 100).toFixed(1)} % matched hour by hour`)),
    el('p', { class: 'muted', id: 'matching-totals' }, `${utc(m.from)} to ${utc(m.to)}: ${energy(t.consumptionWh)} consumed, ${energy(t.claimedWh)} claimed, ${energy(t.matchedWh)} matched in the same hour`
      + (m.meters?.length ? `; consumption of ${m.meters.join(', ')}` : '') + '.'),
    matchingChart(m));
  if ((m.to - m.from) / 3600 > 31 * 24) section.append(el('p', { class: 'muted' }, 'The chart shows the last 31 days of the period; the totals are for all of it.'));
  if (m.claims?.length > 0) {
    section.append(
      el('h3', {}, 'Claims counted'),
      el('table', { id: 'matching-claims' },
        el('thead', {}, el('tr', {}, el('th', {}, 'certificate'), el('th', {}, 'production hour (UTC)'), el('th', { class: 'num' }, 'Wh'), el('th', {}, 'beneficiary'), el('th', { class: 'num' }, 'claimed at'))),
        el('tbody', {}, m.claims.map((c) => el('tr', {},
          el('td', {}, certificateLink(c.certificate)), el('td', {}, utc(c.hour)), el('td', { class: 'num' }, String(c.wh)),
          el('td', {}, c.beneficiary), el('td', { class: 'num' }, entryLink(c.index)))))));
  }
}

async function ownerView(target, id) {
  document.title = `Owner ${short(id, 22)} · GreenTrace`;
  const owner = await api(`/api/owners/${encodeURIComponent(id)}`);
  target.append(el('h1', {}, 'Owner ', el('span', { class: 'mono' }, id)));
  if (!owner.ok) {
    target.append(el('p', { class: 'error', id: 'view-error' }, problem(owner)));
    await matchingSection(target, id);
    return;
  }
  const o = owner.body;
  target.append(
    el('div', { class: 'card' }, facts([['live holdings', `${o.holdings.length}, ${energy(o.liveWh)}`], ['key (SPKI)', el('code', {}, o.ownerKey)]])),
    el('h2', {}, 'Live holdings'),
    o.holdings.length === 0
      ? el('p', { class: 'muted' }, 'None: everything this owner held has been transferred, split or claimed.')
      : el('table', { id: 'owner-holdings' },
        el('thead', {}, el('tr', {}, el('th', {}, 'holding'), el('th', {}, 'certificate'), el('th', {}, 'meter'), el('th', {}, 'period (UTC)'), el('th', { class: 'num' }, 'Wh'), el('th', { class: 'num' }, 'since'))),
        el('tbody', {}, o.holdings.map((h) => el('tr', {},
          el('td', { class: 'mono' }, short(h.id, 16)), el('td', {}, certificateLink(h.certificate.id)), el('td', {}, meterLink(h.certificate.meter)),
          el('td', {}, `${utc(h.certificate.periodStart)} – ${utc(h.certificate.periodEnd).slice(11)}`), el('td', { class: 'num' }, String(h.wh)),
          el('td', { class: 'num' }, entryLink(h.createdBy)))))),
  );
  await matchingSection(target, id);
}

// ---- verify ----

function verifyView(target) {
  document.title = 'Verify a bundle · GreenTrace';
  target.append(
    el('h1', {}, 'Verify a proof bundle'),
    el('p', {}, 'Paste or load a reading bundle (greentrace-proof-bundle/1) or a certificate bundle (greentrace-certificate-bundle/1). The check runs here, with WebCrypto, against the trust keys on the left.'));
  const panel = el('div', {});
  target.append(panel);
  verifyPanel(panel, null);
}

// ---- routing and search ----

async function route() {
  const mine = ++renderCount;
  const [, kind = '', ...rest] = (location.hash.slice(1) || '/').split('/');
  const id = decodeURIComponent(rest.join('/'));
  const target = el('div', {});
  view.dataset.view = kind || 'home';
  view.dataset.state = 'loading';
  try {
    if (kind === 'certificate' && id) await certificateView(target, id.toLowerCase());
    else if (kind === 'meter' && id) await meterView(target, id);
    else if (kind === 'owner' && id) await ownerView(target, id.toLowerCase());
    else if (kind === 'verify') verifyView(target);
    else await home(target);
  } catch (e) {
    target.append(el('p', { class: 'error', id: 'view-error' }, `This page failed: ${e.message}`));
  }
  // A later navigation wins: a slow view must not replace the one the user went on to.
  if (mine !== renderCount) return;
  clear(view).append(target);
  view.dataset.state = 'ready';
  window.scrollTo(0, 0);
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

searchForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const q = searchInput.value.trim();
  searchMessage.hidden = true;
  clear(searchMessage);
  if (!q) return;
  const res = await api(`/api/search?q=${encodeURIComponent(q)}`);
  if (!res.ok) {
    searchMessage.append(problem(res));
    searchMessage.hidden = false;
    return;
  }
  const hits = res.body.hits;
  const target = (h) => (h.kind === 'meter' ? `#/meter/${encodeURIComponent(h.id)}` : h.kind === 'owner' ? `#/owner/${h.id}` : `#/certificate/${h.certificate}`);
  if (hits.length === 1) {
    go(target(hits[0]));
    return;
  }
  if (hits.length === 0) searchMessage.append(`Nothing on this ledger is named '${q}'. Search a certificate or holding id (64 hex digits), a meter id or an owner id (owner:…).`);
  else searchMessage.append(`'${q}' names several things:`, el('ul', {}, hits.map((h) => el('li', {}, link(target(h), `${h.kind} ${short(h.id, 24)}`)))));
  searchMessage.hidden = false;
});

window.addEventListener('hashchange', route);
route();
