// Meter readings (docs/formats.md "Reading"), decoded as strictly as ReadingCodec.Decode, with its reason codes.

import { decode, CborError } from './cbor.js';
import { decodeSign1, hasProtectedEs256, header, verifyEs256, LABEL_ALG, LABEL_CONTENT_TYPE, LABEL_KID } from './cose.js';
import { utf8Decode } from './bytes.js';

const REQUIRED = ['v', 'm', 'seq', 'start', 'end', 'wh', 'reg', 'dir', 'q'];
const MAX_TIME = 253402300799n; // the last second of year 9999

export function isValidMeterId(id) {
  return typeof id === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(id);
}

function fail(code, message) {
  return { ok: false, code, message };
}

/**
 * Returns { ok: true, reading, message } or { ok: false, code, message }. reading: { meter, seq, start, end, wh, reg,
 * direction ('gen'|'con'), quality ('m'|'e') } with BigInt numbers. The signature is checked by verifyReading.
 */
export function decodeReading(bytes) {
  if (bytes.length === 0) return fail('cose-malformed', 'empty message');
  const decoded = decodeSign1(bytes);
  if (!decoded.ok) return fail('cose-malformed', `not a COSE_Sign1 message: ${decoded.message}`);
  const message = decoded.message;
  if (bytes[0] !== 0xd2) return fail('cose-untagged', 'COSE_Sign1 must carry CBOR tag 18');
  if (!hasProtectedEs256(message)) return fail('cose-algorithm', 'protected header must set alg to ES256 (-7)');
  // Only what the format names may ride along: anything else would be unsigned or not understood.
  for (const [label] of message.protected) {
    if (label !== LABEL_ALG && label !== LABEL_KID && label !== LABEL_CONTENT_TYPE) return fail('cose-header-unexpected', 'protected header may hold only alg, kid and content type');
  }
  for (const [label] of message.unprotected) {
    if (label !== LABEL_KID) return fail(label === LABEL_ALG ? 'cose-algorithm' : 'cose-header-unexpected', 'unprotected header may hold only kid');
  }
  const kid = header(message.protected, LABEL_KID) ?? header(message.unprotected, LABEL_KID);
  if (kid === undefined || kid.t !== 'bytes' || kid.v.length === 0) return fail('cose-kid-missing', 'kid (label 4) must hold the meter id as a byte string');
  const kidText = utf8Decode(kid.v);
  if (kidText === null) return fail('meter-id-invalid', 'kid is not UTF-8');
  if (!isValidMeterId(kidText)) return fail('meter-id-invalid', 'kid is not a valid meter id (1-64 of A-Za-z0-9._-)');
  if (message.payload === null) return fail('cose-payload-detached', 'payload must be embedded');
  const payload = decodePayload(message.payload);
  if (!payload.ok) return payload;
  if (payload.reading.meter !== kidText) return fail('kid-mismatch', `kid '${kidText}' differs from payload meter '${payload.reading.meter}'`);
  return { ok: true, reading: payload.reading, message };
}

export function decodePayload(bytes) {
  // Well-formedness first, so "not CBOR at all" and "CBOR, but not deterministic" stay distinct.
  try {
    decode(bytes, 'lax');
  } catch (e) {
    if (!(e instanceof CborError)) throw e;
    return fail('payload-malformed', e.message.startsWith('trailing') ? 'trailing bytes after the payload map' : `payload is not well-formed CBOR: ${e.message}`);
  }
  let map;
  try {
    map = decode(bytes, 'canonical');
  } catch (e) {
    if (!(e instanceof CborError)) throw e;
    return fail('payload-non-deterministic', `payload is not in deterministic encoding: ${e.message}`);
  }
  if (map.t !== 'map') return fail('payload-not-map', 'payload must be a CBOR map');
  const fields = new Map();
  let unknown = null;
  for (const [k, v] of map.v) {
    if (k.t !== 'text') return fail('payload-wrong-type', 'payload map keys must be text strings');
    if (!REQUIRED.includes(k.v)) {
      unknown ??= k.v;
      continue;
    }
    fields.set(k.v, v);
  }
  // The version decides what the other keys mean: a later version's keys are an unsupported version, not unknown keys.
  const version = fields.get('v');
  if (version?.t === 'uint' && version.v !== 1n) return fail('version-unsupported', `format version ${version.v} is not supported (expected 1)`);
  if (unknown !== null) return fail('payload-unknown-key', `unknown payload key '${unknown}'`);
  for (const key of REQUIRED) if (!fields.has(key)) return fail('payload-missing-key', `payload key '${key}' is missing`);
  const types = { v: 'uint', m: 'text', seq: 'uint', start: 'uint', end: 'uint', wh: 'uint', reg: 'uint', dir: 'text', q: 'text' };
  for (const key of REQUIRED) {
    if (fields.get(key).t !== types[key]) return fail('payload-wrong-type', `payload key '${key}' must be a ${types[key] === 'uint' ? 'uint' : 'tstr'}`);
  }
  const value = (key) => fields.get(key).v;
  const reading = {
    meter: value('m'),
    seq: value('seq'),
    start: value('start'),
    end: value('end'),
    wh: value('wh'),
    reg: value('reg'),
    direction: value('dir'),
    quality: value('q'),
  };
  if (!isValidMeterId(reading.meter)) return fail('meter-id-invalid', 'payload meter id is not 1-64 of A-Za-z0-9._-');
  if (reading.direction !== 'gen' && reading.direction !== 'con') return fail('payload-bad-value', `dir must be 'gen' or 'con', not '${reading.direction}'`);
  if (reading.quality !== 'm' && reading.quality !== 'e') return fail('payload-bad-value', `q must be 'm' or 'e', not '${reading.quality}'`);
  if (reading.start > MAX_TIME || reading.end > MAX_TIME) return fail('payload-bad-value', 'interval time is beyond year 9999');
  if (reading.end <= reading.start) return fail('interval-order', `interval end ${reading.end} is not after start ${reading.start}`);
  const length = reading.end - reading.start;
  if (length > 3600n || 3600n % length !== 0n) return fail('interval-length', `interval length ${length}s does not divide one hour`);
  if (reading.start % length !== 0n) return fail('interval-misaligned', `interval start ${reading.start} is not aligned to its length ${length}s`);
  return { ok: true, reading };
}

/** The meter's ES256 signature over a decoded reading: null when it verifies, else { code, message }. */
export async function verifyReading(decoded, meterKey) {
  return (await verifyEs256(decoded.message, meterKey))
    ? null
    : { code: 'signature-invalid', message: `signature does not verify with the key registered for meter '${decoded.reading.meter}'` };
}
