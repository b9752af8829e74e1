using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.Ledger;

public sealed class LedgerNodeOwnershipTests : IDisposable
{
    private const long Hour10 = LedgerFixture.RegisteredAt + (10 * 3600);
    private const long OwnerAt = LedgerFixture.RegisteredAt + 86_400 + 60;

    private readonly TempDirectory _dir = new();
    private readonly LedgerFixture _ledger = new();
    private readonly TestMeter _a = new("meter-a");
    private readonly TestMeter _b = new("meter-b");
    private readonly ECDsa _alice = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _bob = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private string DbPath => _dir.File("ledger.db");

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _alice.Dispose();
        _bob.Dispose();
        _ledger.Dispose();
        _dir.Dispose();
    }

    private byte[] RegisterOwnedByAlice(TestMeter meter) =>
        LedgerEntryCodec.SignDeviceRegistered(meter.Device, LedgerFixture.IssuerId, _ledger.IssuerKey, LedgerFixture.RegisteredAt, _alice.ExportSubjectPublicKeyInfo());

    [Fact]
    public void OwnerEntriesOfOneBatchAreJudgedInLogOrder()
    {
        using var node = new LedgerNode(new SqliteLedgerStore(DbPath), _ledger.Trust, _ledger.Node);
        var cert = LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10)).Certificate;
        var toBob = LedgerEntryCodec.SignTransferred(new Transfer(cert.Id, cert.Id, _bob.ExportSubjectPublicKeyInfo()), _alice, OwnerAt);
        var doubleSpend = LedgerEntryCodec.SignTransferred(new Transfer(cert.Id, cert.Id, _alice.ExportSubjectPublicKeyInfo()), _alice, OwnerAt);
        var bobsHolding = HoldingIds.Compute(SHA256.HashData(toBob), 0);
        var aliceSignsForBob = LedgerEntryCodec.SignClaimed(new Claim(cert.Id, bobsHolding, "Acme", Hour10, Hour10 + 3600), _alice, OwnerAt);
        var claim = LedgerEntryCodec.SignClaimed(new Claim(cert.Id, bobsHolding, "Acme", Hour10, Hour10 + 3600), _bob, OwnerAt);
        var batch = new ReadOnlyMemory<byte>[] { RegisterOwnedByAlice(_a), _ledger.CertificateEntry(cert), toBob, doubleSpend, aliceSignsForBob, claim, claim };

        var outcomes = node.Submit(batch);

        Assert.Equal([null, null, null, LedgerReasons.HoldingSpent, LedgerReasons.NotOwner, null, LedgerReasons.EntryDuplicate], outcomes.Select(o => o.Rejection?.Code));
        Assert.Equal([EntryKind.CertificateIssued, EntryKind.Transferred, EntryKind.Claimed], node.CertificateHistory(cert.Id).Select(e => e.Kind));
        Assert.Equal(HoldingStatus.Claimed, node.FindHolding(bobsHolding)!.Status);
        Assert.Empty(node.HoldingsOf(_bob.ExportSubjectPublicKeyInfo()));
        var stored = node.Store.Get(2)!;
        Assert.Equal(LedgerEntry.OwnerId(_alice.ExportSubjectPublicKeyInfo()), stored.Author);
        Assert.Null(stored.MeterId);
        Assert.Equal(cert.Id, stored.CertificateId);

        // A reopened node derives the same state from its store.
        node.Dispose();
        using var reopened = new LedgerNode(new SqliteLedgerStore(DbPath), _ledger.Trust, _ledger.Node);
        Assert.Equal(HoldingStatus.Claimed, reopened.FindHolding(bobsHolding)!.Status);
        Assert.Equal(LedgerReasons.HoldingClaimed, reopened.Submit(LedgerEntryCodec.SignTransferred(new Transfer(cert.Id, bobsHolding, _alice.ExportSubjectPublicKeyInfo()), _bob, OwnerAt)).Rejection?.Code);
    }

    [Fact]
    public void WhenAnotherWriterAppendedFirstTheNodeCatchesUpAndJudgesTheBatchAgain()
    {
        var certB = LedgerFixture.Issue(_b, LedgerFixture.HourOfReadings(_b, Hour10)).Certificate;
        var registrationB = _ledger.Registration(_b.Device);
        var inner = new SqliteLedgerStore(DbPath);
        var store = DispatchProxy.Create<ILedgerStore, InterposingStore>();
        var proxy = (InterposingStore)(object)store;
        proxy.Inner = inner;
        // The other writer puts meter-b's registration in the store just before this node's first append.
        proxy.BeforeFirstAppend = () => inner.Append([new StoredEntry(inner.Count, SHA256.HashData(registrationB), EntryKind.DeviceRegistered, LedgerFixture.IssuerId, "meter-b", null, registrationB, MerkleHash.Leaf(registrationB))]);
        using var node = new LedgerNode(store, _ledger.Trust, _ledger.Node);

        // Alone, the certificate would be refused (its meter is not registered); after catching up it is not.
        var outcomes = node.Submit([_ledger.Registration(_a.Device), _ledger.CertificateEntry(certB)]);

        Assert.All(outcomes, o => Assert.True(o.Accepted, o.Rejection?.ToString()));
        Assert.Equal([1L, 2L], outcomes.Select(o => o.Appended!.Index));
        Assert.Equal(3, node.Size);
        Assert.Equal(["meter-b", "meter-a", "meter-b"], inner.ReadAll().Select(e => e.MeterId));
    }

    /// <summary>Forwards every call to <see cref="Inner"/>, running <see cref="BeforeFirstAppend"/> once first.</summary>
    public class InterposingStore : DispatchProxy
    {
        public ILedgerStore Inner { get; set; } = null!;

        public Action? BeforeFirstAppend { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == nameof(ILedgerStore.Append) && BeforeFirstAppend is { } before)
            {
                BeforeFirstAppend = null;
                before();
            }
            try
            {
                return targetMethod.Invoke(Inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                ExceptionDispatchInfo.Throw(e.InnerException);
                throw;
            }
        }
    }
}
