using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Proofs;

/// <summary>A holding as the bundle's history makes it: <see cref="Owner"/> is the owner id ("owner:" + hex SHA-256 of the SPKI).</summary>
/// <param name="Id">Hex; the first holding has the certificate's id, later ones <see cref="HoldingIds.Compute"/>.</param>
/// <param name="CreatedBy">Log index of the entry that made it (the certificate's for the first holding).</param>
/// <param name="ConsumedBy">Log index of the entry that consumed it, if any in this bundle.</param>
public sealed record ProvenHolding(string Id, ulong Wh, string Owner, HoldingStatus Status, long CreatedBy, long? ConsumedBy = null)
{
    public bool IsLive => Status == HoldingStatus.Live;
}

/// <summary>A final claim proven in the log: <see cref="Wh"/> of the certificate used for <see cref="Beneficiary"/>'s consumption.</summary>
/// <param name="Claimant">The owner id that signed the claim (and held the holding).</param>
/// <param name="Index">Log index of the Claimed entry.</param>
/// <param name="Holding">Hex id of the holding claimed.</param>
public sealed record ProvenClaim(string Beneficiary, long PeriodStart, long PeriodEnd, ulong Wh, string Claimant, long Index, string Holding);

/// <summary>One history entry as replayed: which holdings it consumed and which it made (hex ids).</summary>
/// <param name="Signer">The owner id for owner entries, the issuer id for a withdrawal.</param>
public sealed record OwnershipEvent(long Index, EntryKind Kind, string EntryId, string Signer, IReadOnlyList<string> Consumed, IReadOnlyList<string> Made);

/// <summary>
/// The certificate's ownership as the bundle's history proves it. A server may leave out trailing entries, so
/// "live" means "not consumed in this evidence"; claims are final and each is proven in the log.
/// </summary>
public sealed record OwnershipReplay(IReadOnlyList<OwnershipEvent> Events, IReadOnlyList<ProvenHolding> Holdings, IReadOnlyList<ProvenClaim> Claims)
{
    public ulong LiveWh => Sum(HoldingStatus.Live);

    public ulong ClaimedWh => Sum(HoldingStatus.Claimed);

    public ulong WithdrawnWh => Sum(HoldingStatus.Withdrawn);

    public bool Withdrawn => Events.Any(e => e.Kind == EntryKind.Withdrawn);

    // Holdings of one certificate never hold more than its face value together, so the sum cannot overflow.
    private ulong Sum(HoldingStatus status) => Holdings.Where(h => h.Status == status).Aggregate(0UL, (s, h) => s + h.Wh);
}

/// <summary>What a certificate bundle's verification established, step by step; on success, what the bundle proves.</summary>
/// <param name="Readings">The decoded readings, in tree order, as far as they were decoded and verified.</param>
/// <param name="Ownership">The replayed history; set when the <c>ownership</c> step ran (on its failure, up to the entry that failed).</param>
public sealed record CertificateVerificationReport(
    IReadOnlyList<StepOutcome> Steps,
    GranularCertificate? Certificate,
    DeviceInfo? Device,
    Checkpoint? Checkpoint,
    IReadOnlyList<Reading> Readings,
    OwnershipReplay? Ownership) : IStepReport
{
    public bool IsValid => Steps.Count > 0 && Steps.All(s => s.Passed);

    public StepOutcome? FirstFailure => Steps.FirstOrDefault(s => !s.Passed);
}

/// <summary>Whether readings belong in a certificate: one rule for a reading bundle's reading and a certificate bundle's readings.</summary>
internal static class CertificateReadings
{
    public static string? CheckOne(Reading reading, GranularCertificate certificate) =>
        reading.MeterId != certificate.MeterId ? "reading is from another meter"
        : reading.Start < certificate.PeriodStart || reading.End > certificate.PeriodEnd ? "reading interval lies outside the certificate period"
        : reading.Direction != EnergyDirection.Generation ? "reading is not generation"
        : null;

