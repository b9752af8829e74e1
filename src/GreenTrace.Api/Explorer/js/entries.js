// Ledger entries (docs/formats.md "Ledger entries"), decoded as LedgerEntryCodec.Decode does: a tagged COSE_Sign1,
// ES256 and the entry content type in the protected header, kid = issuer id (UTF-8) or, for owner entries, the
// owner's P-256 SubjectPublicKeyInfo; the payload a deterministic CBOR map {v: 1, type, at, body}.

import { decode, CborError } from './cbor.js';
import { decodeSign1, hasProtectedEs256, header, importP256, verifyEs256, LABEL_CONTENT_TYPE, LABEL_KID } from './cose.js';
import { sha256, toHex, utf8Decode } from './bytes.js';
import { isValidMeterId } from './readings.js';

export const CONTENT_TYPE = 'application/greentrace-entry+cbor';
export const KINDS = ['DeviceRegistered', 'CertificateIssued', 'DeviceKeyRotated', 'DeviceRevoked', 'Transferred', 'Split', 'Claimed', 'Withdrawn', 'MembershipChanged'];
export const OWNER_KINDS = ['Transferred', 'Split', 'Claimed'];
const MAX_SPLIT_PARTS = 256;
const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;
const INT32_MAX = 0x7fffffffn;
const INT32_MIN = -0x80000000n;

class FormatError extends Error {}

/** A decoded CBOR map of text keys with typed getters that name the key that was wrong (CborMap in C#). */
class Fields {
  constructor(item, depth = 0) {
    if (depth > 4) throw new FormatError('maps nested too deeply');
    if (item.t !== 'map') throw new FormatError('expected a CBOR map');
    this.values = new Map();
    for (const [k, v] of item.v) {
      if (k.t !== 'text') throw new FormatError('map keys must be text strings');
      let value;
      switch (v.t) {
        case 'uint':
        case 'nint':
          if (v.t === 'nint' && v.v < INT64_MIN) throw new FormatError(`key '${k.v}' is out of range`);
          value = v;
          break;
        case 'text':
        case 'bytes':
          value = v;
          break;
        case 'map':
          value = { t: 'fields', v: new Fields(v, depth + 1) };
          break;
        case 'array':
          value = { t: 'maps', v: v.v.map((m) => new Fields(m, depth + 1)) };
          break;
        default:
          throw new FormatError(`key '${k.v}' has an unsupported CBOR type`);
      }
      this.values.set(k.v, value);
    }
  }

  has(key) {
    return this.values.has(key);
  }

  requireOnly(...allowed) {
    for (const key of this.values.keys()) if (!allowed.includes(key)) throw new FormatError(`unknown key '${key}'`);
  }

  get(key, type, name) {
    const v = this.values.get(key);
    if (v === undefined) throw new FormatError(`key '${key}' is missing`);
    if (v.t !== type) throw new FormatError(`key '${key}' must be a ${name}`);
    return v.v;
  }

  text(key) {
    return this.get(key, 'text', 'text string');
  }

  bytes(key, length) {
    const b = this.get(key, 'bytes', 'byte string');
    if (length !== undefined && b.length !== length) throw new FormatError(`key '${key}' must hold ${length} bytes, not ${b.length}`);
    return b;
  }

  uint(key) {
    return this.get(key, 'uint', 'unsigned integer');
  }

  int(key) {
    const v = this.values.get(key);
    if (v === undefined) throw new FormatError(`key '${key}' is missing`);
    if ((v.t === 'uint' && v.v <= INT64_MAX) || v.t === 'nint') return v.v;
    throw new FormatError(`key '${key}' must be an integer in 64-bit range`);
  }

  int32(key) {
    const v = this.int(key);
    if (v < INT32_MIN || v > INT32_MAX) throw new FormatError(`key '${key}' is out of range`);
    return Number(v);
  }

  map(key) {
    return this.get(key, 'fields', 'map');
  }

  maps(key) {
    return this.get(key, 'maps', 'array of maps');
  }
}

