using System.Security.Cryptography;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using Microsoft.AspNetCore.Builder;

namespace GreenTrace.Api.Tests;

/// <summary>
/// One API over its own small ledger: three nodes (quorum 2, the API holds two keys), issuer-a for DE-LU, one meter
/// owned by Alice, one certificate of four signed readings (or one per hour for <c>hours</c> hours), archived as the
/// aggregator archives them; the API runs on real Kestrel on a free loopback port. Keys are made once: making them
/// costs more than the tests. The explorer's browser tests link this file and use the longer ledger.
/// </summary>
public sealed class ApiLedger : IAsyncDisposable
{
    public const string Origin = "greentrace.test/api";
    public const string Issuer = "issuer-a";
    public const string Meter = "meter-01";

    /// <summary>Bob's consumption meter, when the ledger has a buyer.</summary>
    public const string LoadMeter = "load-01";

    /// <summary>What Bob's consumption meter signs in each of its four readings of an hour.</summary>
    public const ulong LoadReadingWh = 200;
    public const long Hour = 1699999200;
    public const long MaxRequestBytes = 4096;

    public static readonly ECDsa IssuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa MeterKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa LoadKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Alice = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Bob = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Carol = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly NoteSigner Node1 = NoteSigner.Generate("node-1");
    public static readonly NoteSigner Node2 = NoteSigner.Generate("node-2");
    public static readonly NoteSigner Node3 = NoteSigner.Generate("node-3");

    private readonly string _directory;
    private readonly WebApplication _app;

    private ApiLedger(string directory, WebApplication app, IReadOnlyList<GranularCertificate> certificates, string store)
    {
        Store = store;
        _directory = directory;
        _app = app;
        Certificates = certificates;
        var url = app.Urls.Single();
        Http = new HttpClient { BaseAddress = new Uri(url) };
    }

    public HttpClient Http { get; }

    /// <summary>The first hour's certificate.</summary>
    public GranularCertificate Certificate => Certificates[0];

    /// <summary>One certificate per hour from <see cref="Hour"/> on, in log order.</summary>
    public IReadOnlyList<GranularCertificate> Certificates { get; }

    /// <summary>The ledger's clock after issuance: owner entries signed later than this are never stale.</summary>
    public long LastIssuedAt => Certificates[^1].IssuedAt;

    /// <summary>The store spec the API serves, for a second writer.</summary>
    public string Store { get; }

    public static Membership Genesis { get; } = new(
        Origin,
        2,
        [new("node-1", Node1.Verifier.VerifierKey), new("node-2", Node2.Verifier.VerifierKey), new("node-3", Node3.Verifier.VerifierKey)],
        [new(Issuer, IssuerKey.ExportSubjectPublicKeyInfo(), ["DE-LU"])]);

    public static NoteVerifier[] NodeVerifiers => [Node1.Verifier, Node2.Verifier, Node3.Verifier];

    public static byte[] Spki(ECDsa key) => key.ExportSubjectPublicKeyInfo();

    /// <summary>A transfer of the certificate's first holding (Alice's) to <paramref name="to"/>, signed by Alice, just after issuance.</summary>
    public byte[] TransferFromAlice(ECDsa to) =>
        LedgerEntryCodec.SignTransferred(new Transfer(Certificate.Id, Certificate.Id, Spki(to)), Alice, Certificate.IssuedAt + 60);

