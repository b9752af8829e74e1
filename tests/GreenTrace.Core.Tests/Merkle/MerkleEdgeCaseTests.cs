using System.Security.Cryptography;
using GreenTrace.Core.Merkle;

namespace GreenTrace.Core.Tests.Merkle;

public class MerkleEdgeCaseTests
{
    private static readonly byte[] SomeHash = SHA256.HashData("some hash"u8);

    [Fact]
    public void EmptyRootIsSha256OfNothingAndCannotBeCorruptedThroughTheProperty()
    {
        var first = MerkleHash.EmptyRoot;
        Assert.Equal(SHA256.HashData(ReadOnlySpan<byte>.Empty), first);
        first[0] ^= 0xff;
        Assert.Equal(SHA256.HashData(ReadOnlySpan<byte>.Empty), MerkleHash.EmptyRoot);
        Assert.Equal(SHA256.HashData(ReadOnlySpan<byte>.Empty), MerkleTree.Root([]));
        Assert.Equal(SHA256.HashData(ReadOnlySpan<byte>.Empty), MerkleTree.RootFromLeafHashes(ReadOnlySpan<byte>.Empty));
        Assert.Equal(SHA256.HashData(ReadOnlySpan<byte>.Empty), new MerkleLog().Root());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(511)]
    [InlineData(512)]
    [InlineData(513)]
    [InlineData(100_000)]
    public void LeafHashPrefixesZeroByteForAnyInputLength(int length)
    {
        var data = new byte[length];
        Random.Shared.NextBytes(data);
        Assert.Equal(RfcReference.LeafHash(data), MerkleHash.Leaf(data));
    }

    [Fact]
    public void NodeHashMayWriteOverItsOwnInputs()
    {
        var left = SHA256.HashData("left"u8);
        var right = SHA256.HashData("right"u8);
        var expected = RfcReference.NodeHash(left, right);

        var buffer = left.Concat(right).ToArray();
        MerkleHash.Node(buffer.AsSpan(0, 32), buffer.AsSpan(32, 32), buffer.AsSpan(0, 32));
        Assert.Equal(expected, buffer[..32]);

        buffer = left.Concat(right).ToArray();
        MerkleHash.Node(buffer.AsSpan(0, 32), buffer.AsSpan(32, 32), buffer.AsSpan(32, 32));
        Assert.Equal(expected, buffer[32..]);
    }

    [Fact]
    public void HashPrimitivesRejectWrongLengths()
    {
        Assert.Throws<ArgumentException>(() => MerkleHash.Node(new byte[31], new byte[32]));
        Assert.Throws<ArgumentException>(() => MerkleHash.Node(new byte[32], new byte[33]));
        Assert.Throws<ArgumentException>(() => MerkleHash.Node(new byte[32], new byte[32], new byte[31]));
        Assert.Throws<ArgumentException>(() => MerkleHash.Leaf([1, 2, 3], new byte[31]));
        Assert.Throws<ArgumentException>(() => MerkleTree.RootFromLeafHashes(new byte[33].AsSpan()));
        Assert.Throws<ArgumentException>(() => MerkleTree.RootFromLeafHashes([new byte[32], new byte[31]]));
        Assert.Throws<ArgumentException>(() => new MerkleLog().AppendLeafHash(new byte[31]));
    }

    [Fact]
    public void SingleLeafTreeHasTheLeafHashAsRootAndEmptyProofs()
    {
        var leaf = MerkleHash.Leaf("only"u8);
        var log = new MerkleLog();
        log.AppendLeafHash(leaf);

        Assert.Equal(leaf, MerkleTree.RootFromLeafHashes([leaf]));
        Assert.Equal(leaf, log.Root());
        Assert.Empty(MerkleTree.InclusionProof([leaf], 0, 1));
        Assert.Empty(log.InclusionProof(0, 1));
        Assert.Empty(log.ConsistencyProof(1, 1));
        Assert.True(MerkleProof.VerifyInclusion(leaf, 0, 1, [], leaf));
        Assert.True(MerkleProof.VerifyConsistency(1, 1, leaf, leaf, []));

        // A proof element where none belongs, or a different root, must fail.
        Assert.False(MerkleProof.VerifyInclusion(leaf, 0, 1, [SomeHash], leaf));
        Assert.False(MerkleProof.VerifyInclusion(leaf, 0, 1, [], SomeHash));
        Assert.False(MerkleProof.VerifyInclusion(leaf, 1, 1, [], leaf));
    }

