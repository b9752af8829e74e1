using System.Text.Json;
using System.Text.Json.Nodes;

namespace GreenTrace.Cli.Tests;

/// <summary><c>greentrace verify</c> on the bundle a real demo run wrote, and on every way of breaking it.</summary>
public sealed class VerifyCommandTests(DemoFixture demo) : IClassFixture<DemoFixture>
{
    [Fact]
    public async Task ValidBundleExitsZeroAndSaysWhatItProves()
    {
        var r = await CliRunner.RunAsync(null, "verify", demo.Bundle, "--trust", demo.Trust);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Proof bundle: VALID", r.Out);
        Assert.Contains("reading-inclusion", r.Out);
    }

    [Fact]
    public async Task JsonOutputIsMachineReadable()
    {
        var r = await CliRunner.RunAsync(null, "verify", demo.Bundle, "--trust", demo.Trust, "--json");
        Assert.Equal(0, r.ExitCode);
        var json = JsonNode.Parse(r.Out)!;
        Assert.True(json["valid"]!.GetValue<bool>());
        Assert.Equal(8, json["steps"]!.AsArray().Count);
        Assert.Equal(demo.Result.BundleReport.Certificate!.IdHex, json["certificate"]!["id"]!.GetValue<string>());
    }

    public static TheoryData<string, string> Tamperings => new()
    {
        { "reading.proof.0", "reading-inclusion" },
        { "reading.index", "reading-inclusion" },
        { "reading.value", "reading-signature" },
        { "certificate.proof.0", "certificate-inclusion" },
        { "certificate.value", "certificate-entry" },
        { "device.proof.0", "device-inclusion" },
        { "device.index", "device-inclusion" },
        { "device.value", "device-entry" },
        { "checkpoint", "checkpoint" },
    };

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task TamperedBundleExitsOneNamingTheFirstFailingStep(string field, string step)
    {
        var bundle = JsonNode.Parse(await File.ReadAllTextAsync(demo.Bundle, TestContext.Current.CancellationToken))!;
        Tamper(bundle, field);
        var path = Path.Combine(demo.Directory, $"tampered-{field}.json");
        await File.WriteAllTextAsync(path, bundle.ToJsonString(), TestContext.Current.CancellationToken);

        var r = await CliRunner.RunAsync(null, "verify", path, "--trust", demo.Trust, "--json");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(step, JsonNode.Parse(r.Out)!["failedStep"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnotherConsortiumsTrustRejectsTheCheckpoint()
    {
        var trust = JsonNode.Parse(await File.ReadAllTextAsync(demo.Trust, TestContext.Current.CancellationToken))!;
        using var other = Core.Checkpoints.NoteSigner.Generate("node-1");
        trust["nodes"]![0]!["verifierKey"] = other.Verifier.VerifierKey;
        var path = Path.Combine(demo.Directory, "other-trust.json");
        await File.WriteAllTextAsync(path, trust.ToJsonString(), TestContext.Current.CancellationToken);

        var r = await CliRunner.RunAsync(null, "verify", demo.Bundle, "--trust", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("failed at step 'checkpoint'", r.Out);
    }

    [Fact]
    public async Task UnusableInputExitsTwo()
    {
        var garbage = Path.Combine(demo.Directory, "garbage.json");
        await File.WriteAllTextAsync(garbage, "{ not json", TestContext.Current.CancellationToken);
        var empty = Path.Combine(demo.Directory, "empty.json");
        await File.WriteAllTextAsync(empty, "{}", TestContext.Current.CancellationToken);

        Assert.Equal(2, (await CliRunner.RunAsync(null, "verify", Path.Combine(demo.Directory, "missing.json"), "--trust", demo.Trust)).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "verify", garbage, "--trust", demo.Trust)).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "verify", empty, "--trust", demo.Trust)).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "verify", demo.Bundle, "--trust", garbage)).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "verify", demo.Bundle)).ExitCode);
    }

    private static void Tamper(JsonNode bundle, string field)
    {
        var parts = field.Split('.');
        if (parts[0] == "checkpoint")
        {
            // Claim a bigger log under the same signature.
            var note = bundle["checkpoint"]!.GetValue<string>();
            var lines = note.Split('\n');
            lines[1] = (long.Parse(lines[1], System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            bundle["checkpoint"] = string.Join('\n', lines);
            return;
        }
        var leaf = bundle[parts[0]]!;
        switch (parts[1])
        {
            case "proof":
                var hash = leaf["proof"]![0]!.GetValue<string>();
                leaf["proof"]![0] = (hash[0] == '0' ? "1" : "0") + hash[1..];
                break;
            case "index":
                leaf["index"] = leaf["index"]!.GetValue<long>() + 1;
                break;
            case "value":
                var bytes = Convert.FromBase64String(leaf["value"]!.GetValue<string>());
                bytes[^5] ^= 0x01; // inside the signature
                leaf["value"] = Convert.ToBase64String(bytes);
                break;
            default:
                throw new ArgumentException(field);
        }
        _ = JsonSerializer.Serialize(bundle);
    }
}
