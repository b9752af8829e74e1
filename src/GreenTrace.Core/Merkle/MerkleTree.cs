using System.Buffers;

namespace GreenTrace.Core.Merkle;

/// <summary>
/// Stateless RFC 9162 §2.1 Merkle tree computations over an in-memory list of leaves.
/// Proof generation here costs O(size) hashes; use <see cref="MerkleLog"/> when proofs are served repeatedly.
/// </summary>
public static class MerkleTree
{
    public static byte[] RootFromLeafHashes(ReadOnlySpan<byte> packedLeafHashes)
    {
        if (packedLeafHashes.Length % MerkleHash.Size != 0)
        {
            throw new ArgumentException(
                $"Packed leaf hashes must be a multiple of {MerkleHash.Size} bytes.", nameof(packedLeafHashes));
        }

        var count = packedLeafHashes.Length / MerkleHash.Size;
        if (count == 0)
        {
            return MerkleHash.EmptyRoot;
        }

        var root = new byte[MerkleHash.Size];
        var rented = ArrayPool<byte>.Shared.Rent(packedLeafHashes.Length);
        try
        {
            packedLeafHashes.CopyTo(rented);
            ReduceInPlace(rented.AsSpan(0, packedLeafHashes.Length), count, root);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return root;
    }

    public static byte[] RootFromLeafHashes(IReadOnlyList<byte[]> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        if (leafHashes.Count == 0)
        {
            return MerkleHash.EmptyRoot;
        }

        var root = new byte[MerkleHash.Size];
        new ListSource(leafHashes).SubtreeHash(0, leafHashes.Count, root);
        return root;
    }

    public static byte[] Root(IReadOnlyList<byte[]> leafData)
    {
        ArgumentNullException.ThrowIfNull(leafData);
        var count = leafData.Count;
        if (count == 0)
        {
            return MerkleHash.EmptyRoot;
        }

        var root = new byte[MerkleHash.Size];
        var rented = ArrayPool<byte>.Shared.Rent(PackedLength(count));
        try
        {
            var packed = rented.AsSpan(0, PackedLength(count));
            for (var i = 0; i < count; i++)
            {
                var data = leafData[i] ?? throw new ArgumentException($"Leaf {i} is null.", nameof(leafData));
                MerkleHash.Leaf(data, packed.Slice(i * MerkleHash.Size, MerkleHash.Size));
            }

            ReduceInPlace(packed, count, root);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return root;
    }

    public static IReadOnlyList<byte[]> InclusionProof(IReadOnlyList<byte[]> leafHashes, long index, long size)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, leafHashes.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, size);
        return ProofBuilder.Inclusion(new ListSource(leafHashes), index, size);
    }

    public static IReadOnlyList<byte[]> ConsistencyProof(IReadOnlyList<byte[]> leafHashes, long oldSize, long newSize)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        ArgumentOutOfRangeException.ThrowIfNegative(newSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(newSize, leafHashes.Count);
        // RFC 9162 §2.1.4 defines consistency only from a non-empty tree; an empty tree has no root to be consistent with.
        ArgumentOutOfRangeException.ThrowIfLessThan(oldSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oldSize, newSize);
        return ProofBuilder.Consistency(new ListSource(leafHashes), oldSize, newSize);
    }

    /// <summary>
    /// Bottom-up reduction of <paramref name="count"/> packed 32-byte hashes. Pairing neighbours and carrying an odd
    /// last node up unchanged yields exactly the RFC root: the RFC splits at the largest power of two below n, so
    /// every left subtree is perfect and only the right edge is ragged, which is where the carry happens.
    /// Overwrites <paramref name="packed"/>.
    /// </summary>
    internal static void ReduceInPlace(Span<byte> packed, int count, Span<byte> destination)
    {
        const int size = MerkleHash.Size;
        while (count > 1)
        {
            var pairs = count >> 1;
            // Writing node i into slot i is safe: it only overwrites pair slots 2i-2.. that were already consumed,
            // and NodeOfPair copies its input before hashing for i = 0.
            for (var i = 0; i < pairs; i++)
            {
                MerkleHash.NodeOfPair(packed.Slice(i * 2 * size, 2 * size), packed.Slice(i * size, size));
            }

            if ((count & 1) != 0)
            {
                packed.Slice((count - 1) * size, size).CopyTo(packed.Slice(pairs * size, size));
                pairs++;
            }

            count = pairs;
        }

        packed[..size].CopyTo(destination);
    }

    private static int PackedLength(long count)
    {
        var length = count * MerkleHash.Size;
        if (length > Array.MaxLength)
        {
            throw new ArgumentException("Too many leaves for a single in-memory reduction.");
        }

        return (int)length;
    }

    /// <summary>Computes subtree hashes straight from a leaf-hash list, O(count) hashes each.</summary>
    private readonly struct ListSource(IReadOnlyList<byte[]> leafHashes) : ISubtreeHashSource
    {
        public void SubtreeHash(long start, long count, Span<byte> destination)
        {
            if (count == 1)
            {
                GetLeaf((int)start).CopyTo(destination);
                return;
            }

            var length = PackedLength(count);
            var rented = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                var packed = rented.AsSpan(0, length);
                for (var i = 0; i < (int)count; i++)
                {
                    GetLeaf((int)start + i).CopyTo(packed.Slice(i * MerkleHash.Size, MerkleHash.Size));
                }

                ReduceInPlace(packed, (int)count, destination);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        private byte[] GetLeaf(int index)
        {
            var hash = leafHashes[index];
            if (hash is null || hash.Length != MerkleHash.Size)
            {
                throw new ArgumentException($"Leaf hash {index} is not {MerkleHash.Size} bytes.", nameof(leafHashes));
            }

            return hash;
        }
    }
}
