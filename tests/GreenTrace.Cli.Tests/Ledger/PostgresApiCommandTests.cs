using GreenTrace.Pipeline.Tests.Ledger;

namespace GreenTrace.Cli.Tests.Ledger;

/// <summary>`greentrace api` over a PostgreSQL store (a private cluster from scripts/postgres, a schema of its own).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresApiCommandTests(LedgerCliFiles files, PostgresFixture postgres) : IClassFixture<LedgerCliFiles>
{
    [Fact]
    public Task TheApiServesAPostgresStoreWrittenByTheLedgerCommandsWithAQuorumCheckpoint() =>
        ApiCommandTests.ServesAStoreWrittenByTheLedgerCommandsAsync(files, $"postgres:{postgres.Database};Schema=t_{Guid.NewGuid():N}");
}
