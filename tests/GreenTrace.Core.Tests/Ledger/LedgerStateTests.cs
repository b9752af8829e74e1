using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Tests.Readings;
using static GreenTrace.Core.Tests.Ledger.LedgerFixtures;

namespace GreenTrace.Core.Tests.Ledger;

/// <summary>
/// A ledger where meter-01 (owned by Alice) is registered and its certificate for <see cref="LedgerFixtures.Hour"/>
/// (5000 Wh) is issued: the first holding (id = certificate id) is Alice's. Ledger time is then the issuance time.
/// </summary>
public sealed class LedgerStateTests : IDisposable
{
    private const long At = Hour + 7200; // an owner entry's time, an hour after issuance
    private readonly InMemoryLedger _ledger = new InMemoryLedger().Register(Device(), Spki(Alice)).Issued(Certificate());
    private readonly GranularCertificate _cert = Certificate();

    public void Dispose() => _ledger.Dispose();

    private LedgerState State => _ledger.State;

    private byte[] First => _cert.Id;

    private string? Apply(byte[] encoded) => _ledger.Check(encoded);

    private static byte[] TransferEntry(byte[] holding, ECDsa signer, ECDsa to, long at = At, byte[]? certificate = null) =>
        LedgerEntryCodec.SignTransferred(new Transfer(certificate ?? Certificate().Id, holding, Spki(to)), signer, at);

    private static byte[] SplitEntry(byte[] holding, ECDsa signer, IEnumerable<(ulong Wh, ECDsa Owner)> parts, long at = At) =>
        LedgerEntryCodec.SignSplit(new Split(Certificate().Id, holding, parts.Select(p => new SplitPart(p.Wh, Spki(p.Owner))).ToList()), signer, at);

    private static byte[] ClaimEntry(byte[] holding, ECDsa signer, string beneficiary = "Acme GmbH", long start = Hour, long end = Hour + 3600, long at = At) =>
        LedgerEntryCodec.SignClaimed(new Claim(Certificate().Id, holding, beneficiary, start, end), signer, at);

    private static byte[] WithdrawEntry(string issuer = IssuerA, ECDsa? key = null, byte[]? certificate = null) =>
        LedgerEntryCodec.SignWithdrawn(new Withdrawal(certificate ?? Certificate().Id, "meter miscalibrated"), issuer, key ?? IssuerAKey, Hour + 7200);

    private static byte[] HoldingOf(byte[] entry, uint part = 0) => HoldingIds.Compute(SHA256.HashData(entry), part);

    private void AssertBalanced()
    {
        var record = State.FindCertificate(_cert.Id)!;
        var live = State.HoldingsOfCertificate(_cert.Id).Where(h => h.IsLive).Aggregate(0UL, (sum, h) => sum + h.Wh);
        Assert.Equal(record.LiveWh, live);
        Assert.Equal(_cert.FaceValueWh, record.LiveWh + record.ClaimedWh + record.WithdrawnWh);
    }

    // ---- ownership moves ----

    [Fact]
    public void TheFirstHoldingIsTheDeviceOwnersAndCarriesTheCertificateId()
    {
        var h = State.FindHolding(First)!;

        Assert.Equal(Spki(Alice), h.Owner);
        Assert.Equal(5000UL, h.Wh);
        Assert.True(h.IsLive);
        Assert.Equal([First], State.HoldingsOf(Spki(Alice)).Select(x => x.Id));
    }

    [Fact]
    public void WithoutAnOwnerTheIssuerHoldsTheCertificateAndMayTransferIt()
    {
        using var ledger = new InMemoryLedger().Register(Device()).Issued(Certificate());

        Assert.Equal(Spki(IssuerAKey), ledger.State.FindHolding(First)!.Owner);
        Assert.Null(ledger.Check(TransferEntry(First, IssuerAKey, Bob)));
    }

