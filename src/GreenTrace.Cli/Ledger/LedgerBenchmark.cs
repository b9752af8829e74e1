using System.Diagnostics;
using System.Security.Cryptography;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Checkpoints;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Cli.Ledger;

public sealed record LedgerBenchOptions(string Store, int Entries = 100_000, int Batch = 500, int CheckpointEvery = 1000);

/// <summary>What one run measured. Times cover the timed part only: from the first Submit to the final checkpoint stored.</summary>
public sealed record LedgerBenchResult(
    int Entries,
    int Accepted,
    IReadOnlyDictionary<string, int> Rejections,
    IReadOnlyDictionary<EntryKind, int> Mix,
    TimeSpan Signing,
    TimeSpan Elapsed,
    int Batches,
    int CheckpointsSigned,
    long FinalCheckpointSize,
    bool FinalCheckpointVerifies,
    TimeSpan DecodeAndVerify,
    TimeSpan Rules,
    TimeSpan StoreAppend,
    TimeSpan MerkleLog,
    TimeSpan Checkpoints)
{
    public bool AllAccepted => Accepted == Entries && Rejections.Count == 0;

    public double EntriesPerSecond => Accepted / Elapsed.TotalSeconds;
}

/// <summary>
/// Appends a realistic, pre-signed entry stream through a fresh <see cref="LedgerNode"/> with a
/// <see cref="CheckpointCosigner"/>, and times it. Issuers and owners sign on their own machines, so
/// all signing happens before the clock starts; the clock stops when the last batch is durable and
/// the checkpoint of the whole log is stored.
/// </summary>
public static class LedgerBenchmark
{
    public static LedgerBenchResult Run(LedgerBenchOptions options, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Entries, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.CheckpointEvery, 1);

        using var workload = new LedgerBenchWorkload(options.Entries);
        var signing = Stopwatch.StartNew();
        var entries = workload.Sign();
        signing.Stop();
        progress?.Report($"signed {entries.Count:N0} entries in {signing.Elapsed.TotalSeconds:0.0} s (before timing)");

        using var trust = new TrustedKeys(workload.Membership);
        var store = LedgerStores.Open(options.Store);
        if (store.Count is var held and not 0)
        {
            store.Dispose();
            throw new InvalidOperationException($"the store already holds {held} entries; the benchmark needs an empty one");
        }
        using var node = new LedgerNode(store, trust, workload.Node);
        var cosigner = new CheckpointCosigner(node, publisher: null, options.CheckpointEvery);

        var rejections = new Dictionary<string, int>(StringComparer.Ordinal);
        var accepted = 0;
        var batches = 0;
        var signed = 0;
        long checkpointTicks = 0;
        var batch = new List<ReadOnlyMemory<byte>>(options.Batch);
        var clock = Stopwatch.StartNew();
        for (var at = 0; at < entries.Count; at += options.Batch)
        {
            batch.Clear();
            for (var i = at; i < Math.Min(entries.Count, at + options.Batch); i++)
                batch.Add(entries[i]);
            foreach (var outcome in node.Submit(batch))
            {
                if (outcome.Accepted)
                    accepted++;
                else
                    rejections[outcome.Rejection!.Code] = rejections.GetValueOrDefault(outcome.Rejection.Code) + 1;
            }
            batches++;
            var before = Stopwatch.GetTimestamp();
            signed += cosigner.OnAppended().Count;
            checkpointTicks += Stopwatch.GetTimestamp() - before;
        }
        var finalStart = Stopwatch.GetTimestamp();
        var finalIsNew = node.Store.GetCheckpoint(node.Size) is null;
        var final = cosigner.SignCurrent();
        if (finalIsNew)
            signed++;
        checkpointTicks += Stopwatch.GetTimestamp() - finalStart;
        clock.Stop();

