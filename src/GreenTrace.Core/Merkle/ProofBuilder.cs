using System.Numerics;

namespace GreenTrace.Core.Merkle;

/// <summary>Supplies MTH(D[start:start+count]) for the ranges the RFC recursion visits.</summary>
internal interface ISubtreeHashSource
{
    /// <remarks>
    /// Every range the proof recursion asks for is aligned: start is a multiple of the smallest power of two
    /// that is >= count. (It holds for [0, n); a left child keeps start and shrinks to k; a right child starts
    /// at start + k with at most k leaves, and start + k is a multiple of k.) Sources may rely on it.
    /// </remarks>
    void SubtreeHash(long start, long count, Span<byte> destination);
}

/// <summary>RFC 9162 §2.1.3.1 and §2.1.4.1, unrolled from recursion into a walk from the root down.</summary>
internal static class ProofBuilder
{
    /// <summary>Largest power of two strictly less than <paramref name="n"/> (n >= 2): the RFC split point k.</summary>
    public static long Split(long n) => 1L << BitOperations.Log2((ulong)(n - 1));

    public static byte[][] Inclusion<TSource>(TSource source, long index, long size)
        where TSource : ISubtreeHashSource
    {
        // The walk meets the root's sibling first, but the proof lists siblings leaf-first, so count then fill backwards.
        var length = 0;
        for (long start = 0, count = size, m = index; count > 1; length++)
        {
            Descend(ref start, ref count, ref m, out _, out _);
        }

        var proof = new byte[length][];
        for (long start = 0, count = size, m = index; count > 1;)
        {
            Descend(ref start, ref count, ref m, out var siblingStart, out var siblingCount);
            var sibling = new byte[MerkleHash.Size];
            source.SubtreeHash(siblingStart, siblingCount, sibling);
            proof[--length] = sibling;
        }

        return proof;
    }

    public static byte[][] Consistency<TSource>(TSource source, long oldSize, long newSize)
        where TSource : ISubtreeHashSource
    {
        var length = ConsistencyLength(oldSize, newSize);
        var proof = new byte[length][];
        long start = 0, count = newSize, m = oldSize;
        // Stays true while D[0:m] is a complete subtree on the walk, i.e. while the verifier already holds its hash.
        var oldRootIsKnown = true;
        while (m != count)
        {
            var k = Split(count);
            var sibling = new byte[MerkleHash.Size];
            if (m <= k)
            {
                source.SubtreeHash(start + k, count - k, sibling);
                count = k;
            }
            else
            {
                source.SubtreeHash(start, k, sibling);
                start += k;
                count -= k;
                m -= k;
                oldRootIsKnown = false;
            }

            proof[--length] = sibling;
        }

        if (!oldRootIsKnown)
        {
            var node = new byte[MerkleHash.Size];
            source.SubtreeHash(start, count, node);
            proof[--length] = node;
        }

        return proof;
    }

    private static int ConsistencyLength(long m, long n)
    {
        var length = 0;
        var oldRootIsKnown = true;
        while (m != n)
        {
            var k = Split(n);
            if (m <= k)
            {
                n = k;
            }
            else
            {
                n -= k;
                m -= k;
                oldRootIsKnown = false;
            }

            length++;
        }

        return oldRootIsKnown ? length : length + 1;
    }

    private static void Descend(ref long start, ref long count, ref long m, out long siblingStart, out long siblingCount)
    {
        var k = Split(count);
        if (m < k)
        {
            siblingStart = start + k;
            siblingCount = count - k;
            count = k;
        }
        else
        {
            siblingStart = start;
            siblingCount = k;
            start += k;
            count -= k;
            m -= k;
        }
    }
}
