using GreenTrace.Aggregator;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;

namespace GreenTrace.Pipeline.Tests.Aggregator;

/// <summary>
/// The aggregator's surroundings without its hosted service: readings produced to the in-process
/// log, consumed by a group member and fed to an <see cref="HourlyAggregator"/>; certificate
/// entries go to the ledger stream, then the window is completed, as the service does it.
/// </summary>
public sealed class AggregatorRig : IDisposable
{
    public const string Group = "gt-aggregator";
    public const int Partitions = 2;

    // 2025-06-01T06:00Z
    public const long H = LedgerFixture.RegisteredAt + (6 * 3600);

    private readonly TempDirectory _dir = new();
    private readonly IStreamProducer _producer;

    public AggregatorRig(int allowedLatenessSeconds = 900, params TestMeter[] meters)
    {
        Meters = meters;
        Directory = new DeviceDirectory(meters.Select(m => m.Device));
        Archive = new SqliteReadingArchive(_dir.File("archive.db"));
        Log = new InProcessLog([new TopicSpec(Topics.Readings, Partitions), new TopicSpec(Topics.Ledger, 1)]);
        Options = new AggregatorOptions { AllowedLatenessSeconds = allowedLatenessSeconds };
        _producer = Log.CreateProducer();
    }

    public IReadOnlyList<TestMeter> Meters { get; }

    public LedgerFixture Ledger { get; } = new();

    public DeviceDirectory Directory { get; }

    public SqliteReadingArchive Archive { get; }

    public InProcessLog Log { get; }

    public AggregatorOptions Options { get; }

    public ManualTime Time { get; } = new(DateTimeOffset.FromUnixTimeSeconds(H + (3 * 86_400)));

    /// <summary>Every reading produced, with where it went.</summary>
    public List<(string Meter, byte[] Encoded, Reading Reading, StreamPosition Position)> Produced { get; } = [];

    /// <summary>Certificates whose entries reached the ledger stream, in order.</summary>
    public List<GranularCertificate> Issued { get; } = [];

    public string ArchivePath => _dir.File("archive.db");

    public static int PartitionOf(string meterId) => Partitioner.PartitionFor(meterId, Partitions);

    /// <summary>Meter ids: the first <paramref name="together"/> on one partition, the rest on the other.</summary>
    public static string[] MeterIds(int together, int apart)
    {
        var candidates = Enumerable.Range(0, 200).Select(i => $"meter-{i:000}").ToList();
        var first = PartitionOf(candidates[0]);
        return candidates.Where(id => PartitionOf(id) == first).Take(together)
            .Concat(candidates.Where(id => PartitionOf(id) != first).Take(apart)).ToArray();
    }

    public HourlyAggregator NewEngine() => new(Directory, Archive, new IssuerSigners(new Dictionary<string, IssuerSigner> { [TestMeter.Zone] = new(LedgerFixture.IssuerId, Ledger.IssuerKey) }), Options, Time);

    public IStreamConsumer NewConsumer(string member)
    {
        var consumer = Log.CreateConsumer(Group, member);
        consumer.Subscribe([Topics.Readings]);
        return consumer;
    }

    public async Task ProduceAsync(byte[] encoded)
    {
        var decoded = TestMeter.Decode(encoded);
        var position = await _producer.ProduceAsync(Topics.Readings, decoded.Reading.MeterId, encoded, TestContext.Current.CancellationToken);
        Produced.Add((decoded.Reading.MeterId, encoded, decoded.Reading, position));
    }

    public async Task ProduceRawAsync(string key, byte[] value) =>
        await _producer.ProduceAsync(Topics.Readings, key, value, TestContext.Current.CancellationToken);

    /// <summary>
    /// Feeds up to <paramref name="limit"/> records as the aggregator service does, committing every
    /// <paramref name="commitEvery"/> records. Returns how many records it took.
    /// </summary>
    public async Task<int> PumpAsync(HourlyAggregator engine, IStreamConsumer consumer, int limit = int.MaxValue, int commitEvery = int.MaxValue)
    {
        var taken = 0;
        while (taken < limit && consumer.Consume(TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken) is { } record)
        {
            Assert.Null(engine.Add(record));
            await IssueAsync(engine, engine.CloseDue(new TopicPartition(record.Topic, record.Partition)));
            if (++taken % commitEvery == 0)
                consumer.Commit(engine.CommitPositions());
        }
        return taken;
    }

    /// <summary>The end of a finite run: close everything, then commit.</summary>
    public async Task DrainAsync(HourlyAggregator engine, IStreamConsumer consumer)
    {
        await IssueAsync(engine, engine.CloseAll());
        consumer.Commit(engine.CommitPositions());
    }

    /// <summary>Puts each certificate entry on the ledger stream, then completes its window.</summary>
    public async Task IssueAsync(HourlyAggregator engine, IReadOnlyList<PendingCertificate> due)
    {
        foreach (var pending in due)
        {
            await _producer.ProduceAsync(Topics.Ledger, pending.Certificate.MeterId, pending.Entry, TestContext.Current.CancellationToken);
            engine.Complete(pending);
            Issued.Add(pending.Certificate);
        }
    }

    /// <summary>The certificates on the ledger stream, decoded from their signed entries.</summary>
    public List<GranularCertificate> LedgerCertificates() =>
        Log.ReadAll(Topics.Ledger).Select(r =>
        {
            var entry = LedgerEntryCodec.Decode(r.Value);
            Assert.True(entry.IsOk, entry.ToString());
            Assert.Equal(EntryKind.CertificateIssued, entry.Value.Kind);
            Assert.Equal(LedgerFixture.IssuerId, entry.Value.AuthorId);
            return entry.Value.Certificate!;
        }).ToList();

    public void Dispose()
    {
        _producer.Dispose();
        Archive.Dispose();
        Directory.Dispose();
        Ledger.Dispose();
        _dir.Dispose();
    }
}
