// The buyer's check, in the browser: a reading bundle ("greentrace-proof-bundle/1") step by step exactly as
// src/GreenTrace.Core/Proofs/ProofBundleVerifier.cs, and a certificate bundle ("greentrace-certificate-bundle/1")
// as CERT-BUNDLE.md specifies. Nothing from the server is trusted: keys come from the trust JSON the user sees,
// the meter key from its registration entry, and every entry is tied to a checkpoint a quorum of nodes signed.
// Step names are the contract shared with the C# verifier and the CLI; the first failing step is the verdict.

import { concat, equal, fromBase64, fromHex, sha256, toHex, uint32BE, utf8 } from './bytes.js';
import { encode } from './cbor.js';
import { importP256 } from './cose.js';
import { decodeEntry, verifyEntry } from './entries.js';
import { leafHash, rootOf, verifyInclusion } from './merkle.js';
import { verifyCheckpoint } from './note.js';
import { decodeReading, verifyReading } from './readings.js';

export const READING_BUNDLE = 'greentrace-proof-bundle/1';
export const CERTIFICATE_BUNDLE = 'greentrace-certificate-bundle/1';

export const Steps = {
  bundleFormat: 'bundle-format',
  checkpoint: 'checkpoint',
  deviceEntry: 'device-entry',
  deviceInclusion: 'device-inclusion',
  certificateEntry: 'certificate-entry',
  certificateInclusion: 'certificate-inclusion',
  readingSignature: 'reading-signature',
  readingInCertificate: 'reading-in-certificate',
  readingInclusion: 'reading-inclusion',
  readingsSignature: 'readings-signature',
  readingsInCertificate: 'readings-in-certificate',
  readingsRoot: 'readings-root',
  historyEntry: 'history-entry',
  historyInclusion: 'history-inclusion',
  ownership: 'ownership',
};

const HOLDING_DOMAIN = utf8('greentrace/holding/v1');

class Report {
  constructor(kind) {
    this.kind = kind;
    this.steps = [];
    this.facts = {};
  }

  pass(step, detail) {
    this.steps.push({ step, passed: true, detail });
  }

  fail(step, detail) {
    this.steps.push({ step, passed: false, detail });
    return this.done();
  }

  done() {
    const failed = this.steps.find((s) => !s.passed);
    return { kind: this.kind, steps: this.steps, valid: this.steps.length > 0 && !failed, failedStep: failed?.step ?? null, facts: this.facts };
  }
}

class ShapeError extends Error {}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function onlyKeys(object, allowed, what) {
  const extra = Object.keys(object).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new ShapeError(`not a proof bundle: unknown property '${extra}' in ${what}`);
}

function integer(v, what) {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ShapeError(`not a proof bundle: ${what} must be an integer`);
  return v;
}

function base64(v, what) {
  if (v === null || v === undefined) return null;
  const bytes = typeof v === 'string' ? fromBase64(v) : null;
  if (bytes === null) throw new ShapeError(`not a proof bundle: ${what} is not base64`);
  return bytes;
}

/** A proven leaf as ProofBundle's JSON reads it: { value, index, treeSize, proof }; a missing number reads as 0. */
function leaf(v, what) {
  if (v === null || v === undefined) return null;
  if (!isObject(v)) throw new ShapeError(`not a proof bundle: ${what} must be an object`);
  onlyKeys(v, ['value', 'index', 'treeSize', 'proof'], what);
  let proof = null;
  if (v.proof !== null && v.proof !== undefined) {
    if (!Array.isArray(v.proof) || v.proof.some((h) => h !== null && typeof h !== 'string')) throw new ShapeError(`not a proof bundle: ${what}.proof must be an array of strings`);
    proof = v.proof;
  }
  const value = base64(v.value, `${what}.value`);
  if (value === null || proof === null) throw new ShapeError('every proven leaf needs a value and a proof');
  return { value, index: integer(v.index, `${what}.index`), treeSize: integer(v.treeSize, `${what}.treeSize`), proof };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ShapeError(`not a proof bundle: ${e.message}`);
  }
}

