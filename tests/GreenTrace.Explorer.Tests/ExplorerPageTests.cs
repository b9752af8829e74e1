using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using GreenTrace.Api;
using GreenTrace.Api.Tests;

namespace GreenTrace.Explorer.Tests;

/// <summary>The explorer's pages in Chromium: loading under its policy, search, a certificate's chain, a meter's chart, an owner.</summary>
public sealed class ExplorerPageTests(ExplorerSite site) : IClassFixture<ExplorerSite>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task ThePageLoadsUnderItsContentSecurityPolicyWithoutConsoleErrors()
    {
        await using var page = await site.OpenAsync();
        Assert.NotNull(page.Response);
        Assert.Equal(200, page.Response.Status);
        var policy = await page.Response.HeaderValueAsync("content-security-policy");
        Assert.NotNull(policy);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);

        await page["#checkpoint dl"].WaitForAsync();
        Assert.Contains("log size", await page["#checkpoint"].InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync("01-home");
        Assert.Empty(page.ConsoleErrors);
    }

    [Fact]
    public async Task SearchingACertificateShowsItsChainFromRegistrationThroughReadingsToTransferSplitAndClaim()
    {
        await using var page = await site.OpenAsync();
        await page.SearchAsync(site.Api.Certificate.IdHex, "certificate");

        Assert.Equal(site.Api.Certificate.IdHex, await page["#certificate-id"].InnerTextAsync());
        var kinds = await page["#chain > li"].EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.kind)");
        Assert.Equal(["registration", "readings", "certificate", "transfer", "split", "claim"], kinds);
        Assert.Equal("0", await page["#chain > li[data-kind='registration']"].GetAttributeAsync("data-index"));
        Assert.Equal("1", await page["#chain > li[data-kind='certificate']"].GetAttributeAsync("data-index"));
        Assert.Contains(ExplorerSite.Beneficiary, await page["#chain > li[data-kind='claim']"].InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains(ExplorerSite.CarolId[..22], await page["#chain > li[data-kind='split']"].InnerTextAsync(), StringComparison.Ordinal);

        await page["#readings-details summary"].ClickAsync();
        Assert.Equal(4, await page["#readings-table tbody tr"].CountAsync());
        Assert.Equal(["1", "2", "3", "4"], await page["#readings-table tbody tr"].EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.seq)"));
        var statuses = await page["#holdings tbody tr"].EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.status)");
        Assert.Equal(["claimed", "live", "spent", "spent"], statuses.Order(StringComparer.Ordinal));
        await page.ScreenshotAsync("02-certificate-chain");
        Assert.Empty(page.ConsoleErrors);
    }

    [Fact]
    public async Task SearchingAMeterDrawsABarPerHourForItsReadingsBesideItsCertificates()
    {
        await using var page = await site.OpenAsync();
        await page.SearchAsync(ApiLedger.Meter, "meter");

        await page["svg#hourly-chart"].WaitForAsync();
        var readingBars = await page["svg#hourly-chart rect.bar-readings"].EvaluateAllAsync<string[][]>("bars => bars.map(b => [b.dataset.hour, b.dataset.wh, String(b.getBBox().height)])");
        var certificateBars = await page["svg#hourly-chart rect.bar-certificates"].EvaluateAllAsync<string[][]>("bars => bars.map(b => [b.dataset.hour, b.dataset.wh])");
        Assert.Equal(ExplorerSite.Hours, readingBars.Length);
        Assert.Equal(ExplorerSite.Hours, certificateBars.Length);
        for (var h = 0; h < ExplorerSite.Hours; h++)
        {
            var certificate = site.Api.Certificates[h];
            Assert.Equal(certificate.PeriodStart.ToString(CultureInfo.InvariantCulture), readingBars[h][0]);
            // Readings from the archive and certificates from the ledger agree, hour by hour, and each bar has height.
            Assert.Equal(certificate.FaceValueWh.ToString(CultureInfo.InvariantCulture), readingBars[h][1]);
            Assert.Equal(certificate.FaceValueWh.ToString(CultureInfo.InvariantCulture), certificateBars[h][1]);
            Assert.True(double.Parse(readingBars[h][2], CultureInfo.InvariantCulture) > 0, $"the bar of hour {h} has no height");
        }
        Assert.Equal(ExplorerSite.Hours, await page["#meter-certificates tbody tr"].CountAsync());
        await page.ScreenshotAsync("03-meter-chart");
        Assert.Empty(page.ConsoleErrors);
    }

    [Fact]
    public async Task AnOwnerViewListsTheLiveHoldingsAndSaysWhatItCannotShow()
    {
        await using var page = await site.OpenAsync();
        await page.SearchAsync(ExplorerSite.CarolId, "owner");

        Assert.Equal(2, await page["#owner-holdings tbody tr"].CountAsync());
        var text = await page["#owner-holdings"].InnerTextAsync();
        Assert.Contains("400", text, StringComparison.Ordinal);
        Assert.Contains(site.Api.Certificates[2].FaceValueWh.ToString(CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        // Carol consumes nothing here and claimed nothing: the server has no matching for her, and the page says why.
        await page["#matching-message"].WaitForAsync();
        Assert.Equal("404", await page["#matching-message"].GetAttributeAsync("data-status"));
        Assert.Contains("owner-unknown", await page["#matching-message"].InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page["svg#matching-chart"].CountAsync());
        await page.ScreenshotAsync("04-owner");
    }

    [Fact]
    public async Task TheBuyersOwnerViewDrawsTheHourlyMatchingChartWithTheScore()
    {
        var expected = await site.Api.Http.GetFromJsonAsync<MatchingView>($"/api/matching?owner={ExplorerSite.BobId}", Json, TestContext.Current.CancellationToken);
        Assert.NotNull(expected);
        await using var page = await site.OpenAsync($"#/owner/{ExplorerSite.BobId}");

        await page["svg#matching-chart"].WaitForAsync();
        var consumption = await page["svg#matching-chart rect.bar-consumption"].EvaluateAllAsync<string[]>("bars => bars.map(b => b.dataset.wh)");
        var claimed = await page["svg#matching-chart rect.bar-claimed"].EvaluateAllAsync<string[][]>("bars => bars.map(b => [b.dataset.hour, b.dataset.wh])");
        var matched = await page["svg#matching-chart circle.matched-dot"].EvaluateAllAsync<string[]>("dots => dots.map(d => d.dataset.wh)");
        var hourWh = (4 * ApiLedger.LoadReadingWh).ToString(CultureInfo.InvariantCulture);
        Assert.Equal(Enumerable.Repeat(hourWh, ExplorerSite.Hours), consumption);
        Assert.Equal([[site.Api.Certificate.PeriodStart.ToString(CultureInfo.InvariantCulture), ExplorerSite.BobsPart.ToString(CultureInfo.InvariantCulture)]], claimed);
        Assert.Equal(expected.Hours.Select(h => h.MatchedWh.ToString(CultureInfo.InvariantCulture)), matched);

        // The score the page shows is the server's: 600 Wh matched of 6 × 800 Wh consumed.
        Assert.Equal(0.125, expected.Totals.Score);
        Assert.Equal(expected.Totals.Score, double.Parse((await page["#matching-score"].GetAttributeAsync("data-score"))!, CultureInfo.InvariantCulture));
        Assert.Contains("12.5 % matched hour by hour", await page["#matching-score"].InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains(ExplorerSite.Beneficiary, await page["#matching-claims"].InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync("06-owner-matching");
        Assert.Empty(page.ConsoleErrors);
    }

    [Fact]
    public async Task ASearchThatNamesNothingSaysSo()
    {
        await using var page = await site.OpenAsync();
        await page["#search-input"].FillAsync("no-such-meter");
        await page["#search-input"].PressAsync("Enter");
        await page["#search-message:not([hidden])"].WaitForAsync();
        Assert.Contains("Nothing on this ledger", await page["#search-message"].InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync("05-search-nothing");
        Assert.Empty(page.ConsoleErrors);
    }
}