    /// <summary>Every reading belongs, sequence numbers strictly increase, and count and Wh are exactly the certificate's.</summary>
    public static string? CheckAll(IReadOnlyList<Reading> readings, GranularCertificate certificate)
    {
        if (readings.Count == 0)
            return "the bundle has no readings: a certificate certifies at least one";
        ulong sum = 0;
        for (var i = 0; i < readings.Count; i++)
        {
            var r = readings[i];
            if (CheckOne(r, certificate) is { } why)
                return $"reading {i} (#{r.Sequence}): {why}";
            if (i > 0 && r.Sequence <= readings[i - 1].Sequence)
                return $"reading {i} (#{r.Sequence}) does not follow #{readings[i - 1].Sequence}: sequence numbers must strictly increase";
            if (ulong.MaxValue - sum < r.EnergyWh)
                return "the readings' Wh overflow 64 bits";
            sum += r.EnergyWh;
        }
        if (readings.Count != certificate.ReadingCount)
            return $"the bundle has {readings.Count} readings, the certificate {certificate.ReadingCount}";
        if (sum != certificate.FaceValueWh)
            return $"the readings sum to {sum} Wh, the certificate's face value is {certificate.FaceValueWh} Wh";
        return null;
    }
}

/// <summary>
/// The buyer's offline check of a whole certificate (docs/formats.md, "Certificate bundle"): the five steps every
/// bundle shares, then every reading, then every history entry and the ownership they make. Trusts nothing in the
/// bundle but what the membership's keys and a quorum checkpoint vouch for.
/// </summary>
public static class CertificateBundleVerifier
{
    public static CertificateVerificationReport Verify(CertificateBundle bundle, TrustedKeys trust)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(trust);
        var steps = new StepLog();

        // 1–5: the checkpoint, the meter's registration and the certificate, each in the log.
        var anchors = LedgerAnchors.Verify(bundle.Checkpoint, bundle.Device, bundle.Certificate, trust, steps);
        if (!anchors.Passed)
            return new CertificateVerificationReport(steps.Steps, anchors.Certificate, anchors.Device, anchors.Checkpoint, [], null);
        var (certificate, device, checkpoint) = (anchors.Certificate!, anchors.Device!, anchors.Checkpoint!);
        var readings = new List<Reading>(bundle.Readings.Count);

        CertificateVerificationReport Fail(string step, string detail, OwnershipReplay? ownership = null)
        {
            steps.Fail(step, detail);
            return new CertificateVerificationReport(steps.Steps, certificate, device, checkpoint, readings, ownership);
        }

        // 6: every reading, strictly decoded and signed by the registered meter key.
        using (var meterKey = DeviceKeys.TryImportPublicKey(device.PublicKey, out var k) ? k : null)
        {
            if (meterKey is null)
                return Fail(ProofSteps.ReadingsSignature, "registered meter key is not a P-256 key");
            for (var i = 0; i < bundle.Readings.Count; i++)
            {
                var decoded = ReadingCodec.DecodeAndVerify(bundle.Readings[i], meterKey);
                if (!decoded.IsOk)
                    return Fail(ProofSteps.ReadingsSignature, $"reading {i}: {decoded.Error}");
                readings.Add(decoded.Value.Reading);
            }
        }
        steps.Pass(ProofSteps.ReadingsSignature, $"{readings.Count} readings signed by meter {device.MeterId}");

        // 7: together they are exactly the certificate's readings.
        if (CertificateReadings.CheckAll(readings, certificate) is { } inCert)
            return Fail(ProofSteps.ReadingsInCertificate, inCert);
        steps.Pass(ProofSteps.ReadingsInCertificate, $"{readings.Count} readings, #{readings[0].Sequence} to #{readings[^1].Sequence}, {certificate.FaceValueWh} Wh in total");

        // 8: in the order and with the bytes the certificate's reading root commits to.
        var root = MerkleTree.Root(bundle.Readings);
        if (!root.AsSpan().SequenceEqual(certificate.ReadingRoot))
            return Fail(ProofSteps.ReadingsRoot, $"the readings' root {Hex.Encode(root)[..16]}… is not the certificate's reading root {Hex.Encode(certificate.ReadingRoot)[..16]}…");
        steps.Pass(ProofSteps.ReadingsRoot, "the readings are the leaves of the certificate's reading root");