    [Fact]
    public void TransferConsumesTheHoldingAndMakesOneOfTheSameWhForTheRecipient()
    {
        var t = TransferEntry(First, Alice, Bob);

        Assert.Null(Apply(t));

        var made = State.FindHolding(HoldingOf(t))!;
        Assert.Equal((5000UL, true), (made.Wh, made.IsLive));
        Assert.Equal(Spki(Bob), made.Owner);
        Assert.Equal(HoldingStatus.Spent, State.FindHolding(First)!.Status);
        Assert.Empty(State.HoldingsOf(Spki(Alice)));
        Assert.Single(State.HoldingsOf(Spki(Bob)));
        Assert.Equal(LedgerEntry.OwnerId(Spki(Alice)), DecodeEntry(t).AuthorId);
        AssertBalanced();
    }

    [Fact]
    public void SplitMakesPartsThatSumExactlyToTheHolding()
    {
        var s = SplitEntry(First, Alice, [(1000, Bob), (2500, Carol), (1500, Alice)]);

        Assert.Null(Apply(s));

        Assert.Equal([1000UL, 2500UL, 1500UL], Enumerable.Range(0, 3).Select(i => State.FindHolding(HoldingOf(s, (uint)i))!.Wh));
        Assert.Equal(Spki(Carol), State.FindHolding(HoldingOf(s, 1))!.Owner);
        AssertBalanced();
    }

    [Fact]
    public void ClaimIsFinal()
    {
        var c = ClaimEntry(First, Alice);

        Assert.Null(Apply(c));
        Assert.Equal(LedgerReasons.HoldingClaimed, Apply(TransferEntry(First, Alice, Bob)));
        Assert.Equal(LedgerReasons.HoldingClaimed, Apply(ClaimEntry(First, Alice, "someone else")));
        Assert.Equal(LedgerReasons.CertificateClaimed, Apply(WithdrawEntry()));
        Assert.Equal(5000UL, State.FindCertificate(_cert.Id)!.ClaimedWh);
        AssertBalanced();
    }

    // ---- who may move it ----

    [Fact]
    public void SpendingAHoldingTwiceIsHoldingSpent()
    {
        Assert.Null(Apply(TransferEntry(First, Alice, Bob)));

        Assert.Equal(LedgerReasons.HoldingSpent, Apply(TransferEntry(First, Alice, Carol)));
        Assert.Equal(LedgerReasons.HoldingSpent, Apply(SplitEntry(First, Alice, [(2500, Carol), (2500, Carol)])));
        Assert.Equal(LedgerReasons.HoldingSpent, Apply(ClaimEntry(First, Alice)));
        AssertBalanced();
    }

    [Fact]
    public void AByteIdenticalResendIsEntryDuplicate()
    {
        var t = TransferEntry(First, Alice, Bob);
        Assert.Null(Apply(t));

        Assert.Equal(LedgerReasons.EntryDuplicate, Apply(t));
        // Signed again (ECDSA is randomised): other bytes, so the rules speak instead.
        Assert.Equal(LedgerReasons.HoldingSpent, Apply(TransferEntry(First, Alice, Bob)));
    }

    [Fact]
    public void SomeoneElseSigningForTheOwnerIsNotOwner()
    {
        Assert.Equal(LedgerReasons.NotOwner, Apply(TransferEntry(First, Bob, Bob)));
        Assert.Equal(LedgerReasons.NotOwner, Apply(ClaimEntry(First, IssuerAKey)));
        Assert.Equal(LedgerReasons.NotOwner, Apply(SplitEntry(First, Carol, [(2500, Carol), (2500, Carol)])));
    }

    [Fact]
    public void KidOfTheOwnerButSignatureOfAnotherKeyIsEntrySignature()
    {
        // Bob names Alice's key as kid and signs with his own: the signature must not verify.
        var content = CoseMessage.DecodeSign1(TransferEntry(First, Alice, Bob)).Content!.Value.ToArray();
        var forged = CoseSign1Message.SignEmbedded(content, new CoseSigner(Bob, HashAlgorithmName.SHA256, new CoseHeaderMap
        {
            [CoseHeaderLabel.Algorithm] = CoseHeaderValue.FromInt32(-7),
            [CoseHeaderLabel.ContentType] = CoseHeaderValue.FromString(LedgerEntryCodec.ContentType),
            [CoseHeaderLabel.KeyIdentifier] = CoseHeaderValue.FromBytes(Spki(Alice)),
        }));

        Assert.Equal(LedgerReasons.EntrySignature, Apply(forged));
        Assert.True(State.FindHolding(First)!.IsLive);
    }

