using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using GreenTrace.Cli;
using GreenTrace.Cli.Demo;

namespace GreenTrace.Explorer.Tests;

/// <summary>
/// Issue 6's "done when", as the README walks it: `greentrace demo` leaves a ledger, `greentrace api --demo` serves it,
/// the explorer shows it in Chromium, and the bundle of the certificate the demo's buyer claimed verifies both in the
/// browser and, downloaded, with `greentrace verify`. Every step runs the real commands in-process.
/// </summary>
public sealed class DemoExplorerTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "greentrace-demo-explorer-" + Guid.NewGuid().ToString("N"));
    private readonly CancellationTokenSource _stop = new();
    private readonly ExplorerSite _browser = new();
    private Task<int>? _api;
    private string _url = "";
    private string _demoOutput = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Data => Path.Combine(_dir, "greentrace-demo");

    public async ValueTask InitializeAsync()
    {
        var demo = await RunAsync("demo", "--meters", "12", "--seed", "7", "--data", Data);
        Assert.True(demo.Exit == 0, demo.Out + demo.Error);
        _demoOutput = demo.Out;

        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        _url = $"http://127.0.0.1:{port}";
        var console = new CliConsole(new StringReader(""), TextWriter.Synchronized(new StringWriter()), TextWriter.Synchronized(new StringWriter()));
        _api = CliApp.RunAsync(["api", "--demo", Data, "--urls", _url], console, _stop.Token);
        using var http = new HttpClient();
        while (true)
        {
            if (_api.IsCompleted)
                Assert.Fail($"greentrace api --demo exited {await _api}: {console.Error}");
            try
            {
                using var ready = await http.GetAsync(_url + "/api/checkpoint", Ct);
                if (ready.IsSuccessStatusCode)
                    break;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100, Ct);
        }
        await _browser.LaunchBrowserAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_api is not null)
            await _api;
        await _browser.DisposeAsync();
        _stop.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task TheDemosLedgerIsServedShownAndItsBuyersCertificateVerifiesInTheBrowserAndWithTheVerifyCommand()
    {
        // The demo names the certificate its buyer claimed and the buyer; the explorer finds both.
        var certificate = Named("/api/certificates/", "/bundle");
        var buyer = Named("/api/matching?owner=", "");
        await using var page = await _browser.OpenAsync(_url, "");
        await page.SearchAsync(certificate, "certificate");
        var chain = await page["#view"].InnerTextAsync();
        Assert.Contains(DemoMarket.Beneficiary, chain, StringComparison.Ordinal);
        await page.ScreenshotAsync("90-demo-certificate-chain");

        // In the browser: the raw certificate bundle from the server, against the trust the page shows.
        await page["#trust-json[data-source='server']"].WaitForAsync();
        await page["#load-certificate-bundle"].ClickAsync();
        await page["#verify-status[data-loaded]"].WaitForAsync();
        var (valid, failed) = await page.PressVerifyAsync();
        Assert.Equal(("true", ""), (valid, failed));
        await page.ScreenshotAsync("91-demo-certificate-bundle-valid");

        // Downloaded through the page's own link, and checked with `greentrace verify` against the demo's trust file.
        var download = await page.Page.RunAndWaitForDownloadAsync(() => page["#bundle-download"].ClickAsync());
        var file = Path.Combine(_dir, "downloaded.json");
        await download.SaveAsAsync(file);
        var verify = await RunAsync("verify", file, "--trust", Path.Combine(Data, DemoLayout.Genesis), "--json");
        Assert.True(verify.Exit == 0, verify.Out + verify.Error);
        using (var report = JsonDocument.Parse(verify.Out))
            Assert.Contains(report.RootElement.GetProperty("ownership").GetProperty("claims").EnumerateArray(), c => c.GetProperty("claimant").GetString() == buyer);

        // The buyer's hourly matching, drawn from the demo's consumption readings and claims.
        await page.NavigateAsync($"#/owner/{buyer}");
        await page["svg#matching-chart"].WaitForAsync();
        Assert.Contains("matched hour by hour", await page["#matching-score"].InnerTextAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync("92-demo-buyer-matching");
        Assert.Empty(page.ConsoleErrors);
    }

    /// <summary>The id the demo's summary printed between a path and what follows it.</summary>
    private string Named(string before, string after)
    {
        var line = _demoOutput.Replace("\n", "", StringComparison.Ordinal);
        var start = line.IndexOf(before, StringComparison.Ordinal);
        Assert.True(start >= 0, $"the demo's summary names no {before}: {_demoOutput}");
        start += before.Length;
        var end = after.Length == 0 ? line.IndexOfAny([' ', '\r', '['], start) : line.IndexOf(after, start, StringComparison.Ordinal);
        return line[start..(end < 0 ? line.Length : end)].Trim();
    }

    private static async Task<(int Exit, string Out, string Error)> RunAsync(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exit = await CliApp.RunAsync(args, new CliConsole(new StringReader(""), output, error), Ct);
        return (exit, output.ToString(), error.ToString());
    }
}
