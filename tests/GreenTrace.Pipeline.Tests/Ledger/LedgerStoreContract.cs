using System.Collections.Concurrent;
using System.Security.Cryptography;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Pipeline.Tests.Ledger;

/// <summary>
/// What every <see cref="ILedgerStore"/> must do, whatever keeps it: the same tests run on SQLite and PostgreSQL.
/// The store does not interpret entries, so most tests use synthetic ones.
/// </summary>
public abstract class LedgerStoreContract : IDisposable
{
    private readonly List<ILedgerStore> _opened = [];

    /// <summary>A new store instance on this test's database (the same one each call).</summary>
    protected abstract ILedgerStore CreateStore();

    /// <summary>Runs a statement on the test's database behind the store's back; returns the rows it changed.</summary>
    protected abstract int ExecuteRaw(string sql);

    /// <summary>The rejections table, in insertion order.</summary>
    protected abstract IReadOnlyList<(byte[] EntryId, string Code, string Message, long At)> Rejections();

    protected ILedgerStore Open()
    {
        var store = CreateStore();
        _opened.Add(store);
        return store;
    }

    public virtual void Dispose()
    {
        foreach (var store in _opened)
            store.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void AppendedEntriesReadBackByteForByte()
    {
        var store = Open();
        Assert.Equal(0, store.Count);
        Assert.Empty(store.ReadAll());
        var entries = Entries(0, 3);
        store.Append(entries);
        store.Append([]);

        Assert.Equal(3, store.Count);
        AssertSame(entries, store.ReadAll().ToList());
        AssertSame([entries[1]], [store.Get(1)!]);
        Assert.Null(store.Get(3));
        Assert.Null(store.Get(-1));
    }

    [Fact]
    public void ReopeningKeepsEntriesCheckpointsAndRejections()
    {
        var entries = Entries(0, 4);
        var rejected = RandomNumberGenerator.GetBytes(32);
        using (var store = CreateStore())
        {
            store.Append(entries[..2]);
            store.Append(entries[2..]);
            store.SaveCheckpoint(new StoredCheckpoint(2, Root(1), "note at 2", 100));
            store.SaveCheckpoint(new StoredCheckpoint(4, Root(7), "note at 4", 200, 3));
            store.RecordRejection(rejected, "entry-malformed", "garbage", 150);
        }

        var reopened = Open();
        Assert.Equal(4, reopened.Count);
        AssertSame(entries, reopened.ReadAll().ToList());
        AssertCheckpoint(new StoredCheckpoint(4, Root(7), "note at 4", 200, 3), reopened.LatestCheckpoint());
        AssertCheckpoint(new StoredCheckpoint(2, Root(1), "note at 2", 100, 1), reopened.GetCheckpoint(2));
        var rejection = Assert.Single(Rejections());
        Assert.Equal(rejected, rejection.EntryId);
        Assert.Equal(("entry-malformed", "garbage", 150L), (rejection.Code, rejection.Message, rejection.At));

        reopened.Append(Entries(4, 1));
        Assert.Equal(5, reopened.Count);
    }

    [Theory]
    [InlineData(3)] // leaving a gap
    [InlineData(1)] // overwriting the log
    [InlineData(0)]
    public void ABatchThatDoesNotContinueTheLogIsAConflictAndWritesNothing(long wrongIndex)
    {
        var store = Open();
        var entries = Entries(0, 2);
        store.Append(entries);

        var e = Assert.Throws<LedgerAppendConflictException>(() => store.Append(Entries(wrongIndex, 2)));
        Assert.Equal((wrongIndex, 2L), (e.AttemptedIndex, e.NextIndex));

        Assert.Equal(2, store.Count);
        AssertSame(entries, store.ReadAll().ToList());
        store.Append(Entries(2, 1)); // and the log still continues where it was
        Assert.Equal(3, store.Count);
    }

    [Theory]
    [InlineData(4)] // a gap inside the batch
    [InlineData(2)] // the same index twice in one batch
    [InlineData(1)]
    public void ABatchWithIndexesOutOfSequenceIsRefusedWhole(long wrongIndex)
    {
        var store = Open();
        store.Append(Entries(0, 2));
        var batch = new[] { Entries(2, 1)[0], Entries(wrongIndex, 1)[0] };

        var e = Assert.Throws<InvalidOperationException>(() => store.Append(batch));
        Assert.IsNotType<LedgerAppendConflictException>(e); // a caller's bug, not another writer

        Assert.Equal(2, store.Count);
        Assert.Null(store.Get(2)); // the valid first entry of the batch went with it: all or nothing
    }

    [Fact]
    public void ABatchFailingHalfWayInTheDatabaseLeavesNothingBehind()
    {
        var store = Open();
        var first = Entries(0, 2);
        store.Append(first);
        // Entries 2..4 are fine; 5 repeats entry 0's id, which only the database's unique index notices.
        var batch = Entries(2, 4);
        batch[3] = batch[3] with { EntryId = first[0].EntryId };

        var e = Assert.Throws<InvalidOperationException>(() => store.Append(batch));
        Assert.IsNotType<LedgerAppendConflictException>(e);

        Assert.Equal(2, store.Count);
        AssertSame(first, store.ReadAll().ToList());
        Assert.Empty(store.FindByMeter("meter-2"));
        var retry = Entries(2, 4);
        store.Append(retry);
        AssertSame([.. first, .. retry], store.ReadAll().ToList());
    }

    [Fact]
    public void ASecondStoreOnTheSameDatabaseThatIsBehindGetsAConflict()
    {
        var a = Open();
        var b = Open();
        var entries = Entries(0, 3);
        a.Append(entries[..2]);

        // b last saw an empty log: its append at 0 must not overwrite or interleave with a's.
        var e = Assert.Throws<LedgerAppendConflictException>(() => b.Append(Entries(0, 1)));
        Assert.Equal(2, e.NextIndex);
        Assert.Equal(2, b.Count); // what a caller reloads from
        b.Append(entries[2..]);
        Assert.Equal(3, a.Count);
        AssertSame(entries, a.ReadAll().ToList());
    }

    [Fact]
    public async Task TwoWritersAppendingAtOnceNeitherLoseNorDuplicateNorInterleave()
    {
        const int batchesEach = 25;
        var landed = new ConcurrentDictionary<long, StoredEntry[]>();
        var refused = new ConcurrentBag<StoredEntry[]>();
        var stores = new[] { Open(), Open() };
        using var start = new Barrier(stores.Length);

        var writers = stores.Select((store, writer) => Task.Run(() =>
        {
            start.SignalAndWait(TestContext.Current.CancellationToken);
            var done = 0;
            for (var attempt = 0; done < batchesEach; attempt++)
            {
                Assert.True(attempt < 10_000, "a writer made no progress");
                // Each writer's entries are its own (distinct bytes), sized 1..4 so batches straddle each other.
                var batch = Entries(store.Count, 1 + ((writer + attempt) % 4), tag: $"w{writer}-{attempt}");
                try
                {
                    store.Append(batch);
                    Assert.True(landed.TryAdd(batch[0].Index, batch), $"two batches both landed at {batch[0].Index}");
                    done++;
                }
                catch (LedgerAppendConflictException)
                {
                    refused.Add(batch);
                }
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(writers);

        var log = Open().ReadAll().ToList();
        var expected = landed.OrderBy(b => b.Key).SelectMany(b => b.Value).ToList();
        Assert.Equal(batchesEach * stores.Length, landed.Count);
        Assert.Equal(Enumerable.Range(0, log.Count).Select(i => (long)i), log.Select(e => e.Index));
        AssertSame(expected, log); // every landed batch, contiguous, nothing else
        var ids = log.Select(e => Convert.ToHexString(e.EntryId)).ToHashSet();
        Assert.DoesNotContain(refused.SelectMany(b => b), e => ids.Contains(Convert.ToHexString(e.EntryId)));
    }

    [Fact]
    public void ReadRangeReadsHalfOpenRangesAndStopsAtTheEnd()
    {
        var store = Open();
        var entries = Entries(0, 5);
        store.Append(entries);

        AssertSame(entries[1..3], store.ReadRange(1, 3).ToList());
        AssertSame(entries, store.ReadRange(0, 5).ToList());
        Assert.Empty(store.ReadRange(2, 2));
        AssertSame(entries[3..], store.ReadRange(3, 100).ToList()); // past the end: what exists
        Assert.Empty(store.ReadRange(5, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadRange(-1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ReadRange(3, 2));
    }

    [Fact]
    public void ReadAllAndReadRangeCrossPageBoundaries()
    {
        // The stores read 10,000 entries per query; this log spans three pages.
        var store = Open();
        var entries = Entries(0, 20_003, size: 8);
        foreach (var batch in entries.Chunk(2_000))
            store.Append(batch);

        var all = store.ReadAll().ToList();
        AssertSame(entries, all);
        AssertSame(entries[9_999..10_002], store.ReadRange(9_999, 10_002).ToList());
        AssertSame(entries[5..20_001], store.ReadRange(5, 20_001).ToList());
    }

    [Fact]
    public void FindersReturnTheEntriesNamingACertificateOrAMeterInLogOrder()
    {
        var store = Open();
        var certificate = RandomNumberGenerator.GetBytes(32);
        var other = RandomNumberGenerator.GetBytes(32);
        var entries = new[]
        {
            Entry(0, EntryKind.DeviceRegistered, "meter-a", null),
            Entry(1, EntryKind.DeviceRegistered, "meter-b", null),
            Entry(2, EntryKind.CertificateIssued, "meter-a", certificate),
            Entry(3, EntryKind.CertificateIssued, "meter-b", other),
            Entry(4, EntryKind.CertificateIssued, null, certificate), // a later entry about the same certificate (a transfer, say)
            Entry(5, EntryKind.DeviceRegistered, null, certificate), // the store does not check what kinds name what
        };
        store.Append(entries);

        AssertSame([entries[2], entries[4], entries[5]], store.FindByCertificate(certificate));
        AssertSame([entries[3]], store.FindByCertificate(other));
        Assert.Empty(store.FindByCertificate(new byte[32]));
        AssertSame([entries[0], entries[2]], store.FindByMeter("meter-a"));
        Assert.Empty(store.FindByMeter("meter-c"));

        AssertSame([entries[2]], [store.FindCertificate(certificate)!]);
        Assert.Null(store.FindCertificate(new byte[32]));
        AssertSame([entries[1]], [store.FindDevice("meter-b")!]);
        Assert.Null(store.FindDevice("meter-c"));
        store.Append([Entry(6, EntryKind.CertificateIssued, "meter-c", RandomNumberGenerator.GetBytes(32))]);
        Assert.Null(store.FindDevice("meter-c")); // a certificate of the meter is not its registration
    }

    [Fact]
    public void ACheckpointSavedAgainKeepsTheLargerSignatureSetAndNeverAnotherRoot()
    {
        var store = Open();
        store.SaveCheckpoint(new StoredCheckpoint(10, Root(1), "signed by 1", 100, 1));
        store.SaveCheckpoint(new StoredCheckpoint(10, Root(1), "signed by 3", 101, 3));
        AssertCheckpoint(new StoredCheckpoint(10, Root(1), "signed by 3", 101, 3), store.GetCheckpoint(10));

        store.SaveCheckpoint(new StoredCheckpoint(10, Root(1), "signed by 2", 102, 2)); // a late, smaller set
        AssertCheckpoint(new StoredCheckpoint(10, Root(1), "signed by 3", 101, 3), store.GetCheckpoint(10));

        store.SaveCheckpoint(new StoredCheckpoint(10, Root(1), "signed by 3, others", 103, 3));
        AssertCheckpoint(new StoredCheckpoint(10, Root(1), "signed by 3, others", 103, 3), store.GetCheckpoint(10));

        var e = Assert.Throws<InvalidOperationException>(() => store.SaveCheckpoint(new StoredCheckpoint(10, Root(2), "a fork", 104, 5)));
        Assert.Contains("root", e.Message, StringComparison.Ordinal);
        AssertCheckpoint(new StoredCheckpoint(10, Root(1), "signed by 3, others", 103, 3), store.GetCheckpoint(10));
        Assert.Single(store.Checkpoints());
    }

    [Fact]
    public void LatestCheckpointIsTheLargestWithEnoughSignatures()
    {
        var store = Open();
        Assert.Null(store.LatestCheckpoint());
        Assert.Null(store.GetCheckpoint(5));
        Assert.Empty(store.Checkpoints());

        store.SaveCheckpoint(new StoredCheckpoint(5, Root(5), "5", 1, 3));
        store.SaveCheckpoint(new StoredCheckpoint(20, Root(20), "20", 3, 1));
        store.SaveCheckpoint(new StoredCheckpoint(10, Root(10), "10", 2, 2));

        Assert.Equal(20, store.LatestCheckpoint()!.Size);
        Assert.Equal(20, store.LatestCheckpoint(1)!.Size);
        Assert.Equal(10, store.LatestCheckpoint(2)!.Size);
        Assert.Equal(5, store.LatestCheckpoint(3)!.Size);
        Assert.Null(store.LatestCheckpoint(4));
        Assert.Equal([5L, 10L, 20L], store.Checkpoints().Select(c => c.Size));
        AssertCheckpoint(new StoredCheckpoint(10, Root(10), "10", 2, 2), store.Checkpoints()[1]);

        store.SaveCheckpoint(new StoredCheckpoint(20, Root(20), "20 cosigned", 4, 3));
        Assert.Equal(20, store.LatestCheckpoint(3)!.Size);
    }

    [Fact]
    public void RejectionsAreRecordedInOrder()
    {
        var store = Open();
        var ids = new[] { RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32) };
        store.RecordRejection(ids[0], "signature-invalid", "bad signature", 10);
        store.RecordRejection(ids[1], "entry-malformed", "not CBOR", 11);
        store.RecordRejection(ids[0], "signature-invalid", "bad signature again", 12);

        Assert.Equal(
            [(Convert.ToHexString(ids[0]), "signature-invalid", "bad signature", 10L), (Convert.ToHexString(ids[1]), "entry-malformed", "not CBOR", 11L), (Convert.ToHexString(ids[0]), "signature-invalid", "bad signature again", 12L)],
            Rejections().Select(r => (Convert.ToHexString(r.EntryId), r.Code, r.Message, r.At)));
        Assert.Equal(0, store.Count); // a rejection is not an entry
        // What a submitter that runs no node looks up: the verdicts on its own entry, oldest first.
        Assert.Equal([("bad signature", 10L), ("bad signature again", 12L)], store.FindRejections(ids[0]).Select(r => (r.Message, r.At)));
        Assert.All(store.FindRejections(ids[0]), r => Assert.Equal(ids[0], r.EntryId));
        Assert.Empty(store.FindRejections(RandomNumberGenerator.GetBytes(32)));
    }

    [Fact]
    public void AnEntryIsFoundByItsId()
    {
        var store = Open();
        var entries = Entries(0, 3);
        store.Append(entries);

        Assert.Equal(entries[1].Encoded, store.FindEntry(entries[1].EntryId)!.Encoded);
        Assert.Equal(1, store.FindEntry(entries[1].EntryId)!.Index);
        Assert.Null(store.FindEntry(RandomNumberGenerator.GetBytes(32)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void AStoreWithAGapInItsIndexesRefusesToOpen(long deleted)
    {
        using (var store = CreateStore())
            store.Append(Entries(0, 3));
        Assert.Equal(1, ExecuteRaw($"DELETE FROM entries WHERE idx = {deleted}"));

        var e = Assert.Throws<InvalidDataException>(() => Open());
        Assert.Contains("gaps", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Synthetic entries: even indexes register meter-i, odd ones certify for it; <paramref name="tag"/> makes their bytes unique.</summary>
    internal static StoredEntry[] Entries(long first, int count, string tag = "", int size = 40) =>
        Enumerable.Range(0, count).Select(i => first + i).Select(index =>
        {
            var encoded = RandomNumberGenerator.GetBytes(size + (int)(index % 64));
            var isDevice = index % 2 == 0;
            return Entry(index, isDevice ? EntryKind.DeviceRegistered : EntryKind.CertificateIssued, $"meter-{index}{tag}",
                isDevice ? null : SHA256.HashData(BitConverter.GetBytes(index)), encoded);
        }).ToArray();

    internal static StoredEntry Entry(long index, EntryKind kind, string? meterId, byte[]? certificateId, byte[]? encoded = null)
    {
        encoded ??= RandomNumberGenerator.GetBytes(48);
        return new StoredEntry(index, SHA256.HashData(encoded), kind, "issuer-de", meterId, certificateId, encoded, MerkleHash.Leaf(encoded));
    }

    private static byte[] Root(byte fill) => Enumerable.Repeat(fill, 32).ToArray();

    private static void AssertCheckpoint(StoredCheckpoint expected, StoredCheckpoint? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal((expected.Size, expected.Note, expected.SignedAt, expected.SignatureCount), (actual.Size, actual.Note, actual.SignedAt, actual.SignatureCount));
        Assert.Equal(expected.Root, actual.Root);
    }

    internal static void AssertSame(IReadOnlyList<StoredEntry> expected, IReadOnlyList<StoredEntry> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Index, actual[i].Index);
            Assert.Equal(expected[i].EntryId, actual[i].EntryId);
            Assert.Equal(expected[i].Kind, actual[i].Kind);
            Assert.Equal(expected[i].Author, actual[i].Author);
            Assert.Equal(expected[i].MeterId, actual[i].MeterId);
            Assert.Equal(expected[i].CertificateId, actual[i].CertificateId);
            Assert.Equal(expected[i].Encoded, actual[i].Encoded);
            Assert.Equal(expected[i].LeafHash, actual[i].LeafHash);
        }
    }
}
