using BenchmarkDotNet.Attributes;
using GreenTrace.Core.Merkle;

namespace GreenTrace.Benchmarks;

/// <summary>
/// Hot path 2: the Merkle root of a 1,000,000-leaf tree (RFC 9162 §2.1), single-threaded.
/// From leaf hashes: n − 1 node hashes (65-byte inputs). From leaf data (32-byte leaves): n leaf hashes (33-byte
/// inputs) and n − 1 node hashes, 2n − 1 SHA-256 computations in all.
/// </summary>
[MemoryDiagnoser]
public class MerkleRootBenchmarks
{
    public const int LeafCount = 1_000_000;

    private byte[][] leaves = [];
    private byte[] packedLeafHashes = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(9162);
        leaves = new byte[LeafCount][];
        packedLeafHashes = new byte[LeafCount * MerkleHash.Size];
        for (var i = 0; i < LeafCount; i++)
        {
            var leaf = new byte[32];
            random.NextBytes(leaf);
            leaves[i] = leaf;
            MerkleHash.Leaf(leaf, packedLeafHashes.AsSpan(i * MerkleHash.Size, MerkleHash.Size));
        }

        // Both entry points must agree, or one of them is measuring the wrong tree.
        if (!MerkleTree.Root(leaves).AsSpan().SequenceEqual(MerkleTree.RootFromLeafHashes(packedLeafHashes)))
            throw new InvalidOperationException("Root and RootFromLeafHashes disagree");
    }

    [Benchmark(Description = "RootFromLeafHashes, 1M packed leaf hashes (n-1 hashes)")]
    public byte[] RootFromLeafHashes() => MerkleTree.RootFromLeafHashes(packedLeafHashes);

    [Benchmark(Description = "Root, 1M 32-byte leaves (2n-1 hashes)")]
    public byte[] RootFromLeaves() => MerkleTree.Root(leaves);
}