    [Fact]
    public void TamperedOwnerEntryIsEntrySignature()
    {
        var t = TransferEntry(First, Alice, Bob);
        var bob = Spki(Bob);
        var at = t.AsSpan().IndexOf(bob);
        // Redirect the transfer to Carol after Alice signed it.
        Spki(Carol).CopyTo(t.AsSpan(at));

        Assert.Equal(Spki(Carol), DecodeEntry(t).Transfer!.To);
        Assert.Equal(LedgerReasons.EntrySignature, Apply(t));
    }

    [Fact]
    public void UnknownCertificateOrHoldingIsRefused()
    {
        Assert.Equal(LedgerReasons.CertificateUnknown, Apply(TransferEntry(First, Alice, Bob, certificate: new byte[32])));
        Assert.Equal(LedgerReasons.HoldingUnknown, Apply(TransferEntry(SHA256.HashData("no such holding"u8), Alice, Bob)));
    }

    [Fact]
    public void HoldingOfAnotherCertificateIsHoldingCertificate()
    {
        var part1 = Certificate(part: 1) with { FaceValueWh = 1000, Quality = new(3, 1, 800, 200) };
        _ledger.Issued(part1);

        Assert.Equal(LedgerReasons.HoldingCertificate, Apply(TransferEntry(part1.Id, Alice, Bob)));
        Assert.Null(Apply(TransferEntry(part1.Id, Alice, Bob, certificate: part1.Id)));
    }

    [Fact]
    public void TransferToSomethingThatIsNotAP256KeyIsOwnerKeyInvalid()
    {
        var t = LedgerEntryCodec.SignTransferred(new Transfer(First, First, [1, 2, 3]), Alice, At);

        Assert.Equal(LedgerReasons.OwnerKeyInvalid, Apply(t));
    }

    // ---- splits ----

    public static TheoryData<ulong, ulong> OffSums => new() { { 2500, 2501 }, { 2500, 2499 }, { 4999, 2 }, { ulong.MaxValue, 5001 } };

    [Theory]
    [MemberData(nameof(OffSums))]
    public void PartsNotSummingToTheHoldingIsSplitSum(ulong a, ulong b)
    {
        // The last case wraps around 2^64 to exactly 5000: overflow must not mint energy.
        Assert.Equal(LedgerReasons.SplitSum, Apply(SplitEntry(First, Alice, [(a, Bob), (b, Carol)])));
        Assert.True(State.FindHolding(First)!.IsLive);
    }

    [Fact]
    public void SplitIntoFewerThanTwoOrEmptyPartsIsSplitParts()
    {
        Assert.Equal(LedgerReasons.SplitParts, Apply(SplitEntry(First, Alice, [(5000, Bob)])));
        Assert.Equal(LedgerReasons.SplitParts, Apply(SplitEntry(First, Alice, [(5000, Bob), (0, Carol)])));
        Assert.Equal(LedgerReasons.SplitParts, Apply(SplitEntry(First, Alice, [])));
    }

    // ---- claims ----

    [Theory]
    [InlineData("", Hour, Hour + 3600)]
    [InlineData("  ", Hour, Hour + 3600)]
    [InlineData("Acme\n", Hour, Hour + 3600)]
    [InlineData("Acme", Hour + 1, Hour + 3600)] // does not include the production hour
    [InlineData("Acme", Hour, Hour + 3599)]
    [InlineData("Acme", Hour + 3600, Hour)]
    public void ClaimWithoutBeneficiaryOrMatchingPeriodIsClaimInvalid(string beneficiary, long start, long end)
    {
        Assert.Equal(LedgerReasons.ClaimInvalid, Apply(ClaimEntry(First, Alice, beneficiary, start, end)));
    }

