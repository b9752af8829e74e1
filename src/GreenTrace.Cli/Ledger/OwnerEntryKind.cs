using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using GreenTrace.Cli.Commands;
using GreenTrace.Core;
using GreenTrace.Core.Ledger;

namespace GreenTrace.Cli.Ledger;

/// <summary>
/// One kind of owner entry as the command line gives it: the options of its body and how to sign it for a
/// holding. `ledger transfer|split|claim` write it to a store or the stream, top-level `transfer|split|claim`
/// post it to the API; both take these same options and sign the same bytes.
/// </summary>
/// <param name="Sign">Signs the entry for (certificate id, holding id) with the owner's key at a unix time; throws <see cref="LedgerFileException"/> on bad arguments.</param>
internal sealed record OwnerEntryKind(string Name, string Description, IReadOnlyList<Option> Options, Func<ParseResult, byte[], byte[], ECDsa, long, byte[]> Sign)
{
    public static OwnerEntryKind Transfer()
    {
        var to = new Option<FileInfo>("--to") { Description = "The new owner's public key (.pub)", Required = true };
        return new("transfer", "Give a whole holding to another key.", [to], (parse, certificate, holding, owner, at) =>
            LedgerEntryCodec.SignTransferred(new Transfer(certificate, holding, LedgerFiles.LoadOwnerPublicKey(parse.GetValue(to)!.FullName)), owner, at));
    }

    public static OwnerEntryKind Split()
    {
        var parts = new Option<string[]>("--part") { Description = "WH:OWNER.pub, at least twice; the parts must add up to the holding's Wh", Required = true };
        return new("split", "Split a holding into parts for several keys (one may be your own).", [parts], (parse, certificate, holding, owner, at) =>
            LedgerEntryCodec.SignSplit(new Split(certificate, holding, ParseParts(parse.GetValue(parts) ?? [])), owner, at));
    }

    public static OwnerEntryKind Claim()
    {
        var beneficiary = new Option<string>("--beneficiary") { Description = "Whose consumption the energy is used for", Required = true };
        var from = new Option<string>("--from") { Description = "Start of the consumption period (UTC, e.g. 2026-11-24T00:00Z); it must include the certificate's hour", Required = true };
        var until = new Option<string>("--to") { Description = "End of the consumption period (exclusive)", Required = true };
        return new("claim", "Claim a holding for a beneficiary's consumption: final, the Wh are used for good.", [beneficiary, from, until], (parse, certificate, holding, owner, at) =>
        {
            if (!LedgerCommand.TryParseTime(parse.GetValue(from)!, out var start) || !LedgerCommand.TryParseTime(parse.GetValue(until)!, out var end))
                throw new LedgerFileException("--from and --to must be UTC times like 2026-11-24T00:00Z");
            return LedgerEntryCodec.SignClaimed(new Claim(certificate, holding, parse.GetValue(beneficiary)!, start, end), owner, at);
        });
    }

    /// <summary>The options every owner entry takes: who signs, and which certificate.</summary>
    public static (Option<FileInfo> Key, Option<string> Certificate) SignerOptions(string keyOption) => (
        new Option<FileInfo>(keyOption) { Description = "The holding owner's private key (`ledger owner-key`)", Required = true },
        new Option<string>("--certificate") { Description = "Certificate id (hex)", Required = true });

    /// <summary>Adds the kind's own options to <paramref name="command"/>, after the ones it already has.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in Options)
            command.Options.Add(option);
    }

    /// <summary>Signs at the current time: the ledger refuses owner entries far older than its own clock.</summary>
    public byte[] SignNow(ParseResult parse, ECDsa owner, byte[] certificate, byte[] holding) =>
        Sign(parse, certificate, holding, owner, DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    /// <summary>The holdings an accepted owner entry makes: ids derive from the entry id, as every node derives them.</summary>
    public static IEnumerable<string> NewHoldings(byte[] encoded)
    {
        var entry = LedgerEntryCodec.Decode(encoded).Value;
        var count = entry.Kind switch
        {
            EntryKind.Transferred => 1,
            EntryKind.Split => entry.Split!.Parts.Count,
            _ => 0,
        };
        return Enumerable.Range(0, count).Select(i => Hex.Encode(HoldingIds.Compute(entry.Id, (uint)i)));
    }

    private static List<SplitPart> ParseParts(IEnumerable<string> parts) => parts.Select(p =>
    {
        var colon = p.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !ulong.TryParse(p.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var wh))
            throw new LedgerFileException($"--part '{p}' is not WH:OWNER.pub");
        return new SplitPart(wh, LedgerFiles.LoadOwnerPublicKey(p[(colon + 1)..]));
    }).ToList();
}
