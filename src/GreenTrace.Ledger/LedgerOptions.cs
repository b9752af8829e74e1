namespace GreenTrace.Ledger;

public sealed class LedgerOptions
{
    public const string Section = "Ledger";

    /// <summary>This node's name in the membership (its checkpoint key name).</summary>
    public string NodeName { get; set; } = "node-1";

    /// <summary>Each node reads the whole ordered entry stream, so each has a consumer group of its own.</summary>
    public string GroupId => $"gt-ledger-{NodeName}";

    /// <summary>How many entries to validate and append in one store transaction.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Sign a checkpoint once this many entries are appended after the last one…</summary>
    public int CheckpointEveryEntries { get; set; } = 1000;

    /// <summary>…or when the stream has been quiet this long and the log has grown.</summary>
    public int CheckpointWhenIdleMilliseconds { get; set; } = 200;
}
