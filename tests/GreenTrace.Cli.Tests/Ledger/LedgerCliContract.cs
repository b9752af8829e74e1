using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace GreenTrace.Cli.Tests.Ledger;

/// <summary>
/// What every ledger command is given once per class: a fleet of four DK1 meters, its registry and issuer, a genesis of
/// three nodes with quorum 2, and three owner keys, all made by the CLI itself.
/// </summary>
public sealed class LedgerCliFiles : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "greentrace-ledger-cli-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => Path.Combine(Directory, name);

    public string Genesis => File("ledger/genesis.json");

    public async ValueTask InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        await Ok("fleet", "create", "--meters", "4", "--zones", "DK1", "--seed", "3", "--out", File("fleet.json"));
        await Ok("fleet", "registry", "--fleet", File("fleet.json"), "--out", File("registry.json"));
        await Ok("issuers", "create", "--registry", File("registry.json"), "--out", File("issuers.json"));
        await Ok("ledger", "init", "--out", File("ledger"), "--issuers", File("issuers.json"));
        foreach (var owner in new[] { "alice", "bob", "carol" })
            await Ok("ledger", "owner-key", "--out", File($"{owner}.key"));
    }

    /// <summary>A copy of the fleet for one test: issuing advances the meters' state in the file.</summary>
    public string FleetCopy()
    {
        var copy = File($"fleet-{Guid.NewGuid():N}.json");
        System.IO.File.Copy(File("fleet.json"), copy);
        return copy;
    }

    public ValueTask DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static async Task Ok(params string[] args)
    {
        var r = await CliRunner.RunAsync(null, args);
        Assert.True(r.ExitCode == 0, $"greentrace {string.Join(' ', args)} exited {r.ExitCode}: {r.Error}");
    }
}

/// <summary>
/// The certificate lifecycle through `greentrace ledger`, on one store kind: issue, transfer, split, claim, show,
/// holdings, audit; then the refusals an attacker or a careless owner meets; then a row edited by hand, which the
/// audit must name; and two claim processes racing for one holding.
/// </summary>
public abstract class LedgerCliContract(LedgerCliFiles files)
{
    private static readonly DateTimeOffset Yesterday = new(DateTime.UtcNow.Date.AddDays(-1), TimeSpan.Zero);

    /// <summary>A store spec for an empty ledger no other test uses.</summary>
    protected abstract string NewStore();

    /// <summary>Changes the author column of the entry at <paramref name="index"/> with plain SQL, behind the store's back.</summary>
    protected abstract Task EditAuthorAsync(string store, long index, string author);

    [Fact]
    public async Task TheLifecycleRunsEndToEndAndTheRefusalsAndAForgedRowAreCaught()
    {
        var store = NewStore();
        var fleet = files.FleetCopy();
        string[] Write(params string[] args) => [.. args, "--store", store, "--trust", files.Genesis, "--node-key", files.File("ledger/node-1.key"), "--node-key", files.File("ledger/node-2.key")];
        string[] Read(params string[] args) => [.. args, "--store", store, "--trust", files.Genesis];

        var registered = await Ok(Write("ledger", "register", "--issuers", files.File("issuers.json"), "--registry", files.File("registry.json"), "--owner", files.File("alice.pub")));
        Assert.Equal(4, registered.Length);
        Assert.Contains("checkpoint of size 4 signed by 2 node(s)", registered.Error, StringComparison.Ordinal);

        // Solar at 11:00 and 12:00 UTC: daylight in Denmark in every season, so both hours carry energy.
        var c1 = (await Ok(Write("ledger", "issue", "--issuers", files.File("issuers.json"), "--fleet", fleet, "--meter", "dk1-solar-0001", "--hour", Hour(11)))).Single();
        var c2 = (await Ok(Write("ledger", "issue", "--issuers", files.File("issuers.json"), "--fleet", fleet, "--meter", "dk1-solar-0001", "--hour", Hour(12)))).Single();
        Assert.NotEqual(c1, c2);
        var face1 = (await Show(Read, c1)).GetProperty("faceValueWh").GetUInt64();
        var face2 = (await Show(Read, c2)).GetProperty("faceValueWh").GetUInt64();
        Assert.True(face1 > 0 && face2 >= 3, $"face values {face1} and {face2} Wh");

        // Alice gives c1 to Bob whole, splits c2 between Bob and Carol; Carol claims her part.
        var h1 = (await Ok(Write("ledger", "transfer", "--key", files.File("alice.key"), "--certificate", c1, "--holding", c1, "--to", files.File("bob.pub")))).Single();
        var bobPart = face2 / 3;
        var carolPart = face2 - bobPart;
        var split = await Ok(Write("ledger", "split", "--key", files.File("alice.key"), "--certificate", c2, "--holding", c2,
            "--part", $"{bobPart}:{files.File("bob.pub")}", "--part", $"{carolPart}:{files.File("carol.pub")}"));
        Assert.Equal(2, split.Length);
        var (s0, s1) = (split[0], split[1]);
        var claim = await Ok(Write("ledger", "claim", "--key", files.File("carol.key"), "--certificate", c2, "--holding", s1,
            "--beneficiary", "Acme", "--from", Day(0), "--to", Day(1)));
        Assert.Empty(claim.Values);

        var shown = await Show(Read, c2);
        Assert.Equal(carolPart, shown.GetProperty("claimedWh").GetUInt64());
        Assert.Equal(bobPart, shown.GetProperty("liveWh").GetUInt64());
        Assert.Equal(["CertificateIssued", "Split", "Claimed"], shown.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("kind").GetString()!));
        var statuses = shown.GetProperty("holdings").EnumerateArray().ToDictionary(h => h.GetProperty("holding").GetString()!, h => h.GetProperty("status").GetString());
        Assert.Equal("spent", statuses[c2]);
        Assert.Equal("live", statuses[s0]);
        Assert.Equal("claimed", statuses[s1]);

