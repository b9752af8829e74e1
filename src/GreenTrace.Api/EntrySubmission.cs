using GreenTrace.Core;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Streaming;
using Microsoft.Extensions.Options;

namespace GreenTrace.Api;

/// <summary>How POST /api/entries gets a verdict: from the API's own node, or from the replicated nodes.</summary>
public interface IEntrySubmitter
{
    /// <summary>The ledger's verdict on one signed entry (decoded once, by the caller): appended (with its index) or refused with the ledger's reason.</summary>
    Task<SubmitOutcome> SubmitAsync(LedgerEntry entry, CancellationToken cancellationToken);
}

/// <summary>The embedded node judges and appends at once (the API is the store's only writer).</summary>
internal sealed class EmbeddedEntrySubmitter(LedgerReadModel ledger) : IEntrySubmitter
{
    public Task<SubmitOutcome> SubmitAsync(LedgerEntry entry, CancellationToken cancellationToken) => Task.FromResult(ledger.Submit(entry.Encoded));
}

/// <summary>
/// In front of the replicated ledger: the entry goes onto the entry stream, where every node takes it in the same order,
/// and the verdict is read back from the store of the node this API serves (`ledger node` writes it): the entry appears
/// in the log, or the node records its refusal under the entry's id. The rules are a pure function of the log, so every
/// node reaches the same verdict. The API holds no node key.
/// </summary>
public sealed class StreamEntrySubmitter : IEntrySubmitter, IDisposable
{
    /// <summary>The node did not judge the entry in time; it may still be appended (look it up by id).</summary>
    public const string Timeout = "ledger-timeout";

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    private readonly LedgerReadModel _ledger;
    private readonly IStreamProducer _producer;
    private readonly ApiOptions _options;
    private readonly TimeProvider _time;

    public StreamEntrySubmitter(IStreamClientFactory streams, LedgerReadModel ledger, IOptions<ApiOptions> options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentNullException.ThrowIfNull(options);
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _producer = streams.CreateProducer();
        _options = options.Value;
        _time = time ?? TimeProvider.System;
    }

    public async Task<SubmitOutcome> SubmitAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var id = entry.Id;
        if (_ledger.FindEntry(id) is { } already)
            return new SubmitOutcome(null, new Rejection(LedgerReasons.EntryDuplicate, $"entry {Hex.Encode(id)} is already on the ledger at index {already.Index}"));
        // A refusal recorded before this submission (the same bytes sent earlier) is not this submission's verdict.
        var earlier = _ledger.FindRejections(id).Count;
        var key = entry.CertificateId is { } certificate ? Hex.Encode(certificate) : Hex.Encode(id);
        await _producer.ProduceAsync(_options.EntriesTopic, key, entry.Encoded, cancellationToken).ConfigureAwait(false);

        var deadline = _time.GetTimestamp() + (long)(_options.SubmitTimeoutSeconds * (double)_time.TimestampFrequency);
        while (true)
        {
            if (_ledger.FindEntry(id) is { } stored)
                return new SubmitOutcome(stored, null);
            var refusals = _ledger.FindRejections(id);
            if (refusals.Count > earlier)
                return new SubmitOutcome(null, new Rejection(refusals[^1].Code, refusals[^1].Message));
            if (_time.GetTimestamp() > deadline)
                return new SubmitOutcome(null, new Rejection(Timeout, $"the ledger node has not judged entry {Hex.Encode(id)} within {_options.SubmitTimeoutSeconds} s; it is on the entry stream and may still be appended"));
            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Dispose() => _producer.Dispose();
}