    [Fact]
    public void ClaimForAWholeYearIncludingTheHourPasses()
    {
        Assert.Null(Apply(ClaimEntry(First, Alice, "Acme", Hour - (200 * 86400), Hour + (165 * 86400))));
    }

    // ---- withdrawal ----

    [Fact]
    public void WithdrawalConsumesEveryLiveHolding()
    {
        var s = SplitEntry(First, Alice, [(1000, Bob), (4000, Carol)]);
        Assert.Null(Apply(s));

        Assert.Null(Apply(WithdrawEntry()));

        Assert.All(State.HoldingsOfCertificate(_cert.Id), h => Assert.False(h.IsLive));
        Assert.Equal(5000UL, State.FindCertificate(_cert.Id)!.WithdrawnWh);
        Assert.Equal(LedgerReasons.CertificateWithdrawn, Apply(TransferEntry(HoldingOf(s, 0), Bob, Alice)));
        Assert.Equal(LedgerReasons.CertificateWithdrawn, Apply(WithdrawEntry()));
        AssertBalanced();
    }

    [Fact]
    public void WithdrawalByAnotherIssuerOrOfAnUnknownCertificateIsRefused()
    {
        Assert.Equal(LedgerReasons.NotIssuingBody, Apply(WithdrawEntry(IssuerB, IssuerBKey)));
        Assert.Equal(LedgerReasons.CertificateUnknown, Apply(WithdrawEntry(certificate: new byte[32])));
        Assert.Equal(LedgerReasons.IssuerUnknown, Apply(WithdrawEntry("issuer-z", RogueKey)));
        Assert.Equal(LedgerReasons.EntrySignature, Apply(WithdrawEntry(IssuerA, RogueKey)));
    }

    [Fact]
    public void WithdrawalAfterAPartialClaimIsCertificateClaimed()
    {
        var s = SplitEntry(First, Alice, [(1, Bob), (4999, Carol)]);
        Assert.Null(Apply(s));
        Assert.Null(Apply(ClaimEntry(HoldingOf(s, 0), Bob)));

        Assert.Equal(LedgerReasons.CertificateClaimed, Apply(WithdrawEntry()));
    }

    // ---- time ----

    [Fact]
    public void OwnerEntryAtOrAfterExpiryIsCertificateExpired()
    {
        Assert.Equal(LedgerReasons.CertificateExpired, Apply(TransferEntry(First, Alice, Bob, at: _cert.ExpiresAt)));
        Assert.Null(Apply(TransferEntry(First, Alice, Bob, at: _cert.ExpiresAt - 1)));
    }

    [Fact]
    public void LedgerTimePastExpiryExpiresTheCertificateWhateverTheOwnerEntrySays()
    {
        // An issuer entry moves ledger time past expiry; the owner dates their entry just before it.
        _ledger.Applied(LedgerEntryCodec.SignDeviceRegistered(Device("meter-02"), IssuerA, IssuerAKey, _cert.ExpiresAt + 10));

        Assert.Equal(LedgerReasons.CertificateExpired, Apply(TransferEntry(First, Alice, Bob, at: _cert.ExpiresAt - 100)));
    }

    [Fact]
    public void OwnerEntryDatedMoreThanTheSkewBeforeLedgerTimeIsEntryStale()
    {
        var ledgerTime = State.LedgerTime;

        Assert.Equal(LedgerReasons.EntryStale, Apply(TransferEntry(First, Alice, Bob, at: ledgerTime - Membership.DefaultMaxClockSkewSeconds - 1)));
        Assert.Null(Apply(TransferEntry(First, Alice, Bob, at: ledgerTime - Membership.DefaultMaxClockSkewSeconds)));
    }

    [Fact]
    public void OwnerEntriesDoNotMoveLedgerTime()
    {
        var before = State.LedgerTime;

        Assert.Null(Apply(TransferEntry(First, Alice, Bob, at: _cert.ExpiresAt - 1)));

        Assert.Equal(before, State.LedgerTime);
    }

    // ---- issuance rules added with holdings ----

