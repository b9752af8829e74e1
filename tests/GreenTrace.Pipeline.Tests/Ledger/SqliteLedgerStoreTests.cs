using System.Security.Cryptography;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Pipeline.Tests.Ledger;

public sealed class SqliteLedgerStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private string DbPath => _dir.File("ledger.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AppendedEntriesReadBackAsWritten()
    {
        using var store = new SqliteLedgerStore(DbPath);
        var entries = Entries(0, 3);
        store.Append(entries);
        store.Append([]);

        Assert.Equal(3, store.Count);
        AssertSame(entries, store.ReadAll().ToList());
        AssertSame([entries[1]], [store.Get(1)!]);
        Assert.Null(store.Get(3));
        AssertSame([entries[1]], [store.FindCertificate(entries[1].CertificateId)!]);
        Assert.Null(store.FindCertificate(new byte[32]));
        AssertSame([entries[0]], [store.FindDevice("meter-0")!]);
        AssertSame([entries[2]], [store.FindDevice("meter-2")!]);
        Assert.Null(store.FindDevice("meter-1")); // a certificate entry of that meter is not its registration
    }

    [Fact]
    public void ReopeningKeepsEntriesAndCheckpoints()
    {
        var entries = Entries(0, 4);
        using (var store = new SqliteLedgerStore(DbPath))
        {
            store.Append(entries[..2]);
            store.Append(entries[2..]);
            store.SaveCheckpoint(new StoredCheckpoint(2, new byte[32], "note at 2", 100));
            store.SaveCheckpoint(new StoredCheckpoint(4, Enumerable.Repeat((byte)7, 32).ToArray(), "note at 4", 200));
            store.RecordRejection(new byte[32], "entry-malformed", "garbage", 150);
        }

        using var reopened = new SqliteLedgerStore(DbPath);
        Assert.Equal(4, reopened.Count);
        AssertSame(entries, reopened.ReadAll().ToList());
        var latest = reopened.LatestCheckpoint();
        Assert.NotNull(latest);
        Assert.Equal(4, latest.Size);
        Assert.Equal("note at 4", latest.Note);
        Assert.Equal(Enumerable.Repeat((byte)7, 32), latest.Root);

        reopened.Append(Entries(4, 1));
        Assert.Equal(5, reopened.Count);
    }

    [Theory]
    [InlineData(4)] // leaving a gap
    [InlineData(1)] // overwriting the log
    [InlineData(2)] // the same index twice in one batch
    public void AppendingAtTheWrongIndexThrowsAndWritesNothing(long wrongIndex)
    {
        using (var store = new SqliteLedgerStore(DbPath))
        {
            store.Append(Entries(0, 2));
            var batch = new[] { Entries(2, 1)[0], Entries(wrongIndex, 1)[0] with { EntryId = RandomNumberGenerator.GetBytes(32) } };

            Assert.Throws<LedgerAppendConflictException>(() => store.Append(batch));

            Assert.Equal(2, store.Count);
            Assert.Equal([0L, 1L], store.ReadAll().Select(e => e.Index));
            Assert.Null(store.Get(2)); // the valid first entry of the batch went with it: all or nothing
            store.Append(Entries(2, 1)); // and the log still continues where it was
            Assert.Equal(3, store.Count);
        }

        using var reopened = new SqliteLedgerStore(DbPath);
        Assert.Equal([0L, 1L, 2L], reopened.ReadAll().Select(e => e.Index));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void AStoreWithAGapInItsIndexesRefusesToOpen(long deleted)
    {
        using (var store = new SqliteLedgerStore(DbPath))
            store.Append(Entries(0, 3));
        RawSql(DbPath, $"DELETE FROM entries WHERE idx = {deleted}");

        var e = Assert.Throws<InvalidDataException>(() => new SqliteLedgerStore(DbPath));
        Assert.Contains("gaps", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Entries of alternating kinds: even indexes register meter-i, odd ones certify for it.</summary>
    internal static StoredEntry[] Entries(long first, int count) =>
        Enumerable.Range(0, count).Select(i => first + i).Select(index =>
        {
            var encoded = RandomNumberGenerator.GetBytes(40 + (int)index);
            var isDevice = index % 2 == 0;
            return new StoredEntry(
                index,
                SHA256.HashData(encoded),
                isDevice ? EntryKind.DeviceRegistered : EntryKind.CertificateIssued,
                "issuer-de",
                $"meter-{index}",
                isDevice ? null : SHA256.HashData(BitConverter.GetBytes(index)),
                encoded,
                GreenTrace.Core.Merkle.MerkleHash.Leaf(encoded));
        }).ToArray();

    internal static void RawSql(string path, string sql)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        Assert.Equal(1, cmd.ExecuteNonQuery());
    }

    private static void AssertSame(IReadOnlyList<StoredEntry> expected, IReadOnlyList<StoredEntry> actual)
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
