// C2SP signed notes and tlog checkpoints, Ed25519 with WebCrypto, as src/GreenTrace.Core/Checkpoints does them:
// verifier keys `name+hex8+base64(0x01 ‖ key)`, key id = first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ key),
// signature lines `— name base64(key id ‖ signature)`, every line of a known key verified, quorum of distinct names.

import { concat, fromCanonicalBase64, sha256, utf8, utf8Decode } from './bytes.js';

const SIGNATURE_PREFIX = '\u2014 ';
const MAX_SIGNATURES = 100;

export const CheckpointErrors = {
  malformed: 'checkpoint-malformed',
  origin: 'checkpoint-origin',
  quorum: 'checkpoint-quorum',
  signature: 'checkpoint-signature',
};

function isWellFormed(s) {
  return typeof s.isWellFormed === 'function' ? s.isWellFormed() : !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));
}

/** Go's isValidName: non-empty, no whitespace, no '+', no control characters. */
export function isValidKeyName(name) {
  if (typeof name !== 'string' || name.length === 0 || !isWellFormed(name)) return false;
  for (const c of name) if (c === '+' || /\s/u.test(c) || c.charCodeAt(0) < 0x20) return false;
  return true;
}

export async function keyId(name, typedKey) {
  const h = await sha256(concat(utf8(name), new Uint8Array([0x0a]), typedKey));
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

/** Parses `name+hex8+base64`; { ok, verifier: { name, keyId, publicKey, text } } or { ok: false, error }. */
export async function parseVerifierKey(text) {
  if (typeof text !== 'string') return { ok: false, error: 'verifier key is not a string' };
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) return { ok: false, error: 'expected <name>+<key id>+<key data>' };
  const name = text.slice(0, first);
  if (!isValidKeyName(name)) return { ok: false, error: 'invalid key name' };
  const idText = text.slice(first + 1, second);
  if (!/^[0-9a-fA-F]{8}$/.test(idText)) return { ok: false, error: 'key ID must be 8 hexadecimal digits' };
  const id = parseInt(idText, 16) >>> 0;
  const typed = fromCanonicalBase64(text.slice(second + 1));
  if (typed === null || typed.length === 0) return { ok: false, error: 'key data is not canonical standard base64' };
  if ((await keyId(name, typed)) !== id) return { ok: false, error: 'key ID does not match the key name and key data' };
  if (typed[0] !== 0x01) return { ok: false, error: `unsupported signature type 0x${typed[0].toString(16).padStart(2, '0')}` };
  if (typed.length !== 33) return { ok: false, error: 'an Ed25519 public key is 32 bytes' };
  let key;
  try {
    key = await crypto.subtle.importKey('raw', typed.subarray(1), { name: 'Ed25519' }, false, ['verify']);
  } catch (e) {
    return e?.name === 'NotSupportedError'
      ? { ok: false, error: "this browser's WebCrypto has no Ed25519 (Chromium 137, Firefox 129 or Safari 17 and later have it)" }
      : { ok: false, error: `key data is not an Ed25519 public key (${e.message})` };
  }
  return { ok: true, verifier: { name, keyId: id, publicKey: typed.subarray(1), key, text } };
}

/** The syntactic layer: { ok, text, textBytes, signatures: [{ name, keyId, signature, line }] } or { ok: false, error }. */
export function parseNote(note) {
  if (typeof note !== 'string') return { ok: false, error: 'note is not text' };
  if (!isWellFormed(note)) return { ok: false, error: 'note contains an unpaired UTF-16 surrogate' };
  const bytes = utf8(note);
  for (const b of bytes) if (b < 0x20 && b !== 0x0a) return { ok: false, error: 'note contains a control character other than newline' };
  // The text may itself hold blank lines: only the last one separates the signatures.
  let split = -1;
  for (let i = bytes.length - 2; i >= 0; i--) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      split = i;
      break;
    }
  }
  if (split < 0) return { ok: false, error: 'no blank line separates the text from the signatures' };
  const textBytes = bytes.subarray(0, split + 1);
  let block = bytes.subarray(split + 2);
  if (block.length === 0) return { ok: false, error: 'note has no signature lines' };
  if (block[block.length - 1] !== 0x0a) return { ok: false, error: 'last signature line does not end in a newline' };
  const signatures = [];
  while (block.length > 0) {
    const end = block.indexOf(0x0a);
    const line = utf8Decode(block.subarray(0, end));
    block = block.subarray(end + 1);
    if (line === null || !line.startsWith(SIGNATURE_PREFIX)) return { ok: false, error: 'a line after the blank line is not a signature line (\u2014 <name> <base64>)' };
    const body = line.slice(SIGNATURE_PREFIX.length);
    const space = body.indexOf(' ');
    const name = space < 0 ? body : body.slice(0, space);
    const b64 = space < 0 ? '' : body.slice(space + 1);
    if (!isValidKeyName(name)) return { ok: false, error: 'signature line has an invalid key name' };
    const decoded = fromCanonicalBase64(b64);
    if (decoded === null || decoded.length <= 4) return { ok: false, error: `signature by '${name}' is not canonical base64 of a key ID and signature` };
    if (signatures.length === MAX_SIGNATURES) return { ok: false, error: `note has more than ${MAX_SIGNATURES} signatures` };
    const id = ((decoded[0] << 24) | (decoded[1] << 16) | (decoded[2] << 8) | decoded[3]) >>> 0;
    signatures.push({ name, keyId: id, signature: decoded.subarray(4), line });
  }
  return { ok: true, text: utf8Decode(textBytes), textBytes, signatures };
}

