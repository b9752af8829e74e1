using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Ledger;
using static GreenTrace.Core.Tests.Ledger.LedgerFixtures;

namespace GreenTrace.Core.Tests.Ledger;

public enum OpKind
{
    Transfer,
    Split,
    Claim,
    Withdraw,
    Replay,
}

/// <summary>
/// One move, with its choices left abstract (indexes taken modulo what exists when it runs), so a
/// random sequence mixes valid moves with hostile ones: spending consumed holdings, signing for
/// someone else, replays, splits off by one or wrapping around 2^64, withdrawals by the wrong issuer.
/// </summary>
public sealed record Op(OpKind Kind, int Holding, int Signer, int Target, int Delta, int Parts, int AtOffset);

public sealed record Scenario(Op[] Ops, int ShuffleSeed)
{
    public override string ToString() => $"seed {ShuffleSeed}: " + string.Join(", ", Ops.Select(o => $"{o.Kind}(h{o.Holding} s{o.Signer} t{o.Target} d{o.Delta} p{o.Parts})"));
}

public static class LedgerArbitraries
{
    private static Gen<Op> OpGen() =>
        from kind in Gen.Frequency((5, Gen.Constant(OpKind.Transfer)), (4, Gen.Constant(OpKind.Split)), (3, Gen.Constant(OpKind.Claim)), (1, Gen.Constant(OpKind.Withdraw)), (2, Gen.Constant(OpKind.Replay)))
        from holding in Gen.Choose(0, 40)
        from signer in Gen.Choose(0, 15)
        from target in Gen.Choose(0, 40)
        from delta in Gen.Frequency((6, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(-1)), (1, Gen.Constant(2)))
        from parts in Gen.Choose(1, 4)
        from at in Gen.Choose(0, 600)
        select new Op(kind, holding, signer, target, delta, parts, at);

    public static Arbitrary<Scenario> Scenarios() => Arb.From(
        from length in Gen.Choose(1, 30)
        from ops in Gen.ArrayOf(OpGen(), length)
        from seed in Gen.Choose(0, int.MaxValue)
        select new Scenario(ops, seed));
}

public class LedgerPropertyTests
{
    private static readonly ECDsa[] Keys = [Alice, Bob, Carol, IssuerAKey];

    private static readonly GranularCertificate CertA = Certificate();
    private static readonly GranularCertificate CertB = Certificate("meter-02") with { FaceValueWh = 7777, Quality = new(4, 0, 7777, 0) };

    // The same setup bytes for every ledger, so holdings made by owner entries have the same ids everywhere.
    private static readonly byte[][] Setup =
    [
        LedgerEntryCodec.SignDeviceRegistered(Device(), IssuerA, IssuerAKey, Hour - 86400, Spki(Alice)),
        LedgerEntryCodec.SignDeviceRegistered(Device("meter-02"), IssuerA, IssuerAKey, Hour - 86400),
        LedgerEntryCodec.SignCertificateIssued(CertA, IssuerA, IssuerAKey),
        LedgerEntryCodec.SignCertificateIssued(Rederived(CertB), IssuerA, IssuerAKey),
    ];

    private static InMemoryLedger NewLedger()
    {
        var ledger = new InMemoryLedger();
        foreach (var e in Setup)
            ledger.Applied(e);
        return ledger;
    }

    [Property(Arbitrary = [typeof(LedgerArbitraries)], MaxTest = 60)]
    public void NoWhIsEverSpentTwiceWhateverTheOrder(Scenario scenario)
    {
        // Play the moves against a ledger, each chosen against the state as it is then…
        using var first = NewLedger();
        var consumed = new HashSet<string>(StringComparer.Ordinal);
        var produced = new List<byte[]>();
        foreach (var op in scenario.Ops)
        {
            var encoded = Build(op, first.State, produced);
            produced.Add(encoded);
            Apply(first.State, encoded, consumed);
            AssertBalanced(first.State);
        }

        // …then the very same entries in another order against a fresh ledger: still nothing spent twice.
        using var second = NewLedger();
        var shuffled = produced.ToArray();
        new Random(scenario.ShuffleSeed).Shuffle(shuffled);
        var consumedAgain = new HashSet<string>(StringComparer.Ordinal);
        foreach (var encoded in shuffled)
        {
            Apply(second.State, encoded, consumedAgain);
            AssertBalanced(second.State);
        }
    }