        // 9: every history entry is a signed owner entry or withdrawal of this certificate, in log order after it.
        var history = new List<LedgerEntry>(bundle.History.Count);
        var previous = bundle.Certificate.Index;
        for (var i = 0; i < bundle.History.Count; i++)
        {
            var leaf = bundle.History[i];
            if (CheckHistoryEntry(leaf, certificate, trust, previous, out var entry) is { } why)
                return Fail(ProofSteps.HistoryEntry, $"history {i} (log entry {leaf.Index}): {why}");
            history.Add(entry!);
            previous = leaf.Index;
        }
        steps.Pass(ProofSteps.HistoryEntry, history.Count == 0 ? "no entry about the certificate since its issuance"
            : $"{Count(history.Count, "entry", "entries")}: {string.Join(", ", history.GroupBy(e => e.Kind).Select(g => $"{g.Count()} {g.Key}"))}");

        // 10: each of them is in the log the checkpoint fixes.
        for (var i = 0; i < bundle.History.Count; i++)
        {
            if (LedgerAnchors.CheckInclusion(bundle.History[i], checkpoint) is { } why)
                return Fail(ProofSteps.HistoryInclusion, $"history {i}: {why}");
        }
        steps.Pass(ProofSteps.HistoryInclusion, bundle.History.Count == 0 ? "nothing to prove" : $"{(bundle.History.Count == 1 ? "log entry" : "log entries")} {string.Join(", ", bundle.History.Select(h => h.Index))} of {checkpoint.Size}");

