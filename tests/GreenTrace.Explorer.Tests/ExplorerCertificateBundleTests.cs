using System.Globalization;
using System.Text.Json.Nodes;
using GreenTrace.Api.Tests;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;

namespace GreenTrace.Explorer.Tests;

/// <summary>
/// Certificate bundles ("greentrace-certificate-bundle/1", GET /api/certificates/{id}/bundle) verified in Chromium:
/// the server's is valid and its ownership replayed; tampered ones fail at the step the C# <see cref="CertificateBundleVerifier"/> names.
/// </summary>
public sealed class ExplorerCertificateBundleTests(ExplorerSite site) : IClassFixture<ExplorerSite>
{
    private static readonly string[] AllSteps =
    [
        "checkpoint", "device-entry", "device-inclusion", "certificate-entry", "certificate-inclusion",
        "readings-signature", "readings-in-certificate", "readings-root", "history-entry", "history-inclusion", "ownership",
    ];

    /// <summary>Ways to break a certificate bundle: bytes, order, omissions and numbers the verifier must notice.</summary>
    private static readonly Dictionary<string, Action<JsonObject>> Tamperings = new(StringComparer.Ordinal)
    {
        ["reading-byte"] = b => FlipReadingByte(b, 1, n => n / 2),
        ["reading-signature-byte"] = b => FlipReadingByte(b, 3, n => n - 1),
        ["reading-removed"] = b => b["readings"]!.AsArray().RemoveAt(1),
        ["readings-swapped"] = b => Swap(b["readings"]!.AsArray(), 0, 1),
        ["reading-duplicated"] = b => b["readings"]!.AsArray()[2] = b["readings"]!.AsArray()[1]!.GetValue<string>(),
        ["history-entry-byte"] = b => ExplorerVerifyTests.FlipByte(History(b, 1), n => n / 2),
        ["history-signature-byte"] = b => ExplorerVerifyTests.FlipByte(History(b, 2), n => n - 1),
        ["history-index"] = b => History(b, 0)["index"] = History(b, 0)["index"]!.GetValue<long>() + 1,
        ["history-order"] = b => Swap(b["history"]!.AsArray(), 0, 1),
        ["history-first-removed"] = b => b["history"]!.AsArray().RemoveAt(0),
        ["history-proof-hash"] = b => FlipFirstHash(History(b, 2)),
        ["history-tree-size"] = b => History(b, 0)["treeSize"] = History(b, 0)["treeSize"]!.GetValue<long>() - 1,
        ["history-is-the-device-entry"] = b => b["history"]!.AsArray()[0] = b["device"]!.DeepClone(),
        ["certificate-index"] = b => b["certificate"]!["index"] = b["certificate"]!["index"]!.GetValue<long>() + 1,
        ["device-entry-byte"] = b => ExplorerVerifyTests.FlipByte(b, "device", n => n / 3),
        ["checkpoint-size-line"] = b => b["checkpoint"] = ExplorerVerifyTests.ChangeSizeLine(b["checkpoint"]!.GetValue<string>()),
        ["unknown-member"] = b => b["note"] = "trust me",
    };

    public static TheoryData<string> TamperingNames => new(Tamperings.Keys);

    [Fact]
    public async Task TheServersCertificateBundleIsValidAndItsOwnershipChainIsShown()
    {
        var expected = CSharpVerify(await CertificateBundleAsync());
        Assert.True(expected.IsValid, expected.FirstFailure?.ToString());

        await using var page = await site.OpenAsync($"#/certificate/{site.Api.Certificate.IdHex}");
        await page["#trust-json[data-source='server']"].WaitForAsync();
        await page["#load-certificate-bundle"].ClickAsync();
        await page["#verify-status[data-loaded]"].WaitForAsync();
        Assert.Contains(CertificateBundle.CurrentFormat, await page["#bundle-json"].InputValueAsync(), StringComparison.Ordinal);
        var (valid, failed) = await page.PressVerifyAsync();
        Assert.Equal("true", valid);
        Assert.Equal("", failed);
        Assert.Equal(AllSteps, await page["#verify-steps li"].EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.step)"));
        Assert.Contains("certificate bundle", await page["#verify-banner"].InnerTextAsync(), StringComparison.Ordinal);

        // The browser's replay of the signed history is the C# verifier's, holding by holding.
        var holdings = await page["#ownership tbody tr"].EvaluateAllAsync<string[][]>(
            "rows => rows.map(r => [r.dataset.holding, r.dataset.status, r.children[2].textContent])");
        var proven = expected.Ownership!.Holdings;
        Assert.Equal(proven.Count, holdings.Length);
        for (var i = 0; i < proven.Count; i++)
        {
            Assert.Equal(proven[i].Id, holdings[i][0]);
            Assert.Equal(proven[i].Status.ToString().ToLowerInvariant(), holdings[i][1]);
            Assert.Equal(proven[i].Wh.ToString(CultureInfo.InvariantCulture), holdings[i][2]);
        }
        Assert.Equal(["spent", "spent", "claimed", "live"], holdings.Select(h => h[1]));
        var claim = Assert.Single(expected.Ownership.Claims);
        var claims = await page["#claims"].InnerTextAsync();
        Assert.Contains(ExplorerSite.Beneficiary, claims, StringComparison.Ordinal);
        Assert.Contains(claim.Wh.ToString(CultureInfo.InvariantCulture), claims, StringComparison.Ordinal);
        await page.ScreenshotAsync("30-verify-certificate-bundle-valid");
        Assert.Empty(page.ConsoleErrors);
    }

