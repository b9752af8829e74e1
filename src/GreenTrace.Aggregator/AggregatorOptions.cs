namespace GreenTrace.Aggregator;

public sealed class AggregatorOptions
{
    public const string Section = "Aggregator";

    /// <summary>The consumer group all aggregator instances share; partitions (meters) are split among them.</summary>
    public string GroupId { get; set; } = "gt-aggregator";

    /// <summary>
    /// How long after an hour ends (in event time, by the partition's watermark) its window stays
    /// open for stragglers. Later readings are not dropped: they go into a supplementary certificate.
    /// </summary>
    public int AllowedLatenessSeconds { get; set; } = 900;

    /// <summary>How many records to take between offset commits when the stream is busy.</summary>
    public int CommitEveryRecords { get; set; } = 20_000;

    /// <summary>Longest time between offset commits while records keep coming (milliseconds).</summary>
    public int CommitIntervalMilliseconds { get; set; } = 1000;

    /// <summary>How long a batch gathers records before its due windows are closed (milliseconds).</summary>
    public int BatchWindowMilliseconds { get; set; } = 20;

    /// <summary>
    /// Most records taken before closing due windows and producing their entries: one archive
    /// transaction and one round of ledger produces per batch.
    /// </summary>
    public int MaxBatchRecords { get; set; } = 2000;

    /// <summary>SQLite reading archive, shared by every aggregator of the group on this host (the standalone aggregator).</summary>
    public string? ArchivePath { get; set; }

    public long CertificateValiditySeconds { get; set; } = Core.Certificates.IssuanceTerms.DefaultValiditySeconds;
}