        var times = node.Times;
        var latest = node.LatestCheckpoint();
        var verifies = latest is not null && latest.Size == final.Size
            && CheckpointVerifier.Verify(latest.Note, node.Origin, trust.Nodes, quorum: 1).Success;
        return new LedgerBenchResult(
            entries.Count, accepted, rejections, workload.Mix, signing.Elapsed, clock.Elapsed, batches, signed, final.Size, verifies,
            SubmitTimes.ToTimeSpan(times.DecodeAndVerifyTicks), SubmitTimes.ToTimeSpan(times.RulesTicks),
            SubmitTimes.ToTimeSpan(times.StoreAppendTicks), SubmitTimes.ToTimeSpan(times.LogTicks), SubmitTimes.ToTimeSpan(checkpointTicks));
    }
}

/// <summary>
/// The entry stream: meters registered by their zone's issuer with a plant owner, then hour by hour one
/// certificate per meter, followed by what owners do with that hour's certificates. Per eight
/// certificates: three are transferred to a buyer, split in two and one part claimed; three are only
/// transferred; two stay with the plant owner. That is 40% issuance, 30% transfers, 15% splits and 15%
/// claims after the registrations; the stream is cut at the requested count (any prefix is a valid log).
/// </summary>
internal sealed class LedgerBenchWorkload : IDisposable
{
    public const string Origin = "greentrace.bench/ledger";
    private const long Start = 1_748_736_000; // 2025-06-01T00:00:00Z
    private const int Buyers = 64;
    private static readonly string[] Zones = ["DE-LU", "NL"];

    private readonly int _entries;
    private readonly int _meters;
    private readonly ECDsa[] _issuerKeys;
    private readonly ECDsa[] _meterKeys;
    private readonly ECDsa[] _plantOwners;
    private readonly ECDsa[] _buyers;
    private readonly byte[][] _plantOwnerSpki;
    private readonly byte[][] _buyerSpki;

    public LedgerBenchWorkload(int entries)
    {
        _entries = entries;
        // About 1% registrations, so the stream is mostly what a running ledger sees.
        _meters = Math.Clamp(entries / 100, 1, 1000);
        _issuerKeys = Zones.Select(_ => NewKey()).ToArray();
        _meterKeys = Enumerable.Range(0, _meters).Select(_ => NewKey()).ToArray();
        _plantOwners = Enumerable.Range(0, _meters).Select(_ => NewKey()).ToArray();
        _buyers = Enumerable.Range(0, Buyers).Select(_ => NewKey()).ToArray();
        _plantOwnerSpki = _plantOwners.Select(k => k.ExportSubjectPublicKeyInfo()).ToArray();
        _buyerSpki = _buyers.Select(k => k.ExportSubjectPublicKeyInfo()).ToArray();
        Node = NoteSigner.Generate("bench-node");
        Membership = new Membership(
            Origin,
            1,
            [new NodeMember(Node.Name, Node.Verifier.VerifierKey)],
            Zones.Select((z, i) => new IssuerMember(IssuerId(i), _issuerKeys[i].ExportSubjectPublicKeyInfo(), [z])).ToList());
    }

    public NoteSigner Node { get; }

    public Membership Membership { get; }

    public IReadOnlyDictionary<EntryKind, int> Mix { get; private set; } = new Dictionary<EntryKind, int>();

    /// <summary>Signs the whole stream, in parallel across certificates (each certificate's own chain in order: its holding ids derive from the entry before).</summary>
    public List<byte[]> Sign()
    {
        var registrations = new byte[_meters][];
        Parallel.For(0, _meters, m =>
            registrations[m] = LedgerEntryCodec.SignDeviceRegistered(Device(m), IssuerId(m % Zones.Length), _issuerKeys[m % Zones.Length], Start - 86_400, _plantOwnerSpki[m]));

        // 2.5 entries per certificate on average; a few more than needed, then cut.
        var certificates = (int)Math.Ceiling(Math.Max(0, _entries - _meters) / 2.5) + 8;
        var chains = new byte[certificates][][];
        Parallel.For(0, certificates, k => chains[k] = Chain(k));

        var stream = new List<byte[]>(_entries);
        var mix = new Dictionary<EntryKind, int>();
        void Add(byte[] entry, EntryKind kind)
        {
            if (stream.Count >= _entries)
                return;
            stream.Add(entry);
            mix[kind] = mix.GetValueOrDefault(kind) + 1;
        }
        foreach (var r in registrations)
            Add(r, EntryKind.DeviceRegistered);
        // Hour by hour: the hour's certificates, then its transfers, splits and claims, each kind in turn.
        for (var first = 0; first < certificates; first += _meters)
        {
            var hour = Enumerable.Range(first, Math.Min(_meters, certificates - first)).ToList();
            foreach (var (step, kind) in new[] { (0, EntryKind.CertificateIssued), (1, EntryKind.Transferred), (2, EntryKind.Split), (3, EntryKind.Claimed) })
            {
                foreach (var k in hour)
                {
                    if (chains[k].Length > step)
                        Add(chains[k][step], kind);
                }
            }
        }
        Mix = mix;
        return stream;
    }

