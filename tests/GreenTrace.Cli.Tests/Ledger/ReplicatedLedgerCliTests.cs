using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using GreenTrace.Pipeline.Tests.Kafka;
using GreenTrace.Streaming;

namespace GreenTrace.Cli.Tests.Ledger;

/// <summary>
/// `greentrace ledger node` twice (real processes, quorum 2 of 3) on a real Kafka 0.9.0.1, fed by the writing commands
/// with `--kafka`: both stores end with the same entries, cosigned checkpoints, and a sound audit; of two transfers
/// of one holding submitted together, the nodes accept the first in the stream's order and refuse the other.
/// </summary>
public sealed class ReplicatedLedgerCliTests(LedgerCliFiles files) : IClassFixture<LedgerCliFiles>, IAsyncLifetime
{
    private static readonly DateTimeOffset Yesterday = new(DateTime.UtcNow.Date.AddDays(-1), TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"greentrace-ledger-kafka-{Guid.NewGuid():N}");
    private readonly List<(Process Process, StringBuilder Log)> _nodes = [];
    private KafkaProcess _kafka = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _kafka = await KafkaProcess.StartAsync(Path.Combine(_dir, "kafka"));
        var catalog = TopicCatalog.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "pipelines", TopicCatalog.FileName), Ct));
        foreach (var topic in catalog.Topics)
            _kafka.CreateTopic(topic.Name, topic.Partitions);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (p, _) in _nodes)
        {
            if (!p.HasExited)
                p.Kill();
            await p.WaitForExitAsync(CancellationToken.None);
            p.Dispose();
        }
        if (_kafka is not null)
            await _kafka.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task TwoNodesJudgeTheSubmittedEntriesAlikeAndCosignTheirCheckpoints()
    {
        var stores = new[] { "sqlite:" + Path.Combine(_dir, "node-1.db"), "sqlite:" + Path.Combine(_dir, "node-2.db") };
        StartNode("node-1", stores[0]);
        StartNode("node-2", stores[1]);
        string[] Submit(params string[] args) => [.. args, "--kafka", _kafka.BootstrapServers, "--kafka09", "--trust", files.Genesis];

        var registered = await Run(Submit("ledger", "register", "--issuers", files.File("issuers.json"), "--registry", files.File("registry.json"), "--owner", files.File("alice.pub")));
        Assert.True(registered.ExitCode == 0, registered.Error);
        Assert.Equal(4, Lines(registered.Out).Length);
        Assert.Contains("not yet accepted", registered.Error, StringComparison.Ordinal);

        var issued = await Run(Submit("ledger", "issue", "--issuers", files.File("issuers.json"), "--fleet", files.FleetCopy(), "--meter", "dk1-wind-0001",
            "--hour", Yesterday.AddHours(9).ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture)));
        Assert.True(issued.ExitCode == 0, issued.Error);
        var certificate = issued.Error.Split(' ', ':')[1];
        Assert.Equal(64, certificate.Length);

        // Both are valid when signed; the stream orders them and every node refuses the second alike.
        var toBob = await Run(Submit("ledger", "transfer", "--key", files.File("alice.key"), "--certificate", certificate, "--holding", certificate, "--to", files.File("bob.pub")));
        var toCarol = await Run(Submit("ledger", "transfer", "--key", files.File("alice.key"), "--certificate", certificate, "--holding", certificate, "--to", files.File("carol.pub")));
        Assert.Equal(0, toBob.ExitCode);
        Assert.Equal(0, toCarol.ExitCode);

        // Four registrations, the certificate, the first transfer; each store sound on its own, its checkpoints cosigned by 2.
        var roots = new List<string>();
        foreach (var store in stores)
        {
            var audit = await WaitForAuditAsync(store, entries: 6);
            roots.Add(audit.GetProperty("root").GetString()!);
        }
        Assert.Equal(roots[0], roots[1]);
        using (var bob = JsonDocument.Parse((await Run(["ledger", "holdings", "--owner", files.File("bob.pub"), "--json", "--store", stores[1], "--trust", files.Genesis])).Out))
            Assert.Single(bob.RootElement.GetProperty("holdings").EnumerateArray());

        foreach (var (process, log) in _nodes)
        {
            Assert.Equal(0, Kill(process.Id, 15)); // SIGTERM: the host stops the node, which prints its counts
            await process.WaitForExitAsync(Ct);
            Assert.Equal(0, process.ExitCode);
            var text = Text(log);
            Assert.Contains("holding-spent", text, StringComparison.Ordinal);
            Assert.Contains("appended 6, refused 1, log size 6", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ANodeKilledMidStreamAndANodeStartedLateCatchUpToTheSameRoot()
    {
        var stores = new[] { "sqlite:" + Path.Combine(_dir, "node-1.db"), "sqlite:" + Path.Combine(_dir, "node-2.db"), "sqlite:" + Path.Combine(_dir, "node-3.db") };
        StartNode("node-1", stores[0]);
        var victim = StartNode("node-2", stores[1]);
        string[] Submit(params string[] args) => [.. args, "--kafka", _kafka.BootstrapServers, "--kafka09", "--trust", files.Genesis];

        var registered = await Run(Submit("ledger", "register", "--issuers", files.File("issuers.json"), "--registry", files.File("registry.json"), "--owner", files.File("alice.pub")));
        Assert.True(registered.ExitCode == 0, registered.Error);
        var fleet = files.FleetCopy();
        var certificates = new List<string>();
        for (var hour = 0; hour < 3; hour++)
        {
            var issued = await Run(Submit("ledger", "issue", "--issuers", files.File("issuers.json"), "--fleet", fleet, "--meter", "dk1-wind-0001",
                "--hour", Yesterday.AddHours(hour).ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture)));
            Assert.True(issued.ExitCode == 0, issued.Error);
            certificates.Add(issued.Error.Split(' ', ':')[1]);
        }
        await WaitForAuditAsync(stores[1], entries: 7);

        // SIGKILL: no clean leave, no last commit; the restarted process must take up where its store and offsets stand.
        Assert.Equal(0, Kill(victim.Id, 9));
        await victim.WaitForExitAsync(Ct);
        foreach (var certificate in certificates)
        {
            var moved = await Run(Submit("ledger", "transfer", "--key", files.File("alice.key"), "--certificate", certificate, "--holding", certificate, "--to", files.File("bob.pub")));
            Assert.True(moved.ExitCode == 0, moved.Error);
        }
        StartNode("node-2", stores[1]);
        StartNode("node-3", stores[2]); // joins after everything was produced, from an empty store

        var roots = new List<string>();
        foreach (var store in stores)
            roots.Add((await WaitForAuditAsync(store, entries: 10)).GetProperty("root").GetString()!);
        Assert.Equal(roots[0], roots[1]);
        Assert.Equal(roots[0], roots[2]);
    }

    [Fact]
    public async Task AnApiInFrontOfANodeSubmitsOntoTheStreamAndAnswersWithTheNodesVerdict()
    {
        var stores = new[] { "sqlite:" + Path.Combine(_dir, "node-1.db"), "sqlite:" + Path.Combine(_dir, "node-2.db") };
        StartNode("node-1", stores[0]);
        StartNode("node-2", stores[1]);
        string[] Submit(params string[] args) => [.. args, "--kafka", _kafka.BootstrapServers, "--kafka09", "--trust", files.Genesis];
        Assert.Equal(0, (await Run(Submit("ledger", "register", "--issuers", files.File("issuers.json"), "--registry", files.File("registry.json"), "--owner", files.File("alice.pub")))).ExitCode);
        var hour = Yesterday.AddHours(9);
        var issued = await Run(Submit("ledger", "issue", "--issuers", files.File("issuers.json"), "--fleet", files.FleetCopy(), "--meter", "dk1-wind-0001",
            "--hour", hour.ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture)));
        Assert.True(issued.ExitCode == 0, issued.Error);
        var certificate = issued.Error.Split(' ', ':')[1];
        await WaitForAuditAsync(stores[0], entries: 5);

        // The API reads node-1's store and holds no node key; what it is sent goes onto gt.ledger like any submission.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var error = new StringWriter();
        var synchronizedError = TextWriter.Synchronized(error);
        var console = new CliConsole(new StringReader(""), TextWriter.Synchronized(new StringWriter()), synchronizedError);
        var api = CliApp.RunAsync(["api", "--kafka", _kafka.BootstrapServers, "--kafka09", "--store", stores[0], "--trust", files.Genesis, "--urls", "http://127.0.0.1:0"], console, cts.Token);
        var url = await ApiCommandTests.ListeningUrlAsync(api, error, synchronizedError);

        var toBob = await Run(["transfer", "--api", url, "--owner-key", files.File("alice.key"), "--certificate", certificate, "--to", files.File("bob.pub")]);
        Assert.True(toBob.ExitCode == 0, toBob.Out + toBob.Error);
        Assert.Contains("at log index 5", toBob.Out, StringComparison.Ordinal);
        // Signed and well formed, so only the ledger can refuse it: the node's verdict comes back with its code.
        var toCarol = await Run(["transfer", "--api", url, "--owner-key", files.File("alice.key"), "--certificate", certificate, "--holding", certificate, "--to", files.File("carol.pub")]);
        Assert.Equal(1, toCarol.ExitCode);
        Assert.Contains("refused: holding-spent", toCarol.Error, StringComparison.Ordinal);
        var claim = await Run(["claim", "--api", url, "--owner-key", files.File("bob.key"), "--certificate", certificate, "--beneficiary", "bob-factory",
            "--from", Yesterday.ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture), "--to", Yesterday.AddDays(1).ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture)]);
        Assert.True(claim.ExitCode == 0, claim.Out + claim.Error);

        // Both nodes took the same entries: registrations, certificate, transfer and claim; the refused transfer nowhere.
        var roots = new List<string>();
        foreach (var store in stores)
            roots.Add((await WaitForAuditAsync(store, entries: 7)).GetProperty("root").GetString()!);
        Assert.Equal(roots[0], roots[1]);
        await cts.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await api);
    }

    private async Task<JsonElement> WaitForAuditAsync(string store, long entries)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var r = await Run(["ledger", "audit", "--json", "--store", store, "--trust", files.Genesis]);
            using var doc = JsonDocument.Parse(r.Out);
            var root = doc.RootElement;
            // Until the peers' signatures are merged a checkpoint lacks its quorum; only the safety net ends the wait.
            if (r.ExitCode == 0 && root.GetProperty("entries").GetInt64() == entries && root.GetProperty("checkpoints").GetInt32() > 0)
                return root.Clone();
            if (clock.Elapsed > Pipeline.Tests.Support.Wait.SafetyNet)
                Assert.Fail($"{store} never audited sound with {entries} entries: {r.Out}\n{string.Join("\n---\n", _nodes.Select(n => Text(n.Log)))}");
            await Task.Delay(200, Ct);
        }
    }

    private Process StartNode(string name, string store)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "greentrace.dll"), "ledger", "node", "--store", store, "--trust", files.Genesis,
            "--node-key", files.File($"ledger/{name}.key"), "--kafka", _kafka.BootstrapServers, "--kafka09",
        })
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["GREENTRACE_Ledger__StatusIntervalSeconds"] = "1";
        var process = new Process { StartInfo = info };
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _nodes.Add((process, log));
        return process;

        void Append(string? line)
        {
            if (line is null)
                return;
            lock (log)
                log.AppendLine(line);
        }
    }

    private static string Text(StringBuilder log)
    {
        lock (log)
            return log.ToString();
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static Task<CliRunner.Outcome> Run(string[] args) => CliRunner.RunAsync(null, args);

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