/** checkpoint text: origin, decimal size (BigInt), base64 root (32 bytes), extension lines. */
export function parseCheckpoint(text) {
  if (!text.endsWith('\n')) return { ok: false, error: 'checkpoint text must end with a newline' };
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return { ok: false, error: 'checkpoint text needs origin, tree size and root hash lines' };
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin.length === 0) return { ok: false, error: 'checkpoint origin is empty' };
  if (!/^[0-9]+$/.test(sizeText)) return { ok: false, error: 'checkpoint tree size is not a decimal number' };
  if (sizeText.length > 1 && sizeText[0] === '0') return { ok: false, error: 'checkpoint tree size has a leading zero' };
  const size = BigInt(sizeText);
  if (size > 0x7fffffffffffffffn) return { ok: false, error: 'checkpoint tree size is too large' };
  const root = fromCanonicalBase64(rootText);
  if (root === null) return { ok: false, error: 'checkpoint root hash is not canonical standard base64' };
  if (root.length !== 32) return { ok: false, error: `checkpoint root hash is ${root.length} bytes, expected 32` };
  if (extensions.some((e) => e.length === 0)) return { ok: false, error: 'checkpoint extension lines must be non-empty' };
  return { ok: true, checkpoint: { origin, size, root, extensions } };
}

/**
 * CheckpointVerifier.Verify: parse, verify every signature line of a known key (one failing rejects the note),
 * parse the checkpoint, check the origin, then require `quorum` distinct trusted names.
 * verifiers: parsed verifier keys of the trusted nodes. Returns { ok, checkpoint, signers } or { ok: false, error, detail }.
 */
export async function verifyCheckpoint(note, origin, verifiers, quorum) {
  const env = parseNote(note);
  if (!env.ok) return { ok: false, error: CheckpointErrors.malformed, detail: env.error };
  const known = new Map(verifiers.map((v) => [`${v.name}+${v.keyId}`, v]));
  const verified = [];
  let unknown = 0;
  for (const s of env.signatures) {
    const v = known.get(`${s.name}+${s.keyId}`);
    if (!v) {
      unknown++;
      continue;
    }
    const good = s.signature.length === 64 && (await crypto.subtle.verify({ name: 'Ed25519' }, v.key, s.signature, env.textBytes));
    if (!good) return { ok: false, error: CheckpointErrors.signature, detail: `signature by ${s.name}+${s.keyId.toString(16).padStart(8, '0')} does not verify` };
    if (!verified.includes(s.name)) verified.push(s.name);
  }
  const cp = parseCheckpoint(env.text);
  if (!cp.ok) return { ok: false, error: CheckpointErrors.malformed, detail: cp.error };
  if (cp.checkpoint.origin !== origin) return { ok: false, error: CheckpointErrors.origin, detail: `origin is '${cp.checkpoint.origin}', expected '${origin}'` };
  if (verified.length < quorum) {
    return {
      ok: false,
      error: CheckpointErrors.quorum,
      detail: `${verified.length} of ${quorum} required distinct trusted nodes signed (${unknown} signatures from unknown keys ignored)`,
    };
  }
  return { ok: true, checkpoint: cp.checkpoint, signers: verified };
}