    [Fact]
    public void PowerOfTwoTreesHaveFullLengthInclusionProofsAndOmitTheOldRootFromConsistencyProofs()
    {
        var leaves = Leaves(256);
        var log = Log(leaves);
        for (var a = 0; a <= 8; a++)
        {
            var size = 1L << a;
            Assert.Equal(RfcReference.Mth(leaves[..(int)size]), log.Root(size));
            foreach (var index in new[] { 0, size / 2, size - 1 })
            {
                Assert.Equal(a, log.InclusionProof(index, size).Count);
            }

            for (var b = a; b <= 8; b++)
            {
                // D[0:2^a] is a node of the 2^b tree, so the verifier already holds it and the proof is one hash per level.
                var proof = log.ConsistencyProof(size, 1L << b);
                Assert.Equal(b - a, proof.Count);
                Assert.True(MerkleProof.VerifyConsistency(size, 1L << b, log.Root(size), log.Root(1L << b), proof));
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(13)]
    public void EqualSizeConsistencyProofIsEmptyAndNeedsEqualRoots(int size)
    {
        var leaves = Leaves(size);
        var log = Log(leaves);
        var root = log.Root();

        Assert.Empty(log.ConsistencyProof(size, size));
        Assert.Empty(MerkleTree.ConsistencyProof(leaves, size, size));
        Assert.True(MerkleProof.VerifyConsistency(size, size, root, root, []));
        Assert.False(MerkleProof.VerifyConsistency(size, size, root, SomeHash, []));
        Assert.False(MerkleProof.VerifyConsistency(size, size, root, root, [SomeHash]));
        Assert.False(MerkleProof.VerifyConsistency(size, size, root, root, [root]));
    }

    [Fact]
    public void InclusionProofDoesNotBindTheTreeSizeOnItsOwn()
    {
        // RFC 9162's verifier reconstructs the same path shape for leaf 0 in trees of 3 and 4 leaves, so the size-3
        // proof is also accepted as a size-4 proof against the size-3 root. Callers must get the root for the size
        // they care about from a trusted tree head; against the real size-4 root the proof fails as it should.
        var leaves = Leaves(4);
        var proof = MerkleTree.InclusionProof(leaves, 0, 3);
        var root3 = MerkleTree.RootFromLeafHashes(leaves[..3]);
        var root4 = MerkleTree.RootFromLeafHashes(leaves);

        Assert.True(MerkleProof.VerifyInclusion(leaves[0], 0, 3, proof, root3));
        Assert.True(MerkleProof.VerifyInclusion(leaves[0], 0, 4, proof, root3));
        Assert.False(MerkleProof.VerifyInclusion(leaves[0], 0, 4, proof, root4));
    }

    [Fact]
    public void ConsistencyProofDoesNotBindTheTreeSizesOnTheirOwn()
    {
        // Doubling both sizes feeds RFC 9162's verifier the same bit pattern after its initial shifts, so a proof
        // for (m, n) also passes as (2m, 2n) against the same two roots. Roots must come paired with their sizes
        // from trusted tree heads; against the real roots of the doubled sizes the proof fails.
        var leaves = Leaves(14);
        var proof = MerkleTree.ConsistencyProof(leaves, 3, 7);
        var root3 = MerkleTree.RootFromLeafHashes(leaves[..3]);
        var root7 = MerkleTree.RootFromLeafHashes(leaves[..7]);

        Assert.True(MerkleProof.VerifyConsistency(3, 7, root3, root7, proof));
        Assert.True(MerkleProof.VerifyConsistency(6, 14, root3, root7, proof));
        var root6 = MerkleTree.RootFromLeafHashes(leaves[..6]);
        var root14 = MerkleTree.RootFromLeafHashes(leaves);
        Assert.False(MerkleProof.VerifyConsistency(6, 14, root6, root14, proof));
    }

    [Fact]
    public void InclusionVerifierReturnsFalseForMalformedInput()
    {
        var leaves = Leaves(5);
        var proof = MerkleTree.InclusionProof(leaves, 2, 5);
        var root = MerkleTree.RootFromLeafHashes(leaves);
        Assert.True(MerkleProof.VerifyInclusion(leaves[2], 2, 5, proof, root));

        Assert.False(MerkleProof.VerifyInclusion(leaves[2].AsSpan(0, 31), 2, 5, proof, root));
        Assert.False(MerkleProof.VerifyInclusion([.. leaves[2], 0], 2, 5, proof, root));
        Assert.False(MerkleProof.VerifyInclusion([], 2, 5, proof, root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, proof, root.AsSpan(0, 31)));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, proof, []));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, null!, root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, [proof[0], null!, proof[2]], root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, [proof[0], proof[1][..31], proof[2]], root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, [proof[0], [.. proof[1], 0], proof[2]], root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], -1, 5, proof, root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 5, 5, proof, root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 2, proof, root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 0, 0, [], MerkleHash.EmptyRoot));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, -5, proof, root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], long.MaxValue, long.MaxValue, proof, root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, long.MaxValue, proof, root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, [.. proof, SomeHash], root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, proof.Take(2).ToArray(), root));
        Assert.False(MerkleProof.VerifyInclusion(leaves[2], 2, 5, Enumerable.Repeat(SomeHash, 100_000).ToArray(), root));

        Assert.False(MerkleProof.TryRootFromInclusion(leaves[2], 5, 5, proof, out var none));
        Assert.Empty(none);
        Assert.False(MerkleProof.TryRootFromInclusion(leaves[2], 2, 5, [.. proof, SomeHash], out _));
    }

    [Fact]
    public void ConsistencyVerifierReturnsFalseForMalformedInput()
    {
        var leaves = Leaves(7);
        var proof = MerkleTree.ConsistencyProof(leaves, 3, 7);
        var root3 = MerkleTree.RootFromLeafHashes(leaves[..3]);
        var root7 = MerkleTree.RootFromLeafHashes(leaves);
        Assert.True(MerkleProof.VerifyConsistency(3, 7, root3, root7, proof));

        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3.AsSpan(0, 31), root7, proof));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, [.. root7, 0], proof));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, [], [], proof));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, root7, null!));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, root7, [null!, .. proof.Skip(1)]));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, root7, [proof[0][..31], .. proof.Skip(1)]));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, root7, [.. proof.SkipLast(1), [.. proof[^1], 0]]));
        Assert.False(MerkleProof.VerifyConsistency(7, 3, root7, root3, proof));
        Assert.False(MerkleProof.VerifyConsistency(-3, 7, root3, root7, proof));
        Assert.False(MerkleProof.VerifyConsistency(3, -7, root3, root7, proof));
        Assert.False(MerkleProof.VerifyConsistency(3, long.MaxValue, root3, root7, proof));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, root7, []));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, root7, [.. proof, SomeHash]));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, root7, proof.SkipLast(1).ToArray()));
        Assert.False(MerkleProof.VerifyConsistency(3, 7, root3, root7, Enumerable.Repeat(SomeHash, 100_000).ToArray()));

        // No consistency proof exists from the empty tree (RFC 9162 §2.1.4 requires 0 < m); this API rejects it
        // instead of treating it as vacuously true.
        var empty = MerkleHash.EmptyRoot;
        Assert.False(MerkleProof.VerifyConsistency(0, 7, empty, root7, []));
        Assert.False(MerkleProof.VerifyConsistency(0, 0, empty, empty, []));
    }

    [Fact]
    public void GeneratorsRejectOutOfRangeArguments()
    {
        var leaves = Leaves(6);
        var log = Log(leaves);

        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.InclusionProof(leaves, 6, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.InclusionProof(leaves, -1, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.InclusionProof(leaves, 0, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.InclusionProof(leaves, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.ConsistencyProof(leaves, 0, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.ConsistencyProof(leaves, 5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.ConsistencyProof(leaves, 3, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleTree.ConsistencyProof(leaves, -1, 6));

        Assert.Throws<ArgumentOutOfRangeException>(() => log.InclusionProof(6, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.InclusionProof(-1, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.InclusionProof(0, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.InclusionProof(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.ConsistencyProof(0, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.ConsistencyProof(5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.ConsistencyProof(3, 7));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Root(7));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Root(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.LeafHash(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.LeafHash(-1));
    }

    [Fact]
    public void GeneratorsRejectMalformedLeafHashes()
    {
        byte[][] leaves = [new byte[32], new byte[31], new byte[32]];
        Assert.Throws<ArgumentException>(() => MerkleTree.InclusionProof(leaves, 0, 3));
        Assert.Throws<ArgumentException>(() => MerkleTree.ConsistencyProof(leaves, 1, 3));
    }

    [Fact]
    public void LogReturnsCopiesOfItsHashes()
    {
        var log = Log(Leaves(3));
        var leaf = log.LeafHash(1);
        var root = log.Root();
        leaf[0] ^= 1;
        root[0] ^= 1;
        Assert.NotEqual(leaf, log.LeafHash(1));
        Assert.NotEqual(root, log.Root());
    }

    [Fact]
    public void LogAppendLeafHashesTheDataAndReturnsTheLeafHash()
    {
        var log = new MerkleLog();
        var returned = log.AppendLeaf("entry"u8);
        Assert.Equal(RfcReference.LeafHash("entry"u8.ToArray()), returned);
        Assert.Equal(returned, log.LeafHash(0));
    }

    [Fact]
    public void LogStaysCorrectAcrossStorageChunkBoundaries()
    {
        // The log stores hashes in 2048-hash chunks, after growing its first chunk from 16; sizes around those
        // boundaries (and around powers of two) are where an indexing slip would show.
        var leaves = Leaves(4200);
        var log = Log(leaves);
        foreach (var size in new[] { 15, 16, 17, 33, 2047, 2048, 2049, 4095, 4096, 4097, 4200 })
        {
            var root = MerkleTree.RootFromLeafHashes(leaves[..size]);
            Assert.Equal(root, log.Root(size));
            foreach (var index in new[] { 0, size / 2, size - 2, size - 1 })
            {
                var proof = log.InclusionProof(index, size);
                MerkleAssert.SameHashes(MerkleTree.InclusionProof(leaves, index, size), proof, $"inclusion {index}/{size}");
                Assert.True(MerkleProof.VerifyInclusion(leaves[index], index, size, proof, root));
            }

            foreach (var oldSize in new[] { 1, size / 3, size - 1, size })
            {
                var proof = log.ConsistencyProof(oldSize, size);
                MerkleAssert.SameHashes(MerkleTree.ConsistencyProof(leaves, oldSize, size), proof, $"consistency {oldSize}/{size}");
                Assert.True(MerkleProof.VerifyConsistency(oldSize, size, log.Root(oldSize), root, proof));
            }
        }
    }

    [Fact]
    public void BottomUpRootsMatchTheRecursiveDefinitionForEverySizeUpTo300()
    {
        var data = Enumerable.Range(0, 300).Select(i => BitConverter.GetBytes(i * 7919)).ToArray();
        var leafHashes = data.Select(RfcReference.LeafHash).ToArray();
        var packed = leafHashes.SelectMany(h => h).ToArray();
        var log = new MerkleLog();
        for (var size = 0; size <= data.Length; size++)
        {
            var expected = RfcReference.Mth(leafHashes[..size]);
            Assert.Equal(expected, MerkleTree.RootFromLeafHashes(packed.AsSpan(0, size * MerkleHash.Size)));
            Assert.Equal(expected, MerkleTree.RootFromLeafHashes(leafHashes[..size]));
            Assert.Equal(expected, MerkleTree.Root(data[..size]));
            Assert.Equal(expected, log.Root());
            if (size < data.Length)
            {
                log.AppendLeaf(data[size]);
            }
        }
    }

    [Fact]
    public void AllProofsMatchTheRecursiveDefinitionForSmallTrees()
    {
        var leaves = Leaves(40);
        var log = Log(leaves);
        for (var size = 1; size <= leaves.Length; size++)
        {
            for (var index = 0; index < size; index++)
            {
                var expected = RfcReference.Path(index, leaves[..size]);
                MerkleAssert.SameHashes(expected, MerkleTree.InclusionProof(leaves, index, size), $"tree {index}/{size}");
                MerkleAssert.SameHashes(expected, log.InclusionProof(index, size), $"log {index}/{size}");
            }

            for (var oldSize = 1; oldSize <= size; oldSize++)
            {
                var expected = RfcReference.Proof(oldSize, leaves[..size]);
                MerkleAssert.SameHashes(expected, MerkleTree.ConsistencyProof(leaves, oldSize, size), $"tree {oldSize}/{size}");
                MerkleAssert.SameHashes(expected, log.ConsistencyProof(oldSize, size), $"log {oldSize}/{size}");
            }
        }
    }

    internal static byte[][] Leaves(int count) =>
        Enumerable.Range(0, count).Select(i => RfcReference.LeafHash(BitConverter.GetBytes(i))).ToArray();

    internal static MerkleLog Log(IEnumerable<byte[]> leafHashes)
    {
        var log = new MerkleLog();
        foreach (var hash in leafHashes)
        {
            log.AppendLeafHash(hash);
        }

        return log;
    }
}
