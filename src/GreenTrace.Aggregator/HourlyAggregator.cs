using System.Diagnostics.Metrics;
using GreenTrace.Core;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Streaming;

namespace GreenTrace.Aggregator;

/// <summary>A certificate ready to go to the ledger, and the window it closes once it has.</summary>
public sealed record PendingCertificate(TopicPartition Partition, (string Meter, long Hour) Window, GranularCertificate Certificate, byte[] Entry);

/// <summary>Counts an operator reconciles against the gateway's, also exported as OpenTelemetry metrics.</summary>
public sealed class AggregatorStats
{
    public static readonly Meter Meter = new("GreenTrace.Aggregator");
    private static readonly Counter<long> ConsumedCounter = Meter.CreateCounter<long>("greentrace.aggregator.readings.consumed");
    private static readonly Counter<long> SkippedCounter = Meter.CreateCounter<long>("greentrace.aggregator.readings.skipped");
    private static readonly Counter<long> IssuedCounter = Meter.CreateCounter<long>("greentrace.aggregator.certificates.issued");
    private static readonly Counter<long> CertifiedWhCounter = Meter.CreateCounter<long>("greentrace.aggregator.energy.certified", "Wh");

    private long _consumed, _alreadyCertified, _duplicates, _rejected, _consumption, _certificates, _supplementary, _readingsCertified, _whCertified, _raceLost;

    public long Consumed => Interlocked.Read(ref _consumed);

    /// <summary>Readings seen again after a restart or rebalance, already in a certificate: skipped, not counted twice.</summary>
    public long AlreadyCertified => Interlocked.Read(ref _alreadyCertified);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Consumption readings: valid, used for matching, not certified.</summary>
    public long Consumption => Interlocked.Read(ref _consumption);

    public long Certificates => Interlocked.Read(ref _certificates);

    public long SupplementaryCertificates => Interlocked.Read(ref _supplementary);

    public long ReadingsCertified => Interlocked.Read(ref _readingsCertified);

    public long WhCertified => Interlocked.Read(ref _whCertified);

    internal void CountConsumed()
    {
        Interlocked.Increment(ref _consumed);
        ConsumedCounter.Add(1);
    }

    internal void CountAlreadyCertified()
    {
        Interlocked.Increment(ref _alreadyCertified);
        SkippedCounter.Add(1, new KeyValuePair<string, object?>("why", "already-certified"));
    }

    internal void CountDuplicate()
    {
        Interlocked.Increment(ref _duplicates);
        SkippedCounter.Add(1, new KeyValuePair<string, object?>("why", "duplicate"));
    }

    internal void CountConsumption()
    {
        Interlocked.Increment(ref _consumption);
        SkippedCounter.Add(1, new KeyValuePair<string, object?>("why", "consumption"));
    }

    /// <summary>Readings another member certified first while a partition moved between members: not certified twice.</summary>
    public long RaceLost => Interlocked.Read(ref _raceLost);

    internal void CountRaceLost(int readings)
    {
        Interlocked.Add(ref _raceLost, readings);
        SkippedCounter.Add(readings, new KeyValuePair<string, object?>("why", "certified-by-another-member"));
    }

    internal void CountRejected()
    {
        Interlocked.Increment(ref _rejected);
        SkippedCounter.Add(1, new KeyValuePair<string, object?>("why", "rejected"));
    }

    internal void Issued(GranularCertificate c)
    {
        Interlocked.Increment(ref _certificates);
        if (c.Part > 0)
            Interlocked.Increment(ref _supplementary);
        Interlocked.Add(ref _readingsCertified, c.ReadingCount);
        Interlocked.Add(ref _whCertified, (long)c.FaceValueWh);
        IssuedCounter.Add(1, new KeyValuePair<string, object?>("supplementary", c.Part > 0));
        CertifiedWhCounter.Add((long)c.FaceValueWh);
    }
}

