// A small CBOR (RFC 8949) decoder with three conformance levels, mirroring .NET's CborConformanceMode:
//   'lax'       well-formed only;
//   'strict'    + no duplicate map keys, valid UTF-8 text;
//   'canonical' + shortest integers and lengths, definite lengths, keys sorted by their encoding, no tags
//               (what the C# side reads payloads with: Ctap2Canonical, i.e. RFC 8949 §4.2.1 for these formats).
// Every decoded item keeps its offsets, so callers can take the exact bytes of any part (COSE needs them).
// Plus the minimal deterministic encoder the verifier needs (arrays of text, bytes and integers).

import { utf8, utf8Decode, concat } from './bytes.js';

const MAX_DEPTH = 32;

/** kind: 'malformed' (not well-formed CBOR) or 'noncanonical' (well-formed, but not in the required form). */
export class CborError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function malformed(message) {
  return new CborError('malformed', message);
}

function noncanonical(message) {
  return new CborError('noncanonical', message);
}

const RANK = { lax: 0, strict: 1, canonical: 2 };

class Reader {
  constructor(bytes, mode) {
    if (!(mode in RANK)) throw new Error(`unknown CBOR mode ${mode}`);
    this.bytes = bytes;
    this.at = 0;
    this.strict = RANK[mode] >= 1;
    this.canonical = RANK[mode] >= 2;
  }

  byte() {
    if (this.at >= this.bytes.length) throw malformed('unexpected end of data');
    return this.bytes[this.at++];
  }

