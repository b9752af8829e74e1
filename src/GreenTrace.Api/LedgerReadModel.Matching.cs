using GreenTrace.Core;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Matching;
using GreenTrace.Core.Readings;

namespace GreenTrace.Api;

/// <summary>A claim as hourly matching counts it: the Wh of the claimed holding, for the production hour of its certificate.</summary>
public sealed record MatchedClaim(string Certificate, string Holding, long Hour, long Wh, string Beneficiary, long PeriodStart, long PeriodEnd, long Index);

/// <summary>A buyer's hourly matching over [From, To): their consumption meters, each hour, the totals and the claims counted.</summary>
public sealed record BuyerMatching(string Owner, long From, long To, IReadOnlyList<string> Meters, MatchingReport Report, IReadOnlyList<MatchedClaim> Claims);

public sealed partial class LedgerReadModel
{
    // By owner id: the consumption meters registered to that owner, and the claims that owner signed (certificate, holding, log index).
    private readonly Dictionary<string, List<string>> _consumptionMeters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(Claim Claim, long Index)>> _claims = new(StringComparer.Ordinal);

    /// <summary>
    /// Hourly matching for the owner of these keys: per hour, the Wh their consumption meters (registered to them on the
    /// ledger) recorded in signed readings, beside the Wh they claimed of certificates produced in that hour. Hours
    /// start in [from, to); without bounds, every hour there is data for.
    /// </summary>
    public Result<BuyerMatching> Matching(string owner, long? from, long? to)
    {
        var id = ResolveOwnerId(owner);
        if (!id.IsOk)
            return Result<BuyerMatching>.Fail(id.Error);
        if (from is { } f && to is { } t && f >= t)
            return Result<BuyerMatching>.Fail("period-invalid", $"need from < to, got from={f} to={t}");
        lock (_gate)
        {
            Refresh();
            var meters = _consumptionMeters.GetValueOrDefault(id.Value) ?? [];
            var claims = _claims.GetValueOrDefault(id.Value) ?? [];
            if (meters.Count == 0 && claims.Count == 0)
                return Result<BuyerMatching>.Fail("owner-unknown", $"{id.Value} has no consumption meter and no claim on this ledger");
            if (_archive is null && meters.Count > 0)
                return Result<BuyerMatching>.Fail("archive-missing", "this API has no reading archive (--archive): it has no consumption readings");
            var (lo, hi) = (from ?? long.MinValue, to ?? long.MaxValue);
            var consumption = meters.SelectMany(m => _archive!.ConsumptionByHour(m, lo, hi)).Select(h => (h.Hour, h.Wh)).ToList();
            var counted = new List<MatchedClaim>();
            foreach (var (claim, index) in claims)
            {
                var hour = _node.FindCertificate(claim.CertificateId)!.Certificate.PeriodStart;
                var holding = _node.FindHolding(claim.HoldingId)!;
                if (hour >= lo && hour < hi)
                    counted.Add(new MatchedClaim(Hex.Encode(claim.CertificateId), holding.IdHex, hour, checked((long)holding.Wh), claim.Beneficiary, claim.PeriodStart, claim.PeriodEnd, index));
            }
            var report = HourlyMatching.Compute(consumption, counted.Select(c => (c.Hour, c.Wh)));
            if (!report.IsOk)
                return Result<BuyerMatching>.Fail(report.Error);
            var hours = report.Value.Hours;
            var start = from ?? (hours.Count > 0 ? hours[0].Hour : 0);
            var end = to ?? (hours.Count > 0 ? hours[^1].Hour + HourlyMatching.Hour : 0);
            return Result<BuyerMatching>.Ok(new BuyerMatching(id.Value, start, end, meters, report.Value, counted));
        }
    }

    /// <summary>An owner id (owner:hex) as given, or the id of a base64 SubjectPublicKeyInfo.</summary>
    private static Result<string> ResolveOwnerId(string owner)
    {
        if (owner.StartsWith("owner:", StringComparison.Ordinal) && owner.Length == "owner:".Length + 64 && Hex.TryDecode(owner["owner:".Length..], 32, out _))
            return Result<string>.Ok(owner);
        try
        {
            return Result<string>.Ok(LedgerEntry.OwnerId(Convert.FromBase64String(owner)));
        }
        catch (FormatException)
        {
            return Result<string>.Fail("owner-invalid", "owner is neither an owner id (owner:hex) nor a base64 SubjectPublicKeyInfo");
        }
    }

    private void IndexForMatching(LedgerEntry e, long index)
    {
        if (e.Kind == EntryKind.DeviceRegistered && e.DeviceOwner is { } owner && e.Device!.Direction == EnergyDirection.Consumption)
            Add(_consumptionMeters, LedgerEntry.OwnerId(owner), e.Device.MeterId);
        // The log holds only accepted entries, so a claim here consumed a holding its signer owned.
        if (e.Claim is { } claim && e.SignerKey is { } signer)
            Add(_claims, LedgerEntry.OwnerId(signer), (claim, index));

        static void Add<T>(Dictionary<string, List<T>> map, string key, T value)
        {
            if (!map.TryGetValue(key, out var list))
                map[key] = list = [];
            list.Add(value);
        }
    }
}
