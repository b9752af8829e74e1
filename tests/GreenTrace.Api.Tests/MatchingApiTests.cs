using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Api.Tests;

/// <summary>
/// The buyer's hourly matching over HTTP, on a ledger of its own: Alice's solar meter issues two hours of certificates;
/// Bob's consumption meter, registered to Bob, signs three hours of readings; Bob buys and claims through the API.
/// </summary>
public sealed class MatchingApiTests : IAsyncDisposable
{
    private const long H = ApiLedger.Hour;
    private const string Solar = "solar-01";
    private const string Load = "load-01";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly ECDsa SolarKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly ECDsa LoadKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "greentrace-matching-tests-" + Guid.NewGuid().ToString("N"));
    private Microsoft.AspNetCore.Builder.WebApplication? _app;
    private HttpClient _http = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string BobId => LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Bob));

    [Fact]
    public async Task EachHourMatchesTheBuyersSignedConsumptionWithWhatTheyClaimedOfThatHour()
    {
        var (hour0, hour1) = await StartAsync();
        // Bob buys 600 of hour 0's 1000 Wh (a split) and claims them; he buys all of hour 1 but does not claim it.
        var split = LedgerEntryCodec.SignSplit(new Split(hour0.Id, hour0.Id, [new SplitPart(600, ApiLedger.Spki(ApiLedger.Bob)), new SplitPart(400, ApiLedger.Spki(ApiLedger.Alice))]), ApiLedger.Alice, H + 7300);
        var bobs = HoldingIds.Compute(SHA256.HashData(split), 0);
        var alices = HoldingIds.Compute(SHA256.HashData(split), 1);
        await PostAsync(split);
        await PostAsync(LedgerEntryCodec.SignClaimed(new Claim(hour0.Id, bobs, "bob-factory", H, H + 3600), ApiLedger.Bob, H + 7300));
        await PostAsync(LedgerEntryCodec.SignTransferred(new Transfer(hour1.Id, hour1.Id, ApiLedger.Spki(ApiLedger.Bob)), ApiLedger.Alice, H + 7300));
        // Alice's own claim is hers, not Bob's.
        await PostAsync(LedgerEntryCodec.SignClaimed(new Claim(hour0.Id, alices, "alice-home", H, H + 3600), ApiLedger.Alice, H + 7300));

        var m = await _http.GetFromJsonAsync<MatchingView>($"/api/matching?owner={BobId}", Json, Ct);

        Assert.NotNull(m);
        Assert.Equal(BobId, m.Owner);
        Assert.Equal([Load], m.Meters);
        Assert.Equal((H, H + (3 * 3600)), (m.From, m.To));
        Assert.Equal(
            [new MatchedHourView(H, 400, 600, 400), new MatchedHourView(H + 3600, 300, 0, 0), new MatchedHourView(H + 7200, 200, 0, 0)],
            m.Hours);
        Assert.Equal(new MatchingTotalsView(900, 600, 400, 400.0 / 900), m.Totals);
        var claim = Assert.Single(m.Claims);
        Assert.Equal((hour0.IdHex, Convert.ToHexStringLower(bobs), H, 600L, "bob-factory"), (claim.Certificate, claim.Holding, claim.Hour, claim.Wh, claim.Beneficiary));

        // The same buyer named by the base64 public key, and a window of one hour.
        var key = Uri.EscapeDataString(Convert.ToBase64String(ApiLedger.Spki(ApiLedger.Bob)));
        var window = await _http.GetFromJsonAsync<MatchingView>($"/api/matching?owner={key}&from={H + 3600}&to={H + 7200}", Json, Ct);
        Assert.Equal([new MatchedHourView(H + 3600, 300, 0, 0)], window!.Hours);
        Assert.Equal(new MatchingTotalsView(300, 0, 0, 0.0), window.Totals);
        Assert.Empty(window.Claims);
    }

    [Fact]
    public async Task AnUnknownOrMalformedBuyerAndAnEmptyPeriodAreRefusedWithTheirCodes()
    {
        await StartAsync();
        var stranger = LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Carol));

        await ExpectProblemAsync($"/api/matching?owner={stranger}", HttpStatusCode.NotFound, "owner-unknown");
        await ExpectProblemAsync("/api/matching?owner=owner:12", HttpStatusCode.BadRequest, "owner-invalid");
        await ExpectProblemAsync("/api/matching?owner=not-base64!", HttpStatusCode.BadRequest, "owner-invalid");
        await ExpectProblemAsync($"/api/matching?owner={BobId}&from={H + 3600}&to={H}", HttpStatusCode.BadRequest, "period-invalid");
        // Alice owns no consumption meter and claimed nothing: not a buyer here.
        await ExpectProblemAsync($"/api/matching?owner={LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Alice))}", HttpStatusCode.NotFound, "owner-unknown");
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    private async Task<(GranularCertificate Hour0, GranularCertificate Hour1)> StartAsync()
    {
        Directory.CreateDirectory(_directory);
        var solar = new DeviceInfo(Solar, ApiLedger.Spki(SolarKey), EnergyDirection.Generation, "solar", "photovoltaic", 10_000, "DE-LU", "DE", 52_520_008, 13_404_954);
        var load = new DeviceInfo(Load, ApiLedger.Spki(LoadKey), EnergyDirection.Consumption, "grid", "consumption", 20_000, "DE-LU", "DE", 52_520_008, 13_404_954);
        var store = "sqlite:" + Path.Combine(_directory, "ledger.db");
        var archivePath = Path.Combine(_directory, "archive.db");
        var certificates = new List<GranularCertificate>();
        using (var trust = new TrustedKeys(ApiLedger.Genesis))
        using (var node = new LedgerNode(LedgerStores.Open(store), trust, ApiLedger.Node3))
        using (var archive = new SqliteReadingArchive(archivePath))
        {
            var entries = new List<ReadOnlyMemory<byte>>
            {
                LedgerEntryCodec.SignDeviceRegistered(solar, ApiLedger.Issuer, ApiLedger.IssuerKey, H - 86400, ApiLedger.Spki(ApiLedger.Alice)),
                LedgerEntryCodec.SignDeviceRegistered(load, ApiLedger.Issuer, ApiLedger.IssuerKey, H - 86400, ApiLedger.Spki(ApiLedger.Bob)),
            };
            for (var hour = 0; hour < 2; hour++)
            {
                var readings = Readings(Solar, SolarKey, EnergyDirection.Generation, H + (hour * 3600), (ulong)(hour * 4), [250, 250, 250, 250]);
                var issued = HourlyAggregation.Issue(solar, readings, 0, new IssuanceTerms(ApiLedger.Issuer, H + ((hour + 1) * 3600) + 60, IssuanceTerms.DefaultValiditySeconds)).Value;
                var entry = LedgerEntryCodec.SignCertificateIssued(issued.Certificate, ApiLedger.Issuer, ApiLedger.IssuerKey);
                archive.Store(issued.Certificate, issued.Readings, entry);
                entries.Add(entry);
                certificates.Add(issued.Certificate);
            }
            Assert.All(node.Submit(entries), o => Assert.True(o.Accepted, o.Rejection?.ToString()));
            // What the aggregator archives from the readings stream: Bob's meter, 400, 300 and 200 Wh in three hours.
            archive.StoreConsumption(Readings(Load, LoadKey, EnergyDirection.Consumption, H, 0, [100, 100, 100, 100, 75, 75, 75, 75, 50, 50, 50, 50]));
        }
        var trustFile = Path.Combine(_directory, "genesis.json");
        await File.WriteAllTextAsync(trustFile, ApiLedger.Genesis.ToJson(), Ct);
        var options = new ApiOptions { Store = store, TrustFile = trustFile, ArchivePath = archivePath };
        foreach (var (name, signer) in new[] { ("node-1", ApiLedger.Node1), ("node-2", ApiLedger.Node2) })
        {
            var file = Path.Combine(_directory, name + ".key");
            await File.WriteAllTextAsync(file, signer.PrivateKeyString, Ct);
            options.NodeKeyFiles.Add(file);
        }
        _app = ApiHost.Build(options, ["http://127.0.0.1:0"]);
        await _app.StartAsync(Ct);
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.Single()) };
        return (certificates[0], certificates[1]);
    }

    /// <summary>Consecutive signed 15-minute readings from <paramref name="start"/>, sequence numbers after <paramref name="after"/>.</summary>
    private static List<DecodedReading> Readings(string meter, ECDsa key, EnergyDirection direction, long start, ulong after, ulong[] wh)
    {
        var register = 100_000UL;
        return wh.Select((w, i) =>
        {
            register += w;
            var reading = new Reading(meter, after + (ulong)i + 1, start + (i * 900), start + ((i + 1) * 900), w, register, direction, ReadingQuality.Measured);
            return ReadingCodec.Decode(ReadingCodec.Sign(reading, key)).Value;
        }).ToList();
    }

    private async Task PostAsync(byte[] entry)
    {
        using var response = await ApiTests.PostAsync(_http, entry);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
    }

    private async Task ExpectProblemAsync(string path, HttpStatusCode status, string code) =>
        await ApiTests.ExpectProblemAsync(await _http.GetAsync(path, Ct), status, code);
}
