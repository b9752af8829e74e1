using System.Text.Json.Nodes;

namespace GreenTrace.Cli.Tests.Ledger;

/// <summary>`greentrace verify URL`: bundles fetched from the real API, checked against a local trust file only.</summary>
public sealed class VerifyFromApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ACertificateBundleFromTheApiVerifiesAndShowsItsOwnershipChain()
    {
        await using var api = await OwnerApiServer.StartAsync();
        var transfer = await CliRunner.RunAsync(null, "transfer", "--owner-key", api.File("alice.key"), "--certificate", api.Certificate.IdHex, "--to", api.File("bob.pub"), "--api", api.Url);
        Assert.True(transfer.ExitCode == 0, transfer.Error);

        var text = await CliRunner.RunAsync(null, "verify", api.BundleUrl, "--trust", api.Trust);
        Assert.True(text.ExitCode == 0, text.Out + text.Error);
        Assert.Contains("Certificate bundle: VALID", text.Out, StringComparison.Ordinal);
        Assert.Contains("ownership", text.Out, StringComparison.Ordinal);
        Assert.Contains($"transfer by {OwnerApiServer.OwnerId("alice")[..18]}", text.Out, StringComparison.Ordinal);
        Assert.Contains("Readings     4, together 1 kWh", text.Out, StringComparison.Ordinal);

        var json = await CliRunner.RunAsync(null, "verify", api.BundleUrl, "--trust", api.Trust, "--json");
        Assert.Equal(0, json.ExitCode);
        var report = JsonNode.Parse(json.Out)!;
        Assert.Equal("greentrace-certificate-bundle/1", report["format"]!.GetValue<string>());
        Assert.Equal(11, report["steps"]!.AsArray().Count);
        Assert.Equal(4, report["readings"]!.AsArray().Count);
        var live = report["ownership"]!["holdings"]!.AsArray().Single(h => h!["status"]!.GetValue<string>() == "live")!;
        Assert.Equal(OwnerApiServer.OwnerId("bob"), live["owner"]!.GetValue<string>());

        var reading = await CliRunner.RunAsync(null, "verify", api.BundleUrl + "?reading=3", "--trust", api.Trust);
        Assert.True(reading.ExitCode == 0, reading.Out + reading.Error);
        Assert.Contains("Proof bundle: VALID", reading.Out, StringComparison.Ordinal);

        // The same bundle from stdin.
        var body = await api.Http.GetStringAsync(api.BundleUrl, Ct);
        Assert.Equal(0, (await CliRunner.RunAsync(body, "verify", "-", "--trust", api.Trust)).ExitCode);
    }

    [Theory]
    [InlineData("readings", "readings-signature")]
    [InlineData("history-proof", "history-inclusion")]
    [InlineData("history-value", "history-entry")]
    public async Task ATamperedCertificateBundleExitsOneNamingTheStep(string what, string step)
    {
        await using var api = await OwnerApiServer.StartAsync();
        var transfer = await CliRunner.RunAsync(null, "transfer", "--owner-key", api.File("alice.key"), "--certificate", api.Certificate.IdHex, "--to", api.File("bob.pub"), "--api", api.Url);
        Assert.True(transfer.ExitCode == 0, transfer.Error);
        var bundle = JsonNode.Parse(await api.Http.GetStringAsync(api.BundleUrl, Ct))!;
        switch (what)
        {
            case "readings":
                bundle["readings"]![1] = Flip(bundle["readings"]![1]!.GetValue<string>());
                break;
            case "history-proof":
                var hash = bundle["history"]![0]!["proof"]![0]!.GetValue<string>();
                bundle["history"]![0]!["proof"]![0] = (hash[0] == '0' ? "1" : "0") + hash[1..];
                break;
            default:
                bundle["history"]![0]!["value"] = Flip(bundle["history"]![0]!["value"]!.GetValue<string>());
                break;
        }
        var path = api.File($"tampered-{what}.json");
        await File.WriteAllTextAsync(path, bundle.ToJsonString(), Ct);

        var r = await CliRunner.RunAsync(null, "verify", path, "--trust", api.Trust);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"Certificate bundle: INVALID (failed at step '{step}')", r.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefusalOrNoAnswerFromTheServerIsUnusable()
    {
        await using var api = await OwnerApiServer.StartAsync();

        var unknown = await CliRunner.RunAsync(null, "verify", $"{api.Url}/api/certificates/{new string('0', 64)}/bundle", "--trust", api.Trust);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("404: certificate-unknown: ", unknown.Error, StringComparison.Ordinal);

        var badIndex = await CliRunner.RunAsync(null, "verify", api.BundleUrl + "?reading=9", "--trust", api.Trust, "--json");
        Assert.Equal(2, badIndex.ExitCode);
        Assert.Contains("reading-index", JsonNode.Parse(badIndex.Out)!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var closed = await CliRunner.RunAsync(null, "verify", OwnerCommandTests.ClosedPortUrl() + "/api/certificates/x/bundle", "--trust", api.Trust);
        Assert.Equal(2, closed.ExitCode);
        Assert.Contains("cannot reach", closed.Error, StringComparison.Ordinal);

        // The trust is a local file, never a URL: a server could otherwise vouch for itself.
        var remoteTrust = await CliRunner.RunAsync(null, "verify", api.BundleUrl, "--trust", api.Url + "/trust.json");
        Assert.Equal(2, remoteTrust.ExitCode);
    }

    /// <summary>Base64 of the bytes with one bit of the last byte flipped: inside the COSE signature.</summary>
    private static string Flip(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        bytes[^1] ^= 0x01;
        return Convert.ToBase64String(bytes);
    }
}
