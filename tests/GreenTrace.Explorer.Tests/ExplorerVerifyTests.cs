using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GreenTrace.Api.Tests;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;

namespace GreenTrace.Explorer.Tests;

/// <summary>
/// Reading bundles verified in Chromium with WebCrypto: the server's bundle is valid, tampered ones are invalid at the
/// step that broke, another node key in the trust fails the checkpoint, and for every tampering the browser names the
/// same first failing step as the C# <see cref="ProofBundleVerifier"/>.
/// </summary>
public sealed partial class ExplorerVerifyTests(ExplorerSite site) : IClassFixture<ExplorerSite>
{
    /// <summary>Ways to break a bundle, each a byte or a number the verifier must notice.</summary>
    private static readonly Dictionary<string, Action<JsonObject>> Tamperings = new(StringComparer.Ordinal)
    {
        ["reading-payload-byte"] = b => FlipByte(b, "reading", n => n / 2),
        ["reading-signature-byte"] = b => FlipByte(b, "reading", n => n - 1),
        ["reading-tag-byte"] = b => FlipByte(b, "reading", _ => 0),
        ["reading-proof-hash"] = b => FlipProofHash(b, "reading"),
        ["reading-index"] = b => b["reading"]!["index"] = b["reading"]!["index"]!.GetValue<long>() + 1,
        ["reading-tree-size"] = b => b["reading"]!["treeSize"] = b["reading"]!["treeSize"]!.GetValue<long>() + 1,
        ["certificate-entry-byte"] = b => FlipByte(b, "certificate", n => n / 2),
        ["certificate-entry-signature"] = b => FlipByte(b, "certificate", n => n - 1),
        ["certificate-proof-hash"] = b => FlipProofHash(b, "certificate"),
        ["certificate-index"] = b => b["certificate"]!["index"] = b["certificate"]!["index"]!.GetValue<long>() + 1,
        ["device-entry-byte"] = b => FlipByte(b, "device", n => n / 3),
        ["device-proof-hash"] = b => FlipProofHash(b, "device"),
        ["device-index"] = b => b["device"]!["index"] = b["device"]!["index"]!.GetValue<long>() + 1,
        ["checkpoint-size-line"] = b => b["checkpoint"] = ChangeSizeLine(b["checkpoint"]!.GetValue<string>()),
        ["format"] = b => b["format"] = "greentrace-proof-bundle/0",
    };

    public static TheoryData<string> TamperingNames => new(Tamperings.Keys);

