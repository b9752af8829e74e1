using System.Security.Cryptography;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Pipeline.Tests.Ledger;

public sealed class SqliteLedgerStoreContractTests : LedgerStoreContract
{
    private readonly TempDirectory _dir = new();

    private string DbPath => _dir.File("ledger.db");

    protected override ILedgerStore CreateStore() => new SqliteLedgerStore(DbPath);

    protected override int ExecuteRaw(string sql) => Execute(DbPath, sql);

    protected override IReadOnlyList<(byte[] EntryId, string Code, string Message, long At)> Rejections()
    {
        using var db = Connect(DbPath);
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT entry_id, code, message, received_at FROM rejections ORDER BY id";
        using var r = cmd.ExecuteReader();
        var list = new List<(byte[], string, string, long)>();
        while (r.Read())
            list.Add(((byte[])r[0], r.GetString(1), r.GetString(2), r.GetInt64(3)));
        return list;
    }

    public override void Dispose()
    {
        base.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void AFileFromBeforeManyEntriesCouldNameOneCertificateIsMigrated()
    {
        // The schema as it was: certificate_id UNIQUE, checkpoints without signature_count.
        Execute(DbPath, """
            CREATE TABLE entries (idx INTEGER PRIMARY KEY, entry_id BLOB NOT NULL UNIQUE, kind TEXT NOT NULL, author TEXT NOT NULL,
                meter_id TEXT, certificate_id BLOB UNIQUE, encoded BLOB NOT NULL, leaf_hash BLOB NOT NULL);
            CREATE INDEX entries_meter ON entries(meter_id, kind);
            CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, signed_at INTEGER NOT NULL);
            INSERT INTO checkpoints VALUES (1, zeroblob(32), 'old note', 5);
            """, expectRows: false);
        using var store = new SqliteLedgerStore(DbPath);
        var certificate = RandomNumberGenerator.GetBytes(32);
        var entries = new[] { Entry(0, EntryKind.CertificateIssued, "meter-0", certificate), Entry(1, EntryKind.CertificateIssued, null, certificate) };
        store.Append(entries);
        AssertSame(entries, store.FindByCertificate(certificate));
        var checkpoint = store.GetCheckpoint(1);
        Assert.Equal(("old note", 1), (checkpoint!.Note, checkpoint.SignatureCount));
    }

    [Fact]
    public void OldRowsSurviveTheMigration()
    {
        Execute(DbPath, """
            CREATE TABLE entries (idx INTEGER PRIMARY KEY, entry_id BLOB NOT NULL UNIQUE, kind TEXT NOT NULL, author TEXT NOT NULL,
                meter_id TEXT, certificate_id BLOB UNIQUE, encoded BLOB NOT NULL, leaf_hash BLOB NOT NULL);
            INSERT INTO entries VALUES (0, x'01', 'DeviceRegistered', 'issuer-de', 'meter-0', NULL, x'0a0b', x'0c');
            INSERT INTO entries VALUES (1, x'02', 'CertificateIssued', 'issuer-de', 'meter-0', x'ff', x'0d', x'0e');
            """, expectRows: false);

        using var store = new SqliteLedgerStore(DbPath);
        Assert.Equal(2, store.Count);
        Assert.Equal([0x0d], store.FindCertificate([0xff])!.Encoded);
        store.Append([Entry(2, EntryKind.CertificateIssued, null, [0xff])]);
        Assert.Equal([1L, 2L], store.FindByCertificate([0xff]).Select(e => e.Index));
    }

    internal static int Execute(string path, string sql, bool expectRows = true)
    {
        using var db = Connect(path);
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        var rows = cmd.ExecuteNonQuery();
        return expectRows ? rows : 0;
    }

    /// <summary>For tests that tamper with a row: exactly one must change.</summary>
    internal static void RawSql(string path, string sql) => Assert.Equal(1, Execute(path, sql));

    private static SqliteConnection Connect(string path)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        return db;
    }
}

public sealed class LedgerStoresTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void APathOrASqlitePrefixOpensSqlite()
    {
        using (var plain = LedgerStores.Open(_dir.File("plain.db")))
        {
            Assert.IsType<SqliteLedgerStore>(plain);
            plain.Append(LedgerStoreContract.Entries(0, 1));
        }
        using (var prefixed = LedgerStores.Open($"sqlite:{_dir.File("plain.db")}"))
            Assert.Equal(1, prefixed.Count); // the same file
        Assert.True(File.Exists(_dir.File("plain.db")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("sqlite:")]
    [InlineData("postgres:")]
    [InlineData("postgresql:Host=127.0.0.1")]
    [InlineData("mysql:Server=x;Password=secret")]
    [InlineData("https://ledger.example/db")]
    public void AnythingElseIsAClearError(string spec)
    {
        var e = Assert.Throws<ArgumentException>(() => LedgerStores.Open(spec));
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
        Assert.Contains("postgres:", e.Message, StringComparison.Ordinal);
    }
}