/// <summary>
/// The aggregation engine, free of any stream client: per partition, the open hourly windows of
/// its meters and an event-time watermark (the latest reading end seen). A window closes when the
/// watermark passes its hour's end plus the allowed lateness. Offsets are safe to commit up to the
/// oldest reading still in an open or closing window: everything before it is in a durable certificate.
/// </summary>
/// <remarks>
/// Hot-path costs are per record, not per open window: windows wait in a set ordered by close time,
/// so closing due ones touches only those; closing archives every due certificate in one
/// transaction (one disk sync) rather than one each. The archive is shared by every member of the
/// group: when a partition moves, the new owner must know what the old one certified.
/// </remarks>
public sealed class HourlyAggregator
{
    private readonly IDeviceDirectory _devices;
    private readonly IReadingArchive _archive;
    private readonly IssuerSigners _issuers;
    private readonly AggregatorOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<TopicPartition, PartitionState> _partitions = [];

    public HourlyAggregator(IDeviceDirectory devices, IReadingArchive archive, IssuerSigners issuers, AggregatorOptions options, TimeProvider? time = null)
    {
        _devices = devices ?? throw new ArgumentNullException(nameof(devices));
        _archive = archive ?? throw new ArgumentNullException(nameof(archive));
        _issuers = issuers ?? throw new ArgumentNullException(nameof(issuers));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = time ?? TimeProvider.System;
    }

    public AggregatorStats Stats { get; } = new();

    /// <summary>Windows not yet on the ledger stream: open, or closed and waiting for their entry to be durable.</summary>
    public int OpenWindows => _partitions.Values.Sum(p => p.Windows.Count + p.Closing.Count);

    /// <summary>Takes one record of the readings stream. A rejection means the record must go to the rejected stream.</summary>
    public Rejection? Add(StreamRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Stats.CountConsumed();
        var state = State(record.Partition, record.Topic);
        state.LastOffset = record.Offset;

        var decoded = ReadingCodec.Decode(record.Value);
        var device = decoded.IsOk ? _devices.Find(decoded.Value.Reading.MeterId) : null;
        // The reading's direction must be its meter's (the gateway checks it too; a window that
        // HourlyAggregation refuses would fail every close and every replay instead of this one record).
        Rejection? rejection = !decoded.IsOk ? decoded.Error
            : device is null ? new Rejection("aggregator-meter-unknown", $"meter '{decoded.Value.Reading.MeterId}' is not registered")
            : decoded.Value.Reading.Direction != device.Direction
                ? new Rejection("aggregator-direction-mismatch", $"a {decoded.Value.Reading.Direction} reading from a meter registered for {device.Direction}")
            : device.Direction == EnergyDirection.Generation && _issuers.ForZone(device.GridZone) is null ? new Rejection("aggregator-no-issuer", $"no issuer is configured for zone '{device.GridZone}'")
            : null;
        if (rejection is not null)
        {
            Stats.CountRejected();
            return rejection;
        }
        var reading = decoded.Value.Reading;
        var seqKey = (reading.MeterId, reading.Sequence);
        if (reading.Direction == EnergyDirection.Consumption)
        {
            // Nothing to certify (certificates are for generation), but the buyer's hourly matching needs it: archived
            // with the next commit. A sequence number names one reading here too.
            var known = state.PendingConsumption.TryGetValue(seqKey, out var pending) ? pending.Reading
                : _archive.FindConsumption(reading.MeterId, reading.Sequence) is { } stored ? ReadingCodec.Decode(stored).Value.Reading
                : null;
            if (known is not null)
            {
                if (known != reading)
                    return Conflict(reading, "an archived consumption reading");
                Stats.CountDuplicate();
                return null;
            }
            state.PendingConsumption.Add(seqKey, decoded.Value);
            Stats.CountConsumption();
            return null;
        }

        // A sequence number names one reading forever: seen again with the same content it is a
        // redelivery (skip), with other content a conflict (refuse, never certify both).
        if (state.OpenSequences.TryGetValue(seqKey, out var openWindow))
        {
            if (openWindow.Readings[reading.Sequence].Reading.Reading != reading)
                return Conflict(reading, "a reading in an open window");
            Stats.CountDuplicate();
            return null;
        }
        if (_archive.FindCertified(reading.MeterId, reading.Sequence) is { } certified)
        {
            if (ReadingCodec.Decode(certified).Value.Reading != reading)
                return Conflict(reading, "a certified reading");
            Stats.CountAlreadyCertified();
            return null;
        }

        var key = (reading.MeterId, reading.HourStart);
        if (state.Windows.TryGetValue(key, out var window))
        {
            if (!FitsBetween(window, reading))
            {
                Stats.CountRejected();
                return new Rejection("aggregator-interval-overlap", $"meter '{reading.MeterId}' reading {reading.Sequence} overlaps a reading of another sequence in its hour, or runs against sequence order");
            }
        }
        else
        {
            // A window opened after its hour has passed the watermark holds late readings: it stays
            // open for the allowed lateness from now, so a meter's backlog after an outage becomes
            // one supplementary certificate per hour rather than one per reading.
            var closeAt = Math.Max(reading.HourStart + HourlyAggregation.Hour, state.Watermark) + _options.AllowedLatenessSeconds;
            window = new Window(reading.MeterId, reading.HourStart, NextPart(state, reading.MeterId, reading.HourStart), closeAt, record.Offset);
            state.Windows.Add(key, window);
            state.Due.Add(window);
        }
        window.Readings.Add(reading.Sequence, (decoded.Value, record.Offset));
        state.OpenSequences.Add(seqKey, window);
        state.Watermark = Math.Max(state.Watermark, reading.End);
        return null;

        // Sequence order is time order: the readings just before and after this one in sequence must end before it starts and start after it ends.
        static bool FitsBetween(Window w, Reading r)
        {
            var (before, after) = (default(Reading), default(Reading));
            foreach (var (seq, entry) in w.Readings)
            {
                if (seq < r.Sequence)
                    before = entry.Reading.Reading;
                else if (after is null)
                    after = entry.Reading.Reading;
            }
            return (before is null || before.End <= r.Start) && (after is null || r.End <= after.Start);
        }

        Rejection Conflict(Reading r, string what)
        {
            Stats.CountRejected();
            return new Rejection("aggregator-sequence-conflict", $"meter '{r.MeterId}' sequence {r.Sequence} differs from {what} with the same sequence");
        }
    }

