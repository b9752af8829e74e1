using System.Security.Cryptography;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Audit;
using GreenTrace.Ledger.Checkpoints;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace GreenTrace.Pipeline.Tests.Ledger;

/// <summary>
/// A seven-entry ledger with checkpoints at sizes 4 and 7, then edited by hand with plain SQL the way
/// someone with write access to the database could: the audit must name the first bad entry or checkpoint.
/// Every case runs on each store (<see cref="SqliteLedgerAuditTests"/>, <see cref="PostgresLedgerAuditTests"/>);
/// the SQL is written to mean the same on both, with @name parameters.
/// </summary>
public abstract class LedgerAuditTests : IDisposable
{
    private const long Hour10 = LedgerFixture.RegisteredAt + (10 * 3600);
    private const long OwnerAt = LedgerFixture.RegisteredAt + 86_400 + 60;

    private readonly LedgerFixture _ledger = new();
    private readonly TestMeter _a = new("meter-a");
    private readonly TestMeter _b = new("meter-b");
    private readonly ECDsa _alice = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _bob = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly IAuditedDatabase _db;
    private readonly byte[] _root7;

    protected LedgerAuditTests(IAuditedDatabase db)
    {
        _db = db;
        var certA = LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10)).Certificate;
        var certB = LedgerFixture.Issue(_b, LedgerFixture.HourOfReadings(_b, Hour10)).Certificate;
        var transfer = LedgerEntryCodec.SignTransferred(new Transfer(certA.Id, certA.Id, _bob.ExportSubjectPublicKeyInfo()), _alice, OwnerAt);
        // meter-b has no owner: its certificate starts with the issuer.
        var split = LedgerEntryCodec.SignSplit(new Split(certB.Id, certB.Id, [new(1, _alice.ExportSubjectPublicKeyInfo()), new(certB.FaceValueWh - 1, _bob.ExportSubjectPublicKeyInfo())]), _ledger.IssuerKey, OwnerAt);
        var claim = LedgerEntryCodec.SignClaimed(new Claim(certA.Id, HoldingIds.Compute(SHA256.HashData(transfer), 0), "Acme GmbH", Hour10, Hour10 + 3600), _bob, OwnerAt + 1);

        using var node = new LedgerNode(_db.Open(), _ledger.Trust, _ledger.Node);
        var first = node.Submit([
            LedgerEntryCodec.SignDeviceRegistered(_a.Device, LedgerFixture.IssuerId, _ledger.IssuerKey, LedgerFixture.RegisteredAt, _alice.ExportSubjectPublicKeyInfo()),
            _ledger.Registration(_b.Device), _ledger.CertificateEntry(certA), _ledger.CertificateEntry(certB)]);
        new CheckpointCosigner(node, publisher: null, everyEntries: 1000).SignCurrent();
        var second = node.Submit([transfer, split, claim]);
        new CheckpointCosigner(node, publisher: null, everyEntries: 1000).SignCurrent();
        Assert.All(first.Concat(second), o => Assert.True(o.Accepted, o.Rejection?.ToString()));
        _root7 = node.RootAt(7);
    }

    /// <summary>One ledger's database, as the test edits it: open the store on it, or change it behind the store's back.</summary>
    public interface IAuditedDatabase : IDisposable
    {
        ILedgerStore Open();

        void Execute(string sql, IReadOnlyList<(string Name, object Value)> parameters);
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _alice.Dispose();
        _bob.Dispose();
        _ledger.Dispose();
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    private AuditReport Audit()
    {
        using var store = _db.Open();
        return LedgerAudit.Run(store, _ledger.Membership);
    }

    private void Sql(string sql, params (string Name, object Value)[] parameters) => _db.Execute(sql, parameters);

    private byte[] Encoded(long index)
    {
        using var store = _db.Open();
        return store.Get(index)!.Encoded;
    }

    private static void AssertEntry(AuditReport report, long index, string code)
    {
        Assert.False(report.Ok);
        var finding = report.FirstProblem!;
        Assert.True(finding.Subject == AuditSubject.Entry && finding.Index == index && finding.Code == code, finding.ToString());
        Assert.Equal(index, report.Entries);
    }

    [Fact]
    public void AnUntouchedLedgerPasses()
    {
        var report = Audit();

        Assert.True(report.Ok, report.FirstProblem?.ToString());
        Assert.Equal((7L, 2, 2, 2), (report.Entries, report.Checkpoints, report.Devices, report.Certificates));
        Assert.Equal(_root7, report.Root);
    }

    [Fact]
    public void EditedEntryBytesAreNamedByTheirLeafHash()
    {
        var bytes = Encoded(3);
        bytes[^40] ^= 0x01;
        Sql("UPDATE entries SET encoded = @e WHERE idx = 3", ("e", bytes));

        AssertEntry(Audit(), 3, AuditReasons.LeafHash);
    }

    [Fact]
    public void EditedEntryBytesWithLeafHashAndIdRecomputedAreNamedByTheirSignature()
    {
        // Someone who knows the schema recomputes what the store derives; the signature still holds them.
        var bytes = Encoded(4);
        var at = bytes.AsSpan().IndexOf(_bob.ExportSubjectPublicKeyInfo());
        bytes[at + 30] ^= 0x01;
        Sql("UPDATE entries SET encoded = @e, leaf_hash = @h WHERE idx = 4", ("e", bytes), ("h", MerkleHash.Leaf(bytes)));
        AssertEntry(Audit(), 4, AuditReasons.EntryId);

        Sql("UPDATE entries SET entry_id = @i WHERE idx = 4", ("i", SHA256.HashData(bytes)));
        AssertEntry(Audit(), 4, LedgerReasons.EntrySignature);
    }

    [Fact]
    public void EditedLeafHashIsNamed()
    {
        Sql("UPDATE entries SET leaf_hash = @z WHERE idx = 2", ("z", new byte[32]));

        AssertEntry(Audit(), 2, AuditReasons.LeafHash);
    }

    [Fact]
    public void EditedIndexColumnsAreNamed()
    {
        Sql("UPDATE entries SET meter_id = 'meter-b' WHERE idx = 2");
        AssertEntry(Audit(), 2, AuditReasons.Columns);

        Sql("UPDATE entries SET meter_id = 'meter-a' WHERE idx = 2");
        Sql("UPDATE entries SET certificate_id = NULL WHERE idx = 5");
        AssertEntry(Audit(), 5, AuditReasons.Columns);

        Sql("UPDATE entries SET certificate_id = (SELECT certificate_id FROM entries WHERE idx = 3) WHERE idx = 5");
        Sql("UPDATE entries SET kind = 'Transferred' WHERE idx = 6");
        AssertEntry(Audit(), 6, AuditReasons.Columns);
    }

    [Fact]
    public void ADeletedMiddleRowIsNamedWhereTheLogStopsMakingSense()
    {
        // Row 1 (meter-b's registration) deleted and the rest renumbered so the store opens without a gap.
        Sql("DELETE FROM entries WHERE idx = 1");
        Sql("UPDATE entries SET idx = idx - 1 WHERE idx > 1");

        // Entry 1 is now meter-a's certificate (still valid); entry 2 meter-b's, whose meter was never registered.
        AssertEntry(Audit(), 2, LedgerReasons.DeviceUnknown);
    }

    [Fact]
    public void ADeletedLastRowIsNamedByTheCheckpointThatCoveredIt()
    {
        Sql("DELETE FROM entries WHERE idx = 6");

        var report = Audit();

        Assert.Equal(6, report.Entries);
        Assert.Equal(1, report.Checkpoints);
        Assert.Equal((AuditSubject.Checkpoint, 7L, AuditReasons.CheckpointSize), (report.FirstProblem!.Subject, report.FirstProblem.Index, report.FirstProblem.Code));
    }

    [Fact]
    public void ASwappedPairIsNamedAtTheFirstEntryOutOfPlace()
    {
        // meter-b's registration (1) and its certificate (3) change places.
        Sql("UPDATE entries SET idx = -1 WHERE idx = 1");
        Sql("UPDATE entries SET idx = 1 WHERE idx = 3");
        Sql("UPDATE entries SET idx = 3 WHERE idx = -1");

        AssertEntry(Audit(), 1, LedgerReasons.DeviceUnknown);
    }

    [Fact]
    public void ASwappedPairTheRulesAcceptIsNamedByTheCheckpoint()
    {
        // Two certificates of different meters may come in either order: only the signed root tells.
        Sql("UPDATE entries SET idx = -1 WHERE idx = 2");
        Sql("UPDATE entries SET idx = 2 WHERE idx = 3");
        Sql("UPDATE entries SET idx = 3 WHERE idx = -1");

        var report = Audit();

        Assert.Equal(7, report.Entries);
        Assert.Equal((AuditSubject.Checkpoint, 4L, AuditReasons.CheckpointRoot), (report.FirstProblem!.Subject, report.FirstProblem.Index, report.FirstProblem.Code));
    }

    [Fact]
    public void ACheckpointSignedByAStrangerIsNamed()
    {
        using var stranger = NoteSigner.Generate(_ledger.Node.Name);
        using (var store = _db.Open())
        {
            var cp = store.Checkpoints()[0];
            var forged = SignedNote.Sign(new Checkpoint(LedgerFixture.Origin, cp.Size, cp.Root, []).ToNoteText(), stranger);
            Sql("UPDATE checkpoints SET note = @n WHERE size = @s", ("n", forged), ("s", cp.Size));
        }

        var report = Audit();

        Assert.Equal(AuditSubject.Checkpoint, report.FirstProblem?.Subject);
        Assert.Equal(4, report.FirstProblem!.Index);
        Assert.StartsWith("checkpoint-", report.FirstProblem.Code, StringComparison.Ordinal);
        Assert.Equal(0, report.Checkpoints);
    }
}

