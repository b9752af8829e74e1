using System.Diagnostics;
using System.Numerics;

namespace GreenTrace.Core.Merkle;

/// <summary>
/// An append-only RFC 9162 Merkle tree. It keeps every leaf hash and the hash of every complete, aligned subtree
/// (2^h leaves starting at a multiple of 2^h), which is about 2n hashes in total. Any tree head of an earlier size
/// is a fold over the O(log n) complete subtrees that tile it, so roots cost O(log n) hashes and proofs
/// O(log^2 n) at worst, independent of how many leaves precede them.
/// </summary>
/// <remarks>Not thread-safe: callers serialise appends against each other and against reads.</remarks>
public sealed class MerkleLog
{
    // levels[h][i] = hash of leaves [i * 2^h, (i + 1) * 2^h). Level 0 holds the leaf hashes.
    private readonly List<HashStore> levels = [new HashStore()];

    public long Size => levels[0].Count;

    public void AppendLeafHash(ReadOnlySpan<byte> leafHash)
    {
        if (leafHash.Length != MerkleHash.Size)
        {
            throw new ArgumentException($"A leaf hash must be {MerkleHash.Size} bytes.", nameof(leafHash));
        }

        levels[0].Add(leafHash);

        // Appending leaf number n completes one new subtree on each level up to the number of trailing zero bits of n.
        var size = Size;
        var completed = BitOperations.TrailingZeroCount(size);
        Span<byte> node = stackalloc byte[MerkleHash.Size];
        for (var h = 1; h <= completed; h++)
        {
            var below = levels[h - 1];
            var right = below.Count - 1;
            MerkleHash.NodeUnchecked(below.Get(right - 1), below.Get(right), node);
            if (levels.Count == h)
            {
                levels.Add(new HashStore());
            }

            levels[h].Add(node);
        }
    }

    public byte[] AppendLeaf(ReadOnlySpan<byte> data)
    {
        var leafHash = MerkleHash.Leaf(data);
        AppendLeafHash(leafHash);
        return leafHash;
    }

    public byte[] LeafHash(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Size);
        return levels[0].Get(index).ToArray();
    }

    public byte[] Root() => Root(Size);

    public byte[] Root(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, Size);
        if (size == 0)
        {
            return MerkleHash.EmptyRoot;
        }

        var root = new byte[MerkleHash.Size];
        SubtreeHash(0, size, root);
        return root;
    }

    public IReadOnlyList<byte[]> InclusionProof(long index, long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, Size);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, size);
        return ProofBuilder.Inclusion(new CachedSource(this), index, size);
    }

    public IReadOnlyList<byte[]> ConsistencyProof(long oldSize, long newSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(newSize, Size);
        // RFC 9162 §2.1.4 defines consistency only from a non-empty tree; an empty tree has no root to be consistent with.
        ArgumentOutOfRangeException.ThrowIfLessThan(oldSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(oldSize, newSize);
        return ProofBuilder.Consistency(new CachedSource(this), oldSize, newSize);
    }

    /// <summary>
    /// MTH(D[start:start+count]) for an aligned range (see <see cref="ISubtreeHashSource"/>). Alignment means the set
    /// bits of count name exactly the cached complete subtrees that tile the range, largest first; the RFC split
    /// makes the hash a right fold over them: Node(c1, Node(c2, ... Node(c_{j-1}, c_j))).
    /// </summary>
    private void SubtreeHash(long start, long count, Span<byte> destination)
    {
        Debug.Assert(count > 0 && start % (long)BitOperations.RoundUpToPowerOf2((ulong)count) == 0);
        var end = start + count;
        var accumulated = false;
        for (var h = BitOperations.TrailingZeroCount(count); h < 64 - BitOperations.LeadingZeroCount((ulong)count); h++)
        {
            if ((count & (1L << h)) == 0)
            {
                continue;
            }

            // The complete subtree for bit h is the last one of its size ending at or before `end` once the smaller
            // bits are stripped, i.e. index (end >> h) - 1 on level h.
            var subtree = levels[h].Get((end >> h) - 1);
            if (accumulated)
            {
                MerkleHash.NodeUnchecked(subtree, destination[..MerkleHash.Size], destination);
            }
            else
            {
                subtree.CopyTo(destination);
                accumulated = true;
            }
        }
    }

    private readonly struct CachedSource(MerkleLog log) : ISubtreeHashSource
    {
        public void SubtreeHash(long start, long count, Span<byte> destination) => log.SubtreeHash(start, count, destination);
    }

    /// <summary>
    /// A growable array of 32-byte hashes kept in fixed-size chunks, so the log can pass 2 GiB per level and never
    /// copies old hashes once it outgrows the first chunk. Chunks stay below the large-object-heap threshold.
    /// </summary>
    private sealed class HashStore
    {
        private const int ChunkShift = 11;
        private const int ChunkHashes = 1 << ChunkShift;
        private const int InitialHashes = 16;

        private readonly List<byte[]> chunks = [];

        public long Count { get; private set; }

        public void Add(ReadOnlySpan<byte> hash)
        {
            var chunkIndex = (int)(Count >> ChunkShift);
            var offset = (int)(Count & (ChunkHashes - 1)) * MerkleHash.Size;
            if (chunkIndex == chunks.Count)
            {
                // Only the first chunk starts small; reaching a second chunk means the level is already large.
                chunks.Add(new byte[(chunkIndex == 0 ? InitialHashes : ChunkHashes) * MerkleHash.Size]);
            }
            else if (offset == chunks[chunkIndex].Length)
            {
                var grown = new byte[Math.Min(chunks[chunkIndex].Length * 2, ChunkHashes * MerkleHash.Size)];
                chunks[chunkIndex].CopyTo(grown, 0);
                chunks[chunkIndex] = grown;
            }

            hash.CopyTo(chunks[chunkIndex].AsSpan(offset, MerkleHash.Size));
            Count++;
        }

        public ReadOnlySpan<byte> Get(long index) =>
            chunks[(int)(index >> ChunkShift)].AsSpan((int)(index & (ChunkHashes - 1)) * MerkleHash.Size, MerkleHash.Size);
    }
}