    private static void Apply(LedgerState state, byte[] encoded, HashSet<string> consumed)
    {
        var entry = DecodeEntry(encoded);
        var liveBefore = entry.Withdrawal is { } w ? state.HoldingsOfCertificate(w.CertificateId).Where(h => h.IsLive).Select(h => h.IdHex).ToList() : [];
        if (state.TryApply(entry) is not null)
            return;
        var spent = entry.Transfer?.HoldingId ?? entry.Split?.HoldingId ?? entry.Claim?.HoldingId;
        if (spent is not null)
            Assert.True(consumed.Add(Hex.Encode(spent)), $"holding {Hex.Encode(spent)} consumed twice");
        foreach (var id in liveBefore)
            Assert.True(consumed.Add(id), $"holding {id} consumed twice");
    }

    private static void AssertBalanced(LedgerState state)
    {
        foreach (var cert in new[] { CertA, CertB })
        {
            var record = state.FindCertificate(cert.Id)!;
            var holdings = state.HoldingsOfCertificate(cert.Id);
            var live = holdings.Where(h => h.IsLive).Aggregate(0UL, (sum, h) => checked(sum + h.Wh));
            var claimed = holdings.Where(h => h.Status == HoldingStatus.Claimed).Aggregate(0UL, (sum, h) => checked(sum + h.Wh));
            Assert.Equal(record.LiveWh, live);
            Assert.Equal(record.ClaimedWh, claimed);
            if (record.Withdrawn)
            {
                Assert.Equal((0UL, 0UL, cert.FaceValueWh), (live, claimed, record.WithdrawnWh));
            }
            else
            {
                Assert.Equal(cert.FaceValueWh, checked(live + claimed));
                Assert.Equal(0UL, record.WithdrawnWh);
            }
            Assert.All(holdings, h => Assert.True(h.Wh > 0));
        }
    }

    private static byte[] Build(Op op, LedgerState state, List<byte[]> produced)
    {
        var at = Hour + 7200 + op.AtOffset;
        if (op.Kind == OpKind.Replay && produced.Count > 0)
            return produced[op.Target % produced.Count];
        if (op.Kind == OpKind.Withdraw)
        {
            var cert = op.Target % 2 == 0 ? CertA : CertB;
            var (issuer, key) = op.Signer % 4 == 0 ? (IssuerB, IssuerBKey) : (IssuerA, IssuerAKey);
            return LedgerEntryCodec.SignWithdrawn(new Withdrawal(cert.Id, "audit finding"), issuer, key, Hour + 3660);
        }

        // Any holding ever made, live or not, or one that never existed.
        var holdings = state.HoldingsOfCertificate(CertA.Id).Concat(state.HoldingsOfCertificate(CertB.Id)).ToList();
        var pick = op.Holding % (holdings.Count + 1);
        var holding = pick < holdings.Count ? holdings[pick] : new Holding(SHA256.HashData(BitConverter.GetBytes(op.Holding)), CertA.Id, 1, Spki(Alice), 0);
        // Mostly the real owner signs; sometimes whoever the draw says.
        var signer = op.Signer % 4 != 0 ? Keys.FirstOrDefault(k => Spki(k).AsSpan().SequenceEqual(holding.Owner)) ?? Alice : Keys[op.Signer / 4 % Keys.Length];
        var to = Keys[op.Target % 3];

        switch (op.Kind)
        {
            case OpKind.Split:
                return LedgerEntryCodec.SignSplit(new Split(holding.CertificateId, holding.Id, SplitParts(holding.Wh, op)), signer, at);
            case OpKind.Claim:
                {
                    var cert = holding.CertificateId.AsSpan().SequenceEqual(CertA.Id) ? CertA : CertB;
                    return LedgerEntryCodec.SignClaimed(new Claim(holding.CertificateId, holding.Id, "Acme", cert.PeriodStart, cert.PeriodEnd), signer, at);
                }
            default:
                return LedgerEntryCodec.SignTransferred(new Transfer(holding.CertificateId, holding.Id, Spki(to)), signer, at);
        }
    }

    /// <summary>Even parts, then the last one nudged by the op's delta; delta 2 makes two parts that wrap around 2^64 to the holding's Wh.</summary>
    private static List<SplitPart> SplitParts(ulong wh, Op op)
    {
        var owner = (int i) => Spki(Keys[(op.Target + i) % 3]);
        if (op.Delta == 2)
            return [new(ulong.MaxValue, owner(0)), new(unchecked(wh + 1), owner(1))];
        var n = (ulong)op.Parts;
        var parts = Enumerable.Range(0, op.Parts).Select(i => new SplitPart(wh / n, owner(i))).ToList();
        var last = parts[^1];
        parts[^1] = last with { Wh = unchecked(last.Wh + (wh % n) + (ulong)(long)op.Delta) };
        return parts;
    }
}
