using System.Security.Cryptography;
using GreenTrace.Api;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using Microsoft.AspNetCore.Builder;

namespace GreenTrace.Cli.Tests.Ledger;

/// <summary>
/// The buyers' API on real Kestrel (loopback, port 0) over a SQLite ledger with one certificate of yesterday: meter-01
/// registered with Alice as plant owner, four signed readings archived as the aggregator archives them, two node keys
/// of a quorum of two. Beside it, the files a buyer and the owners use: trust.json, and alice/bob/carol .key and .pub
/// in the format of `ledger owner-key`. Recent hours, because owner entries are signed now and a certificate expires.
/// </summary>
public sealed class OwnerApiServer : IAsyncDisposable
{
    public const string Meter = "meter-01";
    public const string Issuer = "issuer-a";

    private static readonly ECDsa IssuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly ECDsa MeterKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private static readonly NoteSigner Node1 = NoteSigner.Generate("node-1");
    private static readonly NoteSigner Node2 = NoteSigner.Generate("node-2");
    private static readonly Dictionary<string, ECDsa> Owners = new()
    {
        ["alice"] = ECDsa.Create(ECCurve.NamedCurves.nistP256),
        ["bob"] = ECDsa.Create(ECCurve.NamedCurves.nistP256),
        ["carol"] = ECDsa.Create(ECCurve.NamedCurves.nistP256),
    };

    private readonly WebApplication _app;

    private OwnerApiServer(string directory, WebApplication app, GranularCertificate certificate)
    {
        Directory = directory;
        _app = app;
        Certificate = certificate;
        Url = app.Urls.Single();
        Http = new HttpClient { BaseAddress = new Uri(Url) };
    }

    public string Directory { get; }

    public string Url { get; }

    public HttpClient Http { get; }

    public GranularCertificate Certificate { get; }

    /// <summary>The start of yesterday's 11:00 UTC hour: the certificate's period.</summary>
    public static long Hour { get; } = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(-1).AddHours(11), TimeSpan.Zero).ToUnixTimeSeconds();

    public string Trust => File("trust.json");

    public string BundleUrl => $"{Url}/api/certificates/{Certificate.IdHex}/bundle";

    public string File(string name) => Path.Combine(Directory, name);

    public static string OwnerId(string who) => LedgerEntry.OwnerId(Owners[who].ExportSubjectPublicKeyInfo());

    public static async Task<OwnerApiServer> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), "greentrace-owner-api-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var ct = TestContext.Current.CancellationToken;
        var genesis = new Membership("greentrace.test/cli-api", 2,
            [new("node-1", Node1.Verifier.VerifierKey), new("node-2", Node2.Verifier.VerifierKey)],
            [new(Issuer, IssuerKey.ExportSubjectPublicKeyInfo(), ["DE-LU"])]);
        await System.IO.File.WriteAllTextAsync(Path.Combine(directory, "trust.json"), genesis.ToJson(), ct);
        var keys = new[] { (Node1, "node-1.key"), (Node2, "node-2.key") };
        foreach (var (signer, file) in keys)
            await System.IO.File.WriteAllTextAsync(Path.Combine(directory, file), signer.PrivateKeyString, ct);
        foreach (var (who, key) in Owners)
        {
            await System.IO.File.WriteAllTextAsync(Path.Combine(directory, $"{who}.key"), key.ExportPkcs8PrivateKeyPem() + "\n", ct);
            await System.IO.File.WriteAllTextAsync(Path.Combine(directory, $"{who}.pub"), key.ExportSubjectPublicKeyInfoPem() + "\n", ct);
        }

        var device = new DeviceInfo(Meter, MeterKey.ExportSubjectPublicKeyInfo(), EnergyDirection.Generation, "solar", "photovoltaic", 10_000, "DE-LU", "DE", 52_520_008, 13_404_954);
        var readings = Enumerable.Range(0, 4)
            .Select(i => ReadingCodec.Decode(ReadingCodec.Sign(
                new Reading(Meter, (ulong)i + 1, Hour + (i * 900), Hour + ((i + 1) * 900), 250, 100_000 + (250 * ((ulong)i + 1)), EnergyDirection.Generation, ReadingQuality.Measured),
                MeterKey)).Value)
            .ToList();
        var issued = HourlyAggregation.Issue(device, readings, 0, new IssuanceTerms(Issuer, Hour + 3660, IssuanceTerms.DefaultValiditySeconds));
        Assert.True(issued.IsOk, issued.ToString());
        var certificate = issued.Value.Certificate;
        var certificateEntry = LedgerEntryCodec.SignCertificateIssued(certificate, Issuer, IssuerKey);

        var store = "sqlite:" + Path.Combine(directory, "ledger.db");
        using (var trust = new TrustedKeys(genesis))
        using (var node = new LedgerNode(LedgerStores.Open(store), trust, Node1))
        {
            var outcomes = node.Submit([LedgerEntryCodec.SignDeviceRegistered(device, Issuer, IssuerKey, Hour - 86400, Owners["alice"].ExportSubjectPublicKeyInfo()), certificateEntry]);
            Assert.All(outcomes, o => Assert.True(o.Accepted, o.Rejection?.ToString()));
        }
        var archivePath = Path.Combine(directory, "archive.db");
        using (var archive = new SqliteReadingArchive(archivePath))
            archive.Store(certificate, issued.Value.Readings, certificateEntry);

        var options = new ApiOptions { Store = store, TrustFile = Path.Combine(directory, "trust.json"), ArchivePath = archivePath };
        foreach (var (_, file) in keys)
            options.NodeKeyFiles.Add(Path.Combine(directory, file));
        var app = ApiHost.Build(options, ["http://127.0.0.1:0"]);
        await app.StartAsync(ct);
        return new OwnerApiServer(directory, app, certificate);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
