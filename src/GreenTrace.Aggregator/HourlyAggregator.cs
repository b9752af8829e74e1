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

    private long _consumed, _alreadyCertified, _duplicates, _rejected, _consumption, _certificates, _supplementary, _readingsCertified, _whCertified;

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
/// oldest reading still in an open window: everything before it is in a durable certificate.
/// </summary>
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

    public int OpenWindows => _partitions.Values.Sum(p => p.Windows.Count);

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
        if (reading.Direction == EnergyDirection.Consumption)
        {
            // Valid, and kept on the readings stream for hourly matching, but nothing to certify: certificates are for generation.
            Stats.CountConsumption();
            return null;
        }
        var seqKey = (reading.MeterId, reading.Sequence);

        // A sequence number names one reading forever: seen again with the same content it is a
        // redelivery (skip), with other content a conflict (refuse, never certify both).
        if (_archive.FindCertified(reading.MeterId, reading.Sequence) is { } certified)
        {
            if (ReadingCodec.Decode(certified).Value.Reading != reading)
                return Conflict(reading, "a certified reading");
            Stats.CountAlreadyCertified();
            return null;
        }
        if (state.OpenSequences.TryGetValue(seqKey, out var openHour))
        {
            if (state.Windows[(reading.MeterId, openHour)].Readings[reading.Sequence].Reading.Reading != reading)
                return Conflict(reading, "a reading in an open window");
            Stats.CountDuplicate();
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
            state.Windows.Add(key, window = new Window(_archive.NextPart(reading.MeterId, reading.HourStart), closeAt));
        }
        window.Readings.Add(reading.Sequence, (decoded.Value, record.Offset));
        state.OpenSequences.Add(seqKey, reading.HourStart);
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
    public IReadOnlyList<PendingCertificate> CloseDue(TopicPartition partition)
    {
        if (!_partitions.TryGetValue(partition, out var state))
            return [];
        return Close(partition, state, state.Windows.Where(w => w.Value.CloseAt <= state.Watermark).Select(w => w.Key).ToList());
    }

    /// <summary>
    /// Closes every open window whose hour has ended by the clock, whatever the watermark: the end
    /// of a finite run (drain). A certificate is never issued before its hour is over.
    /// </summary>
    public IReadOnlyList<PendingCertificate> CloseAll()
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        return _partitions.SelectMany(p => Close(p.Key, p.Value, p.Value.Windows.Keys.Where(k => k.Hour + HourlyAggregation.Hour <= now).ToList())).ToList();
    }

    /// <summary>The certificate's entry is durable on the ledger stream: forget its window.</summary>
    public void Complete(PendingCertificate pending)
    {
        ArgumentNullException.ThrowIfNull(pending);
        _archive.MarkSubmitted(pending.Certificate.Id);
        if (_partitions.TryGetValue(pending.Partition, out var state) && state.Windows.Remove(pending.Window, out var window))
        {
            foreach (var seq in window.Readings.Keys)
                state.OpenSequences.Remove((pending.Window.Meter, seq));
            Stats.Issued(pending.Certificate);
        }
    }

    /// <summary>Entries archived but not known to have reached the ledger stream (the process died in between): send these first.</summary>
    public IReadOnlyList<PendingSubmission> Unsubmitted() => _archive.Unsubmitted();

    public void MarkSubmitted(PendingSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        _archive.MarkSubmitted(submission.CertificateId);
    }

    /// <summary>Per partition, the next offset that is safe to commit.</summary>
    public IReadOnlyList<StreamPosition> CommitPositions() =>
        _partitions.Where(p => p.Value.LastOffset >= 0).Select(p =>
        {
            var oldestOpen = p.Value.Windows.Values.SelectMany(w => w.Readings.Values).Select(r => r.Offset).DefaultIfEmpty(long.MaxValue).Min();
            return new StreamPosition(p.Key.Topic, p.Key.Partition, Math.Min(oldestOpen, p.Value.LastOffset + 1));
        }).ToList();

    /// <summary>Partitions handed to another member: their windows are rebuilt there from the committed offset.</summary>
    public void Drop(IEnumerable<TopicPartition> partitions)
    {
        foreach (var tp in partitions)
            _partitions.Remove(tp);
    }

    private List<PendingCertificate> Close(TopicPartition partition, PartitionState state, List<(string Meter, long Hour)> keys)
    {
        var pending = new List<PendingCertificate>(keys.Count);
        foreach (var key in keys)
        {
            var window = state.Windows[key];
            var device = _devices.Find(key.Meter)!;
            var issuer = _issuers.ForZone(device.GridZone)!;
            var terms = new IssuanceTerms(issuer.IssuerId, _time.GetUtcNow().ToUnixTimeSeconds(), _options.CertificateValiditySeconds);
            var issued = HourlyAggregation.Issue(device, window.Readings.Values.Select(r => r.Reading).ToList(), window.Part, terms);
            if (!issued.IsOk)
                throw new InvalidOperationException($"window {key} cannot be certified: {issued.Error}"); // every reading was checked on the way in
            // Archive the readings and the signed entry together before sending: the evidence exists before the
            // certificate is on the stream, and an entry a crash kept from the stream is still there to send.
            var entry = LedgerEntryCodec.SignCertificateIssued(issued.Value.Certificate, issuer.IssuerId, issuer.Key);
            _archive.Store(issued.Value.Certificate, issued.Value.Readings, entry);
            pending.Add(new PendingCertificate(partition, key, issued.Value.Certificate, entry));
        }
        return pending;
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

        /// <summary>Which open window holds each (meter, sequence): a sequence belongs to one reading, whatever its hour.</summary>
        public Dictionary<(string Meter, ulong Sequence), long> OpenSequences { get; } = [];

        public long Watermark { get; set; } = long.MinValue / 2;

        public long LastOffset { get; set; } = -1;
    }

    private sealed class Window(int part, long closeAt)
    {
        public int Part { get; } = part;

        /// <summary>Event time (the partition's watermark) at which the window closes.</summary>
        public long CloseAt { get; } = closeAt;

        public SortedDictionary<ulong, (DecodedReading Reading, long Offset)> Readings { get; } = [];
    }
}
