using GreenTrace.Streaming;

namespace GreenTrace.Ledger;

public sealed class LedgerOptions
{
    public const string Section = "Ledger";

    /// <summary>This node's name in the membership (its checkpoint key name).</summary>
    public string NodeName { get; set; } = "node-1";

    /// <summary>Each node reads the whole ordered entry stream, so each has a consumer group of its own.</summary>
    public string GroupId => $"gt-ledger-{NodeName}";

    /// <summary>Each node reads every node's checkpoint signatures, so each has a second group of its own for them.</summary>
    public string CheckpointsGroupId => $"gt-checkpoints-{NodeName}";

    /// <summary>The ordered entry stream (one partition).</summary>
    public string EntriesTopic { get; set; } = Topics.Ledger;

    /// <summary>Where the nodes exchange their checkpoint signatures (one partition).</summary>
    public string CheckpointsTopic { get; set; } = Topics.Checkpoints;

    /// <summary>How many entries to validate and append in one store transaction.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Sign a checkpoint at every log size that is a multiple of this (the same sizes on every node)…</summary>
    public int CheckpointEveryEntries { get; set; } = 1000;

    /// <summary>…and at the current size when the entry stream has been quiet this long.</summary>
    public int CheckpointWhenIdleMilliseconds { get; set; } = 200;
}