function readingBundleShape(b) {
  onlyKeys(b, ['format', 'reading', 'certificate', 'device', 'checkpoint'], 'the bundle');
  if (b.checkpoint !== undefined && b.checkpoint !== null && typeof b.checkpoint !== 'string') throw new ShapeError('not a proof bundle: checkpoint must be a string');
  if (b.format !== undefined && b.format !== null && typeof b.format !== 'string') throw new ShapeError('not a proof bundle: format must be a string');
  const reading = leaf(b.reading, 'reading');
  const certificate = leaf(b.certificate, 'certificate');
  const device = leaf(b.device, 'device');
  if (!reading || !certificate || !device || typeof b.checkpoint !== 'string') throw new ShapeError('bundle lacks reading, certificate, device or checkpoint');
  if (b.format !== READING_BUNDLE) throw new ShapeError(`unknown bundle format '${b.format ?? ''}' (expected '${READING_BUNDLE}')`);
  return { reading, certificate, device, checkpoint: b.checkpoint };
}

function certificateBundleShape(b) {
  onlyKeys(b, ['format', 'certificate', 'device', 'readings', 'history', 'checkpoint'], 'the bundle');
  if (b.checkpoint !== undefined && b.checkpoint !== null && typeof b.checkpoint !== 'string') throw new ShapeError('not a certificate bundle: checkpoint must be a string');
  for (const list of ['readings', 'history']) {
    if (b[list] !== undefined && b[list] !== null && !Array.isArray(b[list])) throw new ShapeError(`not a certificate bundle: ${list} must be an array`);
  }
  const certificate = leaf(b.certificate, 'certificate');
  const device = leaf(b.device, 'device');
  const readings = (b.readings ?? null)?.map((r, i) => base64(r, `readings[${i}]`));
  const history = (b.history ?? null)?.map((h, i) => leaf(h, `history[${i}]`));
  if (!certificate || !device || !readings || !history || typeof b.checkpoint !== 'string') throw new ShapeError('bundle lacks certificate, device, readings, history or checkpoint');
  if (readings.some((r) => r === null)) throw new ShapeError('every reading is a base64 string');
  if (history.some((h) => h === null)) throw new ShapeError('every proven leaf needs a value and a proof');
  return { certificate, device, readings, history, checkpoint: b.checkpoint };
}

/**
 * Verifies a bundle given as JSON text against parsed trust (see trust.js). The format field chooses the rules.
 * Returns { kind: 'reading' | 'certificate', steps: [{ step, passed, detail }], valid, failedStep, facts }.
 */
export async function verifyBundle(text, trust) {
  let json;
  try {
    json = parseJson(text);
    // As Bundles.Parse: the format member alone decides which rules apply.
    if (!isObject(json)) throw new ShapeError('a bundle is a JSON object');
    if (json.format === CERTIFICATE_BUNDLE) return await verifyCertificateBundle(certificateBundleShape(json), trust);
    if (json.format === READING_BUNDLE) return await verifyReadingBundle(readingBundleShape(json), trust);
    if (typeof json.format !== 'string') throw new ShapeError('bundle has no format');
    throw new ShapeError(`unknown bundle format '${json.format}' (expected '${READING_BUNDLE}' or '${CERTIFICATE_BUNDLE}')`);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    const report = new Report(json?.format === CERTIFICATE_BUNDLE ? 'certificate' : 'reading');
    return report.fail(Steps.bundleFormat, e.message);
  }
}

// ---- shared steps (1 to 5 of both bundle kinds) ----

async function checkIssuerEntry(entry, zone, trust) {
  const issuer = trust.issuers.get(entry.authorId);
  if (!issuer) return `'${entry.authorId}' is not a trusted issuer`;
  if (!(await verifyEntry(entry, issuer.key))) return `signature does not verify with issuer '${issuer.id}''s key`;
  if (!issuer.zones.includes(zone)) return `issuer '${issuer.id}' is not trusted for zone '${zone}'`;
  return null;
}