        using (var bob = JsonDocument.Parse((await Run(Read("ledger", "holdings", "--owner", files.File("bob.pub"), "--json"))).Out))
        {
            Assert.Equal(face1 + bobPart, bob.RootElement.GetProperty("totalWh").GetUInt64());
            var ids = bob.RootElement.GetProperty("holdings").EnumerateArray().Select(h => h.GetProperty("holding").GetString()!).Order(StringComparer.Ordinal);
            Assert.Equal(new[] { h1, s0 }.Order(StringComparer.Ordinal), ids);
        }
        var carol = await Run(Read("ledger", "holdings", "--owner", files.File("carol.pub"), "--json"));
        Assert.Equal(0, carol.ExitCode);
        Assert.Contains("\"totalWh\": 0", carol.Out, StringComparison.Ordinal);

        var clean = await Run(Read("ledger", "audit"));
        Assert.True(clean.ExitCode == 0, clean.Out + clean.Error);
        Assert.StartsWith("sound: 9 entries", clean.Out, StringComparison.Ordinal);

        // The hostile cases: each refused with its code, exit 1 (not 2: the input was usable and judged), nothing appended.
        await Refused("holding-claimed", Write("ledger", "claim", "--key", files.File("carol.key"), "--certificate", c2, "--holding", s1, "--beneficiary", "Acme", "--from", Day(0), "--to", Day(1)));
        await Refused("not-owner", Write("ledger", "transfer", "--key", files.File("alice.key"), "--certificate", c1, "--holding", h1, "--to", files.File("alice.pub")));
        await Refused("split-sum", Write("ledger", "split", "--key", files.File("bob.key"), "--certificate", c2, "--holding", s0,
            "--part", $"1:{files.File("bob.pub")}", "--part", $"{bobPart}:{files.File("carol.pub")}"));
        await Refused("certificate-claimed", Write("ledger", "withdraw", "--issuers", files.File("issuers.json"), "--certificate", c2, "--reason", "meter found faulty"));
        var unusable = await Run(Write("ledger", "transfer", "--key", files.File("alice.key"), "--certificate", "not-hex", "--holding", h1, "--to", files.File("bob.pub")));
        Assert.Equal(2, unusable.ExitCode);

        using (var audit = JsonDocument.Parse((await Run(Read("ledger", "audit", "--json"))).Out))
        {
            Assert.True(audit.RootElement.GetProperty("ok").GetBoolean());
            Assert.Equal(9, audit.RootElement.GetProperty("entries").GetInt64());
        }

