using System.Net.Http.Json;
using System.Text.Json;
using GreenTrace.Api;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;

namespace GreenTrace.Cli.Tests.Ledger;

/// <summary>
/// `greentrace api` on files `ledger init` made: it reads the genesis and the node key files, cosigns the checkpoint
/// the single-key writer left short of the quorum, serves on the port it reports, and stops when cancelled.
/// </summary>
public sealed class ApiCommandTests(LedgerCliFiles files) : IClassFixture<LedgerCliFiles>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public Task TheApiServesAStoreWrittenByTheLedgerCommandsWithAQuorumCheckpoint() =>
        ServesAStoreWrittenByTheLedgerCommandsAsync(files, "sqlite:" + files.File($"api-{Guid.NewGuid():N}.db"));

    /// <summary>Shared with the PostgreSQL variant: the same files, another store.</summary>
    internal static async Task ServesAStoreWrittenByTheLedgerCommandsAsync(LedgerCliFiles files, string store)
    {
        // One node key only: the store's checkpoint has one signature of the two the quorum needs.
        var registered = await CliRunner.RunAsync(null, "ledger", "register", "--issuers", files.File("issuers.json"), "--registry", files.File("registry.json"),
            "--owner", files.File("alice.pub"), "--store", store, "--trust", files.Genesis, "--node-key", files.File("ledger/node-1.key"));
        Assert.True(registered.ExitCode == 0, registered.Error);

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var error = new StringWriter();
        var synchronizedError = TextWriter.Synchronized(error);
        var console = new CliConsole(new StringReader(""), TextWriter.Synchronized(new StringWriter()), synchronizedError);
        var run = CliApp.RunAsync(["api", "--store", store, "--trust", files.Genesis, "--node-key", files.File("ledger/node-1.key"),
            "--node-key", files.File("ledger/node-2.key"), "--urls", "http://127.0.0.1:0"], console, cts.Token);

        var url = await ListeningUrlAsync(run, error, synchronizedError);
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var checkpoint = await http.GetFromJsonAsync<CheckpointView>("/api/checkpoint", Json, TestContext.Current.CancellationToken);
        Assert.Equal(4, checkpoint!.Size);
        var genesis = Membership.FromJson(await File.ReadAllTextAsync(files.Genesis, TestContext.Current.CancellationToken));
        using var trust = new TrustedKeys(genesis);
        var verified = CheckpointVerifier.Verify(checkpoint.Note, genesis.Origin, trust.Nodes, genesis.Quorum);
        Assert.True(verified.Success, verified.ToString());

        var page = await http.GetFromJsonAsync<EntryPage>("/api/entries", Json, TestContext.Current.CancellationToken);
        Assert.Equal(4, page!.Entries.Count);
        Assert.All(page.Entries, e => Assert.Equal(nameof(EntryKind.DeviceRegistered), e.Kind));

        await cts.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await run);
    }

    [Fact]
    public async Task WithoutAStoreOrWithAKeyOutsideTheMembershipItRefusesToStart()
    {
        var noStore = await CliRunner.RunAsync(null, "api", "--trust", files.Genesis, "--node-key", files.File("ledger/node-1.key"));
        Assert.Equal(ExitCodes.Unusable, noStore.ExitCode);
        Assert.Contains("--store", noStore.Error, StringComparison.Ordinal);

        // An owner key file is no node key: startup fails with a message instead of serving.
        var wrongKey = await CliRunner.RunAsync(null, "api", "--store", "sqlite:" + files.File($"api-{Guid.NewGuid():N}.db"), "--trust", files.Genesis,
            "--node-key", files.File("alice.key"), "--urls", "http://127.0.0.1:0");
        Assert.Equal(ExitCodes.Unusable, wrongKey.ExitCode);
        Assert.StartsWith("error: ", wrongKey.Error, StringComparison.Ordinal);
    }

    internal static async Task<string> ListeningUrlAsync(Task<int> run, StringWriter error, TextWriter writerLock)
    {
        const string Prefix = "listening on ";
        while (true)
        {
            string text;
            // The synchronized writer locks itself on every write: holding that lock reads a whole line.
            lock (writerLock)
                text = error.ToString();
            if (text.Split('\n').FirstOrDefault(l => l.StartsWith(Prefix, StringComparison.Ordinal)) is { } line)
                return line[Prefix.Length..].Trim();
            if (run.IsCompleted)
                Assert.Fail($"greentrace api exited {await run} before listening: {text}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