    private byte[][] Chain(int k)
    {
        var meter = k % _meters;
        var hourStart = Start + (k / _meters * 3600L);
        var issuer = meter % Zones.Length;
        var wh = 1000UL + (ulong)(k * 7919 % 8000);
        var certificate = new GranularCertificate(
            Id: CertificateId.Compute(MeterId(meter), hourStart, hourStart + 3600, 0),
            MeterId: MeterId(meter),
            PeriodStart: hourStart,
            PeriodEnd: hourStart + 3600,
            Part: 0,
            FaceValueWh: wh,
            EnergyCarrier: GranularCertificate.Electricity,
            EnergySource: "solar",
            Technology: "photovoltaic",
            GridZone: Zones[issuer],
            Country: issuer == 0 ? "DE" : "NL",
            IssuingBody: IssuerId(issuer),
            IssuedAt: hourStart + 3600 + 60,
            ExpiresAt: hourStart + 3600 + IssuanceTerms.DefaultValiditySeconds,
            ReadingCount: 4,
            // The ledger never sees the readings, only their root: any 32 bytes unique to the hour do.
            ReadingRoot: SHA256.HashData(BitConverter.GetBytes((long)k)),
            Quality: new QualitySummary(4, 0, wh, 0));
        var issued = LedgerEntryCodec.SignCertificateIssued(certificate, IssuerId(issuer), _issuerKeys[issuer]);
        var pattern = k % 8;
        if (pattern >= 6)
            return [issued];

        var ownerAt = certificate.IssuedAt + 60;
        var buyer = k % Buyers;
        var transfer = LedgerEntryCodec.SignTransferred(new Transfer(certificate.Id, certificate.Id, _buyerSpki[buyer]), _plantOwners[meter], ownerAt);
        if (pattern >= 3)
            return [issued, transfer];

        var (left, right) = ((buyer + 1) % Buyers, (buyer + 2) % Buyers);
        var split = LedgerEntryCodec.SignSplit(
            new Split(certificate.Id, HoldingIds.Compute(SHA256.HashData(transfer), 0), [new SplitPart(wh / 2, _buyerSpki[left]), new SplitPart(wh - (wh / 2), _buyerSpki[right])]),
            _buyers[buyer], ownerAt + 1);
        var claim = LedgerEntryCodec.SignClaimed(
            new Claim(certificate.Id, HoldingIds.Compute(SHA256.HashData(split), 0), $"Consumer {left}", hourStart, hourStart + 3600),
            _buyers[left], ownerAt + 2);
        return [issued, transfer, split, claim];
    }

    private DeviceInfo Device(int m) => new(
        MeterId(m), _meterKeys[m].ExportSubjectPublicKeyInfo(), EnergyDirection.Generation, "solar", "photovoltaic", 10_000,
        Zones[m % Zones.Length], m % Zones.Length == 0 ? "DE" : "NL", 52_000_000 + m, 5_000_000 + m);

    private static string MeterId(int m) => $"bench-meter-{m:00000}";

    private static string IssuerId(int i) => $"issuer-{Zones[i].ToLowerInvariant()}";

    private static ECDsa NewKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        foreach (var key in _issuerKeys.Concat(_meterKeys).Concat(_plantOwners).Concat(_buyers))
            key.Dispose();
        Node.Dispose();
    }
}