    /// <summary>Certificates for the windows of this partition that the watermark has closed.</summary>
    public IReadOnlyList<PendingCertificate> CloseDue(TopicPartition partition) => CloseDue([partition]);

    /// <summary>Certificates for the windows the watermarks of these partitions have closed, archived in one transaction.</summary>
    public IReadOnlyList<PendingCertificate> CloseDue(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        var due = new List<(TopicPartition, PartitionState, Window)>();
        foreach (var tp in partitions.Distinct())
        {
            if (!_partitions.TryGetValue(tp, out var state))
                continue;
            while (state.Due.Count > 0 && state.Due.Min!.CloseAt <= state.Watermark)
            {
                var w = state.Due.Min;
                state.Due.Remove(w);
                due.Add((tp, state, w));
            }
        }
        return Close(due);
    }

    /// <summary>
    /// Closes every open window whose hour has ended by the clock, whatever the watermark: the end
    /// of a finite run (drain). A certificate is never issued before its hour is over.
    /// </summary>
    public IReadOnlyList<PendingCertificate> CloseAll()
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var due = new List<(TopicPartition, PartitionState, Window)>();
        foreach (var (tp, state) in _partitions)
        {
            var ended = state.Due.Where(w => w.Hour + HourlyAggregation.Hour <= now).ToList();
            foreach (var w in ended)
            {
                state.Due.Remove(w);
                due.Add((tp, state, w));
            }
        }
        return Close(due);
    }

    /// <summary>The certificate's entry is durable on the ledger stream: forget its window.</summary>
    public void Complete(PendingCertificate pending) => Complete([pending]);

    /// <summary>These certificates' entries are durable on the ledger stream: forget their windows (one archive transaction).</summary>
    public void Complete(IReadOnlyCollection<PendingCertificate> pending)
    {
        ArgumentNullException.ThrowIfNull(pending);
        if (pending.Count == 0)
            return;
        _archive.MarkSubmitted(pending.Select(p => p.Certificate.Id).ToList());
        foreach (var p in pending)
        {
            // A partition revoked meanwhile has no state: its new owner finds the certificate archived.
            if (_partitions.TryGetValue(p.Partition, out var state) && state.Closing.Remove(p.Certificate.Id, out _))
                Stats.Issued(p.Certificate);
        }
    }

    /// <summary>Entries archived but not known to have reached the ledger stream (the process died in between): send these first.</summary>
    public IReadOnlyList<PendingSubmission> Unsubmitted() => _archive.Unsubmitted();

    public void MarkSubmitted(PendingSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        _archive.MarkSubmitted(submission.CertificateId);
    }

    /// <summary>
    /// Per partition, the next offset that is safe to commit. Consumption readings taken since the last call are
    /// archived first (one transaction), so no committed offset passes a consumption reading that is not durable.
    /// </summary>
    public IReadOnlyList<StreamPosition> CommitPositions()
    {
        var consumption = _partitions.Values.SelectMany(s => s.PendingConsumption.Values).ToList();
        if (consumption.Count > 0)
        {
            _archive.StoreConsumption(consumption);
            foreach (var state in _partitions.Values)
                state.PendingConsumption.Clear();
        }
        return _partitions.Where(p => p.Value.LastOffset >= 0).Select(p =>
        {
            var state = p.Value;
            var oldestOpen = long.MaxValue;
            foreach (var w in state.Windows.Values)
                oldestOpen = Math.Min(oldestOpen, w.FirstOffset);
            foreach (var w in state.Closing.Values)
                oldestOpen = Math.Min(oldestOpen, w.FirstOffset);
            return new StreamPosition(p.Key.Topic, p.Key.Partition, Math.Min(oldestOpen, state.LastOffset + 1));
        }).ToList();
    }

    /// <summary>Partitions handed to another member: their windows are rebuilt there from the committed offset.</summary>
    public void Drop(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        foreach (var tp in partitions)
            _partitions.Remove(tp);
    }

    private List<PendingCertificate> Close(List<(TopicPartition Partition, PartitionState State, Window Window)> due)
    {
        if (due.Count == 0)
            return [];
        var batch = new List<(TopicPartition Partition, PartitionState State, Window Window, CertificateWithReadings Issued, byte[] Entry)>(due.Count);
        var issuedAt = _time.GetUtcNow().ToUnixTimeSeconds();
        foreach (var (tp, state, window) in due)
        {
            state.Windows.Remove((window.Meter, window.Hour));
            foreach (var seq in window.Readings.Keys)
                state.OpenSequences.Remove((window.Meter, seq));
            var device = _devices.Find(window.Meter)!;
            var issuer = _issuers.ForZone(device.GridZone)!;
            var issued = HourlyAggregation.Issue(device, window.Readings.Values.Select(r => r.Reading).ToList(), window.Part, new IssuanceTerms(issuer.IssuerId, issuedAt, _options.CertificateValiditySeconds));
            if (!issued.IsOk)
                throw new InvalidOperationException($"window ({window.Meter}, {window.Hour}) cannot be certified: {issued.Error}"); // every reading was checked on the way in
            batch.Add((tp, state, window, issued.Value, LedgerEntryCodec.SignCertificateIssued(issued.Value.Certificate, issuer.IssuerId, issuer.Key)));
        }

        // Archive the readings and the signed entries together before sending: the evidence exists before
        // a certificate is on the stream, and an entry a crash kept from the stream is still there to send.
        var refused = _archive.Store(batch.Select(b => new ArchivedCertificate(b.Issued.Certificate, b.Issued.Readings, b.Entry)).ToList());
        var pending = new List<PendingCertificate>(batch.Count);
        foreach (var b in batch)
        {
            if (refused.Any(id => id.AsSpan().SequenceEqual(b.Issued.Certificate.Id)))
            {
                Reopen(b.State, b.Window);
                continue;
            }
            b.State.Closing.Add(b.Issued.Certificate.Id, b.Window);
            pending.Add(new PendingCertificate(b.Partition, (b.Window.Meter, b.Window.Hour), b.Issued.Certificate, b.Entry));
        }
        return pending;
    }

    /// <summary>
    /// Another member certified this window's part or some of its readings first (a partition that moved while
    /// its old owner still worked): keep only the readings nobody certified and try again under the next free part.
    /// </summary>
    private void Reopen(PartitionState state, Window window)
    {
        var open = window.Readings.Where(r => _archive.FindCertified(window.Meter, r.Key) is null).ToList();
        Stats.CountRaceLost(window.Readings.Count - open.Count);
        if (open.Count == 0)
            return;
        var again = new Window(window.Meter, window.Hour, _archive.NextPart(window.Meter, window.Hour), state.Watermark, open.Min(r => r.Value.Offset));
        foreach (var (seq, entry) in open)
        {
            again.Readings.Add(seq, entry);
            state.OpenSequences[(window.Meter, seq)] = again;
        }
        if (state.Windows.Remove((window.Meter, window.Hour), out var newer))
        {
            // A window for the same hour opened meanwhile: fold it in; its readings were never archived either.
            foreach (var (seq, entry) in newer.Readings)
            {
                again.Readings.TryAdd(seq, entry);
                state.OpenSequences[(window.Meter, seq)] = again;
            }
            state.Due.Remove(newer);
            again.FirstOffset = Math.Min(again.FirstOffset, newer.FirstOffset);
        }
        state.Windows.Add((window.Meter, window.Hour), again);
        state.Due.Add(again);
    }

    /// <summary>The next part for a window: past any archived, and past any window of the hour still closing here.</summary>
    private int NextPart(PartitionState state, string meter, long hour)
    {
        var part = _archive.NextPart(meter, hour);
        foreach (var w in state.Closing.Values)
        {
            if (w.Meter == meter && w.Hour == hour)
                part = Math.Max(part, w.Part + 1);
        }
        return part;
    }

    private PartitionState State(int partition, string topic)
    {
        var tp = new TopicPartition(topic, partition);
        if (!_partitions.TryGetValue(tp, out var state))
            _partitions.Add(tp, state = new PartitionState());
        return state;
    }

    private sealed class PartitionState
    {
        public Dictionary<(string Meter, long Hour), Window> Windows { get; } = [];

        /// <summary>Open windows in the order they close: closing the due ones never scans the rest.</summary>
        public SortedSet<Window> Due { get; } = new(WindowOrder.Instance);

        /// <summary>Closed and archived, waiting for the entry to be durable on the ledger stream; by certificate id.</summary>
        public Dictionary<byte[], Window> Closing { get; } = new(ByteArrayComparer.Instance);

        /// <summary>Which open window holds each (meter, sequence): a sequence belongs to one reading, whatever its hour.</summary>
        public Dictionary<(string Meter, ulong Sequence), Window> OpenSequences { get; } = [];

        /// <summary>Consumption readings taken but not yet archived (<see cref="CommitPositions"/> archives them).</summary>
        public Dictionary<(string Meter, ulong Sequence), DecodedReading> PendingConsumption { get; } = [];

        public long Watermark { get; set; } = long.MinValue / 2;

        public long LastOffset { get; set; } = -1;
    }

    private sealed class Window(string meter, long hour, int part, long closeAt, long firstOffset)
    {
        public string Meter { get; } = meter;

        public long Hour { get; } = hour;

        public int Part { get; } = part;

        /// <summary>Event time (the partition's watermark) at which the window closes.</summary>
        public long CloseAt { get; } = closeAt;

        /// <summary>The offset of its first reading: offsets before the oldest window's are safe to commit.</summary>
        public long FirstOffset { get; set; } = firstOffset;

        public SortedDictionary<ulong, (DecodedReading Reading, long Offset)> Readings { get; } = [];
    }

    private sealed class WindowOrder : IComparer<Window>
    {
        public static readonly WindowOrder Instance = new();

        public int Compare(Window? x, Window? y)
        {
            if (ReferenceEquals(x, y))
                return 0;
            var c = x!.CloseAt.CompareTo(y!.CloseAt);
            if (c == 0)
                c = string.CompareOrdinal(x.Meter, y.Meter);
            if (c == 0)
                c = x.Hour.CompareTo(y.Hour);
            return c != 0 ? c : x.Part.CompareTo(y.Part);
        }
    }

    private sealed class ByteArrayComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => BitConverter.ToInt32(obj, 0); // certificate ids are SHA-256 digests
    }
}