    [Fact]
    public async Task ACertificateBundleWithOneReadingByteFlippedIsInvalidAtReadingsSignature()
    {
        var tampered = ExplorerVerifyTests.Tamper(await CertificateBundleAsync(), b => FlipReadingByte(b, 2, n => n / 2));
        Assert.Equal(ProofSteps.ReadingsSignature, CSharpVerify(tampered).FirstFailure?.Step);
        await using var page = await site.OpenAsync("#/verify");
        var (valid, failed) = await page.VerifyAsync(tampered);
        Assert.Equal("false", valid);
        Assert.Equal(ProofSteps.ReadingsSignature, failed);
        Assert.Contains("reading 2", await page["#verify-steps li[data-step='readings-signature']"].InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync("31-verify-certificate-bundle-reading-byte");
    }

    [Fact]
    public async Task ACertificateBundleWithAReadingRemovedFailsAtTheStepTheCSharpVerifierNames()
    {
        var tampered = ExplorerVerifyTests.Tamper(await CertificateBundleAsync(), b => b["readings"]!.AsArray().RemoveAt(1));
        var expected = CSharpVerify(tampered).FirstFailure;
        Assert.NotNull(expected);
        Assert.Equal(ProofSteps.ReadingsInCertificate, expected.Step);
        await using var page = await site.OpenAsync("#/verify");
        var (valid, failed) = await page.VerifyAsync(tampered);
        Assert.Equal("false", valid);
        Assert.Equal(expected.Step, failed);
        Assert.Equal(expected.Detail, await page["#verify-steps li[data-passed='false'] .detail"].InnerTextAsync());
        await page.ScreenshotAsync("32-verify-certificate-bundle-reading-removed");
    }

    [Theory]
    [MemberData(nameof(TamperingNames))]
    public async Task TheBrowserNamesTheFirstFailingStepTheCSharpVerifierNames(string tampering)
    {
        var tampered = ExplorerVerifyTests.Tamper(await CertificateBundleAsync(), Tamperings[tampering]);
        var parsed = Bundles.Parse(tampered);
        string expected;
        if (!parsed.IsOk)
        {
            expected = parsed.Error!.Code;
        }
        else
        {
            var report = CSharpVerify(tampered);
            Assert.False(report.IsValid, $"{tampering} left the bundle valid for the C# verifier");
            expected = report.FirstFailure!.Step;
        }

        await using var page = await site.OpenAsync("#/verify");
        var (valid, failed) = await page.VerifyAsync(tampered);
        Assert.Equal("false", valid);
        Assert.Equal(expected, failed);
        await page.ScreenshotAsync($"40-cross-check-certificate-{tampering}");
    }

    private Task<string> CertificateBundleAsync() =>
        site.Api.Http.GetStringAsync($"/api/certificates/{site.Api.Certificate.IdHex}/bundle", TestContext.Current.CancellationToken);

    private static CertificateVerificationReport CSharpVerify(string json)
    {
        var bundle = CertificateBundle.FromJson(json);
        Assert.True(bundle.IsOk, bundle.ToString());
        using var trust = new TrustedKeys(ApiLedger.Genesis);
        return CertificateBundleVerifier.Verify(bundle.Value, trust);
    }

    private static JsonObject History(JsonObject bundle, int i)
    {
        var history = bundle["history"]!.AsArray();
        Assert.True(history.Count > i, $"the bundle has {history.Count} history entries");
        return history[i]!.AsObject();
    }

    private static void FlipReadingByte(JsonObject bundle, int reading, Func<int, int> at)
    {
        var readings = bundle["readings"]!.AsArray();
        var bytes = Convert.FromBase64String(readings[reading]!.GetValue<string>());
        bytes[at(bytes.Length)] ^= 0x01;
        readings[reading] = Convert.ToBase64String(bytes);
    }

    private static void FlipFirstHash(JsonObject leaf)
    {
        var proof = leaf["proof"]!.AsArray();
        Assert.NotEmpty(proof);
        var hash = proof[0]!.GetValue<string>();
        proof[0] = (hash[0] == '0' ? '1' : '0') + hash[1..];
    }

    private static void Swap(JsonArray items, int i, int j)
    {
        var a = items[i]!.DeepClone();
        items[i] = items[j]!.DeepClone();
        items[j] = a;
    }
}