function readMeter(m) {
  const meter = m.text('meter');
  if (!isValidMeterId(meter)) throw new FormatError(`invalid meter id '${meter}'`);
  return meter;
}

function readDevice(m) {
  m.requireOnly('meter', 'publicKey', 'direction', 'source', 'technology', 'capacityW', 'zone', 'country', 'latE6', 'lonE6', 'owner');
  const meter = readMeter(m);
  const direction = m.text('direction');
  if (direction !== 'gen' && direction !== 'con') throw new FormatError(`direction must be 'gen' or 'con', not '${direction}'`);
  return {
    meter,
    publicKey: m.bytes('publicKey'),
    direction,
    source: m.text('source'),
    technology: m.text('technology'),
    capacityW: m.int('capacityW'),
    zone: m.text('zone'),
    country: m.text('country'),
    latE6: m.int32('latE6'),
    lonE6: m.int32('lonE6'),
  };
}

function readCertificate(m) {
  m.requireOnly('id', 'meter', 'periodStart', 'periodEnd', 'part', 'wh', 'carrier', 'source', 'technology', 'zone', 'country', 'issuingBody', 'issuedAt', 'expiresAt', 'readingCount', 'readingRoot', 'quality');
  const q = m.map('quality');
  q.requireOnly('measured', 'estimated', 'measuredWh', 'estimatedWh');
  const c = {
    id: m.bytes('id', 32),
    meter: m.text('meter'),
    periodStart: m.int('periodStart'),
    periodEnd: m.int('periodEnd'),
    part: m.int32('part'),
    wh: m.uint('wh'),
    carrier: m.text('carrier'),
    source: m.text('source'),
    technology: m.text('technology'),
    zone: m.text('zone'),
    country: m.text('country'),
    issuingBody: m.text('issuingBody'),
    issuedAt: m.int('issuedAt'),
    expiresAt: m.int('expiresAt'),
    readingCount: m.int32('readingCount'),
    readingRoot: m.bytes('readingRoot', 32),
    quality: { measured: q.int32('measured'), estimated: q.int32('estimated'), measuredWh: q.uint('measuredWh'), estimatedWh: q.uint('estimatedWh') },
  };
  c.idHex = toHex(c.id);
  return c;
}

function readBody(kind, m) {
  switch (kind) {
    case 'DeviceKeyRotated':
      m.requireOnly('meter', 'publicKey', 'from');
      return { rotation: { meter: readMeter(m), publicKey: m.bytes('publicKey'), from: m.int('from') } };
    case 'DeviceRevoked':
      m.requireOnly('meter', 'from', 'reason');
      return { revocation: { meter: readMeter(m), from: m.int('from'), reason: m.text('reason') } };
    case 'Withdrawn':
      m.requireOnly('certificate', 'reason');
      return { withdrawal: { certificate: m.bytes('certificate', 32), reason: m.text('reason') } };
    case 'Transferred':
      m.requireOnly('certificate', 'holding', 'to');
      return { transfer: { certificate: m.bytes('certificate', 32), holding: m.bytes('holding', 32), to: m.bytes('to') } };
    case 'Split': {
      m.requireOnly('certificate', 'holding', 'parts');
      const parts = m.maps('parts');
      if (parts.length > MAX_SPLIT_PARTS) throw new FormatError(`a split makes at most ${MAX_SPLIT_PARTS} parts, not ${parts.length}`);
      const list = parts.map((p) => {
        p.requireOnly('wh', 'owner');
        return { wh: p.uint('wh'), owner: p.bytes('owner') };
      });
      return { split: { certificate: m.bytes('certificate', 32), holding: m.bytes('holding', 32), parts: list } };
    }
    case 'Claimed':
      m.requireOnly('certificate', 'holding', 'beneficiary', 'periodStart', 'periodEnd');
      return {
        claim: { certificate: m.bytes('certificate', 32), holding: m.bytes('holding', 32), beneficiary: m.text('beneficiary'), periodStart: m.int('periodStart'), periodEnd: m.int('periodEnd') },
      };
    default:
      throw new FormatError(`entry kind ${kind} is not handled`);
  }
}