    /// <param name="hours">Hours of certificates: the first of four 250 Wh readings, later ones with a day's shape.</param>
    /// <param name="buyer">Also register Bob's consumption meter (after the certificates) with signed readings for every hour, archived for matching.</param>
    public static async Task<ApiLedger> StartAsync(int hours = 1, bool buyer = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hours, 1);
        var directory = Path.Combine(Path.GetTempPath(), "greentrace-api-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var trustFile = Path.Combine(directory, "genesis.json");
        await File.WriteAllTextAsync(trustFile, Genesis.ToJson());
        // One key in the `ledger init` file format, one as a bare key string: the API reads both.
        var key1 = Path.Combine(directory, "node-1.key");
        await File.WriteAllTextAsync(key1, $$"""{"name":"node-1","checkpointKey":"{{Node1.PrivateKeyString}}"}""");
        var key2 = Path.Combine(directory, "node-2.key");
        await File.WriteAllTextAsync(key2, Node2.PrivateKeyString);

        var device = new DeviceInfo(Meter, Spki(MeterKey), EnergyDirection.Generation, "solar", "photovoltaic", 10_000, "DE-LU", "DE", 52_520_008, 13_404_954);
        var issued = new List<(GranularCertificate Certificate, IReadOnlyList<DecodedReading> Readings, byte[] Entry)>();
        ulong register = 100_000;
        for (var h = 0; h < hours; h++)
        {
            var start = Hour + (h * 3600L);
            var readings = new List<DecodedReading>();
            for (var i = 0; i < 4; i++)
            {
                var wh = WhOf(h, i);
                register += wh;
                var reading = new Reading(Meter, (ulong)((h * 4) + i + 1), start + (i * 900), start + ((i + 1) * 900), wh, register, EnergyDirection.Generation, ReadingQuality.Measured);
                readings.Add(ReadingCodec.Decode(ReadingCodec.Sign(reading, MeterKey)).Value);
            }
            var made = HourlyAggregation.Issue(device, readings, 0, new IssuanceTerms(Issuer, start + 3660, IssuanceTerms.DefaultValiditySeconds));
            Assert.True(made.IsOk, made.ToString());
            issued.Add((made.Value.Certificate, made.Value.Readings, LedgerEntryCodec.SignCertificateIssued(made.Value.Certificate, Issuer, IssuerKey)));
        }

        var store = "sqlite:" + Path.Combine(directory, "ledger.db");
        using (var trust = new TrustedKeys(Genesis))
        using (var node = new LedgerNode(LedgerStores.Open(store), trust, Node3))
        {
            var outcomes = node.Submit([LedgerEntryCodec.SignDeviceRegistered(device, Issuer, IssuerKey, Hour - 86400, Spki(Alice)), .. issued.Select(x => (ReadOnlyMemory<byte>)x.Entry)]);
            Assert.All(outcomes, o => Assert.True(o.Accepted, o.Rejection?.ToString()));
            if (buyer)
            {
                var load = new DeviceInfo(LoadMeter, Spki(LoadKey), EnergyDirection.Consumption, "grid", "consumption", 20_000, "DE-LU", "DE", 52_520_008, 13_404_954);
                var registered = node.Submit(LedgerEntryCodec.SignDeviceRegistered(load, Issuer, IssuerKey, issued[^1].Certificate.IssuedAt, Spki(Bob)));
                Assert.True(registered.Accepted, registered.Rejection?.ToString());
            }
        }
        var archivePath = Path.Combine(directory, "archive.db");
        using (var archive = new SqliteReadingArchive(archivePath))
        {
            foreach (var (certificate, readings, entry) in issued)
                archive.Store(certificate, readings, entry);
            if (buyer)
                archive.StoreConsumption(ConsumptionReadings(hours));
        }

        var options = new ApiOptions { Store = store, TrustFile = trustFile, ArchivePath = archivePath, MaxRequestBytes = MaxRequestBytes };
        options.NodeKeyFiles.Add(key1);
        options.NodeKeyFiles.Add(key2);
        var app = ApiHost.Build(options, ["http://127.0.0.1:0"]);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new ApiLedger(directory, app, issued.Select(x => x.Certificate).ToList(), store);
    }

    private static List<DecodedReading> ConsumptionReadings(int hours)
    {
        var readings = new List<DecodedReading>();
        for (var i = 0; i < hours * 4; i++)
        {
            var start = Hour + (i * 900L);
            var reading = new Reading(LoadMeter, (ulong)i + 1, start, start + 900, LoadReadingWh, 50_000 + (LoadReadingWh * ((ulong)i + 1)), EnergyDirection.Consumption, ReadingQuality.Measured);
            readings.Add(ReadingCodec.Decode(ReadingCodec.Sign(reading, LoadKey)).Value);
        }
        return readings;
    }

    // The first hour keeps the readings the API tests count on; later hours rise and fall like a sunny day.
    private static ulong WhOf(int hour, int reading) =>
        hour == 0 ? 250 : (ulong)((new[] { 700, 1100, 1300, 1200, 900, 500, 250 }[(hour - 1) % 7] + (reading * 20)));

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
