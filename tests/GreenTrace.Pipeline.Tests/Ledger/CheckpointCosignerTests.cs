using System.Text;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Merkle;
using GreenTrace.Core.Proofs;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Checkpoints;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.Ledger;

/// <summary>The cosigning protocol without Kafka: three nodes whose published signatures go through an in-memory topic.</summary>
public sealed class CheckpointCosignerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly Consortium _consortium = new();
    private readonly SignatureTopic _topic = new();
    private readonly List<LedgerNode> _nodes = [];
    private readonly List<CheckpointCosigner> _cosigners = [];
    private readonly List<int> _cursors = [];

    public CheckpointCosignerTests()
    {
        for (var i = 0; i < 3; i++)
        {
            var node = _consortium.OpenNode(i, _dir.File($"node-{i + 1}.db"));
            _nodes.Add(node);
            _cosigners.Add(new CheckpointCosigner(node, _topic, everyEntries: 10));
            _cursors.Add(0);
        }
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
            node.Dispose();
        _consortium.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void NodesWithTheSameLogSignTheSameSizesAndEndWithIdenticalNotesCosignedByAll()
    {
        var entries = _consortium.Entries(meters: 5, hours: 5); // 30 entries
        // Batches of different sizes per node: the signed sizes are the multiples of 10 all the same.
        AppendInBatches(0, entries, 7);
        AppendInBatches(1, entries, 30);
        AppendInBatches(2, entries, 4);
        foreach (var c in _cosigners)
            c.OnIdle(); // 30 is a multiple: nothing new

        Assert.Equal([(0, 10L), (0, 20), (0, 30), (1, 10), (1, 20), (1, 30), (2, 10), (2, 20), (2, 30)],
            _topic.Notes.Select(n => (NodeIndex(n.Node), Size(n.Note))).Order().ToList());
        Deliver();

        var expectedRoot = MerkleTree.Root(entries.Select(e => e.Bytes).ToList());
        foreach (var node in _nodes)
        {
            Assert.Equal(expectedRoot, node.RootAt(30));
            Assert.Equal([10L, 20, 30], node.Store.Checkpoints().Select(c => c.Size));
            Assert.All(node.Store.Checkpoints(), c => Assert.Equal(3, c.SignatureCount));
            var verified = CheckpointVerifier.Verify(node.LatestCheckpoint()!.Note, Consortium.Origin, _consortium.Trust.Nodes, 3);
            Assert.True(verified.Success, verified.ToString());
        }
        // Merged in different orders, stored byte for byte the same.
        Assert.Single(_nodes.Select(n => n.LatestCheckpoint()!.Note).Distinct());
        // Every node published exactly its own signature per size; cosigning others' added no new publications.
        Assert.Equal(9, _topic.Notes.Count);
    }

    [Fact]
    public void APeersSignatureForASizeNotYetReachedIsHeldThenCosigned()
    {
        var entries = _consortium.Entries(meters: 3, hours: 3); // 12 entries
        AppendInBatches(0, entries, 12);
        _cosigners[0].OnIdle(); // signs 10 and, idle, 12
        Assert.Equal([10L, 12], _topic.Notes.Select(n => Size(n.Note)));

        Assert.Equal(PeerSignatureOutcome.Held, _cosigners[1].Receive(Encoding.UTF8.GetBytes(_topic.Notes[1].Note), position: 41));
        Assert.Equal(41, _cosigners[1].EarliestHeldPosition);
        Assert.Null(_nodes[1].Store.GetCheckpoint(12));

        AppendInBatches(1, entries, 12);

        Assert.Null(_cosigners[1].EarliestHeldPosition);
        var cosigned = _nodes[1].Store.GetCheckpoint(12);
        Assert.NotNull(cosigned);
        Assert.Equal(2, cosigned.SignatureCount);
        Assert.Equal(["node-1", "node-2"], CheckpointVerifier.Verify(cosigned.Note, Consortium.Origin, _consortium.Trust.Nodes, 2).TrustedSigners.Order());
        // node-2 published its own signature of 12 for the others.
        Assert.Contains(_topic.Notes, n => n.Node == "node-2" && Size(n.Note) == 12);
    }

    [Fact]
    public void ADivergentRootIsNeverCosignedAndKeepsBeingRefused()
    {
        var entries = _consortium.Entries(meters: 4, hours: 2); // 12 entries
        AppendInBatches(0, entries, 12);
        // node-2 got the same entries with two swapped: another root at every size from 3 on.
        var swapped = entries.ToList();
        (swapped[2], swapped[3]) = (swapped[3], swapped[2]);
        AppendInBatches(1, swapped, 12);
        _cosigners[0].OnIdle();
        _cosigners[1].OnIdle();
        var published = _topic.Notes.Count;

        for (var round = 1; round <= 2; round++)
        {
            foreach (var (from, to) in new[] { (0, 1), (1, 0) })
            {
                foreach (var note in _topic.Notes.Where(n => n.Node == _consortium.Nodes[from].Name).ToList())
                    Assert.Equal(PeerSignatureOutcome.Divergent, _cosigners[to].Receive(Encoding.UTF8.GetBytes(note.Note)));
                Assert.Equal(2 * round, _cosigners[to].Divergences);
            }
        }

        Assert.Equal(published, _topic.Notes.Count); // nobody signed anything on the other's behalf
        foreach (var node in _nodes.Take(2))
        {
            Assert.All(node.Store.Checkpoints(), c => Assert.Equal(1, c.SignatureCount));
            Assert.Null(node.LatestCheckpoint()); // no quorum anywhere
        }
    }

    [Fact]
    public void SignaturesByStrangersOrThatDoNotVerifyAreDropped()
    {
        var entries = _consortium.Entries(meters: 2, hours: 4); // 10 entries
        AppendInBatches(0, entries, 10);
        AppendInBatches(1, entries, 10);
        var good = _topic.Notes.Single(n => n.Node == "node-2").Note;
        using var stranger = NoteSigner.Generate("node-9");
        var text = new Checkpoint(Consortium.Origin, 10, _nodes[0].RootAt(10)).ToNoteText();
        var otherOrigin = SignedNote.Sign(new Checkpoint("elsewhere.example/log", 10, _nodes[0].RootAt(10)).ToNoteText(), _consortium.Nodes[1]);
        var tampered = good.Replace("\n10\n", "\n11\n", StringComparison.Ordinal);
        var before = _nodes[0].Store.GetCheckpoint(10)!;

        foreach (var bad in new[] { SignedNote.Sign(text, stranger), tampered, otherOrigin, "not a note", "" })
            Assert.Equal(PeerSignatureOutcome.Dropped, _cosigners[0].Receive(Encoding.UTF8.GetBytes(bad)));
        Assert.Equal(PeerSignatureOutcome.Dropped, _cosigners[0].Receive([0xff, 0xfe, 0x0a]));

        var after = _nodes[0].Store.GetCheckpoint(10)!;
        Assert.Equal((before.Note, before.SignatureCount), (after.Note, after.SignatureCount));
        // A stranger's line riding along a good signature is left out of the stored note.
        var withStranger = SignedNote.AddSignatures(good, stranger);
        Assert.Equal(PeerSignatureOutcome.Merged, _cosigners[0].Receive(Encoding.UTF8.GetBytes(withStranger)));
        var merged = _nodes[0].Store.GetCheckpoint(10)!;
        Assert.Equal(2, merged.SignatureCount);
        Assert.DoesNotContain("node-9", merged.Note, StringComparison.Ordinal);
        Assert.Equal(PeerSignatureOutcome.Known, _cosigners[0].Receive(Encoding.UTF8.GetBytes(good)));
    }

    [Fact]
    public void ProofBundlesWaitForAQuorumCheckpoint()
    {
        using var meter = new TestMeter("meter-proof");
        var readings = LedgerFixture.HourOfReadings(meter, LedgerFixture.RegisteredAt);
        var certificate = LedgerFixture.Issue(meter, readings).Certificate;
        var entries = new[]
        {
            _consortium.Registration(meter),
            _consortium.CertificateEntry(certificate),
        };
        foreach (var i in new[] { 0, 1 })
            Assert.All(_nodes[i].Submit(entries.Select(e => (ReadOnlyMemory<byte>)e).ToList()), o => Assert.True(o.Accepted, o.Rejection?.ToString()));
        _cosigners[0].OnIdle();

        // Signed by node-1 alone: not enough for quorum 2.
        Assert.Equal("checkpoint-missing", _nodes[0].BuildProofBundle(certificate.Id, readings, 0).Error?.Code);

        _cosigners[1].Receive(Encoding.UTF8.GetBytes(_topic.Notes[0].Note));
        _cosigners[0].Receive(Encoding.UTF8.GetBytes(_topic.Notes.Single(n => n.Node == "node-2").Note));

        var bundle = _nodes[0].BuildProofBundle(certificate.Id, readings, 2);
        Assert.True(bundle.IsOk, bundle.ToString());
        var report = ProofBundleVerifier.Verify(bundle.Value, _consortium.Trust);
        Assert.True(report.IsValid, report.FirstFailure?.ToString());
    }

    [Fact]
    public void ARestartedNodeSignsTheMultiplesACrashLeftUnsigned()
    {
        var entries = _consortium.Entries(meters: 5, hours: 4); // 25 entries
        // Appended and committed, then the node died before its cosigner ran.
        Assert.All(_nodes[0].Submit(entries.Select(e => (ReadOnlyMemory<byte>)e.Bytes).ToList()), o => Assert.True(o.Accepted));
        Assert.Empty(_topic.Notes);

        var restarted = new CheckpointCosigner(_nodes[0], _topic, everyEntries: 10);
        restarted.OnAppended();

        Assert.Equal([10L, 20], _topic.Notes.Select(n => Size(n.Note)));
        Assert.Equal([10L, 20], _nodes[0].Store.Checkpoints().Select(c => c.Size));
    }

    private void AppendInBatches(int node, IReadOnlyList<StreamEntry> entries, int batchSize)
    {
        foreach (var batch in entries.Chunk(batchSize))
        {
            var outcomes = _nodes[node].Submit(batch.Select(e => (ReadOnlyMemory<byte>)e.Bytes).ToList());
            Assert.All(outcomes, o => Assert.True(o.Accepted || node == 1, o.Rejection?.ToString()));
            _cosigners[node].OnAppended();
        }
    }

    /// <summary>Every node reads the topic from where it left off until nobody publishes anything new.</summary>
    private void Deliver()
    {
        bool progressed;
        do
        {
            progressed = false;
            for (var i = 0; i < _cosigners.Count; i++)
            {
                while (_cursors[i] < _topic.Notes.Count)
                {
                    var position = _cursors[i]++;
                    _cosigners[i].Receive(Encoding.UTF8.GetBytes(_topic.Notes[position].Note), position);
                    progressed = true;
                }
            }
        }
        while (progressed);
    }

    private int NodeIndex(string name) => _consortium.Nodes.Select(n => n.Name).ToList().IndexOf(name);

    private static long Size(string note) => long.Parse(note.Split('\n')[1], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The checkpoints topic in memory: every publication in order.</summary>
    private sealed class SignatureTopic : ICheckpointPublisher
    {
        public List<(string Node, string Note)> Notes { get; } = [];

        public void Publish(string nodeName, string signedNote) => Notes.Add((nodeName, signedNote));
    }
}
