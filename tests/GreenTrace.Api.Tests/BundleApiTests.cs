using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Api.Tests;

/// <summary>GET /api/certificates/{id}/bundle from real Kestrel: certificate bundles a verifier accepts, before and after owners trade.</summary>
public sealed class BundleApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheCertificateBundleVerifiesAndShowsTheTransferAndTheClaimSubmittedThroughTheApi()
    {
        await using var api = await ApiLedger.StartAsync();
        using var trust = new TrustedKeys(ApiLedger.Genesis);
        var alice = LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Alice));
        var bob = LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Bob));

        var before = await VerifiedCertificateBundleAsync(api, trust);
        Assert.Empty(before.Bundle.History);
        Assert.Equal(4, before.Report.Readings.Count);
        var first = Assert.Single(before.Report.Ownership!.Holdings);
        Assert.Equal((api.Certificate.IdHex, alice, HoldingStatus.Live, api.Certificate.FaceValueWh), (first.Id, first.Owner, first.Status, first.Wh));

        var transfer = api.TransferFromAlice(ApiLedger.Bob);
        Assert.Equal(HttpStatusCode.Created, (await PostAsync(api, transfer)).StatusCode);
        var bobsHolding = HoldingIds.Compute(System.Security.Cryptography.SHA256.HashData(transfer), 0);
        var claim = LedgerEntryCodec.SignClaimed(new Claim(api.Certificate.Id, bobsHolding, "bob-factory", ApiLedger.Hour, ApiLedger.Hour + 3600), ApiLedger.Bob, api.Certificate.IssuedAt + 120);
        Assert.Equal(HttpStatusCode.Created, (await PostAsync(api, claim)).StatusCode);

        var after = await VerifiedCertificateBundleAsync(api, trust);
        Assert.Equal([2L, 3L], after.Bundle.History.Select(h => h.Index));
        Assert.All(after.Bundle.History, h => Assert.Equal(4, h.TreeSize));
        var o = after.Report.Ownership!;
        Assert.Equal([EntryKind.Transferred, EntryKind.Claimed], o.Events.Select(e => e.Kind));
        Assert.Equal(
            [(api.Certificate.IdHex, alice, HoldingStatus.Spent), (Convert.ToHexStringLower(bobsHolding), bob, HoldingStatus.Claimed)],
            o.Holdings.Select(h => (h.Id, h.Owner, h.Status)));
        var proven = Assert.Single(o.Claims);
        Assert.Equal(new ProvenClaim("bob-factory", ApiLedger.Hour, ApiLedger.Hour + 3600, api.Certificate.FaceValueWh, bob, 3, Convert.ToHexStringLower(bobsHolding)), proven);
        Assert.Equal(0UL, o.LiveWh);

        // ?reading=i is still the single reading's bundle, against the same checkpoint.
        var readingJson = await api.Http.GetStringAsync($"/api/certificates/{api.Certificate.IdHex}/bundle?reading=1", Ct);
        var reading = Assert.IsType<ParsedBundle.OfReading>(Bundles.Parse(readingJson).Value).Bundle;
        var readingReport = ProofBundleVerifier.Verify(reading, trust);
        Assert.True(readingReport.IsValid, readingReport.FirstFailure?.ToString());
        Assert.Equal(2UL, readingReport.Reading!.Sequence);
        Assert.Equal(after.Bundle.Checkpoint, reading.Checkpoint);
    }

    [Fact]
    public async Task AnEntryBeyondTheLatestQuorumCheckpointWaitsForTheNextOne()
    {
        await using var api = await ApiLedger.StartAsync();
        using var trust = new TrustedKeys(ApiLedger.Genesis);
        // Another writer appends a transfer; nobody cosigns the larger log, so the latest quorum checkpoint stays at 2.
        using (var other = new LedgerNode(LedgerStores.Open(api.Store), trust, ApiLedger.Node3))
            Assert.True(other.Submit(api.TransferFromAlice(ApiLedger.Carol)).Accepted);

        var (bundle, report) = await VerifiedCertificateBundleAsync(api, trust);

        Assert.Equal(2, report.Checkpoint!.Size);
        Assert.Empty(bundle.History);
        Assert.Equal(LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Alice)), Assert.Single(report.Ownership!.Holdings).Owner);
    }

    [Fact]
    public async Task RefusalsKeepTheirCodesAndStatuses()
    {
        await using var api = await ApiLedger.StartAsync();

        await ExpectProblemAsync(api, $"/api/certificates/{new string('0', 64)}/bundle", HttpStatusCode.NotFound, LedgerReasons.CertificateUnknown);
        await ExpectProblemAsync(api, $"/api/certificates/{new string('0', 64)}/bundle?reading=0", HttpStatusCode.NotFound, LedgerReasons.CertificateUnknown);
        await ExpectProblemAsync(api, $"/api/certificates/{api.Certificate.IdHex}/bundle?reading=4", HttpStatusCode.BadRequest, "reading-index");
        await ExpectProblemAsync(api, $"/api/certificates/{api.Certificate.IdHex}/bundle?reading=-1", HttpStatusCode.BadRequest, "reading-index");
        await ExpectProblemAsync(api, "/api/certificates/abc/bundle", HttpStatusCode.BadRequest, "certificate-id-invalid");
    }

    private static async Task<(CertificateBundle Bundle, CertificateVerificationReport Report)> VerifiedCertificateBundleAsync(ApiLedger api, TrustedKeys trust)
    {
        using var response = await api.Http.GetAsync($"/api/certificates/{api.Certificate.IdHex}/bundle", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var parsed = Bundles.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.True(parsed.IsOk, parsed.ToString());
        var bundle = Assert.IsType<ParsedBundle.OfCertificate>(parsed.Value).Bundle;
        var report = CertificateBundleVerifier.Verify(bundle, trust);
        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        Assert.Equal(api.Certificate, report.Certificate);
        return (bundle, report);
    }

    private static async Task<HttpResponseMessage> PostAsync(ApiLedger api, byte[] entry)
    {
        using var content = new ByteArrayContent(entry);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/cose");
        return await api.Http.PostAsync("/api/entries", content, Ct);
    }

    private static async Task ExpectProblemAsync(ApiLedger api, string path, HttpStatusCode status, string code)
    {
        using var response = await api.Http.GetAsync(path, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"{path}: expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
    }
}