public sealed class SqliteLedgerAuditTests() : LedgerAuditTests(new SqliteDatabase())
{
    private sealed class SqliteDatabase : IAuditedDatabase
    {
        private readonly TempDirectory _dir = new();

        private string Path => _dir.File("ledger.db");

        public ILedgerStore Open() => new SqliteLedgerStore(Path);

        public void Execute(string sql, IReadOnlyList<(string Name, object Value)> parameters)
        {
            using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = sql;
            foreach (var (name, value) in parameters)
                cmd.Parameters.AddWithValue("@" + name, value);
            cmd.ExecuteNonQuery();
        }

        public void Dispose() => _dir.Dispose();
    }
}

/// <summary>The same edits on a real PostgreSQL 15, each test in a schema of its own on the fixture's server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLedgerAuditTests(PostgresFixture postgres) : LedgerAuditTests(new PostgresDatabase(postgres))
{
    private sealed class PostgresDatabase(PostgresFixture postgres) : IAuditedDatabase
    {
        private readonly string _schema = $"t_{Guid.NewGuid():N}";

        public ILedgerStore Open() => new PostgresLedgerStore($"{postgres.Database};Schema={_schema}");

        public void Execute(string sql, IReadOnlyList<(string Name, object Value)> parameters)
        {
            using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(postgres.Database) { Pooling = false }.ConnectionString);
            conn.Open();
            using (var path = new NpgsqlCommand($"SET search_path TO {_schema}", conn))
                path.ExecuteNonQuery();
            using var cmd = new NpgsqlCommand(sql, conn);
            foreach (var (name, value) in parameters)
                cmd.Parameters.AddWithValue(name, value);
            cmd.ExecuteNonQuery();
        }

        public void Dispose()
        {
        }
    }
}
