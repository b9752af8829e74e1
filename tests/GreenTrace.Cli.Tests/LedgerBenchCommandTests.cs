using GreenTrace.Ledger.Storage;

namespace GreenTrace.Cli.Tests;

/// <summary><c>greentrace ledger-bench</c> on a small SQLite ledger: what it reports must be what the store holds.</summary>
public sealed class LedgerBenchCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greentrace-ledger-bench-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Db => Path.Combine(_dir, "ledger.db");

    [Fact]
    public async Task EveryEntryOfTheWorkloadIsAcceptedAndCheckpointed()
    {
        var record = Path.Combine(_dir, "bench.md");
        var r = await CliRunner.RunAsync(null, "ledger-bench", "--store", $"sqlite:{Db}", "--entries", "300", "--batch", "64", "--checkpoint-every", "100", "--record", record);

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Contains("accepted: 300 of 300 (all)", r.Out, StringComparison.Ordinal);
        // Every kind of the workload is there: the figure is about the mix, not about registrations alone.
        foreach (var kind in new[] { "DeviceRegistered", "CertificateIssued", "Transferred", "Split", "Claimed" })
            Assert.Contains(kind, r.Out, StringComparison.Ordinal);
        Assert.Contains("checkpoints signed: 3 (Ed25519), the last at size 300, verified", r.Out, StringComparison.Ordinal);
        Assert.Contains("| accepted | 300 of 300 (all) |", await File.ReadAllTextAsync(record, TestContext.Current.CancellationToken), StringComparison.Ordinal);

        using var store = new SqliteLedgerStore(Db);
        Assert.Equal(300, store.Count);
        Assert.Equal([100L, 200, 300], store.Checkpoints().Select(c => c.Size));
    }

    [Fact]
    public async Task ABatchThatDoesNotDivideTheCountStillEndsWithACheckpointOfTheWholeLog()
    {
        var r = await CliRunner.RunAsync(null, "ledger-bench", "--store", Db, "--entries", "250", "--batch", "40", "--checkpoint-every", "100");

        Assert.True(r.ExitCode == 0, r.Out + r.Error);
        Assert.Contains("accepted: 250 of 250 (all)", r.Out, StringComparison.Ordinal);
        using var store = new SqliteLedgerStore(Db);
        Assert.Equal([100L, 200, 250], store.Checkpoints().Select(c => c.Size));
    }

    [Fact]
    public async Task AStoreThatAlreadyHoldsEntriesIsRefused()
    {
        Assert.Equal(0, (await CliRunner.RunAsync(null, "ledger-bench", "--store", Db, "--entries", "20", "--batch", "10")).ExitCode);

        var again = await CliRunner.RunAsync(null, "ledger-bench", "--store", Db, "--entries", "20", "--batch", "10");

        Assert.Equal(2, again.ExitCode);
        Assert.Contains("already holds 20 entries", again.Error, StringComparison.Ordinal);
    }
}