  take(n) {
    if (n > this.bytes.length - this.at) throw malformed('unexpected end of data');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** The head of an item: major type, additional info and its argument (BigInt; null when indefinite). */
  head() {
    const start = this.at;
    const initial = this.byte();
    const major = initial >> 5;
    const ai = initial & 0x1f;
    if (major === 7 && ai >= 25 && ai <= 27) {
      const width = ai === 25 ? 2 : ai === 26 ? 4 : 8;
      return { major, ai, start, arg: null, floatBytes: this.take(width) };
    }
    let arg;
    if (ai < 24) arg = BigInt(ai);
    else if (ai <= 27) {
      const raw = this.take(1 << (ai - 24));
      arg = 0n;
      for (const b of raw) arg = (arg << 8n) | BigInt(b);
      if (this.canonical) {
        const min = ai === 24 ? 24n : ai === 25 ? 0x100n : ai === 26 ? 0x10000n : 0x100000000n;
        if (arg < min) throw noncanonical('integer or length not in its shortest form');
      }
    } else if (ai === 31) {
      if (major === 0 || major === 1 || major === 6) throw malformed('indefinite length on an integer or tag');
      arg = null;
    } else {
      throw malformed(`reserved additional information ${ai}`);
    }
    return { major, ai, start, arg };
  }

  // A string needs that many bytes and an array or map at least one per item, so more than remain is malformed.
  length(arg) {
    if (arg > BigInt(this.bytes.length - this.at)) throw malformed('length beyond the data');
    return Number(arg);
  }

  item(depth) {
    if (depth > MAX_DEPTH) throw malformed('items nested too deeply');
    const h = this.head();
    const start = h.start;
    switch (h.major) {
      case 0:
        return { t: 'uint', v: h.arg, start, end: this.at };
      case 1:
        return { t: 'nint', v: -1n - h.arg, start, end: this.at };
      case 2:
      case 3: {
        let raw;
        if (h.arg === null) {
          if (this.canonical) throw noncanonical('indefinite-length string');
          const chunks = [];
          for (;;) {
            if (this.at < this.bytes.length && this.bytes[this.at] === 0xff) {
              this.at++;
              break;
            }
            const c = this.head();
            if (c.major !== h.major || c.arg === null) throw malformed('an indefinite string chunk must be a definite string of the same type');
            const chunk = this.take(this.length(c.arg));
            if (h.major === 3 && this.strict && utf8Decode(chunk) === null) throw noncanonical('text is not valid UTF-8');
            chunks.push(chunk);
          }
          raw = concat(...chunks);
        } else {
          raw = this.take(this.length(h.arg));
        }
        if (h.major === 2) return { t: 'bytes', v: raw, start, end: this.at };
        const text = utf8Decode(raw);
        if (text === null && this.strict) throw noncanonical('text is not valid UTF-8');
        return { t: 'text', v: text ?? new TextDecoder().decode(raw), start, end: this.at };
      }
      case 4: {
        const items = [];
        if (h.arg === null) {
          if (this.canonical) throw noncanonical('indefinite-length array');
          while (this.peekBreak() === false) items.push(this.item(depth + 1));
        } else {
          const n = this.length(h.arg);
          for (let i = 0; i < n; i++) items.push(this.item(depth + 1));
        }
        return { t: 'array', v: items, start, end: this.at };
      }
      case 5: {
        const entries = [];
        const seen = new Set();
        let previous = null;
        const add = () => {
          const key = this.item(depth + 1);
          const keyBytes = this.bytes.subarray(key.start, key.end);
          if (this.strict) {
            const id = Array.prototype.join.call(keyBytes, ',');
            if (seen.has(id)) throw noncanonical('duplicate map key');
            seen.add(id);
          }
          if (this.canonical && previous !== null && compareKeys(previous, keyBytes) >= 0) throw noncanonical('map keys are not sorted by their encoding');
          previous = keyBytes;
          entries.push([key, this.item(depth + 1)]);
        };
        if (h.arg === null) {
          if (this.canonical) throw noncanonical('indefinite-length map');
          while (this.peekBreak() === false) add();
        } else {
          const n = this.length(h.arg);
          for (let i = 0; i < n; i++) add();
        }
        return { t: 'map', v: entries, start, end: this.at };
      }
      case 6: {
        if (this.canonical) throw noncanonical('tags are not allowed here');
        const inner = this.item(depth + 1);
        return { t: 'tag', tag: h.arg, v: inner, start, end: this.at };
      }
      default: {
        if (h.floatBytes) return { t: 'float', v: h.floatBytes, start, end: this.at };
        if (h.arg === null) throw malformed('unexpected break');
        if (h.ai === 24 && h.arg < 32n) throw malformed('simple value in two bytes below 32');
        return { t: 'simple', v: Number(h.arg), start, end: this.at };
      }
    }
  }

  peekBreak() {
    if (this.at >= this.bytes.length) throw malformed('unexpected end of data');
    if (this.bytes[this.at] === 0xff) {
      this.at++;
      return true;
    }
    return false;
  }
}

/** RFC 7049 canonical / CTAP2 order: shorter encodings first, then bytewise. */
function compareKeys(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** Decodes exactly one item filling all of `bytes`; throws CborError. */
export function decode(bytes, mode = 'strict') {
  const r = new Reader(bytes, mode);
  const value = r.item(0);
  if (r.at !== bytes.length) throw malformed('trailing bytes after the item');
  return value;
}

/** Decodes one item at the start of `bytes`; returns it with the offset after it. */
export function decodeFirst(bytes, mode = 'strict') {
  const r = new Reader(bytes, mode);
  const value = r.item(0);
  return { value, end: r.at };
}

/** The value of a map entry by text key, or undefined. */
export function mapGet(map, key) {
  for (const [k, v] of map.v) if (k.t === 'text' && k.v === key) return v;
  return undefined;
}

/** The value of a map entry by integer label, or undefined. */
export function mapGetLabel(map, label) {
  const want = BigInt(label);
  for (const [k, v] of map.v) if ((k.t === 'uint' || k.t === 'nint') && k.v === want) return v;
  return undefined;
}

// ---- encoding (deterministic: shortest heads, definite lengths) ----

function head(major, n) {
  n = BigInt(n);
  const m = major << 5;
  if (n < 24n) return new Uint8Array([m | Number(n)]);
  if (n < 0x100n) return new Uint8Array([m | 24, Number(n)]);
  if (n < 0x10000n) return new Uint8Array([m | 25, Number(n >> 8n), Number(n & 0xffn)]);
  const width = n < 0x100000000n ? 4 : 8;
  const out = new Uint8Array(1 + width);
  out[0] = m | (width === 4 ? 26 : 27);
  for (let i = width; i >= 1; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** Encodes strings (text), Uint8Arrays (bytes), integers (Number or BigInt) and arrays of them. */
export function encode(value) {
  if (typeof value === 'string') {
    const b = utf8(value);
    return concat(head(3, b.length), b);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = BigInt(value);
    return n >= 0n ? head(0, n) : head(1, -1n - n);
  }
  if (Array.isArray(value)) return concat(head(4, value.length), ...value.map(encode));
  throw new Error('cannot encode this value');
}
