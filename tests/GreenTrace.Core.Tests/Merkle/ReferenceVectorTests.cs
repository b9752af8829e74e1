using GreenTrace.Core.Merkle;

namespace GreenTrace.Core.Tests.Merkle;

/// <summary>
/// Certificate Transparency's published RFC 6962 test vectors (RFC 9162 keeps the same tree hashing), as carried by
/// transparency-dev/merkle:
///   testonly/constants.go    - LeafInputs, NodeHashes, RootHashes
///   testonly/reference_test.go - TestRefInclusionProof, TestRefConsistencyProof
///   proof/verify_test.go     - inclusionProofs, consistencyProofs (1-based leaf numbers there, 0-based here),
///                              and the corruptInclusionProof / corruptConsistencyProof probes
/// The roots originate in google/certificate-transparency cpp/merkletree/merkle_tree_test.cc.
/// </summary>
public class ReferenceVectorTests
{
    private static readonly byte[][] LeafInputs =
    [
        Hex(""),
        Hex("00"),
        Hex("10"),
        Hex("2021"),
        Hex("3031"),
        Hex("40414243"),
        Hex("5051525354555657"),
        Hex("606162636465666768696a6b6c6d6e6f"),
    ];

    // NodeHashes()[level][index]: level 0 is the leaf hashes.
    private static readonly byte[][][] NodeHashes =
    [
        [
            Hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            Hex("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            Hex("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
            Hex("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
            Hex("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            Hex("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
            Hex("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            Hex("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
        ],
        [
            Hex("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
            Hex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            Hex("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            Hex("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        ],
        [
            Hex("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            Hex("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
        [
            Hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
        ],
    ];

    // RootHashes()[size] for size 0..8.
    private static readonly byte[][] RootHashes =
    [
        Hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        Hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        Hex("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        Hex("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
        Hex("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        Hex("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
        Hex("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
        Hex("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
        Hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ];

    // The "abacaba..." value proof/verify_test.go uses as an arbitrary well-formed but wrong hash.
    private static readonly byte[] SomeHash = Hex("abacaba000000000000000000000000000000000000000000060061e00123456");

    // Union of TestRefInclusionProof (reference_test.go) and inclusionProofs (verify_test.go).
    public static TheoryData<long, long, string[]> InclusionVectors => new()
    {
        { 0, 1, [] },
        { 0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"] },
        { 1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"] },
        { 2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
        {
            1, 5,
            [
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
        },
        {
            0, 8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        },
        {
            5, 8,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        },
    };

    // Union of TestRefConsistencyProof (reference_test.go) and consistencyProofs (verify_test.go).
    public static TheoryData<long, long, string[]> ConsistencyVectors => new()
    {
        { 1, 1, [] },
        {
            1, 8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        },
        {
            2, 5,
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
        },
        {
            6, 8,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        },
        {
            6, 7,
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        },
    };

    public static TheoryData<int> Sizes => new(Enumerable.Range(0, 9));

    [Fact]
    public void LeafHashesMatchPublishedValues()
    {
        Span<byte> destination = stackalloc byte[MerkleHash.Size];
        for (var i = 0; i < LeafInputs.Length; i++)
        {
            Assert.Equal(NodeHashes[0][i], MerkleHash.Leaf(LeafInputs[i]));
            MerkleHash.Leaf(LeafInputs[i], destination);
            Assert.True(destination.SequenceEqual(NodeHashes[0][i]));
        }
    }

    [Fact]
    public void InteriorNodeHashesMatchPublishedValues()
    {
        for (var level = 1; level < NodeHashes.Length; level++)
        {
            for (var i = 0; i < NodeHashes[level].Length; i++)
            {
                var below = NodeHashes[level - 1];
                Assert.Equal(NodeHashes[level][i], MerkleHash.Node(below[2 * i], below[(2 * i) + 1]));

                // The same node as the root of the complete subtree it spans.
                var width = 1 << level;
                var leaves = NodeHashes[0].Skip(i * width).Take(width).ToArray();
                Assert.Equal(NodeHashes[level][i], MerkleTree.RootFromLeafHashes(leaves));
            }
        }
    }

    [Fact]
    public void EmptyRootMatchesPublishedValue() => Assert.Equal(RootHashes[0], MerkleHash.EmptyRoot);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void RootsMatchPublishedValues(int size)
    {
        var expected = RootHashes[size];
        var data = LeafInputs[..size];
        var leafHashes = NodeHashes[0][..size];

        Assert.Equal(expected, MerkleTree.Root(data));
        Assert.Equal(expected, MerkleTree.RootFromLeafHashes(leafHashes));
        Assert.Equal(expected, MerkleTree.RootFromLeafHashes(leafHashes.SelectMany(h => h).ToArray()));
        Assert.Equal(expected, RfcReference.Mth(leafHashes));

        var grown = FullLog();
        Assert.Equal(expected, grown.Root(size));

        var exact = new MerkleLog();
        foreach (var leaf in data)
        {
            exact.AppendLeaf(leaf);
        }

        Assert.Equal(size, exact.Size);
        Assert.Equal(expected, exact.Root());
    }

    [Theory]
    [MemberData(nameof(InclusionVectors))]
    public void InclusionProofsMatchPublishedValues(long index, long size, string[] proofHex)
    {
        var expected = proofHex.Select(Hex).ToArray();
        var leafHashes = NodeHashes[0];

        MerkleAssert.SameHashes(expected, RfcReference.Path((int)index, leafHashes[..(int)size]), "reference");
        MerkleAssert.SameHashes(expected, MerkleTree.InclusionProof(leafHashes, index, size), "MerkleTree");
        MerkleAssert.SameHashes(expected, FullLog().InclusionProof(index, size), "MerkleLog");

        var leafHash = leafHashes[index];
        var root = RootHashes[size];
        Assert.True(MerkleProof.VerifyInclusion(leafHash, index, size, expected, root));
        Assert.True(MerkleProof.TryRootFromInclusion(leafHash, index, size, expected, out var computed));
        Assert.Equal(root, computed);
    }

    [Theory]
    [MemberData(nameof(InclusionVectors))]
    public void CorruptedPublishedInclusionProofsFail(long index, long size, string[] proofHex)
    {
        var proof = proofHex.Select(Hex).ToArray();
        var leafHash = NodeHashes[0][index];
        var root = RootHashes[size];

        // The probes of corruptInclusionProof in proof/verify_test.go.
        var probes = new List<(string Name, long Index, long Size, byte[] Leaf, byte[] Root, byte[][] Proof)>
        {
            ("index - 1", index - 1, size, leafHash, root, proof),
            ("index + 1", index + 1, size, leafHash, root, proof),
            ("index ^ 2", index ^ 2, size, leafHash, root, proof),
            ("size * 2", index, size * 2, leafHash, root, proof),
            ("size / 2", index, size / 2, leafHash, root, proof),
            ("wrong leaf", index, size, "WrongLeaf"u8.ToArray(), root, proof),
            ("empty root", index, size, leafHash, RootHashes[0], proof),
            ("random root", index, size, leafHash, SomeHash, proof),
            ("trailing garbage", index, size, leafHash, root, [.. proof, []]),
            ("trailing root", index, size, leafHash, root, [.. proof, root]),
            ("preceding garbage", index, size, leafHash, root, [[], .. proof]),
            ("preceding root", index, size, leafHash, root, [root, .. proof]),
        };

        for (var i = 0; i < proof.Length; i++)
        {
            var flipped = proof.Select(h => (byte[])h.Clone()).ToArray();
            flipped[i][0] ^= 8;
            probes.Add(($"proof[{i}] bit 3", index, size, leafHash, root, flipped));
        }

        if (proof.Length > 0)
        {
            probes.Add(("removed component", index, size, leafHash, root, proof[..^1]));
        }

        if (proof.Length > 1)
        {
            probes.Add(("inserted component", index, size, leafHash, root, [proof[0], SomeHash, .. proof[1..]]));
        }

        foreach (var p in probes)
        {
            Assert.False(MerkleProof.VerifyInclusion(p.Leaf, p.Index, p.Size, p.Proof, p.Root), p.Name);
        }
    }

    [Theory]
    [MemberData(nameof(ConsistencyVectors))]
    public void ConsistencyProofsMatchPublishedValues(long oldSize, long newSize, string[] proofHex)
    {
        var expected = proofHex.Select(Hex).ToArray();
        var leafHashes = NodeHashes[0];

        MerkleAssert.SameHashes(expected, RfcReference.Proof((int)oldSize, leafHashes[..(int)newSize]), "reference");
        MerkleAssert.SameHashes(expected, MerkleTree.ConsistencyProof(leafHashes, oldSize, newSize), "MerkleTree");
        MerkleAssert.SameHashes(expected, FullLog().ConsistencyProof(oldSize, newSize), "MerkleLog");

        Assert.True(MerkleProof.VerifyConsistency(oldSize, newSize, RootHashes[oldSize], RootHashes[newSize], expected));
    }

    [Theory]
    [MemberData(nameof(ConsistencyVectors))]
    public void CorruptedPublishedConsistencyProofsFail(long oldSize, long newSize, string[] proofHex)
    {
        var proof = proofHex.Select(Hex).ToArray();
        var root1 = RootHashes[oldSize];
        var root2 = RootHashes[newSize];
        var wrongRoot = "WrongRoot"u8.ToArray();

        // The probes of corruptConsistencyProof in proof/verify_test.go, which only applies them to non-empty proofs.
        if (proof.Length == 0)
        {
            Assert.False(MerkleProof.VerifyConsistency(oldSize, newSize, root1, root2, [SomeHash]));
            return;
        }

        var probes = new List<(string Name, long Size1, long Size2, byte[] Root1, byte[] Root2, byte[][] Proof)>
        {
            ("size1 - 1", oldSize - 1, newSize, root1, root2, proof),
            ("size1 + 1", oldSize + 1, newSize, root1, root2, proof),
            ("size1 ^ 2", oldSize ^ 2, newSize, root1, root2, proof),
            ("size2 * 2", oldSize, newSize * 2, root1, root2, proof),
            ("size2 / 2", oldSize, newSize / 2, root1, root2, proof),
            ("wrong root1", oldSize, newSize, wrongRoot, root2, proof),
            ("wrong root2", oldSize, newSize, root1, wrongRoot, proof),
            ("swapped roots", oldSize, newSize, root2, root1, proof),
            ("empty proof", oldSize, newSize, root1, root2, []),
            ("trailing garbage", oldSize, newSize, root1, root2, [.. proof, []]),
            ("trailing root1", oldSize, newSize, root1, root2, [.. proof, root1]),
            ("trailing root2", oldSize, newSize, root1, root2, [.. proof, root2]),
            ("preceding garbage", oldSize, newSize, root1, root2, [[], .. proof]),
            ("preceding root1", oldSize, newSize, root1, root2, [root1, .. proof]),
            ("preceding root2", oldSize, newSize, root1, root2, [root2, .. proof]),
            ("preceding proof[0]", oldSize, newSize, root1, root2, [proof[0], .. proof]),
            ("truncated proof", oldSize, newSize, root1, root2, proof[..^1]),
        };

        for (var i = 0; i < proof.Length; i++)
        {
            var flipped = proof.Select(h => (byte[])h.Clone()).ToArray();
            flipped[i][0] ^= 16;
            probes.Add(($"proof[{i}] bit 4", oldSize, newSize, root1, root2, flipped));
        }

        foreach (var p in probes)
        {
            Assert.False(MerkleProof.VerifyConsistency(p.Size1, p.Size2, p.Root1, p.Root2, p.Proof), p.Name);
        }
    }

    private static MerkleLog FullLog()
    {
        var log = new MerkleLog();
        foreach (var leaf in LeafInputs)
        {
            log.AppendLeaf(leaf);
        }

        return log;
    }

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);
}
