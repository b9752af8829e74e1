using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;

namespace GreenTrace.Api.Tests;

/// <summary>The explorer's page and the reads it makes: trust, meters and their hours, a certificate's readings, search, owners.</summary>
public sealed class ExplorerApiTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string AliceId => LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Alice));

    private static string BobId => LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Bob));

    [Fact]
    public async Task TheExplorerIsServedFromTheAssemblyUnderAStrictContentSecurityPolicy()
    {
        await using var api = await ApiLedger.StartAsync();
        using var page = await api.Http.GetAsync("/", Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        foreach (var directive in new[] { "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'" })
            Assert.Contains(directive, policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(page.Headers.GetValues("X-Content-Type-Options")));
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<script type=\"module\" src=\"/explorer/js/app.js\"></script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);

        // Every module app.js reaches, the stylesheet and the icon, each with its type and the same policy.
        string[] modules = ["app", "bytes", "cbor", "charts", "cose", "dom", "entries", "merkle", "note", "readings", "trust", "verify", "verifypanel"];
        foreach (var (path, type) in modules.Select(m => ($"/explorer/js/{m}.js", "text/javascript")).Append(("/explorer/explorer.css", "text/css")).Append(("/explorer/favicon.svg", "image/svg+xml")))
        {
            using var file = await api.Http.GetAsync(path, Ct);
            Assert.True(file.StatusCode == HttpStatusCode.OK, $"{path}: {(int)file.StatusCode}");
            Assert.Equal(type, file.Content.Headers.ContentType?.MediaType);
            Assert.Contains("script-src 'self'", string.Join(";", file.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        }

        // Revalidated by ETag, so a new build is never mixed with cached modules.
        using var first = await api.Http.GetAsync("/explorer/js/verify.js", Ct);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/explorer/js/verify.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var notModified = await api.Http.SendAsync(again, Ct);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync("/explorer/js/nope.js", Ct), HttpStatusCode.NotFound, "not-found");
        using var doc = JsonDocument.Parse(await api.Http.GetStringAsync("/openapi/v1.json", Ct));
        var paths = doc.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.DoesNotContain("/", paths);
        Assert.DoesNotContain(paths, p => p.StartsWith("/explorer", StringComparison.Ordinal));
        string[] reads = ["/api/trust", "/api/search", "/api/meters/{meter}", "/api/meters/{meter}/hourly", "/api/certificates/{id}/readings", "/api/owners/{owner}"];
        Assert.All(reads, p => Assert.Contains(p, paths));
    }

    [Fact]
    public async Task TheTrustIsTheMembershipThatVerifiesTheServedBundles()
    {
        await using var api = await ApiLedger.StartAsync();
        using var response = await api.Http.GetAsync("/api/trust", Ct);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var served = Membership.FromJson(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(ApiLedger.Genesis.ToJson(), served.ToJson());

        using var trust = new TrustedKeys(served);
        var bundle = ProofBundle.FromJson(await api.Http.GetStringAsync($"/api/certificates/{api.Certificate.IdHex}/bundle?reading=0", Ct));
        Assert.True(ProofBundleVerifier.Verify(bundle.Value, trust).IsValid);
    }

    [Fact]
    public async Task AMeterShowsItsRegistrationWithItsLogIndexAndItsCertificates()
    {
        await using var api = await ApiLedger.StartAsync(hours: 3);
        var meter = await api.Http.GetFromJsonAsync<MeterView>($"/api/meters/{ApiLedger.Meter}", Json, Ct);

        Assert.NotNull(meter);
        Assert.Equal((ApiLedger.Meter, "gen", "solar", "photovoltaic", "DE-LU", "DE", 10_000L), (meter.Meter, meter.Direction, meter.Source, meter.Technology, meter.Zone, meter.Country, meter.CapacityW));
        Assert.Equal((ApiLedger.Issuer, 0L, AliceId), (meter.RegisteredBy, meter.RegistrationIndex, meter.Owner));
        Assert.Equal(Convert.ToBase64String(ApiLedger.Spki(ApiLedger.MeterKey)), meter.PublicKey);
        Assert.Equal(0, meter.KeyRotations);
        Assert.Null(meter.RevokedFrom);
        Assert.Equal(api.Certificates.Select(c => c.IdHex), meter.Certificates.Select(c => c.Id));
        Assert.Equal([1L, 2L, 3L], meter.Certificates.Select(c => c.EntryIndex));

        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync("/api/meters/meter-99", Ct), HttpStatusCode.NotFound, LedgerReasons.DeviceUnknown);
        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync("/api/meters/not%20a%20meter", Ct), HttpStatusCode.BadRequest, "meter-id-invalid");
    }

    [Fact]
    public async Task AMetersHoursSumItsArchivedReadingsBesideItsCertificatesAndAConsumptionMetersItsConsumption()
    {
        await using var api = await ApiLedger.StartAsync(hours: 3, buyer: true);
        var hourly = await api.Http.GetFromJsonAsync<MeterHourlyView>($"/api/meters/{ApiLedger.Meter}/hourly", Json, Ct);

        Assert.NotNull(hourly);
        Assert.Equal((ApiLedger.Hour, ApiLedger.Hour + (3 * 3600)), (hourly.From, hourly.To));
        Assert.Equal(
            api.Certificates.Select(c => new MeterHourView(c.PeriodStart, c.FaceValueWh, 4, c.FaceValueWh, 1)),
            hourly.Hours);
        Assert.Equal(api.Certificates.Aggregate(0UL, (s, c) => s + c.FaceValueWh), hourly.ReadingWh);
        Assert.Equal(hourly.ReadingWh, hourly.CertificateWh);
        Assert.Equal(0, hourly.Undecodable);

        // Any window: rounded out to whole hours, every hour listed, the empty ones as zeros.
        var window = await api.Http.GetFromJsonAsync<MeterHourlyView>($"/api/meters/{ApiLedger.Meter}/hourly?from={ApiLedger.Hour - 3000}&to={ApiLedger.Hour + 1}", Json, Ct);
        Assert.Equal([new MeterHourView(ApiLedger.Hour - 3600, 0, 0, 0, 0), new MeterHourView(ApiLedger.Hour, 1000, 4, 1000, 1)], window!.Hours);

        var load = await api.Http.GetFromJsonAsync<MeterHourlyView>($"/api/meters/{ApiLedger.LoadMeter}/hourly", Json, Ct);
        Assert.Equal((ApiLedger.Hour, ApiLedger.Hour + (3 * 3600)), (load!.From, load.To));
        Assert.All(load.Hours, h => Assert.Equal((4 * ApiLedger.LoadReadingWh, 4, 0UL, 0), (h.ReadingWh, h.Readings, h.CertificateWh, h.Certificates)));

        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync($"/api/meters/{ApiLedger.Meter}/hourly?from={ApiLedger.Hour}&to={ApiLedger.Hour + (745 * 3600)}", Ct), HttpStatusCode.BadRequest, "range-invalid");
        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync($"/api/meters/{ApiLedger.Meter}/hourly?from={ApiLedger.Hour}&to={ApiLedger.Hour - 3600}", Ct), HttpStatusCode.BadRequest, "range-invalid");
        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync("/api/meters/meter-99/hourly", Ct), HttpStatusCode.NotFound, LedgerReasons.DeviceUnknown);
    }

    [Fact]
    public async Task ACertificatesReadingsAreDecodedBesideTheExactBytesItsBundleProves()
    {
        await using var api = await ApiLedger.StartAsync();
        var view = await api.Http.GetFromJsonAsync<CertificateReadingsView>($"/api/certificates/{api.Certificate.IdHex}/readings", Json, Ct);

        Assert.NotNull(view);
        Assert.Equal(api.Certificate.IdHex, view.Certificate);
        Assert.Equal([0, 1, 2, 3], view.Readings.Select(r => r.Index));
        Assert.Equal([1UL, 2UL, 3UL, 4UL], view.Readings.Select(r => r.Sequence));
        Assert.All(view.Readings, r => Assert.Equal((ApiLedger.Meter, 250UL, "gen", "m", (string?)null), (r.Meter, r.Wh, r.Direction, r.Quality, r.Error)));
        Assert.Equal(ApiLedger.Hour + 900, view.Readings[1].Start);
        using var bundle = JsonDocument.Parse(await api.Http.GetStringAsync($"/api/certificates/{api.Certificate.IdHex}/bundle", Ct));
        Assert.Equal(bundle.RootElement.GetProperty("readings").EnumerateArray().Select(r => r.GetString()), view.Readings.Select(r => r.Cose));

        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync($"/api/certificates/{new string('0', 64)}/readings", Ct), HttpStatusCode.NotFound, LedgerReasons.CertificateUnknown);
        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync("/api/certificates/abc/readings", Ct), HttpStatusCode.BadRequest, "certificate-id-invalid");
    }

    [Fact]
    public async Task SearchTellsACertificateAHoldingAnOwnerAndAMeterApart()
    {
        await using var api = await ApiLedger.StartAsync();
        var transfer = api.TransferFromAlice(ApiLedger.Bob);
        await PostAsync(api, transfer);
        var bobsHolding = Convert.ToHexStringLower(HoldingIds.Compute(SHA256.HashData(transfer), 0));

        Assert.Equal([new SearchHitView("certificate", api.Certificate.IdHex, api.Certificate.IdHex)], await SearchAsync(api, api.Certificate.IdHex.ToUpperInvariant()));
        Assert.Equal([new SearchHitView("holding", bobsHolding, api.Certificate.IdHex)], await SearchAsync(api, bobsHolding));
        Assert.Equal([new SearchHitView("owner", BobId, null)], await SearchAsync(api, BobId));
        Assert.Equal([new SearchHitView("meter", ApiLedger.Meter, null)], await SearchAsync(api, $"  {ApiLedger.Meter} "));
        Assert.Empty(await SearchAsync(api, new string('a', 64)));
        Assert.Empty(await SearchAsync(api, LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Carol))));
        Assert.Empty(await SearchAsync(api, "meter-99"));

        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync("/api/search?q=%20", Ct), HttpStatusCode.BadRequest, "query-invalid");
        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync($"/api/search?q={new string('x', 201)}", Ct), HttpStatusCode.BadRequest, "query-invalid");
    }

    [Fact]
    public async Task AnOwnerViewListsLiveHoldingsOnly()
    {
        await using var api = await ApiLedger.StartAsync();
        var alice = await api.Http.GetFromJsonAsync<OwnerView>($"/api/owners/{AliceId}", Json, Ct);
        Assert.Equal((AliceId, 1000UL), (alice!.Owner, alice.LiveWh));
        Assert.Equal(api.Certificate.IdHex, Assert.Single(alice.Holdings).Certificate.Id);

        await PostAsync(api, api.TransferFromAlice(ApiLedger.Bob));
        var after = await api.Http.GetFromJsonAsync<OwnerView>($"/api/owners/{AliceId}", Json, Ct);
        Assert.Empty(after!.Holdings);
        Assert.Equal(0UL, after.LiveWh);
        var bob = await api.Http.GetFromJsonAsync<OwnerView>($"/api/owners/{BobId.ToUpperInvariant()}", Json, Ct);
        var holding = Assert.Single(bob!.Holdings);
        Assert.Equal((1000UL, 2L, Convert.ToBase64String(ApiLedger.Spki(ApiLedger.Bob))), (holding.Wh, holding.CreatedBy, bob.OwnerKey));

        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync($"/api/owners/{LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Carol))}", Ct), HttpStatusCode.NotFound, "owner-unknown");
        await ApiTests.ExpectProblemAsync(await api.Http.GetAsync("/api/owners/owner:12", Ct), HttpStatusCode.BadRequest, "owner-invalid");
    }

    private static async Task<IReadOnlyList<SearchHitView>> SearchAsync(ApiLedger api, string q)
    {
        var view = await api.Http.GetFromJsonAsync<SearchView>($"/api/search?q={Uri.EscapeDataString(q)}", Json, Ct);
        Assert.NotNull(view);
        Assert.Equal(q.Trim(), view.Query);
        return view.Hits;
    }

    private static async Task PostAsync(ApiLedger api, byte[] entry)
    {
        using var content = new ByteArrayContent(entry);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cose");
        using var response = await api.Http.PostAsync("/api/entries", content, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
