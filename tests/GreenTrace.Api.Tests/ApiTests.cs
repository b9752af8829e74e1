using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Core.Proofs;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Api.Tests;

/// <summary>The buyers' API over HTTP: reads, proofs a verifier accepts, and owner submissions with the ledger's reason codes.</summary>
public sealed class ApiTests
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheOpenApiDocumentListsEveryPath()
    {
        await using var api = await ApiLedger.StartAsync();
        using var doc = JsonDocument.Parse(await api.Http.GetStringAsync("/openapi/v1.json", Ct));
        var paths = doc.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        string[] expected = ["/api/checkpoint", "/api/consistency", "/api/entries", "/api/certificates", "/api/certificates/{id}", "/api/certificates/{id}/bundle"];
        Assert.All(expected, p => Assert.Contains(p, paths));
        var post = doc.RootElement.GetProperty("paths").GetProperty("/api/entries").GetProperty("post");
        var media = post.GetProperty("requestBody").GetProperty("content").EnumerateObject().Select(p => p.Name);
        Assert.Equal(["application/cose", "application/greentrace-entry+cbor"], media);
        Assert.True(post.GetProperty("responses").TryGetProperty("413", out _));
    }

    [Fact]
    public async Task CheckpointsVerifyAndTheConsistencyProofBetweenThemVerifies()
    {
        await using var api = await ApiLedger.StartAsync();
        var before = await CheckpointAsync(api);
        Assert.Equal(2, before.Size);

        using var posted = await PostAsync(api, api.TransferFromAlice(ApiLedger.Bob));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var after = await CheckpointAsync(api);
        Assert.Equal(3, after.Size);

        var proof = await api.Http.GetFromJsonAsync<ConsistencyView>($"/api/consistency?from={before.Size}&to={after.Size}", Json, Ct);
        Assert.NotNull(proof);
        Assert.Equal(Convert.ToHexStringLower(before.RootHash), proof.FromRoot);
        Assert.Equal(Convert.ToHexStringLower(after.RootHash), proof.ToRoot);
        var hashes = proof.Proof.Select(Convert.FromHexString).ToList();
        Assert.True(MerkleProof.VerifyConsistency(before.Size, after.Size, before.RootHash, after.RootHash, hashes));
        // The same proof must not pass for a root the log never had.
        var wrong = (byte[])after.RootHash.Clone();
        wrong[0] ^= 1;
        Assert.False(MerkleProof.VerifyConsistency(before.Size, after.Size, before.RootHash, wrong, hashes));

        await ExpectProblemAsync(await api.Http.GetAsync("/api/consistency?from=2&to=9", Ct), HttpStatusCode.BadRequest, "consistency-range");
    }

    [Fact]
    public async Task ABundleForAReadingVerifiesAgainstTheGenesisKeys()
    {
        await using var api = await ApiLedger.StartAsync();
        var json = await api.Http.GetStringAsync($"/api/certificates/{api.Certificate.IdHex}/bundle?reading=2", Ct);
        var bundle = ProofBundle.FromJson(json);
        Assert.True(bundle.IsOk, bundle.ToString());
        using var trust = new TrustedKeys(ApiLedger.Genesis);
        var report = ProofBundleVerifier.Verify(bundle.Value, trust);
        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        Assert.Equal(3UL, report.Reading!.Sequence);
        Assert.Equal(api.Certificate.IdHex, report.Certificate!.IdHex);

        await ExpectProblemAsync(await api.Http.GetAsync($"/api/certificates/{api.Certificate.IdHex}/bundle?reading=4", Ct), HttpStatusCode.BadRequest, "reading-index");
        await ExpectProblemAsync(await api.Http.GetAsync($"/api/certificates/{new string('0', 64)}/bundle", Ct), HttpStatusCode.NotFound, LedgerReasons.CertificateUnknown);
    }

    [Fact]
    public async Task AGoodTransferIsCreatedAndThenVisibleToReadersAndTheSecondSpendIsAConflict()
    {
        await using var api = await ApiLedger.StartAsync();
        var aliceId = LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Alice));
        var bobId = LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Bob));
        Assert.Single(await CertificatesAsync(api, $"owner={aliceId}"));
        Assert.Empty(await CertificatesAsync(api, $"owner={bobId}"));

        using var posted = await PostAsync(api, api.TransferFromAlice(ApiLedger.Bob), "application/greentrace-entry+cbor");
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        var submitted = await posted.Content.ReadFromJsonAsync<SubmittedView>(Json, Ct);
        Assert.Equal(2, submitted!.Index);
        Assert.Equal(nameof(EntryKind.Transferred), submitted.Kind);
        Assert.Equal(3, submitted.CheckpointSize);

        Assert.Empty(await CertificatesAsync(api, $"owner={aliceId}"));
        Assert.Equal(api.Certificate.IdHex, Assert.Single(await CertificatesAsync(api, $"owner={bobId}")).Id);
        Assert.Single(await CertificatesAsync(api, "owner=" + Uri.EscapeDataString(Convert.ToBase64String(ApiLedger.Spki(ApiLedger.Bob)))));
        Assert.Single(await CertificatesAsync(api, $"meter={ApiLedger.Meter}&zone=DE-LU&from={ApiLedger.Hour}&to={ApiLedger.Hour + 3600}"));
        Assert.Empty(await CertificatesAsync(api, "zone=FR"));
        Assert.Empty(await CertificatesAsync(api, $"from={ApiLedger.Hour + 3600}"));

        var detail = await api.Http.GetFromJsonAsync<CertificateDetail>($"/api/certificates/{api.Certificate.IdHex}", Json, Ct);
        Assert.Equal(["CertificateIssued", "Transferred"], detail!.History.Select(e => e.Kind));
        var live = Assert.Single(detail.Holdings, h => h.Status == nameof(HoldingStatus.Live));
        Assert.Equal(bobId, live.Owner);
        Assert.Equal(api.Certificate.FaceValueWh, live.Wh);
        Assert.Equal(nameof(HoldingStatus.Spent), Assert.Single(detail.Holdings, h => h.Id == api.Certificate.IdHex).Status);

        var page = await api.Http.GetFromJsonAsync<EntryPage>("/api/entries?from=1&limit=5", Json, Ct);
        Assert.Equal(3, page!.Size);
        Assert.Equal([1L, 2L], page.Entries.Select(e => e.Index));
        Assert.Equal(submitted.Id, page.Entries[1].Id);

        // Alice spends the same holding again, now to Carol: the ledger has it as spent.
        using var again = await PostAsync(api, api.TransferFromAlice(ApiLedger.Carol));
        await ExpectProblemAsync(again, HttpStatusCode.Conflict, LedgerReasons.HoldingSpent);
        Assert.Equal(3, (await CheckpointAsync(api)).Size);

        // Bob claims what he now holds: final, and the certificate says so.
        var bobsHolding = Convert.FromHexString(live.Id);
        var claim = LedgerEntryCodec.SignClaimed(
            new Claim(api.Certificate.Id, bobsHolding, "bob-factory", ApiLedger.Hour, ApiLedger.Hour + 3600), ApiLedger.Bob, api.Certificate.IssuedAt + 120);
        using var claimed = await PostAsync(api, claim);
        Assert.Equal(HttpStatusCode.Created, claimed.StatusCode);
        var final = await api.Http.GetFromJsonAsync<CertificateDetail>($"/api/certificates/{api.Certificate.IdHex}", Json, Ct);
        Assert.Equal(api.Certificate.FaceValueWh, final!.ClaimedWh);
        Assert.Equal(0UL, final.LiveWh);
        Assert.Empty(await CertificatesAsync(api, $"owner={bobId}"));
    }

    [Fact]
    public async Task AForgedSignatureMalformedBytesAWrongMediaTypeAndAnOversizedBodyAreRefusedWithTheirCodes()
    {
        await using var api = await ApiLedger.StartAsync();
        var forged = api.TransferFromAlice(ApiLedger.Bob);
        // The last byte is inside the ES256 signature: the entry still decodes, the signature no longer verifies.
        forged[^1] ^= 0x01;
        await ExpectProblemAsync(await PostAsync(api, forged), HttpStatusCode.UnprocessableEntity, LedgerReasons.EntrySignature);

        await ExpectProblemAsync(await PostAsync(api, [0xde, 0xad, 0xbe, 0xef]), HttpStatusCode.BadRequest, LedgerReasons.EntryMalformed);
        await ExpectProblemAsync(await PostAsync(api, api.TransferFromAlice(ApiLedger.Bob), "application/json"), HttpStatusCode.UnsupportedMediaType, "media-type");
        await ExpectProblemAsync(await PostAsync(api, new byte[ApiLedger.MaxRequestBytes + 1]), HttpStatusCode.RequestEntityTooLarge, "request-too-large");
        // Without a Content-Length (chunked) the limit holds while reading.
        using (var chunked = new StreamContent(new MemoryStream(new byte[ApiLedger.MaxRequestBytes * 3])))
        {
            chunked.Headers.ContentType = new MediaTypeHeaderValue("application/cose");
            chunked.Headers.ContentLength = null;
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/entries") { Content = chunked };
            request.Headers.TransferEncodingChunked = true;
            await ExpectProblemAsync(await api.Http.SendAsync(request, Ct), HttpStatusCode.RequestEntityTooLarge, "request-too-large");
        }
        // Issuer entries have their own path onto the ledger; over HTTP only owners write.
        var issuerEntry = LedgerEntryCodec.SignWithdrawn(new Withdrawal(api.Certificate.Id, "test"), ApiLedger.Issuer, ApiLedger.IssuerKey, api.Certificate.IssuedAt + 60);
        await ExpectProblemAsync(await PostAsync(api, issuerEntry), HttpStatusCode.Forbidden, "entry-kind");

        // None of them reached the log; the good entry still goes in afterwards.
        Assert.Equal(2, (await CheckpointAsync(api)).Size);
        using var good = await PostAsync(api, api.TransferFromAlice(ApiLedger.Bob));
        Assert.Equal(HttpStatusCode.Created, good.StatusCode);
    }

    [Fact]
    public async Task AnEntryAnotherWriterAppendedIsServedAndJudgedAgainst()
    {
        await using var api = await ApiLedger.StartAsync();
        using (var trust = new TrustedKeys(ApiLedger.Genesis))
        using (var other = new LedgerNode(LedgerStores.Open(api.Store), trust, ApiLedger.Node3))
        {
            var outcome = other.Submit(api.TransferFromAlice(ApiLedger.Carol));
            Assert.True(outcome.Accepted, outcome.Rejection?.ToString());
        }

        var carolId = LedgerEntry.OwnerId(ApiLedger.Spki(ApiLedger.Carol));
        Assert.Single(await CertificatesAsync(api, $"owner={carolId}"));
        var detail = await api.Http.GetFromJsonAsync<CertificateDetail>($"/api/certificates/{api.Certificate.IdHex}", Json, Ct);
        Assert.Equal(carolId, Assert.Single(detail!.Holdings, h => h.Status == nameof(HoldingStatus.Live)).Owner);

        // Alice's holding went to Carol behind the API's back: giving it to Bob now is a double spend.
        await ExpectProblemAsync(await PostAsync(api, api.TransferFromAlice(ApiLedger.Bob)), HttpStatusCode.Conflict, LedgerReasons.HoldingSpent);
    }

    private static async Task<Checkpoint> CheckpointAsync(ApiLedger api)
    {
        var view = await api.Http.GetFromJsonAsync<CheckpointView>("/api/checkpoint", Json, Ct);
        Assert.NotNull(view);
        var verified = CheckpointVerifier.Verify(view.Note, ApiLedger.Origin, ApiLedger.NodeVerifiers, ApiLedger.Genesis.Quorum);
        Assert.True(verified.Success, verified.ToString());
        Assert.Equal(view.Size, verified.Checkpoint!.Size);
        Assert.Equal(view.Root, Convert.ToHexStringLower(verified.Checkpoint.RootHash));
        return verified.Checkpoint;
    }

    private static async Task<IReadOnlyList<CertificateSummary>> CertificatesAsync(ApiLedger api, string query) =>
        await api.Http.GetFromJsonAsync<List<CertificateSummary>>("/api/certificates?" + query, Json, Ct) ?? [];

    internal static Task<HttpResponseMessage> PostAsync(ApiLedger api, byte[] body, string mediaType = "application/cose") => PostAsync(api.Http, body, mediaType);

    /// <summary>POST /api/entries with the raw entry bytes.</summary>
    internal static async Task<HttpResponseMessage> PostAsync(HttpClient http, byte[] body, string mediaType = "application/cose")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return await http.PostAsync("/api/entries", content, Ct);
    }

    internal static async Task ExpectProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(body);
            Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
            Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        }
    }
}