    [Fact]
    public void PartsComeInOrder()
    {
        var small = (GranularCertificate c) => c with { FaceValueWh = 1000, Quality = new(3, 1, 800, 200) };

        Assert.Equal(LedgerReasons.CertificatePart, Apply(LedgerEntryCodec.SignCertificateIssued(small(Certificate(part: 2)), IssuerA, IssuerAKey)));
        Assert.Null(Apply(LedgerEntryCodec.SignCertificateIssued(small(Certificate(part: 1)), IssuerA, IssuerAKey)));
        Assert.Null(Apply(LedgerEntryCodec.SignCertificateIssued(small(Certificate(part: 2)), IssuerA, IssuerAKey)));

        using var fresh = new InMemoryLedger().Register(Device());
        Assert.Equal(LedgerReasons.CertificatePart, fresh.Check(LedgerEntryCodec.SignCertificateIssued(small(Certificate(part: 1)), IssuerA, IssuerAKey)));
    }

    [Fact]
    public void AllPartsOfAnHourTogetherMayNotExceedCapacity()
    {
        // 10 kW: 10 000 Wh in the hour; part 0 has 5000.
        var part1 = Certificate(part: 1) with { FaceValueWh = 5001, Quality = new(3, 1, 5001, 0) };

        Assert.Equal(LedgerReasons.CertificateCapacity, Apply(LedgerEntryCodec.SignCertificateIssued(part1, IssuerA, IssuerAKey)));
        Assert.Null(Apply(LedgerEntryCodec.SignCertificateIssued(part1 with { FaceValueWh = 5000, Quality = new(3, 1, 5000, 0) }, IssuerA, IssuerAKey)));
    }

    [Fact]
    public void ExpiryBeyondTheMembershipsValidityIsCertificateValidity()
    {
        using var ledger = new InMemoryLedger(Consortium() with { CertificateValiditySeconds = 30 * 86400 }).Register(Device());
        var c = Certificate();

        Assert.Equal(LedgerReasons.CertificateValidity, ledger.Check(LedgerEntryCodec.SignCertificateIssued(c, IssuerA, IssuerAKey)));
        Assert.Null(ledger.Check(LedgerEntryCodec.SignCertificateIssued(c with { ExpiresAt = c.PeriodEnd + (30 * 86400) }, IssuerA, IssuerAKey)));
    }

    // ---- meter keys and revocation ----

    private static byte[] Rotation(long from, ECDsa? key = null, string meter = ReadingFixtures.Meter, string issuer = IssuerA, ECDsa? issuerKey = null) =>
        LedgerEntryCodec.SignDeviceKeyRotated(new DeviceKeyRotation(meter, Spki(key ?? ReadingFixtures.OtherKey), from), issuer, issuerKey ?? IssuerAKey, Hour + 4000);

    private static byte[] Revocation(long from, string issuer = IssuerA, ECDsa? issuerKey = null, string meter = ReadingFixtures.Meter) =>
        LedgerEntryCodec.SignDeviceRevoked(new DeviceRevocation(meter, from, "meter stolen"), issuer, issuerKey ?? IssuerAKey, Hour + 4000);

    [Fact]
    public void RotationsMustStartStrictlyAfterThePreviousKey()
    {
        Assert.Null(Apply(Rotation(Hour + 3600)));
        Assert.Equal(LedgerReasons.DeviceRotationOrder, Apply(Rotation(Hour + 3600, Bob)));
        Assert.Equal(LedgerReasons.DeviceRotationOrder, Apply(Rotation(Hour, Bob)));
        Assert.Null(Apply(Rotation(Hour + 3601, Bob)));

        var device = State.FindDevice(ReadingFixtures.Meter)!;
        Assert.Equal(Spki(ReadingFixtures.MeterKey), device.KeyAt(Hour + 3599));
        Assert.Equal(Spki(ReadingFixtures.OtherKey), device.KeyAt(Hour + 3600));
        Assert.Equal(Spki(Bob), device.KeyAt(Hour + 3601));
        Assert.Equal(Spki(Bob), device.CurrentKey);
    }

