using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using GreenTrace.Api;
using GreenTrace.Core.Ledger;

namespace GreenTrace.Cli.Tests.Ledger;

/// <summary>`greentrace transfer|split|claim` against the real API: signed with the owner's key file, judged by the ledger's rules.</summary>
public sealed class OwnerCommandTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ATransferASplitAndAClaimAreAcceptedAndADoubleSpendIsRefusedWithItsCode()
    {
        await using var api = await OwnerApiServer.StartAsync();
        var c = api.Certificate.IdHex;
        string[] Args(string command, string who, params string[] more) =>
            [command, "--owner-key", api.File($"{who}.key"), "--certificate", c, "--api", api.Url, .. more];

        // Alice names no holding: her one live holding of the certificate is looked up on the API.
        var transfer = await CliRunner.RunAsync(null, Args("transfer", "alice", "--to", api.File("bob.pub")));
        Assert.True(transfer.ExitCode == 0, transfer.Error);
        var lines = transfer.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Matches("^entry [0-9a-f]{64} at log index 2$", lines[0]);
        var bobsHolding = Assert.Single(lines.Skip(1)).Replace("holding ", "", StringComparison.Ordinal);
        var detail = await DetailAsync(api);
        Assert.Equal(["CertificateIssued", "Transferred"], detail.History.Select(e => e.Kind));
        var live = Assert.Single(detail.Holdings, h => h.Status == nameof(HoldingStatus.Live));
        Assert.Equal((bobsHolding, OwnerApiServer.OwnerId("bob")), (live.Id, live.Owner));

        // Alice gives the same holding again: the ledger's refusal, with its code, exit 1, nothing appended.
        var again = await CliRunner.RunAsync(null, Args("transfer", "alice", "--holding", c, "--to", api.File("carol.pub")));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("refused: holding-spent: ", again.Error, StringComparison.Ordinal);
        Assert.Equal("", again.Out);
        var nothingLeft = await CliRunner.RunAsync(null, Args("transfer", "alice", "--to", api.File("carol.pub")));
        Assert.Equal(1, nothingLeft.ExitCode);
        Assert.Contains("refused: holding-unknown: ", nothingLeft.Error, StringComparison.Ordinal);

        var split = await CliRunner.RunAsync(null, Args("split", "bob", "--part", $"400:{api.File("bob.pub")}", "--part", $"600:{api.File("carol.pub")}"));
        Assert.True(split.ExitCode == 0, split.Error);
        Assert.Contains("at log index 3", split.Out, StringComparison.Ordinal);
        Assert.Equal(2, split.Out.Split('\n').Count(l => l.StartsWith("holding ", StringComparison.Ordinal)));

        var day = DateTimeOffset.FromUnixTimeSeconds(OwnerApiServer.Hour).Date;
        var claim = await CliRunner.RunAsync(null, Args("claim", "carol", "--beneficiary", "Acme",
            "--from", day.ToString("yyyy-MM-ddT00:00Z", CultureInfo.InvariantCulture), "--to", day.AddDays(1).ToString("yyyy-MM-ddT00:00Z", CultureInfo.InvariantCulture)));
        Assert.True(claim.ExitCode == 0, claim.Error);
        Assert.Matches("^entry [0-9a-f]{64} at log index 4\n$", claim.Out);

        detail = await DetailAsync(api);
        Assert.Equal(["CertificateIssued", "Transferred", "Split", "Claimed"], detail.History.Select(e => e.Kind));
        Assert.Equal((400UL, 600UL), (detail.LiveWh, detail.ClaimedWh));

        // Bob now holds 400 Wh once: a claim of it twice is spent the first time, refused as claimed the second.
        var bobsClaim = Args("claim", "bob", "--beneficiary", "Bob's bakery", "--from", day.ToString("yyyy-MM-ddT00:00Z", CultureInfo.InvariantCulture),
            "--to", day.AddDays(1).ToString("yyyy-MM-ddT00:00Z", CultureInfo.InvariantCulture));
        Assert.Equal(0, (await CliRunner.RunAsync(null, bobsClaim)).ExitCode);
        var bobsPart = Assert.Single(detail.Holdings, h => h.Status == nameof(HoldingStatus.Live)).Id;
        var twice = await CliRunner.RunAsync(null, [.. bobsClaim, "--holding", bobsPart]);
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("refused: holding-claimed: ", twice.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadKeyFileABadAddressAndNoAnswerAreUnusable()
    {
        await using var api = await OwnerApiServer.StartAsync();
        var c = api.Certificate.IdHex;
        var garbage = api.File("garbage.key");
        await File.WriteAllTextAsync(garbage, "not a key", Ct);

        foreach (var key in new[] { garbage, api.File("bob.pub"), api.File("missing.key") })
        {
            var r = await CliRunner.RunAsync(null, "transfer", "--owner-key", key, "--certificate", c, "--to", api.File("bob.pub"), "--api", api.Url);
            Assert.True(r.ExitCode == 2, $"{key}: exit {r.ExitCode}: {r.Error}");
            Assert.StartsWith("error: owner key ", r.Error, StringComparison.Ordinal);
        }
        var badId = await CliRunner.RunAsync(null, "claim", "--owner-key", api.File("alice.key"), "--certificate", "not-hex", "--beneficiary", "x", "--from", "2020-01-01T00:00Z", "--to", "2020-01-02T00:00Z", "--api", api.Url);
        Assert.Equal(2, badId.ExitCode);
        var badUrl = await CliRunner.RunAsync(null, "transfer", "--owner-key", api.File("alice.key"), "--certificate", c, "--to", api.File("bob.pub"), "--api", "ftp://example");
        Assert.Equal(2, badUrl.ExitCode);
        var noPart = await CliRunner.RunAsync(null, "split", "--owner-key", api.File("alice.key"), "--certificate", c, "--holding", c, "--part", "lots:x.pub", "--api", api.Url);
        Assert.Equal(2, noPart.ExitCode);

        var closed = await CliRunner.RunAsync(null, "transfer", "--owner-key", api.File("alice.key"), "--certificate", c, "--holding", c, "--to", api.File("bob.pub"), "--api", ClosedPortUrl());
        Assert.Equal(2, closed.ExitCode);
        Assert.Contains("cannot reach", closed.Error, StringComparison.Ordinal);

        // None of it reached the ledger.
        Assert.Equal(["CertificateIssued"], (await DetailAsync(api)).History.Select(e => e.Kind));
    }

    /// <summary>A loopback address nothing listens on: a port the system just handed out and took back.</summary>
    internal static string ClosedPortUrl()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    private static async Task<CertificateDetail> DetailAsync(OwnerApiServer api) =>
        await api.Http.GetFromJsonAsync<CertificateDetail>($"/api/certificates/{api.Certificate.IdHex}", Json, Ct) ?? throw new InvalidOperationException("no certificate");
}