async function checkInclusion(item, root, size) {
  const proof = [];
  for (const h of item.proof) {
    const bytes = typeof h === 'string' ? fromHex(h, 32) : null;
    if (bytes === null) return 'proof holds a malformed hash';
    proof.push(bytes);
  }
  return (await verifyInclusion(await leafHash(item.value), BigInt(item.index), BigInt(size), proof, root))
    ? null
    : `inclusion proof for leaf ${item.index} of ${size} does not reach the root`;
}

function checkLogInclusion(item, checkpoint) {
  return BigInt(item.treeSize) !== checkpoint.size
    ? `proof is for a log of ${item.treeSize} entries, the checkpoint for ${checkpoint.size}`
    : checkInclusion(item, checkpoint.root, checkpoint.size);
}

export async function certificateIdOf(c) {
  return sha256(encode(['greentrace/certificate/v1', c.meter, c.periodStart, c.periodEnd, c.part]));
}

function count(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function time(seconds) {
  return new Date(Number(seconds) * 1000).toISOString().replace('T', ' ').replace(':00.000Z', 'Z');
}

/** Steps checkpoint, device-entry, device-inclusion, certificate-entry, certificate-inclusion; null once one fails. */
async function commonSteps(report, bundle, trust) {
  const stop = (step, detail) => {
    report.fail(step, detail);
    return null;
  };
  const cp = await verifyCheckpoint(bundle.checkpoint, trust.origin, trust.nodes, trust.quorum);
  if (!cp.ok) return stop(Steps.checkpoint, `${cp.error}: ${cp.detail}`);
  const checkpoint = cp.checkpoint;
  report.facts.checkpoint = checkpoint;
  report.pass(Steps.checkpoint, `${checkpoint.origin} size ${checkpoint.size}, signed by ${cp.signers.join(', ')}`);

  const d = await decodeEntry(bundle.device.value);
  if (!d.ok || d.entry.kind !== 'DeviceRegistered') return stop(Steps.deviceEntry, d.ok ? 'not a DeviceRegistered entry' : d.error);
  const deviceEntry = d.entry;
  const device = deviceEntry.device;
  report.facts.device = device;
  report.facts.deviceEntry = deviceEntry;
  const deviceCheck = await checkIssuerEntry(deviceEntry, device.zone, trust);
  if (deviceCheck) return stop(Steps.deviceEntry, deviceCheck);
  report.pass(Steps.deviceEntry, `meter ${device.meter} (${device.source}, ${device.zone}) registered by ${deviceEntry.authorId}`);
  const deviceInclusion = await checkLogInclusion(bundle.device, checkpoint);
  if (deviceInclusion) return stop(Steps.deviceInclusion, deviceInclusion);
  report.pass(Steps.deviceInclusion, `log entry ${bundle.device.index} of ${checkpoint.size}`);

  const c = await decodeEntry(bundle.certificate.value);
  if (!c.ok || c.entry.kind !== 'CertificateIssued') return stop(Steps.certificateEntry, c.ok ? 'not a CertificateIssued entry' : c.error);
  const certEntry = c.entry;
  const certificate = certEntry.certificate;
  report.facts.certificate = certificate;
  const certCheck =
    (await checkIssuerEntry(certEntry, certificate.zone, trust)) ??
    (certificate.meter !== device.meter ? `certificate is for meter '${certificate.meter}', the registration for '${device.meter}'` : null) ??
    (certificate.zone !== device.zone || certificate.country !== device.country || certificate.source !== device.source || certificate.technology !== device.technology || certificate.carrier !== 'electricity'
      ? "certificate attributes differ from the meter's registration"
      : null) ??
    (certificate.issuingBody !== certEntry.authorId ? `issuing body '${certificate.issuingBody}' is not the signer '${certEntry.authorId}'` : null) ??
    (!equal(await certificateIdOf(certificate), certificate.id) ? 'certificate id does not derive from its meter and period' : null) ??
    (bundle.certificate.index <= bundle.device.index ? "certificate precedes the meter's registration in the log" : null);
  if (certCheck) return stop(Steps.certificateEntry, certCheck);
  report.pass(Steps.certificateEntry, `certificate ${certificate.idHex.slice(0, 16)}… ${certificate.wh} Wh issued by ${certEntry.authorId}`);
  const certInclusion = await checkLogInclusion(bundle.certificate, checkpoint);
  if (certInclusion) return stop(Steps.certificateInclusion, certInclusion);
  report.pass(Steps.certificateInclusion, `log entry ${bundle.certificate.index} of ${checkpoint.size}`);
  return { checkpoint, device, deviceEntry, certificate, certEntry };
}

// ---- reading bundles ----

async function verifyReadingBundle(bundle, trust) {
  const report = new Report('reading');
  const common = await commonSteps(report, bundle, trust);
  if (!common) return report.done();
  const { device, certificate } = common;

  const meterKey = await importP256(device.publicKey);
  if (meterKey === null) return report.fail(Steps.readingSignature, 'registered meter key is not a P-256 key');
  const decoded = decodeReading(bundle.reading.value);
  if (!decoded.ok) return report.fail(Steps.readingSignature, `${decoded.code}: ${decoded.message}`);
  const bad = await verifyReading(decoded, meterKey);
  if (bad) return report.fail(Steps.readingSignature, `${bad.code}: ${bad.message}`);
  const reading = decoded.reading;
  report.facts.reading = reading;
  report.pass(Steps.readingSignature, `reading ${reading.seq} signed by meter ${reading.meter}`);

  const inCert =
    readingInCertificate(reading, certificate) ??
    (bundle.reading.treeSize !== certificate.readingCount ? `proof is for a tree of ${bundle.reading.treeSize} readings, the certificate has ${certificate.readingCount}` : null);
  if (inCert) return report.fail(Steps.readingInCertificate, inCert);
  report.pass(Steps.readingInCertificate, `${reading.wh} Wh, ${time(reading.start)} to ${time(reading.end)}`);
  const inclusion = await checkInclusion(bundle.reading, certificate.readingRoot, certificate.readingCount);
  if (inclusion) return report.fail(Steps.readingInclusion, inclusion);
  report.pass(Steps.readingInclusion, `reading ${bundle.reading.index} of ${certificate.readingCount} under the certificate's reading root`);
  return report.done();
}

// ---- certificate bundles ----

const HISTORY_KINDS = ['Transferred', 'Split', 'Claimed', 'Withdrawn'];

async function verifyCertificateBundle(bundle, trust) {
  const report = new Report('certificate');
  const common = await commonSteps(report, bundle, trust);
  if (!common) return report.done();
  const { checkpoint, device, deviceEntry, certificate } = common;

  // 6. Every reading decodes strictly and is signed by the registered meter key.
  const meterKey = await importP256(device.publicKey);
  if (meterKey === null) return report.fail(Steps.readingsSignature, 'registered meter key is not a P-256 key');
  const readings = [];
  for (let i = 0; i < bundle.readings.length; i++) {
    const decoded = decodeReading(bundle.readings[i]);
    if (!decoded.ok) return report.fail(Steps.readingsSignature, `reading ${i}: ${decoded.code}: ${decoded.message}`);
    const bad = await verifyReading(decoded, meterKey);
    if (bad) return report.fail(Steps.readingsSignature, `reading ${i}: ${bad.code}: ${bad.message}`);
    readings.push(decoded.reading);
  }
  report.facts.readings = readings;
  report.pass(Steps.readingsSignature, `${readings.length} readings signed by meter ${device.meter}`);

  // 7. They are this certificate's: meter, period, generation, increasing sequence, count and sum.
  const inCert = readingsInCertificate(readings, certificate);
  if (inCert) return report.fail(Steps.readingsInCertificate, inCert);
  report.pass(Steps.readingsInCertificate, `${readings.length} readings, #${readings[0].seq} to #${readings[readings.length - 1].seq}, ${certificate.wh} Wh in total`);

  // 8. Together they are exactly the tree the certificate names.
  const root = await rootOf(bundle.readings);
  if (!equal(root, certificate.readingRoot)) return report.fail(Steps.readingsRoot, `the readings' root ${toHex(root).slice(0, 16)}… is not the certificate's reading root ${toHex(certificate.readingRoot).slice(0, 16)}…`);
  report.pass(Steps.readingsRoot, "the readings are the leaves of the certificate's reading root");

  // 9. Each history item is a signed owner or issuer entry about this certificate, in log order after issuance.
  const history = [];
  let lastIndex = bundle.certificate.index;
  for (let i = 0; i < bundle.history.length; i++) {
    const item = bundle.history[i];
    const at = `history ${i} (log entry ${item.index})`;
    const d = await decodeEntry(item.value);
    if (!d.ok) return report.fail(Steps.historyEntry, `${at}: ${d.error}`);
    const e = d.entry;
    if (!HISTORY_KINDS.includes(e.kind)) return report.fail(Steps.historyEntry, `${at}: a ${e.kind} entry is no part of a certificate's history`);
    if (e.certificateId !== certificate.idHex) return report.fail(Steps.historyEntry, `${at}: the entry is about certificate ${e.certificateId}, not ${certificate.idHex}`);
    if (e.kind === 'Withdrawn') {
      const why = await checkIssuerEntry(e, certificate.zone, trust);
      if (why) return report.fail(Steps.historyEntry, `${at}: ${why}`);
    } else if (!(await verifyEntry(e, await importP256(e.signerKey)))) {
      return report.fail(Steps.historyEntry, `${at}: entry-signature: entry signature does not verify with the key in its kid (${e.authorId})`);
    }
    if (item.index <= lastIndex) return report.fail(Steps.historyEntry, `${at}: it must come after log entry ${lastIndex} (the certificate or the history entry before it)`);
    lastIndex = item.index;
    history.push({ entry: e, index: item.index });
  }
  report.facts.history = history;
  const kinds = [...new Set(history.map((h) => h.entry.kind))].map((k) => `${history.filter((h) => h.entry.kind === k).length} ${k}`);
  report.pass(Steps.historyEntry, history.length === 0 ? 'no entry about the certificate since its issuance' : `${count(history.length, 'entry', 'entries')}: ${kinds.join(', ')}`);

  // 10. Each is in the log the checkpoint fixes.
  for (let i = 0; i < bundle.history.length; i++) {
    const why = await checkLogInclusion(bundle.history[i], checkpoint);
    if (why) return report.fail(Steps.historyInclusion, `history ${i}: ${why}`);
  }
  report.pass(Steps.historyInclusion, bundle.history.length === 0 ? 'nothing to prove'
    : `${bundle.history.length === 1 ? 'log entry' : 'log entries'} ${bundle.history.map((h) => h.index).join(', ')} of ${checkpoint.size}`);

  // 11. Replaying them from the first holding never spends what the signer does not hold.
  const replay = await replayOwnership(certificate, bundle.certificate.index, deviceEntry, history, trust);
  if (replay.error) return report.fail(Steps.ownership, replay.error);
  report.facts.holdings = replay.holdings;
  report.facts.claims = replay.claims;
  const total = (status) => replay.holdings.filter((h) => h.status === status).reduce((n, h) => n + h.wh, 0n);
  const live = replay.holdings.filter((h) => h.status === 'live').length;
  report.pass(Steps.ownership, `${count(history.length, 'entry', 'entries')} replayed: ${total('live')} Wh live in ${count(live, 'holding', 'holdings')}, ${total('claimed')} Wh claimed, ${total('withdrawn')} Wh withdrawn`);
  return report.done();
}

const UINT64_MAX = 0xffffffffffffffffn;

function readingInCertificate(r, certificate) {
  return r.meter !== certificate.meter ? 'reading is from another meter'
    : r.start < certificate.periodStart || r.end > certificate.periodEnd ? 'reading interval lies outside the certificate period'
    : r.direction !== 'gen' ? 'reading is not generation'
    : null;
}

/** CertificateReadings.CheckAll: every reading belongs, sequence numbers strictly increase, count and Wh are the certificate's. */
function readingsInCertificate(readings, certificate) {
  if (readings.length === 0) return 'the bundle has no readings: a certificate certifies at least one';
  let sum = 0n;
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i];
    const why = readingInCertificate(r, certificate);
    if (why) return `reading ${i} (#${r.seq}): ${why}`;
    if (i > 0 && r.seq <= readings[i - 1].seq) return `reading ${i} (#${r.seq}) does not follow #${readings[i - 1].seq}: sequence numbers must strictly increase`;
    sum += r.wh;
    if (sum > UINT64_MAX) return "the readings' Wh overflow 64 bits";
  }
  if (readings.length !== certificate.readingCount) return `the bundle has ${readings.length} readings, the certificate ${certificate.readingCount}`;
  if (sum !== certificate.wh) return `the readings sum to ${sum} Wh, the certificate's face value is ${certificate.wh} Wh`;
  return null;
}

