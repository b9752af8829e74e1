// RFC 9162 §2.1 Merkle trees with WebCrypto SHA-256: leaf = H(0x00 ‖ data), node = H(0x01 ‖ left ‖ right).

import { concat, equal, sha256 } from './bytes.js';

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function leafHash(data) {
  return sha256(concat(LEAF, data));
}

export function nodeHash(left, right) {
  return sha256(concat(NODE, left, right));
}

/** The root over leaf hashes (§2.1.1): split at the largest power of two below n; the empty tree is SHA-256(""). */
export async function rootFromLeafHashes(hashes) {
  if (hashes.length === 0) return sha256(new Uint8Array(0));
  if (hashes.length === 1) return hashes[0];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(await rootFromLeafHashes(hashes.slice(0, k)), await rootFromLeafHashes(hashes.slice(k)));
}

export async function rootOf(leaves) {
  return rootFromLeafHashes(await Promise.all(leaves.map(leafHash)));
}

/**
 * §2.1.3.2: true when `proof` (32-byte hashes) leads from the leaf hash at `index` of a tree of `size` to `root`.
 * Indexes and sizes are BigInts (bit arithmetic on JS numbers is 32-bit). Every malformed case is false.
 */
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (index < 0n || index >= size || root.length !== 32 || leaf.length !== 32) return false;
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n || p.length !== 32) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}
