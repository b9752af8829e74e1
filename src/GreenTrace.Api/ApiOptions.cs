namespace GreenTrace.Api;

/// <summary>What the API is pointed at: set by `greentrace api` from its options, or by any host calling ApiHost.Build.</summary>
public sealed class ApiOptions
{
    /// <summary>Ledger store spec: a path, sqlite:PATH or postgres:Host=..;... (see LedgerStores.Open).</summary>
    public string Store { get; set; } = "";

    /// <summary>The genesis membership file (genesis.json from `ledger init`).</summary>
    public string TrustFile { get; set; } = "";

    /// <summary>
    /// Node key files (node-N.key, or a file holding only the PRIVATE+KEY+ string). The first signs as the embedded
    /// node; all of them cosign the checkpoint after each accepted entry, so with as many keys as the quorum the
    /// API's checkpoints count on their own.
    /// </summary>
    public IList<string> NodeKeyFiles { get; } = [];

    /// <summary>The aggregator's reading archive (SQLite); without it no proof bundle can be built.</summary>
    public string? ArchivePath { get; set; }

    /// <summary>Largest accepted request body. Owner entries are well under 2 KiB; 64 KiB leaves room for long splits.</summary>
    public long MaxRequestBytes { get; set; } = 64 * 1024;

    /// <summary>With the replicated nodes (no node key): the entry stream submissions are produced to.</summary>
    public string EntriesTopic { get; set; } = "gt.ledger";

    /// <summary>With the replicated nodes: how long a submission waits for the node whose store this API reads to judge it.</summary>
    public int SubmitTimeoutSeconds { get; set; } = 30;

    /// <summary>Largest page of GET /api/entries.</summary>
    public int MaxEntriesPerPage { get; set; } = 1000;
}