        // 11: replayed from the first holding, every entry spends what its signer held.
        var firstOwner = anchors.DeviceEntry!.DeviceOwner ?? trust.Membership.Issuers.First(i => i.Id == certificate.IssuingBody).PublicKey;
        var replay = Replay(certificate, bundle.Certificate.Index, firstOwner, history, bundle.History);
        if (replay.Error is { } broken)
            return Fail(ProofSteps.Ownership, broken, replay.Result);
        var o = replay.Result;
        steps.Pass(ProofSteps.Ownership,
            $"{Count(history.Count, "entry", "entries")} replayed: {o.LiveWh} Wh live in {Count(o.Holdings.Count(h => h.IsLive), "holding", "holdings")}, {o.ClaimedWh} Wh claimed, {o.WithdrawnWh} Wh withdrawn");
        return new CertificateVerificationReport(steps.Steps, certificate, device, checkpoint, readings, o);
    }

    private static string Count(int n, string one, string many) => $"{n} {(n == 1 ? one : many)}";

    private static readonly EntryKind[] HistoryKinds = [EntryKind.Transferred, EntryKind.Split, EntryKind.Claimed, EntryKind.Withdrawn];

    private static string? CheckHistoryEntry(ProvenLeaf leaf, GranularCertificate certificate, TrustedKeys trust, long previousIndex, out LedgerEntry? entry)
    {
        entry = null;
        var decoded = LedgerEntryCodec.Decode(leaf.Value);
        if (!decoded.IsOk)
            return decoded.Error.ToString();
        var e = decoded.Value;
        if (!HistoryKinds.Contains(e.Kind))
            return $"a {e.Kind} entry is no part of a certificate's history";
        if (!e.CertificateId.AsSpan().SequenceEqual(certificate.Id))
            return $"the entry is about certificate {Hex.Encode(e.CertificateId)}, not {certificate.IdHex}";
        var signature = e.Authority == EntryAuthority.Owner
            ? LedgerState.VerifySignature(e, trust)?.Message
            : LedgerAnchors.CheckIssuerEntry(e, certificate.GridZone, trust);
        if (signature is not null)
            return signature;
        if (leaf.Index <= previousIndex)
            return $"it must come after log entry {previousIndex} (the certificate or the history entry before it)";
        entry = e;
        return null;
    }

    private static (OwnershipReplay Result, string? Error) Replay(GranularCertificate certificate, long certificateIndex, byte[] firstOwner, IReadOnlyList<LedgerEntry> history, IReadOnlyList<ProvenLeaf> leaves)
    {
        var order = new List<string>();
        var holdings = new Dictionary<string, ProvenHolding>(StringComparer.Ordinal);
        var events = new List<OwnershipEvent>();
        var claims = new List<ProvenClaim>();

        OwnershipReplay Snapshot() => new(events.ToList(), order.Select(id => holdings[id]).ToList(), claims.ToList());

        string? Make(string id, ulong wh, byte[] owner, long index)
        {
            if (holdings.ContainsKey(id))
                return $"holding {id[..16]}… is made twice";
            holdings.Add(id, new ProvenHolding(id, wh, LedgerEntry.OwnerId(owner), HoldingStatus.Live, index));
            order.Add(id);
            return null;
        }

        void Consume(string id, HoldingStatus status, long index) => holdings[id] = holdings[id] with { Status = status, ConsumedBy = index };

        Make(certificate.IdHex, certificate.FaceValueWh, firstOwner, certificateIndex);
        for (var i = 0; i < history.Count; i++)
        {
            var entry = history[i];
            var index = leaves[i].Index;
            var at = $"log entry {index} ({entry.Kind})";
            if (entry.Kind == EntryKind.Withdrawn)
            {
                var ended = order.Where(id => holdings[id].IsLive).ToList();
                foreach (var id in ended)
                    Consume(id, HoldingStatus.Withdrawn, index);
                events.Add(new OwnershipEvent(index, entry.Kind, entry.IdHex, entry.AuthorId, ended, []));
                continue;
            }

            var holdingId = Hex.Encode(entry.Transfer?.HoldingId ?? entry.Split?.HoldingId ?? entry.Claim!.HoldingId);
            if (!holdings.TryGetValue(holdingId, out var holding))
                return (Snapshot(), $"{at} consumes holding {holdingId[..16]}…, which no earlier entry of this bundle made");
            if (!holding.IsLive)
                return (Snapshot(), $"{at} consumes holding {holdingId[..16]}…, already {holding.Status.ToString().ToLowerInvariant()} by log entry {holding.ConsumedBy}");
            if (holding.Owner != entry.AuthorId)
                return (Snapshot(), $"{at} is signed by {entry.AuthorId}, but holding {holdingId[..16]}… belongs to {holding.Owner}");

            var made = new List<string>();
            switch (entry.Kind)
            {
                case EntryKind.Transferred:
                    Consume(holdingId, HoldingStatus.Spent, index);
                    made.Add(Hex.Encode(HoldingIds.Compute(entry.Id, 0)));
                    if (Make(made[0], holding.Wh, entry.Transfer!.To, index) is { } twice)
                        return (Snapshot(), $"{at}: {twice}");
                    break;
                case EntryKind.Split:
                    {
                        var parts = entry.Split!.Parts;
                        ulong sum = 0;
                        foreach (var part in parts)
                        {
                            if (ulong.MaxValue - sum < part.Wh)
                                return (Snapshot(), $"{at}: the parts' Wh overflow 64 bits");
                            sum += part.Wh;
                        }
                        if (sum != holding.Wh)
                            return (Snapshot(), $"{at}: the parts sum to {sum} Wh, holding {holdingId[..16]}… has {holding.Wh} Wh");
                        Consume(holdingId, HoldingStatus.Spent, index);
                        for (var p = 0; p < parts.Count; p++)
                        {
                            made.Add(Hex.Encode(HoldingIds.Compute(entry.Id, (uint)p)));
                            if (Make(made[p], parts[p].Wh, parts[p].Owner, index) is { } again)
                                return (Snapshot(), $"{at}: {again}");
                        }
                        break;
                    }
                default:
                    {
                        var c = entry.Claim!;
                        Consume(holdingId, HoldingStatus.Claimed, index);
                        claims.Add(new ProvenClaim(c.Beneficiary, c.PeriodStart, c.PeriodEnd, holding.Wh, entry.AuthorId, index, holdingId));
                        break;
                    }
            }
            events.Add(new OwnershipEvent(index, entry.Kind, entry.IdHex, entry.AuthorId, [holdingId], made));
        }
        return (Snapshot(), null);
    }
}