    [Fact]
    public async Task TheServersReadingBundleIsValidAgainstTheServersTrustAndAgainstTheRegistrysCopy()
    {
        await using var page = await site.OpenAsync($"#/certificate/{site.Api.Certificate.IdHex}");
        await page["#trust-json[data-source='server']"].WaitForAsync();
        Assert.Contains("compare", await page["#trust-warning"].InnerTextAsync(), StringComparison.OrdinalIgnoreCase);
        await page["#reading-index"].FillAsync("2");
        await page["#load-reading-bundle"].ClickAsync();
        await page["#verify-status[data-loaded]"].WaitForAsync();
        Assert.Contains("\"greentrace-proof-bundle/1\"", await page["#bundle-json"].InputValueAsync(), StringComparison.Ordinal);
        Assert.Equal($"/api/certificates/{site.Api.Certificate.IdHex}/bundle", await page["#bundle-download"].GetAttributeAsync("href"));

        var (valid, failed) = await page.PressVerifyAsync();
        Assert.Equal("true", valid);
        Assert.Equal("", failed);
        string[] steps = ["checkpoint", "device-entry", "device-inclusion", "certificate-entry", "certificate-inclusion", "reading-signature", "reading-in-certificate", "reading-inclusion"];
        Assert.Equal(steps, await page["#verify-steps li"].EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.step)"));
        Assert.Equal(steps.Select(_ => "true"), await page["#verify-steps li"].EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.passed)"));
        Assert.Contains("Reading #3", await page["#verify-facts"].InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync("10-verify-reading-bundle-valid");

        // The copy the registry handed out, pasted in place of the server's: the same verdict.
        (valid, _) = await page.VerifyAsync(await page["#bundle-json"].InputValueAsync(), ApiLedger.Genesis.ToJson());
        Assert.Equal("true", valid);
        Assert.Contains("Edited by you", await page["#trust-warning"].InnerTextAsync(), StringComparison.Ordinal);
        Assert.Empty(page.ConsoleErrors);
    }

    [Fact]
    public async Task AReadingWithAByteFlippedInsideItsCoseValueIsInvalidAtReadingSignature()
    {
        var tampered = Tamper(await site.ReadingBundleAsync(), b => FlipByte(b, "reading", n => n / 2));
        await using var page = await site.OpenAsync("#/verify");
        var (valid, failed) = await page.VerifyAsync(tampered);
        Assert.Equal("false", valid);
        Assert.Equal(ProofSteps.ReadingSignature, failed);
        Assert.Contains("reading-signature", await page["#verify-banner"].InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal("false", await page["#verify-steps li[data-step='reading-signature']"].GetAttributeAsync("data-passed"));
        await page.ScreenshotAsync("11-verify-tampered-reading");
    }

    [Fact]
    public async Task ABundleWhoseCheckpointLineWasChangedIsInvalidAtCheckpoint()
    {
        var tampered = Tamper(await site.ReadingBundleAsync(), b => b["checkpoint"] = ChangeSizeLine(b["checkpoint"]!.GetValue<string>()));
        await using var page = await site.OpenAsync("#/verify");
        var (valid, failed) = await page.VerifyAsync(tampered);
        Assert.Equal("false", valid);
        Assert.Equal(ProofSteps.Checkpoint, failed);
        Assert.Contains("checkpoint-signature", await page["#verify-steps li[data-step='checkpoint']"].InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync("12-verify-changed-checkpoint");
    }

    [Fact]
    public async Task ATrustWithAnotherNodeKeyIsInvalidAtCheckpoint()
    {
        using var impostor = NoteSigner.Generate("node-1");
        var genesis = ApiLedger.Genesis;
        var other = genesis with { Nodes = [new NodeMember("node-1", impostor.Verifier.VerifierKey), .. genesis.Nodes.Skip(1)] };
        var bundle = await site.ReadingBundleAsync();
        using (var trust = new TrustedKeys(other))
            Assert.Equal(ProofSteps.Checkpoint, ProofBundleVerifier.Verify(ProofBundle.FromJson(bundle).Value, trust).FirstFailure?.Step);

        await using var page = await site.OpenAsync("#/verify");
        var (valid, failed) = await page.VerifyAsync(bundle, other.ToJson());
        Assert.Equal("false", valid);
        Assert.Equal(ProofSteps.Checkpoint, failed);
        Assert.Contains("checkpoint-quorum", await page["#verify-steps li[data-step='checkpoint']"].InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains(impostor.Verifier.VerifierKey.Split('+')[1], await page["#trust-summary"].InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync("13-verify-other-node-key");
    }

    [Theory]
    [MemberData(nameof(TamperingNames))]
    public async Task TheBrowserNamesTheFirstFailingStepTheCSharpVerifierNames(string tampering)
    {
        var tampered = Tamper(await site.ReadingBundleAsync(), Tamperings[tampering]);
        var parsed = ProofBundle.FromJson(tampered);
        string expected;
        if (!parsed.IsOk)
        {
            expected = parsed.Error!.Code;
        }
        else
        {
            using var trust = new TrustedKeys(ApiLedger.Genesis);
            var report = ProofBundleVerifier.Verify(parsed.Value, trust);
            Assert.False(report.IsValid, $"{tampering} left the bundle valid for the C# verifier");
            expected = report.FirstFailure!.Step;
        }

        await using var page = await site.OpenAsync("#/verify");
        var (valid, failed) = await page.VerifyAsync(tampered);
        Assert.Equal("false", valid);
        Assert.Equal(expected, failed);
        await page.ScreenshotAsync($"20-cross-check-{tampering}");
    }

    internal static string Tamper(string json, Action<JsonObject> change)
    {
        var bundle = JsonNode.Parse(json)!.AsObject();
        change(bundle);
        return bundle.ToJsonString();
    }

    internal static void FlipByte(JsonObject bundle, string leaf, Func<int, int> at) => FlipByte(bundle[leaf]!.AsObject(), at);

    /// <summary>Flips the lowest bit of one byte of a proven leaf's value, the byte at <paramref name="at"/>(length).</summary>
    internal static void FlipByte(JsonObject leaf, Func<int, int> at)
    {
        var bytes = Convert.FromBase64String(leaf["value"]!.GetValue<string>());
        bytes[at(bytes.Length)] ^= 0x01;
        leaf["value"] = Convert.ToBase64String(bytes);
    }

    private static void FlipProofHash(JsonObject bundle, string leaf)
    {
        var proof = bundle[leaf]!["proof"]!.AsArray();
        Assert.NotEmpty(proof);
        var hash = proof[0]!.GetValue<string>();
        proof[0] = (hash[0] == '0' ? '1' : '0') + hash[1..];
    }

    /// <summary>The note's tree size line, one more: the text no signature covers any longer.</summary>
    internal static string ChangeSizeLine(string note) =>
        SizeLine().Replace(note, m => $"\n{long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1}\n", 1);

    [GeneratedRegex(@"\n(\d+)\n")]
    private static partial Regex SizeLine();
}
