using GreenTrace.Ledger.Storage;
using Npgsql;

namespace GreenTrace.Pipeline.Tests.Ledger;

/// <summary>The store contract on a real PostgreSQL 15, each test in a schema of its own on the fixture's server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLedgerStoreContractTests(PostgresFixture postgres) : LedgerStoreContract
{
    private readonly string _schema = $"t_{Guid.NewGuid():N}";

    private string Schema => _schema;

    private string Connection => $"{postgres.Database};Schema={_schema}";

    protected override ILedgerStore CreateStore() => new PostgresLedgerStore(Connection);

    protected override int ExecuteRaw(string sql) => Execute(postgres.Database, $"SET search_path TO {Schema}", sql);

    protected override IReadOnlyList<(byte[] EntryId, string Code, string Message, long At)> Rejections()
    {
        using var conn = Connect(postgres.Database);
        conn.Open();
        using var cmd = new NpgsqlCommand($"SELECT entry_id, code, message, received_at FROM {Schema}.rejections ORDER BY id", conn);
        using var r = cmd.ExecuteReader();
        var list = new List<(byte[], string, string, long)>();
        while (r.Read())
            list.Add((r.GetFieldValue<byte[]>(0), r.GetString(1), r.GetString(2), r.GetInt64(3)));
        return list;
    }

    [Fact]
    public void NodesSharingADatabaseAreKeptApartBySchema()
    {
        var node1 = Open();
        using var node2 = new PostgresLedgerStore(postgres.FreshSchema());
        var one = Entries(0, 3);
        var two = Entries(0, 2);
        node1.Append(one);
        node2.Append(two); // index 0 again: another ledger, so no conflict

        AssertSame(one, node1.ReadAll().ToList());
        AssertSame(two, node2.ReadAll().ToList());
    }

    [Fact]
    public void APostgresSpecOpensTheDatabaseItNamesInTheSchemaItNames()
    {
        var database = postgres.CreateDatabase();
        var entries = Entries(0, 2);
        using (var store = LedgerStores.Open($"postgres:{database};Schema=node1"))
        {
            var opened = Assert.IsType<PostgresLedgerStore>(store);
            Assert.Equal("node1", opened.Schema);
            store.Append(entries);
        }
        using (var withoutSchema = LedgerStores.Open($"postgres:{database}"))
        {
            Assert.Equal("public", ((PostgresLedgerStore)withoutSchema).Schema);
            Assert.Equal(0, withoutSchema.Count);
        }
        Assert.Equal(2L, Scalar(database, "SELECT COUNT(*) FROM node1.entries"));
        Assert.Equal(0L, Scalar(postgres.Database, "SELECT COUNT(*) FROM pg_namespace WHERE nspname = 'node1'")); // not in the other database
        using var again = LedgerStores.Open($"postgres:{database};Schema=node1");
        AssertSame(entries, again.ReadAll().ToList());
    }

    [Fact]
    public void CommitsAreSynchronousWhateverTheRoleSays()
    {
        var database = postgres.CreateDatabase();
        Execute(database, "ALTER ROLE postgres IN DATABASE " + new NpgsqlConnectionStringBuilder(database).Database + " SET synchronous_commit = off");
        var (connection, _) = PostgresLedgerStore.Parse($"{database};Schema=s");
        Assert.Equal("on", Scalar(connection, "SHOW synchronous_commit"));
        Assert.Equal("off", Scalar(database, "SHOW synchronous_commit")); // the role's setting holds without the store's
    }

    // Unpooled: a pooled session from before a setting changed would not show it.
    private static NpgsqlConnection Connect(string connection) => new(new NpgsqlConnectionStringBuilder(connection) { Pooling = false }.ConnectionString);

    private static object? Scalar(string connection, string sql)
    {
        using var conn = Connect(connection);
        conn.Open();
        using var cmd = new NpgsqlCommand(sql, conn);
        return cmd.ExecuteScalar();
    }

    private static int Execute(string connection, params string[] statements)
    {
        using var conn = Connect(connection);
        conn.Open();
        var rows = 0;
        foreach (var sql in statements)
        {
            using var cmd = new NpgsqlCommand(sql, conn);
            rows = cmd.ExecuteNonQuery();
        }
        return rows;
    }
}
