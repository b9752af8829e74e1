using GreenTrace.Core;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Ledger;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace GreenTrace.Api;

internal static class ApiEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        MatchingEndpoints.Map(api);

        api.MapGet("/checkpoint", (LedgerReadModel ledger) =>
            ledger.LatestCheckpoint() is { } c
                ? Results.Ok(new CheckpointView(c.Size, Hex.Encode(c.Root), c.Note, c.SignatureCount))
                : ApiHost.Problem(StatusCodes.Status404NotFound, "checkpoint-missing", "no checkpoint is cosigned by a quorum of nodes yet"))
            .WithSummary("The latest checkpoint cosigned by a quorum of ledger nodes");

        api.MapGet("/consistency", (LedgerReadModel ledger, long from, long to) =>
        {
            var r = ledger.Consistency(from, to);
            if (!r.IsOk)
                return ApiHost.Problem(r.Error!, StatusCodes.Status400BadRequest);
            var (fromRoot, toRoot, proof) = r.Value;
            return Results.Ok(new ConsistencyView(from, to, Hex.Encode(fromRoot), Hex.Encode(toRoot), proof.Select(h => Hex.Encode(h)).ToList()));
        }).WithSummary("RFC 9162 consistency proof between two log sizes");

        api.MapGet("/entries", (LedgerReadModel ledger, IOptions<ApiOptions> options, long? from, int? limit) =>
        {
            var start = from ?? 0;
            var max = options.Value.MaxEntriesPerPage;
            var count = limit ?? max;
            if (start < 0 || count < 1 || count > max)
                return ApiHost.Problem(StatusCodes.Status400BadRequest, "page-invalid", $"need from >= 0 and 1 <= limit <= {max}");
            var entries = ledger.Entries(start, count);
            return Results.Ok(new EntryPage(ledger.Size, start, entries.Select(ApiHost.View).ToList()));
        }).WithSummary("Log entries in order, with their signed bytes");

        api.MapGet("/certificates", (LedgerReadModel ledger, string? owner, string? meter, string? zone, long? from, long? to) =>
        {
            var r = ledger.FindCertificates(owner, meter, zone, from, to);
            return r.IsOk
                ? Results.Ok(r.Value.Select(c => Summary(c.Certificate, c.EntryIndex)).ToList())
                : ApiHost.Problem(r.Error!, StatusCodes.Status400BadRequest);
        }).WithSummary("Certificates by owner (live holdings), meter, zone and production period overlapping [from, to)");

        api.MapGet("/certificates/{id}", (LedgerReadModel ledger, string id) =>
        {
            if (ParseId(id) is not { } bytes)
                return BadId(id);
            if (ledger.Certificate(bytes) is not { } found)
                return ApiHost.Problem(StatusCodes.Status404NotFound, LedgerReasons.CertificateUnknown, $"certificate {id} is not on this ledger");
            var (record, holdings, history) = found;
            return Results.Ok(new CertificateDetail(
                Summary(record.Certificate, record.EntryIndex), record.LiveWh, record.ClaimedWh, record.WithdrawnWh, record.Withdrawn,
                holdings.Select(h => new HoldingView(h.IdHex, h.Wh, LedgerEntry.OwnerId(h.Owner), Convert.ToBase64String(h.Owner), h.Status.ToString(), h.CreatedBy, h.ConsumedBy)).ToList(),
                history.Select(ApiHost.View).ToList()));
        }).WithSummary("One certificate with its holdings and history");

        BundleEndpoints.Map(api);

        // The body is described by a transformer, not .Accepts(): Accepts metadata makes routing answer a wrong media
        // type with a bare 415 before the handler, and every refusal here must carry its code.
        api.MapPost("/entries", SubmitAsync)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = "One signed ledger entry: the raw COSE_Sign1 bytes",
                    Content = ApiHost.EntryMediaTypes.ToDictionary(t => t, _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } }),
                };
                return Task.CompletedTask;
            })
            .Produces<SubmittedView>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout)
            .WithSummary("Submit one signed Transferred, Split or Claimed entry (raw COSE_Sign1 bytes)");
    }

    private static async Task<IResult> SubmitAsync(HttpContext http, LedgerReadModel ledger, IEntrySubmitter submitter, IOptions<ApiOptions> options)
    {
        var max = options.Value.MaxRequestBytes;
        if (!ApiHost.IsEntryMediaType(http.Request.ContentType))
            return ApiHost.Problem(StatusCodes.Status415UnsupportedMediaType, "media-type", $"post the entry as {string.Join(" or ", ApiHost.EntryMediaTypes)}");
        if (http.Request.ContentLength > max)
            return TooLarge(max);
        // A body without a length (chunked) is read only up to the limit.
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        try
        {
            int read;
            while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > max)
                    return TooLarge(max);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(max);
        }
        var bytes = buffer.ToArray();
        var decoded = LedgerEntryCodec.Decode(bytes);
        if (!decoded.IsOk)
            return ApiHost.Problem(decoded.Error!);
        if (decoded.Value.Authority != EntryAuthority.Owner)
            return ApiHost.Problem(StatusCodes.Status403Forbidden, "entry-kind", $"{decoded.Value.Kind} entries are not taken here: only Transferred, Split and Claimed");
        var outcome = await submitter.SubmitAsync(decoded.Value, http.RequestAborted).ConfigureAwait(false);
        if (!outcome.Accepted)
            return ApiHost.Problem(outcome.Rejection!);
        var stored = outcome.Appended!;
        var checkpoint = ledger.LatestCheckpoint()?.Size ?? 0;
        return Results.Created($"/api/entries?from={stored.Index}&limit=1", new SubmittedView(Hex.Encode(stored.EntryId), stored.Index, stored.Kind.ToString(), checkpoint));
    }

    private static IResult TooLarge(long max) =>
        ApiHost.Problem(StatusCodes.Status413PayloadTooLarge, "request-too-large", $"the body is over {max} bytes");

    internal static IResult BadId(string id) =>
        ApiHost.Problem(StatusCodes.Status400BadRequest, "certificate-id-invalid", $"'{id}' is not a 32-byte hex certificate id");

    internal static byte[]? ParseId(string hex)
    {
        if (hex.Length != 64)
            return null;
        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    internal static CertificateSummary Summary(GranularCertificate c, long entryIndex) => new(
        c.IdHex, c.MeterId, c.PeriodStart, c.PeriodEnd, c.Part, c.FaceValueWh, c.EnergySource, c.Technology, c.GridZone, c.Country,
        c.IssuingBody, c.IssuedAt, c.ExpiresAt, c.ReadingCount, Hex.Encode(c.ReadingRoot), entryIndex);
}