    [Fact]
    public void RotationIsForTheZoneIssuerOfARegisteredMeterWithAValidKey()
    {
        Assert.Equal(LedgerReasons.IssuerZone, Apply(Rotation(Hour, issuer: IssuerB, issuerKey: IssuerBKey)));
        Assert.Equal(LedgerReasons.DeviceUnknown, Apply(Rotation(Hour, meter: "meter-99")));
        Assert.Equal(LedgerReasons.DeviceKeyInvalid, Apply(LedgerEntryCodec.SignDeviceKeyRotated(new DeviceKeyRotation(ReadingFixtures.Meter, [4, 2], Hour), IssuerA, IssuerAKey, Hour)));
    }

    [Fact]
    public void RevokedMeterGetsNoCertificateEndingAfterTheRevocationAndNoMoreDeviceEntries()
    {
        Assert.Null(Apply(Revocation(Hour + (3 * 3600))));

        var before = Rederived(Certificate() with { PeriodStart = Hour + (2 * 3600), PeriodEnd = Hour + (3 * 3600), IssuedAt = Hour + (4 * 3600), ExpiresAt = Hour + (3 * 3600) + 86400 });
        var after = Rederived(before with { PeriodStart = Hour + (3 * 3600), PeriodEnd = Hour + (4 * 3600), IssuedAt = Hour + (5 * 3600), ExpiresAt = Hour + (4 * 3600) + 86400 });
        Assert.Equal(LedgerReasons.DeviceRevoked, Apply(LedgerEntryCodec.SignCertificateIssued(after, IssuerA, IssuerAKey)));
        Assert.Null(Apply(LedgerEntryCodec.SignCertificateIssued(before, IssuerA, IssuerAKey)));
        Assert.Equal(LedgerReasons.DeviceRevoked, Apply(Rotation(Hour + (5 * 3600))));
        Assert.Equal(LedgerReasons.DeviceRevoked, Apply(Revocation(Hour)));
        // Revocation stops issuance, not the trade of what was issued before it.
        Assert.Null(Apply(TransferEntry(First, Alice, Bob, at: Hour + (4 * 3600))));
    }

    [Fact]
    public void RevocationIsForTheZoneIssuer()
    {
        Assert.Equal(LedgerReasons.IssuerZone, Apply(Revocation(Hour, IssuerB, IssuerBKey)));
        Assert.Equal(LedgerReasons.DeviceUnknown, Apply(Revocation(Hour, meter: "meter-99")));
    }

    [Fact]
    public void RegistrationWithAnInvalidOwnerKeyIsOwnerKeyInvalid()
    {
        using var ledger = new InMemoryLedger();

        Assert.Equal(LedgerReasons.OwnerKeyInvalid, ledger.Check(LedgerEntryCodec.SignDeviceRegistered(Device(), IssuerA, IssuerAKey, Hour, [0x30, 0x00])));
    }

    // ---- membership ----

    private static Membership WithIssuerC(Membership m) =>
        m with { Issuers = [.. m.Issuers, new IssuerMember("issuer-c", Spki(RogueKey), ["NL"])] };

    private static byte[] Change(Membership next, params (string Name, ECDsa Key)[] signers) =>
        LedgerEntryCodec.SignMembershipChanged(next, Consortium(), Hour + 5000, signers);

    [Fact]
    public void MembershipChangeWithAQuorumTakesEffectFromTheNextEntry()
    {
        var next = WithIssuerC(Consortium());
        var size = State.Size;

        Assert.Null(Apply(Change(next, ("node-1", Node1Key), ("node-3", Node3Key))));

        Assert.Equal(next.Digest(), State.Membership.Digest());
        Assert.True(State.Trust.TryGetIssuer("issuer-c", out _, out _));
        Assert.Same(State.TrustAt(size), State.TrustAt(0));
        Assert.Same(State.Trust, State.TrustAt(size + 1));
        Assert.Equal(Hour + 5000, State.LedgerTime);
        var nl = Device("nl-meter", zone: "NL");
        Assert.Null(Apply(LedgerEntryCodec.SignDeviceRegistered(nl, "issuer-c", RogueKey, Hour + 5000)));
    }

