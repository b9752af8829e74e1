using GreenTrace.Core;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;

namespace GreenTrace.Api;

/// <summary>A registered meter as the log has made it, with its log index and its certificates in log order.</summary>
public sealed record MeterRecord(DeviceRecord Device, IReadOnlyList<IndexedCertificate> Certificates);

/// <summary>What a search term names on this ledger.</summary>
public sealed record SearchMatch(string Kind, string Id, string? Certificate);

/// <summary>
/// The explorer's reads: meters, their hours, a certificate's readings decoded, owners' live holdings, search, and the
/// membership in force. Kept apart from the proof and submission paths; same lock and catch-up as they use.
/// </summary>
public sealed partial class LedgerReadModel
{
    /// <summary>The membership in force now: the trust.json whose node keys sign the checkpoints served.</summary>
    public Membership CurrentMembership()
    {
        lock (_gate)
        {
            Refresh();
            return _node.Trust.Membership;
        }
    }

    public MeterRecord? Meter(string meterId)
    {
        lock (_gate)
        {
            Refresh();
            if (_node.FindDeviceRecord(meterId) is not { } device)
                return null;
            return new MeterRecord(device, _certificates.Where(c => c.Certificate.MeterId == meterId).ToList());
        }
    }

    /// <summary>
    /// Wh and reading count per hour of [fromHour, toHour) from the meter's archived readings: certified ones for a
    /// generation meter (decoded here; any that no longer decode are counted, not summed), the consumption readings the
    /// aggregator keeps for a consumption meter.
    /// </summary>
    public Result<(IReadOnlyDictionary<long, (ulong Wh, int Readings)> Hours, int Undecodable)> MeterHours(string meterId, EnergyDirection direction, long fromHour, long toHour)
    {
        if (_archive is null)
            return Result<(IReadOnlyDictionary<long, (ulong, int)>, int)>.Fail("archive-missing", "this API has no reading archive (--archive): it has no readings to show");
        var hours = new Dictionary<long, (ulong Wh, int Readings)>();
        var undecodable = 0;
        if (direction == EnergyDirection.Consumption)
        {
            foreach (var (hour, wh, count) in _archive.ConsumptionByHour(meterId, fromHour, toHour))
                hours[hour] = ((ulong)wh, count);
            return Result<(IReadOnlyDictionary<long, (ulong, int)>, int)>.Ok((hours, 0));
        }
        foreach (var a in _archive.ReadingsOfMeter(meterId, fromHour, toHour))
        {
            var decoded = ReadingCodec.Decode(a.Cose);
            if (!decoded.IsOk)
            {
                undecodable++;
                continue;
            }
            var h = hours.GetValueOrDefault(a.HourStart);
            hours[a.HourStart] = (h.Wh + decoded.Value.Reading.EnergyWh, h.Readings + 1);
        }
        return Result<(IReadOnlyDictionary<long, (ulong, int)>, int)>.Ok((hours, undecodable));
    }

    /// <summary>A certificate's archived readings in tree order, as the bundles prove them.</summary>
    public Result<IReadOnlyList<byte[]>> CertificateReadings(byte[] certificateId)
    {
        lock (_gate)
        {
            Refresh();
            if (_node.FindCertificate(certificateId) is null)
                return Result<IReadOnlyList<byte[]>>.Fail(LedgerReasons.CertificateUnknown, $"certificate {Hex.Encode(certificateId)} is not on this ledger");
        }
        if (_archive is null)
            return Result<IReadOnlyList<byte[]>>.Fail("archive-missing", "this API has no reading archive (--archive): it cannot show readings");
        return _archive.Load(certificateId) is { } readings
            ? Result<IReadOnlyList<byte[]>>.Ok(readings)
            : Result<IReadOnlyList<byte[]>>.Fail("readings-missing", $"the archive holds no readings of certificate {Hex.Encode(certificateId)}");
    }

    /// <summary>The SubjectPublicKeyInfo of an owner id seen on the log (owner:hex), or null.</summary>
    public byte[]? OwnerKey(string ownerId)
    {
        lock (_gate)
        {
            Refresh();
            return _ownerKeys.GetValueOrDefault(ownerId);
        }
    }

    /// <summary>An owner's live holdings, each with its certificate.</summary>
    public IReadOnlyList<(Holding Holding, IndexedCertificate Certificate)> LiveHoldings(byte[] ownerKey)
    {
        lock (_gate)
        {
            Refresh();
            var byId = _certificates.ToDictionary(c => c.Certificate.IdHex, StringComparer.Ordinal);
            return _node.HoldingsOf(ownerKey)
                .Select(h => (h, byId[Hex.Encode(h.CertificateId)]))
                .OrderBy(x => x.Item2.Certificate.PeriodStart).ThenBy(x => x.h.CreatedBy)
                .ToList();
        }
    }

    /// <summary>
    /// What <paramref name="query"/> names: a certificate or a holding (64 hex digits), an owner id (owner:hex), or a
    /// registered meter id. Empty when it names nothing on this ledger.
    /// </summary>
    public IReadOnlyList<SearchMatch> Search(string query)
    {
        var q = query.Trim();
        var hits = new List<SearchMatch>();
        lock (_gate)
        {
            Refresh();
            if (q.Length == 64 && Hex.TryDecode(q, 32, out var id))
            {
                var hex = Hex.Encode(id);
                if (_node.FindCertificate(id) is not null)
                    hits.Add(new SearchMatch("certificate", hex, hex));
                if (_node.FindHolding(id) is { } holding && !holding.Id.AsSpan().SequenceEqual(holding.CertificateId))
                    hits.Add(new SearchMatch("holding", hex, Hex.Encode(holding.CertificateId)));
            }
            if (q.StartsWith("owner:", StringComparison.Ordinal) && _ownerKeys.ContainsKey(q.ToLowerInvariant()))
                hits.Add(new SearchMatch("owner", q.ToLowerInvariant(), null));
            if (MeterId.IsValid(q) && _node.FindDeviceRecord(q) is not null)
                hits.Add(new SearchMatch("meter", q, null));
        }
        return hits;
    }
}
