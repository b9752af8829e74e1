using GreenTrace.Core;
using GreenTrace.Core.Ledger;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GreenTrace.Api;

/// <summary>
/// <c>GET /api/certificates/{id}/bundle</c>: the certificate bundle, or with <c>?reading=i</c> the reading bundle of
/// reading i. Both are the JSON `greentrace verify` reads; neither needs the server to be trusted.
/// </summary>
internal static class BundleEndpoints
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/certificates/{id}/bundle", (LedgerReadModel ledger, string id, int? reading) =>
        {
            if (ApiEndpoints.ParseId(id) is not { } bytes)
                return ApiEndpoints.BadId(id);
            return reading is { } i
                ? Answer(ledger.Bundle(bytes, i), b => b.ToJson())
                : Answer(ledger.CertificateBundle(bytes), b => b.ToJson());
        })
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status501NotImplemented)
            .WithSummary("The certificate bundle (all readings and the ownership history), or with ?reading=i the proof bundle of reading i, as `greentrace verify` reads them");
    }

    /// <summary>The bundle's own JSON (its serializer is the format's), or the refusal with its code.</summary>
    private static IResult Answer<T>(Result<T> built, Func<T, string> json)
    {
        if (built.IsOk)
            return Results.Text(json(built.Value), "application/json");
        var status = built.Error.Code switch
        {
            LedgerReasons.CertificateUnknown or "readings-missing" => StatusCodes.Status404NotFound,
            "reading-index" => StatusCodes.Status400BadRequest,
            "archive-missing" => StatusCodes.Status501NotImplemented,
            _ => StatusCodes.Status409Conflict,
        };
        return ApiHost.Problem(built.Error, status);
    }
}
