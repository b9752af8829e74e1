using System.CommandLine;
using System.Text;
using GreenTrace.Core;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Checkpoints;
using GreenTrace.Ledger.Storage;
using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;

namespace GreenTrace.Cli.Ledger;

/// <summary>The options every writing ledger command shares: where its signed entries go.</summary>
internal sealed class LedgerTargetOptions
{
    public const string StoreVariable = "GREENTRACE_LEDGER_STORE";

    public Option<string?> Store { get; } = new("--store")
    {
        Description = $"Ledger store: a path, sqlite:PATH or postgres:Host=..;Port=..;Database=..;Username=..[;Schema=..] (default ${StoreVariable})",
    };

    public Option<FileInfo?> Trust { get; } = new("--trust") { Description = "The genesis membership (genesis.json from `ledger init`)" };

    public Option<FileInfo[]> NodeKeys { get; } = new("--node-key")
    {
        Description = "A node's key file (node-N.key); repeat it to cosign the checkpoint with as many nodes as the quorum needs",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> Kafka { get; } = new("--kafka") { Description = "Instead of a store: produce the entry to gt.ledger on these Kafka bootstrap servers for the replicated nodes" };

    public Option<bool> Kafka09 { get; } = new("--kafka09") { Description = "The Kafka broker is Apache Kafka 0.9" };

    public static string? StoreFromEnvironment() => Environment.GetEnvironmentVariable(StoreVariable) is { Length: > 0 } s ? s : null;

    public void AddTo(Command command)
    {
        command.Options.Add(Store);
        command.Options.Add(Trust);
        command.Options.Add(NodeKeys);
        command.Options.Add(Kafka);
        command.Options.Add(Kafka09);
    }

    /// <summary>Opens the target the options name; a <see cref="LedgerFileException"/> says what is missing or unreadable.</summary>
    public LedgerWriter Open(ParseResult parse)
    {
        var trustFile = parse.GetValue(Trust);
        if (parse.GetValue(Kafka) is { } bootstrap)
        {
            var membership = trustFile is null ? null : LedgerFiles.LoadTrust(trustFile.FullName);
            var options = new KafkaOptions { BootstrapServers = bootstrap, BrokerProfile = parse.GetValue(Kafka09) ? KafkaBrokerProfile.Kafka09 : KafkaBrokerProfile.Modern };
            return new LedgerWriter(new KafkaStreamClientFactory(options), membership);
        }
        var spec = parse.GetValue(Store) ?? StoreFromEnvironment()
            ?? throw new LedgerFileException($"say where entries go: --store SPEC (or ${StoreVariable}) with --trust and --node-key, or --kafka BOOTSTRAP");
        if (trustFile is null)
            throw new LedgerFileException("--store needs --trust genesis.json");
        var keys = parse.GetValue(NodeKeys) ?? [];
        if (keys.Length == 0)
            throw new LedgerFileException("--store needs at least one --node-key to sign the checkpoint with");
        var genesis = LedgerFiles.LoadTrust(trustFile.FullName);
        var signers = new List<NoteSigner>();
        try
        {
            foreach (var k in keys)
                signers.Add(LedgerFiles.LoadNodeKey(k.FullName));
            return LedgerWriter.Embedded(spec, genesis, signers);
        }
        catch
        {
            foreach (var s in signers)
                s.Dispose();
            throw;
        }
    }
}

/// <summary>What became of one entry: accepted at an index, refused with a reason, or only submitted to the stream.</summary>
internal sealed record WriteOutcome(byte[] EntryId, long? Index, Rejection? Rejection)
{
    public bool Submitted => Index is null && Rejection is null;
}

/// <summary>
/// Where a command's signed entries go. Embedded: a <see cref="LedgerNode"/> over the store judges and appends
/// them, then the given node keys sign a checkpoint of the log. Replicated: they are produced to gt.ledger and
/// the ledger nodes judge them later.
/// </summary>
internal sealed class LedgerWriter : IDisposable
{
    private readonly IStreamClientFactory? _streams;
    private readonly IReadOnlyList<NoteSigner> _signers;

    private LedgerWriter(LedgerNode node, Membership genesis, IReadOnlyList<NoteSigner> signers)
    {
        Node = node;
        Membership = genesis;
        _signers = signers;
    }

    public LedgerWriter(IStreamClientFactory streams, Membership? membership)
    {
        _streams = streams;
        Membership = membership;
        _signers = [];
    }

    /// <summary>The embedded node; null when entries go to the stream.</summary>
    public LedgerNode? Node { get; }

