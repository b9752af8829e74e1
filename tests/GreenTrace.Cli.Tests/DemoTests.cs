using System.Net.Http.Json;
using System.Text.Json;
using GreenTrace.Cli.Demo;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Cli.Tests;

/// <summary>The whole pipeline on embedded defaults, with every fault kind injected: the guarantees of DESIGN.md hold.</summary>
public sealed class DemoTests(DemoFixture demo) : IClassFixture<DemoFixture>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private DemoResult R => demo.Result;

    [Fact]
    public void EveryGeneratedReadingIsAcceptedAndCertified()
    {
        Assert.Equal(12 * 96, R.ReadingsGenerated);
        Assert.Equal(R.ReadingsGenerated, R.Accepted);
        // One meter of the twelve measures the buyer's consumption: accepted and archived for matching, never certified.
        Assert.Equal(96, R.ConsumptionReadings);
        Assert.Equal(R.Accepted, R.CertifiedReadings + R.ConsumptionReadings);
        Assert.Equal(R.AcceptedWh, R.CertifiedWh + R.Market.Matching.Totals.ConsumptionWh);
        Assert.Empty(R.ReconciliationErrors);
        Assert.True(R.Succeeded);
    }

    [Fact]
    public void EveryMessageIsAccountedFor()
    {
        // Sent = refused by the broker + accepted + rejected with a reason + duplicates: nothing unaccounted.
        Assert.Equal(R.MessagesSent, R.RefusedByBroker + R.Accepted + R.Rejected + R.Duplicates);
        Assert.True(R.Rejected > 0, "faults were injected, so some readings must have been refused");
        Assert.True(R.RefusedByBroker > 0, "wrong-topic faults must be refused by the broker");
        Assert.True(R.Duplicates > 0, "duplicates were injected");
        Assert.Contains("signature-invalid", R.RejectedByReason.Keys);
        // The faults added for rehearsals are refused for their own reasons, and the books say so.
        foreach (var reason in new[] { "timestamp-future", "register-inconsistent", "size-limit", "interval-misaligned", "cose-malformed" })
            Assert.Contains(reason, R.RejectedByReason.Keys);
        Assert.Equal(R.FaultsInjected[GreenTrace.FirmwareSim.Faults.FaultKind.WrongTopic], R.RefusedByBroker);
        Assert.Contains("Every fault met its expected fate", demo.Output);
    }

    [Fact]
    public void OneCertificatePerMeterAndHour()
    {
        Assert.Equal(11 * 24, R.Certificates);
        Assert.Equal(0, R.SupplementaryCertificates);
        Assert.Equal(12 + R.Certificates + R.Market.Entries, R.LedgerSize);
        Assert.Equal(0, R.LedgerRejected);
    }

    [Fact]
    public void TheLedgerOnDiskHoldsWhatTheSummarySays()
    {
        using var store = new SqliteLedgerStore(Path.Combine(demo.Directory, "data", "ledger.db"));
        var entries = store.ReadAll().Select(e => LedgerEntryCodec.Decode(e.Encoded).Value).ToList();
        Assert.Equal(R.LedgerSize, entries.Count);
        Assert.Equal(12, entries.Count(e => e.Kind == EntryKind.DeviceRegistered));
        var certificates = entries.Where(e => e.Kind == EntryKind.CertificateIssued).Select(e => e.Certificate!).ToList();
        Assert.Equal(certificates.Count, certificates.Select(c => c.IdHex).Distinct().Count());
        Assert.Equal(R.CertifiedWh, certificates.Sum(c => (long)c.FaceValueWh));
        Assert.Equal(R.LedgerSize, store.LatestCheckpoint()!.Size);
    }

    [Fact]
    public void TheBuyerBuysSolarCertificatesHourByHourAndClaimsThemAndTheLedgerHoldsEachClaim()
    {
        var m = R.Market;
        Assert.True(m.Claims > 0, "the buyer consumed in daylight hours, so some solar must have been bought and claimed");
        Assert.Equal(m.Transfers + m.Splits, m.Claims);
        var totals = m.Matching.Totals;
        Assert.Equal(m.ClaimedWh, totals.ClaimedWh);
        // Hour by hour: claims never exceed an hour's consumption here, and night hours have no solar to match.
        Assert.Equal(totals.ClaimedWh, totals.MatchedWh);
        Assert.InRange(totals.Score!.Value, 0.01, 0.99);
        Assert.Contains(m.Matching.Hours, h => h.ConsumptionWh > 0 && h.ClaimedWh == 0);

        using var store = new SqliteLedgerStore(Path.Combine(demo.Directory, "data", DemoLayout.Ledger));
        var claims = store.ReadAll().Select(e => LedgerEntryCodec.Decode(e.Encoded).Value).Where(e => e.Kind == EntryKind.Claimed).ToList();
        Assert.Equal(m.Claims, claims.Count);
        Assert.All(claims, c => Assert.Equal(R.BuyerOwnerId, LedgerEntry.OwnerId(c.SignerKey)));
        Assert.All(claims, c => Assert.Equal(DemoMarket.Beneficiary, c.Claim!.Beneficiary));
        Assert.Contains("24/7", demo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheApiServesTheLedgerTheDemoLeftItsMatchingAndABundleThatVerifies()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var error = new StringWriter();
        var synchronizedError = TextWriter.Synchronized(error);
        var console = new CliConsole(new StringReader(""), TextWriter.Synchronized(new StringWriter()), synchronizedError);
        var run = CliApp.RunAsync(["api", "--demo", Path.Combine(demo.Directory, "data"), "--urls", "http://127.0.0.1:0"], console, cts.Token);
        var url = await Ledger.ApiCommandTests.ListeningUrlAsync(run, error, synchronizedError);
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var ct = TestContext.Current.CancellationToken;

        var matching = await http.GetFromJsonAsync<Api.MatchingView>($"/api/matching?owner={R.BuyerOwnerId}", Json, ct);
        var expected = R.Market.Matching.Totals;
        Assert.Equal(new Api.MatchingTotalsView(expected.ConsumptionWh, expected.ClaimedWh, expected.MatchedWh, expected.Score), matching!.Totals);
        Assert.Equal(R.Market.Claims, matching.Claims.Count);

        var bundle = Path.Combine(demo.Directory, "downloaded-bundle.json");
        await File.WriteAllTextAsync(bundle, await http.GetStringAsync($"/api/certificates/{R.CertificateId}/bundle?reading=0", ct), ct);
        var verify = await CliRunner.RunAsync(null, "verify", bundle, "--trust", Path.Combine(demo.Directory, "data", DemoLayout.Genesis));
        Assert.True(verify.ExitCode == 0, verify.Out + verify.Error);

        await cts.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await run);
    }

    [Fact]
    public void TheWrittenBundleVerifies()
    {
        Assert.True(R.BundleReport.IsValid, R.BundleReport.FirstFailure?.ToString());
        Assert.True(File.Exists(demo.Bundle));
        Assert.True(File.Exists(demo.Trust));
        Assert.Contains("Books balance", demo.Output);
    }

    [Fact]
    public async Task TheDemoCommandRunsAndItsBundleVerifiesWithTheVerifyCommand()
    {
        var dir = Path.Combine(demo.Directory, "command");
        var run = await CliRunner.RunAsync(null, "demo", "--meters", "5", "--seed", "3", "--data", Path.Combine(dir, "data"), "--out", Path.Combine(dir, "out"));
        Assert.True(run.ExitCode == 0, run.Out + run.Error);
        Assert.Contains("Books balance", run.Out);
        Assert.DoesNotContain("\u001b[", run.Out); // no terminal escapes in redirected output
        var verify = await CliRunner.RunAsync(null, "verify", Path.Combine(dir, "out", "bundle.json"), "--trust", Path.Combine(dir, "out", "trust.json"));
        Assert.Equal(0, verify.ExitCode);
    }

    [Fact]
    public async Task TheDemoCommandRefusesNonsenseOptions()
    {
        Assert.Equal(2, (await CliRunner.RunAsync(null, "demo", "--meters", "0")).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "demo", "--meters", "many")).ExitCode);
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "demo", "--start", today)).ExitCode); // an hour not yet over is never certified
    }
}
