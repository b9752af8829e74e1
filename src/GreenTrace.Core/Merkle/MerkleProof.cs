using System.Numerics;

namespace GreenTrace.Core.Merkle;

/// <summary>
/// RFC 9162 §2.1.3.2 and §2.1.4.2 verification. These run on untrusted input, so every malformed case
/// (bad lengths, nulls, impossible sizes, proofs of the wrong length) is a plain <c>false</c>, never an exception.
/// </summary>
/// <remarks>
/// Proofs do not bind tree sizes on their own; only the roots do. An inclusion proof also verifies for another size
/// whose path has the same shape (leaf 0 of size 3 and of size 4) against the same root, and a consistency proof for
/// (m, n) also verifies as (2m, 2n) against the same two roots. Always take each root together with its size from a
/// trusted (signed) tree head, never a size from the prover.
/// </remarks>
public static class MerkleProof
{
    public static bool VerifyInclusion(
        ReadOnlySpan<byte> leafHash, long index, long size, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        if (root.Length != MerkleHash.Size)
        {
            return false;
        }

        Span<byte> computed = stackalloc byte[MerkleHash.Size];
        return TryComputeInclusionRoot(leafHash, index, size, proof, computed) && computed.SequenceEqual(root);
    }

    public static bool TryRootFromInclusion(
        ReadOnlySpan<byte> leafHash, long index, long size, IReadOnlyList<byte[]> proof, out byte[] root)
    {
        var computed = new byte[MerkleHash.Size];
        if (TryComputeInclusionRoot(leafHash, index, size, proof, computed))
        {
            root = computed;
            return true;
        }

        root = [];
        return false;
    }

    public static bool VerifyConsistency(
        long oldSize, long newSize, ReadOnlySpan<byte> oldRoot, ReadOnlySpan<byte> newRoot, IReadOnlyList<byte[]> proof)
    {
        // oldSize == 0 is rejected rather than vacuously accepted: RFC 9162 defines no proof from the empty tree,
        // and the generators refuse it too, so a caller asking for it has a bug worth surfacing.
        if (oldSize < 1 || newSize < oldSize || proof is null
            || oldRoot.Length != MerkleHash.Size || newRoot.Length != MerkleHash.Size)
        {
            return false;
        }

        if (oldSize == newSize)
        {
            return proof.Count == 0 && oldRoot.SequenceEqual(newRoot);
        }

        // Step 1.
        if (proof.Count == 0)
        {
            return false;
        }

        // Step 2, without copying: when oldSize is a power of two the old root is itself a node of the new tree,
        // so the proof omits it and the verifier supplies it as a virtual first element.
        var prependOldRoot = BitOperations.IsPow2(oldSize);
        var total = proof.Count + (prependOldRoot ? 1 : 0);

        // Steps 3-4.
        var fn = (ulong)(oldSize - 1);
        var sn = (ulong)(newSize - 1);
        while ((fn & 1) != 0)
        {
            fn >>= 1;
            sn >>= 1;
        }

        // Step 5.
        Span<byte> fr = stackalloc byte[MerkleHash.Size];
        Span<byte> sr = stackalloc byte[MerkleHash.Size];
        if (prependOldRoot)
        {
            oldRoot.CopyTo(fr);
        }
        else if (!IsHash(proof[0]))
        {
            return false;
        }
        else
        {
            proof[0].CopyTo(fr);
        }

        fr.CopyTo(sr);

        // Step 6.
        for (var i = 1; i < total; i++)
        {
            if (sn == 0)
            {
                return false;
            }

            var c = proof[prependOldRoot ? i - 1 : i];
            if (!IsHash(c))
            {
                return false;
            }

            if ((fn & 1) != 0 || fn == sn)
            {
                MerkleHash.NodeUnchecked(c, fr, fr);
                MerkleHash.NodeUnchecked(c, sr, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                MerkleHash.NodeUnchecked(sr, c, sr);
            }

            fn >>= 1;
            sn >>= 1;
        }

        // Step 7.
        return sn == 0 && fr.SequenceEqual(oldRoot) && sr.SequenceEqual(newRoot);
    }

    /// <summary>RFC 9162 §2.1.3.2 steps 1-5, stopping short of the final root comparison.</summary>
    private static bool TryComputeInclusionRoot(
        ReadOnlySpan<byte> leafHash, long index, long size, IReadOnlyList<byte[]>? proof, Span<byte> r)
    {
        if (index < 0 || index >= size || proof is null || leafHash.Length != MerkleHash.Size)
        {
            return false;
        }

        var fn = (ulong)index;
        var sn = (ulong)(size - 1);
        leafHash.CopyTo(r);
        for (var i = 0; i < proof.Count; i++)
        {
            // Checked before touching the element, so an over-long proof fails without reading its tail.
            if (sn == 0)
            {
                return false;
            }

            var p = proof[i];
            if (!IsHash(p))
            {
                return false;
            }

            if ((fn & 1) != 0 || fn == sn)
            {
                MerkleHash.NodeUnchecked(p, r, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                MerkleHash.NodeUnchecked(r, p, r);
            }

            fn >>= 1;
            sn >>= 1;
        }

        return sn == 0;
    }

    private static bool IsHash(byte[]? candidate) => candidate is { Length: MerkleHash.Size };
}