/**
 * Returns { ok: true, entry } or { ok: false, error }. entry: { kind, authorId, at, bytes, message, id, idHex,
 * signerKey (owner entries), device + deviceOwner, certificate, transfer, split, claim, withdrawal, rotation,
 * revocation, certificateId }. The signature is not checked here: see verifyEntry.
 */
export async function decodeEntry(bytes) {
  try {
    return { ok: true, entry: await decodeOrThrow(bytes) };
  } catch (e) {
    if (e instanceof FormatError || e instanceof CborError) return { ok: false, error: `entry-malformed: ${e.message}` };
    throw e;
  }
}

async function decodeOrThrow(bytes) {
  if (bytes.length >= 2 && bytes[0] === 0xd8 && bytes[1] === 0x62) throw new FormatError('a membership change (COSE_Sign) is not an entry of a certificate or meter');
  if (bytes.length === 0 || bytes[0] !== 0xd2) throw new FormatError('an entry is a tagged COSE_Sign1 message (or COSE_Sign for a membership change)');
  const decoded = decodeSign1(bytes);
  if (!decoded.ok) throw new FormatError(`not a COSE_Sign1 message: ${decoded.message}`);
  const message = decoded.message;
  if (!hasProtectedEs256(message)) throw new FormatError('protected header must set alg to ES256');
  const ct = header(message.protected, LABEL_CONTENT_TYPE);
  if (ct === undefined || ct.t !== 'text' || ct.v !== CONTENT_TYPE) throw new FormatError(`protected content type must be '${CONTENT_TYPE}'`);
  const kid = header(message.protected, LABEL_KID);
  if (kid === undefined) throw new FormatError('protected header must carry the author id as kid');
  if (message.payload === null) throw new FormatError('payload must be embedded');

  let payload;
  try {
    payload = new Fields(decode(message.payload, 'canonical'));
  } catch (e) {
    if (e instanceof CborError) throw new FormatError(`not deterministic CBOR: ${e.message}`);
    throw e;
  }
  payload.requireOnly('v', 'type', 'at', 'body');
  const v = payload.uint('v');
  if (v !== 1n) throw new FormatError(`entry format version ${v} is not supported`);
  const at = payload.int('at');
  const body = payload.map('body');
  const kind = payload.text('type');
  if (!KINDS.includes(kind)) throw new FormatError(`unknown entry type '${kind}'`);

  const entry = { kind, at, bytes, message };
  if (OWNER_KINDS.includes(kind)) {
    // The kid is the signer's SPKI: checked here so a bad key is malformed input.
    if ((await importP256(kid.v)) === null) throw new FormatError("an owner entry's kid must be the owner's P-256 SubjectPublicKeyInfo");
    Object.assign(entry, readBody(kind, body));
    entry.signerKey = kid.v;
    entry.authorId = 'owner:' + toHex(await sha256(kid.v));
  } else {
    if (kind === 'MembershipChanged') throw new FormatError('a membership change must be a COSE_Sign message signed by the nodes');
    const author = utf8Decode(kid.v);
    if (author === null) throw new FormatError('the author id (kid) is not UTF-8');
    entry.authorId = author;
    if (kind === 'DeviceRegistered') {
      if (body.has('owner')) entry.deviceOwner = body.bytes('owner');
      entry.device = readDevice(body);
    } else if (kind === 'CertificateIssued') {
      entry.certificate = readCertificate(body);
    } else {
      Object.assign(entry, readBody(kind, body));
    }
  }
  entry.id = await sha256(bytes);
  entry.idHex = toHex(entry.id);
  const c = entry.certificate?.id ?? entry.transfer?.certificate ?? entry.split?.certificate ?? entry.claim?.certificate ?? entry.withdrawal?.certificate;
  entry.certificateId = c ? toHex(c) : null;
  return entry;
}

/** The entry's ES256 signature under a P-256 CryptoKey. */
export function verifyEntry(entry, key) {
  return verifyEs256(entry.message, key);
}