    [Fact]
    public void MembershipChangeWithOneSignatureTooFewIsMembershipQuorum()
    {
        Assert.Equal(LedgerReasons.MembershipQuorum, Apply(Change(WithIssuerC(Consortium()), ("node-2", Node2Key))));
        Assert.False(State.Trust.TryGetIssuer("issuer-c", out _, out _));
    }

    [Fact]
    public void MembershipChangeSignedTwiceByOneNodeIsMembershipSignerDuplicate()
    {
        Assert.Equal(LedgerReasons.MembershipSignerDuplicate, Apply(Change(WithIssuerC(Consortium()), ("node-2", Node2Key), ("node-2", Node2Key))));
    }

    [Fact]
    public void MembershipChangeSignedByANonMemberIsMembershipSigner()
    {
        Assert.Equal(LedgerReasons.MembershipSigner, Apply(Change(WithIssuerC(Consortium()), ("node-1", Node1Key), ("node-9", RogueKey))));
        // An issuer is no ledger node either.
        Assert.Equal(LedgerReasons.MembershipSigner, Apply(Change(WithIssuerC(Consortium()), ("node-1", Node1Key), (IssuerA, IssuerAKey))));
    }

    [Fact]
    public void MembershipChangeWithAForgedNodeSignatureIsEntrySignature()
    {
        Assert.Equal(LedgerReasons.EntrySignature, Apply(Change(WithIssuerC(Consortium()), ("node-1", Node1Key), ("node-2", RogueKey))));
    }

    [Fact]
    public void MembershipChangeNotNamingTheCurrentMembershipIsMembershipPrevious()
    {
        var stale = LedgerEntryCodec.SignMembershipChanged(WithIssuerC(Consortium()), Consortium() with { Quorum = 3 }, Hour + 5000, [("node-1", Node1Key), ("node-2", Node2Key)]);

        Assert.Equal(LedgerReasons.MembershipPrevious, Apply(stale));
    }

    [Fact]
    public void AfterAChangeTheOldMembershipCanNoLongerChangeIt()
    {
        var next = WithIssuerC(Consortium());
        Assert.Null(Apply(Change(next, ("node-1", Node1Key), ("node-2", Node2Key))));

        // Signed against the genesis membership, which is no longer current.
        Assert.Equal(LedgerReasons.MembershipPrevious, Apply(Change(Consortium() with { Quorum = 3 }, ("node-1", Node1Key), ("node-2", Node2Key))));
        // Removing a node: the removed node no longer counts towards the quorum after.
        var without3 = next with { Nodes = next.Nodes.Take(2).ToList() };
        Assert.Null(Apply(LedgerEntryCodec.SignMembershipChanged(without3, next, Hour + 6000, [("node-2", Node2Key), ("node-3", Node3Key)])));
        Assert.Equal(LedgerReasons.MembershipSigner, Apply(LedgerEntryCodec.SignMembershipChanged(next, without3, Hour + 7000, [("node-1", Node1Key), ("node-3", Node3Key)])));
    }

    [Fact]
    public void MembershipChangeOfTheOriginOrLeavingTooFewVotersIsMembershipInvalid()
    {
        Assert.Equal(LedgerReasons.MembershipInvalid, Apply(Change(Consortium() with { Origin = "elsewhere" }, ("node-1", Node1Key), ("node-2", Node2Key))));
        var voiceless = Consortium() with { Nodes = Consortium().Nodes.Select(n => n with { PublicKey = null }).ToList() };
        Assert.Equal(LedgerReasons.MembershipInvalid, Apply(Change(voiceless, ("node-1", Node1Key), ("node-2", Node2Key))));
    }

    [Fact]
    public void NodeSignaturesCanBeAddedOneByOne()
    {
        var one = Change(WithIssuerC(Consortium()), ("node-1", Node1Key));
        var two = LedgerEntryCodec.AddNodeSignature(one, "node-2", Node2Key);

        Assert.Equal(["node-1", "node-2"], DecodeEntry(two).NodeSignatures().Select(s => s.NodeName));
        Assert.Equal(LedgerReasons.MembershipQuorum, Apply(one));
        Assert.Null(Apply(two));
    }
}
