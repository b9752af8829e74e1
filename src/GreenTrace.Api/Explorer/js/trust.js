// trust.json (the membership), parsed and checked as Membership.FromJson does, with every key imported once.

import { fromBase64 } from './bytes.js';
import { importP256 } from './cose.js';
import { parseVerifierKey } from './note.js';

const MEMBERSHIP_KEYS = ['origin', 'quorum', 'nodes', 'issuers', 'certificateValiditySeconds', 'maxClockSkewSeconds'];
const NODE_KEYS = ['name', 'verifierKey', 'publicKey'];
const ISSUER_KEYS = ['id', 'publicKey', 'zones'];

function unknownKey(object, allowed) {
  return Object.keys(object).find((k) => !allowed.includes(k));
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Returns { ok: true, trust: { origin, quorum, nodes: [verifier], issuers: Map(id → { id, publicKey, zones, key }) } }
 * or { ok: false, error }. An unusable trust file is not a verification result: nothing can be checked against it.
 */
export async function parseTrust(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `membership is not valid JSON: ${e.message}` };
  }
  if (!isObject(m)) return { ok: false, error: 'membership is not a JSON object' };
  const extra = unknownKey(m, MEMBERSHIP_KEYS);
  if (extra) return { ok: false, error: `unknown membership property '${extra}'` };
  if (typeof m.origin !== 'string' || m.origin.trim() === '' || m.origin.includes('\n')) return { ok: false, error: 'membership origin must be a non-empty single line' };
  if (!Array.isArray(m.nodes) || m.nodes.length === 0) return { ok: false, error: 'membership names no ledger node' };
  if (!Number.isInteger(m.quorum) || m.quorum < 1 || m.quorum > m.nodes.length) return { ok: false, error: `quorum ${m.quorum} must be between 1 and the ${m.nodes.length} nodes` };
  const nodes = [];
  for (const node of m.nodes) {
    if (!isObject(node)) return { ok: false, error: 'membership lists a node that is not an object' };
    const bad = unknownKey(node, NODE_KEYS);
    if (bad) return { ok: false, error: `unknown node property '${bad}'` };
    const parsed = await parseVerifierKey(node.verifierKey);
    if (!parsed.ok || parsed.verifier.name !== node.name) return { ok: false, error: `node '${node.name}' has an invalid verifier key${parsed.ok ? ' (its name differs)' : `: ${parsed.error}`}` };
    if (node.publicKey !== undefined && node.publicKey !== null) {
      const spki = fromBase64(node.publicKey);
      if (spki === null || (await importP256(spki)) === null) return { ok: false, error: `node '${node.name}' has no valid P-256 governance key` };
    }
    nodes.push(parsed.verifier);
  }
  if (new Set(nodes.map((n) => n.name)).size !== nodes.length) return { ok: false, error: 'node names must be distinct' };
  const issuers = new Map();
  for (const issuer of m.issuers ?? []) {
    if (!isObject(issuer)) return { ok: false, error: 'membership lists an issuer that is not an object' };
    const bad = unknownKey(issuer, ISSUER_KEYS);
    if (bad) return { ok: false, error: `unknown issuer property '${bad}'` };
    if (typeof issuer.id !== 'string' || issuer.id === '' || !Array.isArray(issuer.zones) || issuer.zones.length === 0 || issuer.zones.some((z) => typeof z !== 'string')) {
      return { ok: false, error: `issuer '${issuer.id}' needs an id and at least one zone` };
    }
    const spki = fromBase64(issuer.publicKey);
    const key = spki === null ? null : await importP256(spki);
    if (key === null) return { ok: false, error: `issuer '${issuer.id}' has no valid P-256 public key` };
    if (issuers.has(issuer.id)) return { ok: false, error: 'issuer ids must be distinct' };
    issuers.set(issuer.id, { id: issuer.id, publicKey: spki, zones: issuer.zones, key });
  }
  return { ok: true, trust: { origin: m.origin, quorum: m.quorum, nodes, issuers } };
}
