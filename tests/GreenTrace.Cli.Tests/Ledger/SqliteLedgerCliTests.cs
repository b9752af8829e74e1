using Microsoft.Data.Sqlite;

namespace GreenTrace.Cli.Tests.Ledger;

public sealed class SqliteLedgerCliTests(LedgerCliFiles files) : LedgerCliContract(files), IClassFixture<LedgerCliFiles>
{
    private readonly LedgerCliFiles _files = files;

    protected override string NewStore() => "sqlite:" + _files.File($"ledger-{Guid.NewGuid():N}.db");

    protected override async Task EditAuthorAsync(string store, long index, string author)
    {
        await using var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = store["sqlite:".Length..], Pooling = false }.ConnectionString);
        await conn.OpenAsync(TestContext.Current.CancellationToken);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "UPDATE entries SET author = $author WHERE idx = $idx";
        cmd.Parameters.AddWithValue("$author", author);
        cmd.Parameters.AddWithValue("$idx", index);
        Assert.Equal(1, await cmd.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
    }
}
