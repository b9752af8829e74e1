using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GreenTrace.Core.Merkle;

namespace GreenTrace.Core.Tests.Merkle;

/// <summary>A random tree. Leaf data is random bytes plus the leaf's index, so no two leaves are equal.</summary>
public sealed record TreeCase(byte[][] LeafData)
{
    public byte[][] LeafHashes { get; } = LeafData.Select(d => MerkleHash.Leaf(d)).ToArray();

    public int Size => LeafData.Length;

    public MerkleLog BuildLog()
    {
        var log = new MerkleLog();
        foreach (var hash in LeafHashes)
        {
            log.AppendLeafHash(hash);
        }

        return log;
    }

    public override string ToString() => $"TreeCase(size {Size}, leaf 0 = {Convert.ToHexStringLower(LeafData[0])})";
}

/// <summary>A random tree plus one inclusion proof target: leaf Index in the tree of the first TreeSize leaves.</summary>
public sealed record InclusionCase(TreeCase Tree, long Index, long TreeSize)
{
    public override string ToString() => $"{Tree}, index {Index}, size {TreeSize}";
}

/// <summary>A random tree plus one consistency proof target between sizes OldSize and NewSize.</summary>
public sealed record ConsistencyCase(TreeCase Tree, long OldSize, long NewSize)
{
    public override string ToString() => $"{Tree}, old size {OldSize}, new size {NewSize}";
}

public static class MerkleArbitraries
{
    private const int MaxLeaves = 300;

    // Uniform sizes rarely land on the edges that matter, so half the draws come from powers of two and neighbours.
    private static readonly int[] InterestingSizes =
        [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 299, 300];

    private static readonly Gen<byte> Bytes = Gen.Choose(0, 255).Select(b => (byte)b);

    private static Gen<int> Sizes() => Gen.OneOf(Gen.Choose(1, MaxLeaves), Gen.Elements(InterestingSizes));

    private static Gen<TreeCase> TreeGen() =>
        from size in Sizes()
        from data in Gen.ArrayOf(Gen.Choose(0, 24).SelectMany(length => Gen.ArrayOf(Bytes, length)), size)
        select new TreeCase(data.Select((bytes, i) => WithIndex(bytes, i)).ToArray());

    public static Arbitrary<TreeCase> Trees() => Arb.From(TreeGen());

    public static Arbitrary<InclusionCase> InclusionCases() => Arb.From(
        from tree in TreeGen()
        from size in Gen.Choose(1, tree.Size)
        from index in Gen.Choose(0, size - 1)
        select new InclusionCase(tree, index, size));

    public static Arbitrary<ConsistencyCase> ConsistencyCases() => Arb.From(
        from tree in TreeGen()
        from newSize in Gen.Choose(1, tree.Size)
        from oldSize in Gen.Choose(1, newSize)
        select new ConsistencyCase(tree, oldSize, newSize));

    private static byte[] WithIndex(byte[] random, int index)
    {
        var data = new byte[random.Length + 4];
        random.CopyTo(data, 0);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(random.Length), index);
        return data;
    }
}

