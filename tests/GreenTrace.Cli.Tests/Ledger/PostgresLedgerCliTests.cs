using GreenTrace.Pipeline.Tests.Ledger;
using Npgsql;

namespace GreenTrace.Cli.Tests.Ledger;

/// <summary>The same lifecycle on PostgreSQL: a private cluster from scripts/postgres, a schema per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresLedgerCliTests(LedgerCliFiles files, PostgresFixture postgres) : LedgerCliContract(files), IClassFixture<LedgerCliFiles>
{
    private readonly Dictionary<string, string> _schemas = [];

    protected override string NewStore()
    {
        var schema = $"t_{Guid.NewGuid():N}";
        var spec = $"postgres:{postgres.Database};Schema={schema}";
        _schemas[spec] = schema;
        return spec;
    }

    protected override async Task EditAuthorAsync(string store, long index, string author)
    {
        await using var conn = new NpgsqlConnection(postgres.Database);
        await conn.OpenAsync(TestContext.Current.CancellationToken);
        await using var cmd = new NpgsqlCommand($"UPDATE \"{_schemas[store]}\".entries SET author = $1 WHERE idx = $2", conn)
        {
            Parameters = { new NpgsqlParameter { Value = author }, new NpgsqlParameter { Value = index } },
        };
        Assert.Equal(1, await cmd.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
    }
}
