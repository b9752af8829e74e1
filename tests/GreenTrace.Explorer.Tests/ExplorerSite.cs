using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using GreenTrace.Api.Tests;
using GreenTrace.Core.Ledger;
using Microsoft.Playwright;

namespace GreenTrace.Explorer.Tests;

/// <summary>
/// The explorer under test, once per test class: the API on real Kestrel (loopback, port 0) over a SQLite ledger of
/// <see cref="Hours"/> hourly certificates of signed readings and Bob's consumption meter (800 Wh an hour), with an
/// ownership history on the first certificate (Alice → Bob, Bob splits 600/400 with Carol, Bob claims his 600)
/// submitted through the API; and Debian's Chromium, headless, driven by Playwright. A missing Chromium fails every test of the class, naming the script that installs it.
/// </summary>
public sealed class ExplorerSite : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const int Hours = 6;
    public const string Beneficiary = "Bob's bakery";
    public const ulong BobsPart = 600;

    private static readonly string[] ChromiumArgs =
        ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    private IPlaywright? _playwright;

    public ApiLedger Api { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public string BaseUrl => Api.Http.BaseAddress!.ToString().TrimEnd('/');

    public static string AliceId => LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Alice));

    public static string BobId => LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Bob));

    public static string CarolId => LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Carol));

    /// <summary>Where screenshots go: $GREENTRACE_SCREENSHOTS, else screenshots/ beside the test assembly.</summary>
    public static string ScreenshotDirectory =>
        Environment.GetEnvironmentVariable("GREENTRACE_SCREENSHOTS") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async ValueTask InitializeAsync()
    {
        Api = await ApiLedger.StartAsync(Hours, buyer: true);
        await RecordOwnershipAsync();
        await LaunchBrowserAsync();
    }

    /// <summary>Only the browser, for a test that serves a ledger of its own.</summary>
    public async Task LaunchBrowserAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: the explorer tests drive Debian's Chromium. Run scripts/install-test-deps (it installs the chromium and chromium-driver packages).");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true, Args = ChromiumArgs });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
            await Browser.CloseAsync();
        _playwright?.Dispose();
        if (Api is not null)
            await Api.DisposeAsync();
    }

    /// <summary>A new browser context and page at <paramref name="fragment"/> (e.g. "#/verify"), with its console errors collected.</summary>
    public Task<ExplorerPage> OpenAsync(string fragment = "") => OpenAsync(BaseUrl, fragment);

    /// <summary>As <see cref="OpenAsync(string)"/>, on the explorer another API serves at <paramref name="baseUrl"/>.</summary>
    public async Task<ExplorerPage> OpenAsync(string baseUrl, string fragment)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 }, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        var explorer = new ExplorerPage(context, page);
        explorer.Response = await page.GotoAsync(baseUrl + "/" + fragment);
        await explorer.WaitUntilReadyAsync();
        return explorer;
    }

    /// <summary>The server's proof bundle for reading <paramref name="reading"/> of the first certificate, as JSON text.</summary>
    public Task<string> ReadingBundleAsync(int reading = 1) =>
        Api.Http.GetStringAsync($"/api/certificates/{Api.Certificate.IdHex}/bundle?reading={reading}", TestContext.Current.CancellationToken);

    private async Task RecordOwnershipAsync()
    {
        var certificate = Api.Certificate;
        var at = Api.LastIssuedAt + 60;
        var transfer = LedgerEntryCodec.SignTransferred(new Transfer(certificate.Id, certificate.Id, ApiLedger.Spki(ApiLedger.Bob)), ApiLedger.Alice, at);
        await SubmitAsync(transfer);
        var bobs = HoldingIds.Compute(SHA256.HashData(transfer), 0);
        var split = LedgerEntryCodec.SignSplit(
            new Split(certificate.Id, bobs, [new SplitPart(BobsPart, ApiLedger.Spki(ApiLedger.Bob)), new SplitPart(certificate.FaceValueWh - BobsPart, ApiLedger.Spki(ApiLedger.Carol))]),
            ApiLedger.Bob, at + 60);
        await SubmitAsync(split);
        var claim = LedgerEntryCodec.SignClaimed(
            new Claim(certificate.Id, HoldingIds.Compute(SHA256.HashData(split), 0), Beneficiary, certificate.PeriodStart, certificate.PeriodEnd), ApiLedger.Bob, at + 120);
        await SubmitAsync(claim);
        // Carol also takes the third hour whole, so her owner view lists two live holdings.
        var third = Api.Certificates[2];
        await SubmitAsync(LedgerEntryCodec.SignTransferred(new Transfer(third.Id, third.Id, ApiLedger.Spki(ApiLedger.Carol)), ApiLedger.Alice, at + 180));
    }

    private async Task SubmitAsync(byte[] entry)
    {
        using var content = new ByteArrayContent(entry);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cose");
        using var response = await Api.Http.PostAsync("/api/entries", content, TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}

/// <summary>One page in its own browser context; disposing closes both.</summary>
public sealed class ExplorerPage : IAsyncDisposable
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly IBrowserContext _context;

    public ExplorerPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                ConsoleErrors.Add(message.Text);
        };
        page.PageError += (_, error) => ConsoleErrors.Add(error);
    }

    public IPage Page { get; }

    /// <summary>The answer to the first navigation.</summary>
    public IResponse? Response { get; set; }

    /// <summary>Console errors and uncaught exceptions, in order.</summary>
    public List<string> ConsoleErrors { get; } = [];

    public ILocator this[string selector] => Page.Locator(selector);

    /// <summary>Waits until the view the URL names has rendered (app.js marks #view data-state="ready").</summary>
    public Task WaitUntilReadyAsync() => Page.Locator("#view[data-state='ready']").WaitForAsync();

    public async Task NavigateAsync(string fragment)
    {
        await Page.EvaluateAsync("f => { location.hash = f; }", fragment);
        await Page.Locator($"#view[data-state='ready'][data-view='{fragment.Split('/')[1]}']").WaitForAsync();
    }

    public async Task SearchAsync(string query, string expectedView)
    {
        await Page.Locator("#search-input").FillAsync(query);
        await Page.Locator("#search-input").PressAsync("Enter");
        await Page.Locator($"#view[data-state='ready'][data-view='{expectedView}']").WaitForAsync();
    }

    /// <summary>Fills the bundle (and, if given, the trust) text areas, presses Verify and returns the banner's verdict.</summary>
    public async Task<(string Valid, string FailedStep)> VerifyAsync(string bundle, string? trust = null)
    {
        await Page.Locator("#trust-json[data-source]").WaitForAsync();
        if (trust is not null)
            await Page.Locator("#trust-json").FillAsync(trust);
        await Page.Locator("#bundle-json").FillAsync(bundle);
        return await PressVerifyAsync();
    }

    public async Task<(string Valid, string FailedStep)> PressVerifyAsync()
    {
        await Page.Locator("#verify-button").ClickAsync();
        var banner = Page.Locator("#verify-banner");
        await banner.WaitForAsync();
        return (await banner.GetAttributeAsync("data-valid") ?? "", await banner.GetAttributeAsync("data-failed-step") ?? "");
    }

    /// <summary>A full-page PNG named after the test, checked to be one.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ExplorerSite.ScreenshotDirectory);
        var path = Path.Combine(ExplorerSite.ScreenshotDirectory, name + ".png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.True(File.Exists(path), $"no screenshot at {path}");
        var bytes = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        Assert.True(bytes.Length > PngSignature.Length, $"{path} is empty");
        Assert.Equal(PngSignature, bytes[..PngSignature.Length]);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Page.CloseAsync();
        await _context.CloseAsync();
    }
}