public class MerklePropertyTests
{
    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 15)]
    public void EveryInclusionProofVerifies(TreeCase tree)
    {
        var log = tree.BuildLog();
        for (long size = 1; size <= tree.Size; size++)
        {
            var root = log.Root(size);
            for (long index = 0; index < size; index++)
            {
                var proof = log.InclusionProof(index, size);
                var leaf = tree.LeafHashes[index];
                Assert.True(MerkleProof.VerifyInclusion(leaf, index, size, proof, root), $"index {index}, size {size}");
                Assert.True(MerkleProof.TryRootFromInclusion(leaf, index, size, proof, out var computed));
                Assert.Equal(root, computed);
            }
        }
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 15)]
    public void EveryConsistencyProofVerifies(TreeCase tree)
    {
        var log = tree.BuildLog();
        var roots = Enumerable.Range(0, tree.Size + 1).Select(s => log.Root(s)).ToArray();
        for (long newSize = 1; newSize <= tree.Size; newSize++)
        {
            for (long oldSize = 1; oldSize <= newSize; oldSize++)
            {
                var proof = log.ConsistencyProof(oldSize, newSize);
                Assert.True(
                    MerkleProof.VerifyConsistency(oldSize, newSize, roots[oldSize], roots[newSize], proof),
                    $"old size {oldSize}, new size {newSize}");
            }
        }
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 15)]
    public void LogAgreesWithTreeForAllSizes(TreeCase tree)
    {
        var log = new MerkleLog();
        var packed = tree.LeafHashes.SelectMany(h => h).ToArray();
        Assert.Equal(MerkleHash.EmptyRoot, log.Root());
        for (var size = 1; size <= tree.Size; size++)
        {
            Assert.Equal(tree.LeafHashes[size - 1], log.AppendLeaf(tree.LeafData[size - 1]));
            Assert.Equal(size, log.Size);

            var prefix = tree.LeafHashes[..size];
            var root = MerkleTree.RootFromLeafHashes(prefix);
            Assert.Equal(root, MerkleTree.RootFromLeafHashes(packed.AsSpan(0, size * MerkleHash.Size)));
            Assert.Equal(root, MerkleTree.Root(tree.LeafData[..size]));
            Assert.Equal(root, log.Root());
        }

        for (var size = 1; size <= tree.Size; size++)
        {
            Assert.Equal(MerkleTree.RootFromLeafHashes(tree.LeafHashes[..size]), log.Root(size));

            // MerkleTree proofs cost O(size) each, so all targets only for the full tree, a spread for the others.
            var indices = size == tree.Size ? Enumerable.Range(0, size) : [0, size / 2, size - 1];
            foreach (var index in indices)
            {
                MerkleAssert.SameHashes(
                    MerkleTree.InclusionProof(tree.LeafHashes, index, size), log.InclusionProof(index, size),
                    $"inclusion {index}/{size}");
            }

            var oldSizes = size == tree.Size ? Enumerable.Range(1, size) : [1, Math.Max(1, size / 2), size];
            foreach (var oldSize in oldSizes)
            {
                MerkleAssert.SameHashes(
                    MerkleTree.ConsistencyProof(tree.LeafHashes, oldSize, size), log.ConsistencyProof(oldSize, size),
                    $"consistency {oldSize}/{size}");
            }
        }
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 200)]
    public void AlteredInclusionProofsFail(InclusionCase c)
    {
        var (tree, index, size) = c;
        var log = tree.BuildLog();
        var leaf = tree.LeafHashes[index];
        var root = log.Root(size);
        var proof = log.InclusionProof(index, size);
        Assert.True(MerkleProof.VerifyInclusion(leaf, index, size, proof, root));

        foreach (var (name, altered) in AlteredProofs(proof, [leaf, root]))
        {
            Assert.False(MerkleProof.VerifyInclusion(leaf, index, size, altered, root), name);
        }

        // A different leaf: one bit off, or another leaf of the same tree.
        Assert.False(MerkleProof.VerifyInclusion(FlipBit(leaf, (int)index), index, size, proof, root), "flipped leaf");
        for (var other = 0; other < tree.Size; other++)
        {
            if (other != index)
            {
                Assert.False(MerkleProof.VerifyInclusion(tree.LeafHashes[other], index, size, proof, root), $"leaf {other}");
            }
        }

        // A different index, in range or not.
        for (var otherIndex = -1L; otherIndex <= size; otherIndex++)
        {
            if (otherIndex != index)
            {
                Assert.False(MerkleProof.VerifyInclusion(leaf, otherIndex, size, proof, root), $"index {otherIndex}");
            }
        }

        // A different size, each paired with that size's real root (see InclusionProofDoesNotBindTheTreeSizeOnItsOwn
        // for why the old root is not the right thing to test against), plus impossible sizes.
        for (var otherSize = index + 1; otherSize <= tree.Size; otherSize++)
        {
            if (otherSize != size)
            {
                Assert.False(MerkleProof.VerifyInclusion(leaf, index, otherSize, proof, log.Root(otherSize)), $"size {otherSize}");
            }
        }

        foreach (var impossible in new[] { -1, 0, index })
        {
            Assert.False(MerkleProof.VerifyInclusion(leaf, index, impossible, proof, root), $"size {impossible}");
        }

        // A different root.
        Assert.False(MerkleProof.VerifyInclusion(leaf, index, size, proof, FlipBit(root, (int)size)), "flipped root");
        Assert.False(MerkleProof.VerifyInclusion(leaf, index, size, proof, MerkleHash.EmptyRoot), "empty root");
    }

    [Property(Arbitrary = [typeof(MerkleArbitraries)], MaxTest = 200)]
    public void AlteredConsistencyProofsFail(ConsistencyCase c)
    {
        var (tree, oldSize, newSize) = c;
        var log = tree.BuildLog();
        var oldRoot = log.Root(oldSize);
        var newRoot = log.Root(newSize);
        var proof = log.ConsistencyProof(oldSize, newSize);
        Assert.True(MerkleProof.VerifyConsistency(oldSize, newSize, oldRoot, newRoot, proof));

        foreach (var (name, altered) in AlteredProofs(proof, [oldRoot, newRoot]))
        {
            Assert.False(MerkleProof.VerifyConsistency(oldSize, newSize, oldRoot, newRoot, altered), name);
        }

        Assert.False(MerkleProof.VerifyConsistency(oldSize, newSize, FlipBit(oldRoot, 3), newRoot, proof), "flipped old root");
        Assert.False(MerkleProof.VerifyConsistency(oldSize, newSize, oldRoot, FlipBit(newRoot, 5), proof), "flipped new root");
        if (oldSize != newSize)
        {
            Assert.False(MerkleProof.VerifyConsistency(oldSize, newSize, newRoot, oldRoot, proof), "swapped roots");
        }

        // Different sizes, each paired with their real roots. The proof may only verify where it is the genuine
        // proof for those sizes too, which happens exactly for the empty proof of another m == n pair.
        long[] oldSizes = [-1, 0, oldSize - 2, oldSize - 1, oldSize, oldSize + 1, oldSize + 2, oldSize / 2, oldSize * 2];
        long[] newSizes = [oldSize, newSize - 2, newSize - 1, newSize, newSize + 1, newSize + 2, newSize / 2, newSize * 2];
        foreach (var otherOld in oldSizes)
        {
            foreach (var otherNew in newSizes)
            {
                if ((otherOld, otherNew) == (oldSize, newSize))
                {
                    continue;
                }

                var wellFormed = otherOld >= 1 && otherOld <= otherNew;
                if (wellFormed && otherNew > tree.Size)
                {
                    // No real root exists for that size here, and reusing the original roots is exactly the
                    // size-aliasing case ConsistencyProofDoesNotBindTheTreeSizesOnTheirOwn documents.
                    continue;
                }

                var otherOldRoot = otherOld >= 0 && otherOld <= tree.Size ? log.Root(otherOld) : oldRoot;
                var otherNewRoot = otherNew >= 0 && otherNew <= tree.Size ? log.Root(otherNew) : newRoot;
                var expected = wellFormed
                    && MerkleAssert.SameHashesOrFalse(proof, log.ConsistencyProof(otherOld, otherNew));
                Assert.True(
                    expected == MerkleProof.VerifyConsistency(otherOld, otherNew, otherOldRoot, otherNewRoot, proof),
                    $"sizes {otherOld} -> {otherNew}: expected {expected}");
            }
        }
    }

    /// <summary>Every single-step corruption of a proof: flip a bit in one hash, drop one, insert one, swap two.</summary>
    private static IEnumerable<(string Name, byte[][] Proof)> AlteredProofs(IReadOnlyList<byte[]> proof, byte[][] extras)
    {
        for (var i = 0; i < proof.Count; i++)
        {
            var flipped = proof.ToArray();
            flipped[i] = FlipBit(proof[i], i * 37);
            yield return ($"flip bit in [{i}]", flipped);

            var dropped = proof.ToList();
            dropped.RemoveAt(i);
            yield return ($"drop [{i}]", dropped.ToArray());

            for (var j = i + 1; j < proof.Count; j++)
            {
                if (!proof[i].AsSpan().SequenceEqual(proof[j]))
                {
                    var swapped = proof.ToArray();
                    (swapped[i], swapped[j]) = (swapped[j], swapped[i]);
                    yield return ($"swap [{i}] and [{j}]", swapped);
                }
            }
        }

        // Inserted hashes: arbitrary ones, the values the verifier already holds, and copies of neighbours.
        byte[][] insertions = [MerkleHash.Leaf("inserted"u8), MerkleHash.EmptyRoot, .. extras, .. proof];
        for (var position = 0; position <= proof.Count; position++)
        {
            foreach (var insertion in insertions)
            {
                var added = proof.ToList();
                added.Insert(position, insertion);
                yield return ($"insert at {position}", added.ToArray());
            }
        }
    }

    private static byte[] FlipBit(byte[] hash, int bit)
    {
        var copy = (byte[])hash.Clone();
        bit = Math.Abs(bit) % (copy.Length * 8);
        copy[bit / 8] ^= (byte)(1 << (bit % 8));
        return copy;
    }
}
