using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using GreenTrace.Core.Merkle;

namespace GreenTrace.Benchmarks;

/// <summary>
/// Hot path 3: verifying an inclusion proof for a random leaf of a 1,000,000-leaf tree, as a buyer does offline.
/// The sample is drawn from the leaves whose audit path has exactly 20 hashes (the first 983,040 leaves; the
/// ragged right edge of a 1M tree has shorter paths), so every operation costs exactly 20 node hashes.
/// </summary>
[MemoryDiagnoser]
public class InclusionBenchmarks
{
    public const int TreeSize = 1_000_000;
    public const int ProofHashes = 20;
    private const int Samples = 1024;
    private const int FullDepthLeaves = 983_040; // 2^19 + 2^18 + 2^17 + 2^16

    private byte[][] leafHashes = [];
    private long[] indices = [];
    private IReadOnlyList<byte[]>[] proofs = [];
    private byte[] root = [];
    private byte[] nodeInput = [];
    private byte[] digest = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(9162);
        var log = new MerkleLog();
        var leaf = new byte[32];
        for (var i = 0; i < TreeSize; i++)
        {
            random.NextBytes(leaf);
            log.AppendLeaf(leaf);
        }

        root = log.Root();
        indices = new long[Samples];
        leafHashes = new byte[Samples][];
        proofs = new IReadOnlyList<byte[]>[Samples];
        for (var s = 0; s < Samples; s++)
        {
            var index = random.NextInt64(FullDepthLeaves);
            indices[s] = index;
            leafHashes[s] = log.LeafHash(index);
            proofs[s] = log.InclusionProof(index, TreeSize);
            if (proofs[s].Count != ProofHashes)
                throw new InvalidOperationException($"leaf {index} has a {proofs[s].Count}-hash proof, expected {ProofHashes}");
            if (!MerkleProof.VerifyInclusion(leafHashes[s], index, TreeSize, proofs[s], root))
                throw new InvalidOperationException($"proof for leaf {index} does not verify");
        }

        nodeInput = new byte[1 + (2 * MerkleHash.Size)];
        random.NextBytes(nodeInput);
        nodeInput[0] = 0x01;
        digest = new byte[MerkleHash.Size];
    }

    [Benchmark(OperationsPerInvoke = Samples, Description = "VerifyInclusion, random leaf of 1M (20 hashes)")]
    public int VerifyInclusion()
    {
        var ok = 0;
        for (var s = 0; s < Samples; s++)
        {
            if (MerkleProof.VerifyInclusion(leafHashes[s], indices[s], TreeSize, proofs[s], root))
                ok++;
        }

        return ok;
    }

    /// <summary>The floor: the 20 SHA-256 computations over 65-byte node inputs that a proof costs, and nothing else.</summary>
    [Benchmark(Description = "20 x SHA256.HashData(65 bytes)")]
    public byte[] Raw20NodeHashes()
    {
        for (var i = 0; i < ProofHashes; i++)
            SHA256.HashData(nodeInput, digest);
        return digest;
    }
}
