using System.Security.Cryptography;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Matching;

namespace GreenTrace.Cli.Demo;

/// <summary>What the demo's buyer did on the ledger and how well it matched their consumption hour by hour.</summary>
public sealed record MarketResult(int Transfers, int Splits, int Claims, long ClaimedWh, MatchingReport Matching, IReadOnlyList<byte[]> ClaimedCertificates)
{
    public static MarketResult None { get; } = new(0, 0, 0, 0, HourlyMatching.Compute([], []).Value, []);

    public int Entries => Transfers + Splits + Claims;
}

/// <summary>
/// The demo's market, the part of the story after issuance: the buyer has a solar power purchase agreement with the
/// plant owner. For every hour the buyer consumed in, the plant owner hands over that hour's solar certificates up to
/// the consumption (whole certificates by transfer, the last one split), and the buyer claims each for that hour.
/// Night hours stay unmatched, which is what an hourly (24/7) score shows and an annual one hides.
/// </summary>
public static class DemoMarket
{
    public const string Beneficiary = "Demo Buyer Ltd";

    /// <summary>The signed entries, in the order the ledger must take them: each consumes a holding an earlier one made.</summary>
    public static (IReadOnlyList<byte[]> Entries, MarketResult Result) Plan(
        IReadOnlyList<GranularCertificate> certificates, IReadOnlyDictionary<long, long> consumptionByHour, ECDsa plantOwner, ECDsa buyer, long at)
    {
        ArgumentNullException.ThrowIfNull(certificates);
        ArgumentNullException.ThrowIfNull(consumptionByHour);
        var buyerKey = buyer.ExportSubjectPublicKeyInfo();
        var plantKey = plantOwner.ExportSubjectPublicKeyInfo();
        var entries = new List<byte[]>();
        var claimed = new List<(long Hour, long Wh)>();
        var claimedCertificates = new List<byte[]>();
        int transfers = 0, splits = 0;
        var solarByHour = certificates.Where(c => c.EnergySource == "solar" && c.FaceValueWh > 0).ToLookup(c => c.PeriodStart);
        foreach (var (hour, consumed) in consumptionByHour.OrderBy(kv => kv.Key))
        {
            var remaining = (ulong)consumed;
            // Largest first: fewest entries for the hour, and at most one split.
            foreach (var c in solarByHour[hour].OrderByDescending(c => c.FaceValueWh).ThenBy(c => c.IdHex, StringComparer.Ordinal))
            {
                if (remaining == 0)
                    break;
                byte[] entry, bought;
                if (c.FaceValueWh <= remaining)
                {
                    entry = LedgerEntryCodec.SignTransferred(new Transfer(c.Id, c.Id, buyerKey), plantOwner, at);
                    transfers++;
                }
                else
                {
                    entry = LedgerEntryCodec.SignSplit(new Split(c.Id, c.Id, [new SplitPart(remaining, buyerKey), new SplitPart(c.FaceValueWh - remaining, plantKey)]), plantOwner, at);
                    splits++;
                }
                // Holding ids derive from the entry that makes them, so the claim can be signed before the transfer is on the ledger.
                bought = HoldingIds.Compute(SHA256.HashData(entry), 0);
                var wh = Math.Min(c.FaceValueWh, remaining);
                entries.Add(entry);
                entries.Add(LedgerEntryCodec.SignClaimed(new Claim(c.Id, bought, Beneficiary, hour, hour + HourlyMatching.Hour), buyer, at));
                claimed.Add((hour, (long)wh));
                claimedCertificates.Add(c.Id);
                remaining -= wh;
            }
        }
        var matching = HourlyMatching.Compute(consumptionByHour.Select(kv => (kv.Key, kv.Value)), claimed).Value;
        return (entries, new MarketResult(transfers, splits, claimed.Count, claimed.Sum(c => c.Wh), matching, claimedCertificates));
    }
}
