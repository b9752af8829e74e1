using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using GreenTrace.Core;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Ledger;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Pipeline.Tests.Kafka;

/// <summary>
/// Three ledger nodes (quorum 2) in-process, each with its own SQLite store, replicating through a
/// fresh pair of topics on the real Kafka 0.9 broker: the entry stream and the checkpoint signatures.
/// </summary>
[Collection(KafkaCollection.Name)]
public sealed class ReplicatedLedgerTests(KafkaFixture kafka) : IDisposable
{
    private const int EveryEntries = 50;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    private readonly TempDirectory _dir = new();
    private readonly Consortium _consortium = new();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];
    private readonly List<NodeRunner> _runners = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string EntriesTopic => $"gt-test-ledger-{_suffix}";

    private string CheckpointsTopic => $"gt-test-checkpoints-{_suffix}";

    public void Dispose()
    {
        foreach (var runner in _runners)
            runner.Dispose();
        _consortium.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task ThreeNodesReachTheSameRootAndCheckpointsCosignedByAQuorum()
    {
        CreateTopics(EntriesTopic);
        var entries = _consortium.Entries(meters: 20, hours: 10);
        var nodes = Enumerable.Range(0, 3).Select(i => Start(i)).ToList();

        await ProduceAsync(EntriesTopic, entries);

        await UntilAllHold(nodes, entries.Count);
        var expectedRoot = MerkleTree.Root(entries.Select(e => e.Bytes).ToList());
        foreach (var node in nodes)
        {
            Assert.Equal(expectedRoot, node.Node.RootAt(entries.Count));
            AssertQuorumCheckpoint(node, entries.Count, expectedRoot);
            // A redelivered entry is refused as a duplicate; nothing else is refused.
            Assert.DoesNotContain(node.Node.Rejections, r => r.Key != LedgerReasons.DeviceDuplicate && r.Key != LedgerReasons.CertificateDuplicate);
            Assert.Equal(0, node.Service.Cosigner.Divergences);
        }
        // Every multiple of the interval was signed by each node and cosigned by the others.
        for (long size = EveryEntries; size <= entries.Count; size += EveryEntries)
        {
            var notes = nodes.Select(n => n.Node.Store.GetCheckpoint(size)).ToList();
            Assert.All(notes, n => Assert.True(n is { SignatureCount: >= 2 }, $"size {size}: {n?.SignatureCount ?? 0} signatures"));
        }
    }

    [Fact]
    public async Task ANodeThatCrashesWhileEntriesKeepComingCatchesUpOnItsStore()
    {
        CreateTopics(EntriesTopic);
        var entries = _consortium.Entries(meters: 20, hours: 10);
        var nodes = Enumerable.Range(0, 3).Select(i => Start(i)).ToList();

        await ProduceAsync(EntriesTopic, entries[..100]);
        await Until(() => nodes[1].Node.Size >= EveryEntries, () => $"node-2 appending (it has {nodes[1].Node.Size})");
        var rest = ProduceAsync(EntriesTopic, entries[100..]);
        await nodes[1].CrashAsync();
        var sizeAtCrash = nodes[1].Node.Size;
        await rest;
        await Until(() => nodes[0].Node.Size == entries.Count && nodes[2].Node.Size == entries.Count, () => "nodes 1 and 3 taking every entry");
        Assert.True(sizeAtCrash < entries.Count, $"node-2 had everything ({sizeAtCrash}) before it crashed: the test proves nothing");

        var restarted = Restart(nodes[1]);
        nodes[1] = restarted;
        Assert.Equal(sizeAtCrash, restarted.Node.Size); // what it appended before the crash is still there

        await UntilAllHold(nodes, entries.Count);
        var expectedRoot = MerkleTree.Root(entries.Select(e => e.Bytes).ToList());
        foreach (var node in nodes)
        {
            Assert.Equal(expectedRoot, node.Node.RootAt(entries.Count));
            AssertQuorumCheckpoint(node, entries.Count, expectedRoot);
        }
    }

    [Fact]
    public async Task ANodeStartedAfterEverythingWasProducedCatchesUpAndIsCosigned()
    {
        CreateTopics(EntriesTopic);
        var entries = _consortium.Entries(meters: 20, hours: 10);
        var early = new[] { Start(0), Start(1) };
        await ProduceAsync(EntriesTopic, entries);
        // Two of three are a quorum: the consortium does not wait for the third.
        await UntilAllHold(early, entries.Count);

        var late = Start(2);
        var all = early.Append(late).ToList();
        await UntilAllHold(all, entries.Count);
        var expectedRoot = MerkleTree.Root(entries.Select(e => e.Bytes).ToList());
        AssertQuorumCheckpoint(late, entries.Count, expectedRoot);
        // Each checkpoint the late node signed on its way, cosigned by the others; and its signature reached them.
        await Until(
            () => late.Node.Store.Checkpoints().All(c => c.SignatureCount >= 2) && early.All(n => n.Node.Store.GetCheckpoint(entries.Count)?.SignatureCount == 3),
            () => $"late node's checkpoints {Describe(late)}; early nodes' at {entries.Count}: {string.Join(", ", early.Select(n => n.Node.Store.GetCheckpoint(entries.Count)?.SignatureCount))}");
        Assert.Equal(expectedRoot, late.Node.RootAt(entries.Count));
        Assert.Contains(late.Node.Store.Checkpoints(), c => c.Size == EveryEntries);
    }

    [Fact]
    public async Task AForgedEntryIsRefusedByEveryNodeAlikeAndAppendedByNone()
    {
        CreateTopics(EntriesTopic);
        var entries = _consortium.Entries(meters: 10, hours: 10);
        using var stranger = new TestMeter("meter-forged");
        using var outsider = new TestMeter("meter-fr");
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = new (StreamEntry Entry, string Code)[]
        {
            // The issuer's id, someone else's key.
            (new StreamEntry(stranger.Id, EntryKind.DeviceRegistered, LedgerEntryCodec.SignDeviceRegistered(stranger.Device, Consortium.IssuerId, otherKey, LedgerFixture.RegisteredAt)), LedgerReasons.EntrySignature),
            // The issuer's own signature, for a zone it does not issue for.
            (new StreamEntry(outsider.Id, EntryKind.DeviceRegistered, LedgerEntryCodec.SignDeviceRegistered(outsider.Device with { GridZone = "FR" }, Consortium.IssuerId, _consortium.IssuerKey, LedgerFixture.RegisteredAt)), LedgerReasons.IssuerZone),
        };
        var stream = entries[..60].Append(forged[0].Entry).Concat(entries[60..90]).Append(forged[1].Entry).Concat(entries[90..]).ToList();
        var nodes = Enumerable.Range(0, 3).Select(i => Start(i)).ToList();

        await ProduceAsync(EntriesTopic, stream);

        await UntilAllHold(nodes, entries.Count);
        var expectedRoot = MerkleTree.Root(entries.Select(e => e.Bytes).ToList());
        foreach (var node in nodes)
        {
            Assert.Equal(entries.Count, node.Node.Size);
            Assert.Equal(expectedRoot, node.Node.RootAt(entries.Count));
            AssertQuorumCheckpoint(node, entries.Count, expectedRoot);
            var stored = node.Node.Store.ReadAll().Select(e => Hex.Encode(e.Encoded)).ToHashSet();
            foreach (var (entry, code) in forged)
            {
                Assert.DoesNotContain(Hex.Encode(entry.Bytes), stored);
                Assert.Equal([code], RejectionCodes(node.Path, entry.Bytes));
            }
        }
    }

    [Fact]
    public async Task ANodeFedAReorderedStreamDivergesAndNoCheckpointOfItsRootReachesQuorum()
    {
        var reorderedTopic = $"gt-test-ledger-reordered-{_suffix}";
        CreateTopics(EntriesTopic, reorderedTopic);
        var entries = _consortium.Entries(meters: 20, hours: 10);
        // The first certificate of meter-000 before that meter's registration.
        var certificate = entries.FindIndex(e => e.Kind == EntryKind.CertificateIssued && e.Key == entries[0].Key);
        var reordered = entries.ToList();
        (reordered[0], reordered[certificate]) = (reordered[certificate], reordered[0]);
        var honest = new[] { Start(0), Start(1) };
        var misled = Start(2, entriesTopic: reorderedTopic);
        var all = honest.Append(misled).ToList();

        await ProduceAsync(reorderedTopic, reordered);
        await ProduceAsync(EntriesTopic, entries);

        await UntilAllHold(honest, entries.Count);
        // The misled node refuses the certificate (its meter is unknown there) and signs the rest.
        await Until(() => misled.Service.Consumed >= entries.Count && misled.Node.Store.GetCheckpoint(entries.Count - 1) is not null, () => $"the misled node consuming its stream ({misled.Service.Consumed}) and signing its size ({misled.Node.Size})");
        Assert.Equal(entries.Count - 1, misled.Node.Size);
        Assert.Equal(1, misled.Node.Rejections.GetValueOrDefault(LedgerReasons.DeviceUnknown));
        var misledCheckpoints = misled.Node.Store.Checkpoints();
        var honestSignedUpToMisledSize = honest[0].Node.Store.Checkpoints().Count(c => c.Size <= misled.Node.Size);
        // Wait until every signature of one side has reached the other and been judged.
        await Until(
            () => honest.All(n => n.Service.Cosigner.Divergences >= misledCheckpoints.Count) && misled.Service.Cosigner.Divergences >= 2 * honestSignedUpToMisledSize,
            () => $"divergences seen: honest {string.Join(", ", honest.Select(n => n.Service.Cosigner.Divergences))} of {misledCheckpoints.Count}, misled {misled.Service.Cosigner.Divergences} of {2 * honestSignedUpToMisledSize}");

        var expectedRoot = MerkleTree.Root(entries.Select(e => e.Bytes).ToList());
        foreach (var node in honest)
        {
            AssertQuorumCheckpoint(node, entries.Count, expectedRoot);
            Assert.All(node.Node.Store.Checkpoints(), c => Assert.DoesNotContain("node-3", Signers(c)));
        }
        Assert.NotEqual(honest[0].Node.RootAt(misled.Node.Size), misled.Node.RootAt(misled.Node.Size));
        Assert.All(misled.Node.Store.Checkpoints(), c =>
        {
            Assert.Equal(["node-3"], Signers(c));
            Assert.Equal(1, c.SignatureCount);
        });
        Assert.Null(misled.Node.LatestCheckpoint());
        Assert.Contains(all.SelectMany(n => n.Logs), l => l.Level == LogLevel.Critical && l.Message.StartsWith("Divergent checkpoint", StringComparison.Ordinal));
    }

    private void CreateTopics(params string[] entryTopics) =>
        kafka.CreateTopics(entryTopics.Select(t => new TopicSpec(t, 1)).Append(new TopicSpec(CheckpointsTopic, 1)));

    private NodeRunner Start(int index, string? entriesTopic = null)
    {
        var runner = new NodeRunner(kafka.Factory(), _consortium, index, _dir.File($"node-{index + 1}.db"), entriesTopic ?? EntriesTopic, CheckpointsTopic);
        _runners.Add(runner);
        runner.Start();
        return runner;
    }

    private NodeRunner Restart(NodeRunner crashed)
    {
        var runner = new NodeRunner(kafka.Factory(), _consortium, crashed.Index, crashed.Path, crashed.EntriesTopic, CheckpointsTopic);
        _runners.Add(runner);
        runner.Start();
        return runner;
    }

    private async Task ProduceAsync(string topic, IReadOnlyList<StreamEntry> entries)
    {
        using var producer = kafka.Factory().CreateProducer();
        foreach (var entry in entries)
            await producer.ProduceAsync(topic, entry.Key, entry.Bytes, Ct);
    }

    /// <summary>Until every node holds <paramref name="size"/> entries and a checkpoint of that size cosigned by a quorum.</summary>
    private Task UntilAllHold(IReadOnlyList<NodeRunner> nodes, long size) =>
        Until(
            () => nodes.All(n => n.Node.Size == size && n.Node.LatestCheckpoint()?.Size == size),
            () => string.Join("; ", nodes.Select(n => $"{n.Name}: size {n.Node.Size}, checkpoints {Describe(n)}")) + $" (want {size} with quorum {_consortium.Membership.Quorum})");

    private void AssertQuorumCheckpoint(NodeRunner node, long size, byte[] root)
    {
        var checkpoint = node.Node.LatestCheckpoint();
        Assert.NotNull(checkpoint);
        var verified = CheckpointVerifier.Verify(checkpoint.Note, Consortium.Origin, _consortium.Trust.Nodes, quorum: 2);
        Assert.True(verified.Success, $"{node.Name}: {verified}");
        Assert.Equal(size, verified.Checkpoint.Size);
        Assert.Equal(root, verified.Checkpoint.RootHash);
        Assert.Equal(checkpoint.SignatureCount, verified.TrustedSignatureCount);
    }

    private string[] Signers(StoredCheckpoint checkpoint) =>
        CheckpointVerifier.Verify(checkpoint.Note, Consortium.Origin, _consortium.Trust.Nodes, quorum: 1).TrustedSigners.Order(StringComparer.Ordinal).ToArray();

    private static string Describe(NodeRunner node) =>
        string.Join(" ", node.Node.Store.Checkpoints().Select(c => $"{c.Size}x{c.SignatureCount}"));

    private static List<string> RejectionCodes(string path, byte[] entry)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT DISTINCT code FROM rejections WHERE entry_id = $e";
        cmd.Parameters.AddWithValue("$e", SHA256.HashData(entry));
        using var r = cmd.ExecuteReader();
        var codes = new List<string>();
        while (r.Read())
            codes.Add(r.GetString(0));
        return codes;
    }

    /// <summary>Polls; fails with <paramref name="state"/> if the condition does not hold within a generous safety net.</summary>
    private static async Task Until(Func<bool> condition, Func<string> state)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Patience)
                Assert.Fail($"gave up after {Patience.TotalSeconds:0}s waiting; {state()}");
            await Task.Delay(50, Ct);
        }
    }

    /// <summary>One ledger node: its store, its node and its service, started and stopped as a process would be.</summary>
    private sealed class NodeRunner : IDisposable
    {
        private bool _stopped;

        public NodeRunner(KafkaStreamClientFactory factory, Consortium consortium, int index, string path, string entriesTopic, string checkpointsTopic)
        {
            Index = index;
            Path = path;
            EntriesTopic = entriesTopic;
            Name = consortium.Nodes[index].Name;
            Node = consortium.OpenNode(index, path);
            var options = new LedgerOptions
            {
                NodeName = Name,
                EntriesTopic = entriesTopic,
                CheckpointsTopic = checkpointsTopic,
                BatchSize = 25,
                CheckpointEveryEntries = EveryEntries,
            };
            Service = new LedgerNodeService(factory, Node, Options.Create(options), new ListLogger<LedgerNodeService>(Logs, Name));
        }

        public int Index { get; }

        public string Path { get; }

        public string EntriesTopic { get; }

        public string Name { get; }

        public LedgerNode Node { get; }

        public LedgerNodeService Service { get; }

        public ConcurrentQueue<(LogLevel Level, string Message)> Logs { get; } = new();

        public void Start() => Service.StartAsync(Ct).GetAwaiter().GetResult();

        /// <summary>Cancelled mid-stream and thrown away: nothing is committed beyond what it had already made durable.</summary>
        public async Task CrashAsync()
        {
            await Service.StopAsync(CancellationToken.None);
            Dispose();
        }

        public void Dispose()
        {
            if (_stopped)
                return;
            _stopped = true;
            Service.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
            Service.Dispose();
            Node.Dispose();
        }
    }

    /// <summary>Keeps what the service logs (for the divergence alarm) and passes it on to the Kafka test log when one is configured.</summary>
    private sealed class ListLogger<T>(ConcurrentQueue<(LogLevel Level, string Message)> logs, string node) : ILogger<T>
    {
        private readonly ILogger? _file = KafkaTestLog.Factory?.CreateLogger($"{typeof(T).Name}[{node}]");

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            logs.Enqueue((logLevel, message));
            _file?.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