        // Entry 6 is the transfer to Bob (4 registrations, 2 issuances before it). Whoever edits it by hand is named.
        await EditAuthorAsync(store, 6, LedgerEntryOwner("carol"));
        var forged = await Run(Read("ledger", "audit", "--json"));
        Assert.Equal(1, forged.ExitCode);
        using (var audit = JsonDocument.Parse(forged.Out))
        {
            var problem = audit.RootElement.GetProperty("firstProblem");
            Assert.False(audit.RootElement.GetProperty("ok").GetBoolean());
            Assert.Equal(6, problem.GetProperty("index").GetInt64());
            Assert.Equal("audit-columns", problem.GetProperty("code").GetString());
            Assert.Equal(6, audit.RootElement.GetProperty("entries").GetInt64());
        }
        var text = await Run(Read("ledger", "audit"));
        Assert.Equal(1, text.ExitCode);
        Assert.Contains("first problem: entry 6 (", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoClaimProcessesRacingForOneHoldingSpendItOnce()
    {
        var store = NewStore();
        var fleet = files.FleetCopy();
        string[] Write(params string[] args) => [.. args, "--store", store, "--trust", files.Genesis, "--node-key", files.File("ledger/node-1.key"), "--node-key", files.File("ledger/node-3.key")];
        await Ok(Write("ledger", "register", "--issuers", files.File("issuers.json"), "--registry", files.File("registry.json"), "--meter", "dk1-solar-0002", "--owner", files.File("alice.pub")));
        var c = (await Ok(Write("ledger", "issue", "--issuers", files.File("issuers.json"), "--fleet", fleet, "--meter", "dk1-solar-0002", "--hour", Hour(11)))).Single();

        // Two real processes of the built CLI, started together; the store decides which append comes first.
        string[] ClaimArgs(string who) => Write("ledger", "claim", "--key", files.File("alice.key"), "--certificate", c, "--holding", c, "--beneficiary", who, "--from", Day(0), "--to", Day(1));
        var racers = new[] { StartCli(ClaimArgs("Acme")), StartCli(ClaimArgs("Globex")) };
        var results = await Task.WhenAll(racers.Select(FinishAsync));

        Assert.True(results.Count(r => r.Code == 0) == 1, string.Join("\n---\n", results.Select(r => $"exit {r.Code}: {r.Error}")));
        var loser = results.Single(r => r.Code != 0);
        Assert.Equal(1, loser.Code);
        // A claimed holding is refused as claimed (final), not merely spent: LedgerRules checks Claimed before the other consumed states.
        Assert.Contains("refused: holding-claimed:", loser.Error, StringComparison.Ordinal);

        var audit = await Run(["ledger", "audit", "--store", store, "--trust", files.Genesis]);
        Assert.True(audit.ExitCode == 0, audit.Out + audit.Error);
        Assert.StartsWith("sound: 3 entries", audit.Out, StringComparison.Ordinal);
        var shown = await Show(args => [.. args, "--store", store, "--trust", files.Genesis], c);
        Assert.Single(shown.GetProperty("history").EnumerateArray(), h => h.GetProperty("kind").GetString() == "Claimed");
    }

    private static string Hour(int hour) => Yesterday.AddHours(hour).ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture);

    private static string Day(int offset) => Yesterday.AddDays(offset).ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture);

    private string LedgerEntryOwner(string who)
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(files.File($"{who}.pub")));
        return Core.Ledger.LedgerEntry.OwnerId(key.ExportSubjectPublicKeyInfo());
    }

    private static async Task<JsonElement> Show(Func<string[], string[]> read, string certificate)
    {
        var r = await Run(read(["ledger", "show", "--certificate", certificate, "--json"]));
        Assert.True(r.ExitCode == 0, r.Error);
        using var doc = JsonDocument.Parse(r.Out);
        return doc.RootElement.Clone();
    }

    private static Task<CliRunner.Outcome> Run(string[] args) => CliRunner.RunAsync(null, args);

    private sealed record Lines(string[] Values, string Error)
    {
        public int Length => Values.Length;

        public string this[int i] => Values[i];

        public string Single() => Assert.Single(Values);
    }

    private static async Task<Lines> Ok(string[] args)
    {
        var r = await Run(args);
        Assert.True(r.ExitCode == 0, $"greentrace {string.Join(' ', args)} exited {r.ExitCode}: {r.Error}");
        return new Lines(r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), r.Error);
    }

    private static async Task Refused(string code, string[] args)
    {
        var r = await Run(args);
        Assert.True(r.ExitCode == 1, $"expected a refusal ({code}), got exit {r.ExitCode}: {r.Out}{r.Error}");
        Assert.Contains($"refused: {code}:", r.Error, StringComparison.Ordinal);
        Assert.Equal("", r.Out);
    }

    private static Process StartCli(string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "greentrace.dll"));
        foreach (var a in args)
            info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException("could not start greentrace");
    }

    private static async Task<(int Code, string Out, string Error)> FinishAsync(Process p)
    {
        using (p)
        {
            var output = p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var error = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            try
            {
                await p.WaitForExitAsync(TestContext.Current.CancellationToken);
            }
            finally
            {
                if (!p.HasExited)
                    p.Kill();
            }
            return (p.ExitCode, await output, await error);
        }
    }
}