    public Membership? Membership { get; }

    /// <summary>The checkpoint signed after the last accepted write (embedded only).</summary>
    public StoredCheckpoint? Checkpoint { get; private set; }

    public static LedgerWriter Embedded(string storeSpec, Membership genesis, IReadOnlyList<NoteSigner> signers)
    {
        // The node keeps the membership, not these keys: it builds its own from the log.
        using var trust = new TrustedKeys(genesis);
        foreach (var s in signers)
        {
            if (!trust.Nodes.Any(n => n.Name == s.Name && n.KeyId == s.KeyId))
                throw new LedgerFileException($"node key '{s.Name}' is not a node of the trust file's membership");
        }
        ILedgerStore store;
        try
        {
            store = LedgerStores.Open(storeSpec);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or System.Data.Common.DbException)
        {
            throw new LedgerFileException($"ledger store: {e.Message}", e);
        }
        try
        {
            return new LedgerWriter(new LedgerNode(store, trust, signers[0]), genesis, signers);
        }
        catch (InvalidDataException e)
        {
            store.Dispose();
            throw new LedgerFileException($"ledger store does not replay: {e.Message}", e);
        }
    }

    public async Task<IReadOnlyList<WriteOutcome>> WriteAsync(IReadOnlyList<(string Key, byte[] Entry)> entries, CancellationToken ct)
    {
        if (Node is null)
        {
            using var producer = _streams!.CreateProducer();
            foreach (var (key, entry) in entries)
                await producer.ProduceAsync(Topics.Ledger, key, entry, ct).ConfigureAwait(false);
            return entries.Select(e => new WriteOutcome(System.Security.Cryptography.SHA256.HashData(e.Entry), null, null)).ToList();
        }
        var outcomes = Node.Submit(entries.Select(e => (ReadOnlyMemory<byte>)e.Entry).ToList());
        if (outcomes.Any(o => o.Accepted))
            Checkpoint = SignCheckpoint();
        return outcomes.Select((o, i) => new WriteOutcome(System.Security.Cryptography.SHA256.HashData(entries[i].Entry), o.Appended?.Index, o.Rejection)).ToList();
    }

    /// <summary>
    /// The first key signs through the node's cosigner; the others sign the same checkpoint text and are merged in
    /// as a peer's signature would be, so the note is checked against the log exactly as on a replicated node.
    /// </summary>
    private StoredCheckpoint SignCheckpoint()
    {
        var cosigner = new CheckpointCosigner(Node!, publisher: null, everyEntries: int.MaxValue);
        var mine = cosigner.SignCurrent();
        foreach (var other in _signers.Skip(1))
        {
            var note = SignedNote.Sign(new GreenTrace.Core.Checkpoints.Checkpoint(Node!.Origin, mine.Size, mine.Root).ToNoteText(), other);
            cosigner.Receive(Encoding.UTF8.GetBytes(note));
        }
        return Node!.Store.GetCheckpoint(mine.Size) ?? mine;
    }

    public void Dispose()
    {
        Node?.Dispose();
        (_streams as IDisposable)?.Dispose();
        foreach (var s in _signers)
            s.Dispose();
    }
}

/// <summary>The ledger as a reader sees it: the store replayed into <see cref="LedgerState"/> from the genesis membership.</summary>
internal sealed class LedgerView : IDisposable
{
    private LedgerView(ILedgerStore store, LedgerState state)
    {
        Store = store;
        State = state;
    }

    public ILedgerStore Store { get; }

    public LedgerState State { get; }

    public static LedgerView Open(string storeSpec, Membership genesis)
    {
        ILedgerStore store;
        try
        {
            store = LedgerStores.Open(storeSpec);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or System.Data.Common.DbException)
        {
            throw new LedgerFileException($"ledger store: {e.Message}", e);
        }
        var state = new LedgerState(genesis);
        foreach (var e in store.ReadAll())
        {
            var decoded = LedgerEntryCodec.Decode(e.Encoded);
            // Signatures were checked when the entries were appended; `ledger audit` checks everything again.
            var why = decoded.IsOk ? state.TryApply(decoded.Value, signatureAlreadyVerified: true) : decoded.Error;
            if (why is not null)
            {
                state.Dispose();
                store.Dispose();
                throw new LedgerFileException($"stored entry {e.Index} does not replay ({why.Code}: {why.Message}); run `greentrace ledger audit`");
            }
        }
        return new LedgerView(store, state);
    }

    public void Dispose()
    {
        State.Dispose();
        Store.Dispose();
    }
}
