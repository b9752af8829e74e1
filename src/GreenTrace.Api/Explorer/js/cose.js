// COSE_Sign1 (RFC 9052) with ES256, verified with WebCrypto. The Sig_structure is built from the exact protected
// header bytes received; COSE's ES256 signature is raw r ‖ s, which is what WebCrypto's ECDSA takes.

import { decode, encode, CborError } from './cbor.js';
import { toHex } from './bytes.js';

export const LABEL_ALG = 1n;
export const LABEL_CRIT = 2n;
export const LABEL_CONTENT_TYPE = 3n;
export const LABEL_KID = 4n;

/**
 * Decodes the COSE_Sign1 structure (tag 18 optional, as .NET's decoder has it: callers that require the tag check
 * the first byte). Returns { ok: true, message } or { ok: false, message: why }.
 * message: { tagged, protectedBytes, protected: [[label, value]], unprotected: [[label, value]], payload, signature }
 * where labels are BigInt or string and values are decoded CBOR items (with .raw, their exact bytes).
 */
export function decodeSign1(bytes) {
  let item;
  try {
    item = decode(bytes, 'strict');
  } catch (e) {
    if (e instanceof CborError) return fail(`not CBOR: ${e.message}`);
    throw e;
  }
  let tagged = false;
  if (item.t === 'tag') {
    if (item.tag !== 18n) return fail(`tag ${item.tag} is not COSE_Sign1 (18)`);
    tagged = true;
    item = item.v;
  }
  if (item.t !== 'array' || item.v.length !== 4) return fail('COSE_Sign1 is an array of four items');
  const [prot, unprot, payload, signature] = item.v;
  if (prot.t !== 'bytes') return fail('protected header must be a byte string');
  let protectedMap = [];
  if (prot.v.length > 0) {
    let m;
    try {
      m = decode(prot.v, 'strict');
    } catch (e) {
      if (e instanceof CborError) return fail(`protected header is not CBOR: ${e.message}`);
      throw e;
    }
    if (m.t !== 'map') return fail('protected header must be a map');
    const r = headerMap(m, prot.v);
    if (typeof r === 'string') return fail(r);
    protectedMap = r;
  }
  if (unprot.t !== 'map') return fail('unprotected header must be a map');
  const unprotectedMap = headerMap(unprot, bytes);
  if (typeof unprotectedMap === 'string') return fail(unprotectedMap);
  const inProtected = new Set(protectedMap.map(([l]) => String(l)));
  if (unprotectedMap.some(([l]) => inProtected.has(String(l)))) return fail('a header label is in both buckets');
  if (payload.t !== 'bytes' && !(payload.t === 'simple' && payload.v === 22)) return fail('payload must be a byte string or nil');
  if (signature.t !== 'bytes') return fail('signature must be a byte string');
  return {
    ok: true,
    message: {
      tagged,
      protectedBytes: prot.v,
      protected: protectedMap,
      unprotected: unprotectedMap,
      payload: payload.t === 'bytes' ? payload.v : null,
      signature: signature.v,
    },
  };
}

function fail(message) {
  return { ok: false, message };
}

// Labels are integers or text; the registered ones must have their registered types (as .NET's decoder requires).
function headerMap(map, source) {
  const out = [];
  for (const [k, v] of map.v) {
    let label;
    if (k.t === 'uint' || k.t === 'nint') label = k.v;
    else if (k.t === 'text') label = k.v;
    else return 'header labels must be integers or text';
    const ok =
      label === LABEL_ALG ? v.t === 'uint' || v.t === 'nint' || v.t === 'text'
      : label === LABEL_CRIT ? v.t === 'array' && v.v.length > 0
      : label === LABEL_CONTENT_TYPE ? v.t === 'uint' || v.t === 'text'
      : label === LABEL_KID ? v.t === 'bytes'
      : true;
    if (!ok) return `header ${label} has the wrong type`;
    v.raw = source.subarray(v.start, v.end);
    out.push([label, v]);
  }
  return out;
}

export function header(headers, label) {
  const found = headers.find(([l]) => l === label);
  return found ? found[1] : undefined;
}

/** alg in the protected header, encoded as exactly the one byte of -7. */
export function hasProtectedEs256(message) {
  const alg = header(message.protected, LABEL_ALG);
  return alg !== undefined && alg.raw.length === 1 && alg.raw[0] === 0x26;
}

const keyCache = new Map();

/** Imports a P-256 SubjectPublicKeyInfo for ECDSA verification; null if it is not one (WebCrypto checks the point). */
export async function importP256(spki) {
  const id = toHex(spki);
  if (keyCache.has(id)) return keyCache.get(id);
  let key = null;
  try {
    key = await crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  } catch {
    key = null;
  }
  keyCache.set(id, key);
  return key;
}

/** ES256 over Sig_structure ["Signature1", protected, h'', payload] (no external AAD). */
export async function verifyEs256(message, key) {
  if (message.payload === null) return false;
  const toBeSigned = encode(['Signature1', message.protectedBytes, new Uint8Array(0), message.payload]);
  try {
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, message.signature, toBeSigned);
  } catch {
    return false;
  }
}