export async function holdingId(entryId, part) {
  return sha256(concat(HOLDING_DOMAIN, entryId, uint32BE(part)));
}

async function replayOwnership(certificate, certificateIndex, deviceEntry, history, trust) {
  const first = deviceEntry.deviceOwner ?? trust.issuers.get(certificate.issuingBody)?.publicKey;
  if (!first) return { error: `the issuing body '${certificate.issuingBody}' has no key in the trust` };
  const holdings = new Map();
  const create = async (id, wh, owner, index) => {
    const idHex = toHex(id);
    if (holdings.has(idHex)) return `holding ${idHex.slice(0, 16)}… is made twice`;
    holdings.set(idHex, { id: idHex, wh, owner, ownerId: 'owner:' + toHex(await sha256(owner)), status: 'live', createdBy: index, consumedBy: null });
    return null;
  };
  await create(certificate.id, certificate.wh, first, certificateIndex);
  const claims = [];
  for (const { entry: e, index } of history) {
    if (e.kind === 'Withdrawn') {
      for (const h of holdings.values()) {
        if (h.status === 'live') {
          h.status = 'withdrawn';
          h.consumedBy = index;
        }
      }
      continue;
    }
    const body = e.transfer ?? e.split ?? e.claim;
    const h = holdings.get(toHex(body.holding));
    const name = `log entry ${index} (${e.kind})`;
    const id = toHex(body.holding);
    if (!h) return { error: `${name} consumes holding ${id.slice(0, 16)}…, which no earlier entry of this bundle made` };
    if (h.status !== 'live') return { error: `${name} consumes holding ${id.slice(0, 16)}…, already ${h.status} by log entry ${h.consumedBy}` };
    if (!equal(h.owner, e.signerKey)) return { error: `${name} is signed by ${e.authorId}, but holding ${id.slice(0, 16)}… belongs to ${h.ownerId}` };
    h.consumedBy = index;
    if (e.kind === 'Transferred') {
      h.status = 'spent';
      const twice = await create(await holdingId(e.id, 0), h.wh, e.transfer.to, index);
      if (twice) return { error: `${name}: ${twice}` };
    } else if (e.kind === 'Split') {
      const sum = e.split.parts.reduce((n, p) => n + p.wh, 0n);
      if (sum > UINT64_MAX) return { error: `${name}: the parts' Wh overflow 64 bits` };
      if (sum !== h.wh) return { error: `${name}: the parts sum to ${sum} Wh, holding ${h.id.slice(0, 16)}… has ${h.wh} Wh` };
      h.status = 'spent';
      for (let i = 0; i < e.split.parts.length; i++) {
        const again = await create(await holdingId(e.id, i), e.split.parts[i].wh, e.split.parts[i].owner, index);
        if (again) return { error: `${name}: ${again}` };
      }
    } else {
      h.status = 'claimed';
      claims.push({ beneficiary: e.claim.beneficiary, periodStart: e.claim.periodStart, periodEnd: e.claim.periodEnd, wh: h.wh, claimant: e.authorId, index });
    }
  }
  return { holdings: [...holdings.values()], claims };
}
