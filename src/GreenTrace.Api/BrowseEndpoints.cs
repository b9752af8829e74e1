using GreenTrace.Core;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GreenTrace.Api;

/// <summary>The explorer's other reads: the membership as trust.json, search, a certificate's readings, an owner's holdings.</summary>
internal static class BrowseEndpoints
{
    private const int MaxQueryLength = 200;

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");

        // The same document `greentrace verify --trust` reads. Served so a user can compare it with the copy their
        // registry gave them; a verifier that took it from here unchecked would be trusting this server.
        api.MapGet("/trust", (LedgerReadModel ledger) =>
            Results.Text(ledger.CurrentMembership().ToJson(), "application/json"))
            .Produces<string>(StatusCodes.Status200OK, "application/json")
            .WithSummary("The membership in force (trust.json): ledger node keys, quorum, issuers and their zones");

        api.MapGet("/search", (LedgerReadModel ledger, string? q) =>
        {
            if (string.IsNullOrWhiteSpace(q) || q.Length > MaxQueryLength)
                return ApiHost.Problem(StatusCodes.Status400BadRequest, "query-invalid", $"q must hold 1 to {MaxQueryLength} characters: a certificate or holding id (64 hex), an owner id (owner:hex) or a meter id");
            var hits = ledger.Search(q).Select(h => new SearchHitView(h.Kind, h.Id, h.Certificate)).ToList();
            return Results.Ok(new SearchView(q.Trim(), hits));
        })
        .Produces<SearchView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .WithSummary("What a term names: a certificate or holding id (64 hex), an owner id (owner:hex) or a meter id; no hits when it names nothing here");

        api.MapGet("/certificates/{id}/readings", (LedgerReadModel ledger, string id) =>
        {
            if (ApiEndpoints.ParseId(id) is not { } bytes)
                return ApiEndpoints.BadId(id);
            var r = ledger.CertificateReadings(bytes);
            if (!r.IsOk)
            {
                var status = r.Error!.Code == "archive-missing" ? StatusCodes.Status501NotImplemented : StatusCodes.Status404NotFound;
                return ApiHost.Problem(r.Error, status);
            }
            var views = r.Value.Select((cose, i) => View(i, cose)).ToList();
            return Results.Ok(new CertificateReadingsView(Hex.Encode(bytes), views));
        })
        .Produces<CertificateReadingsView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status501NotImplemented)
        .WithSummary("A certificate's archived readings in reading-tree order, decoded, each with its signed COSE bytes (base64)");

        api.MapGet("/owners/{owner}", (LedgerReadModel ledger, string owner) =>
        {
            var id = owner.ToLowerInvariant();
            if (!id.StartsWith("owner:", StringComparison.Ordinal) || !Hex.TryDecode(id["owner:".Length..], 32, out _))
                return ApiHost.Problem(StatusCodes.Status400BadRequest, "owner-invalid", $"'{owner}' is not an owner id (owner: and 64 hex digits)");
            if (ledger.OwnerKey(id) is not { } key)
                return ApiHost.Problem(StatusCodes.Status404NotFound, "owner-unknown", $"no entry on this ledger names {id}");
            var holdings = ledger.LiveHoldings(key);
            ulong live = 0;
            foreach (var (h, _) in holdings)
                live += h.Wh;
            return Results.Ok(new OwnerView(id, Convert.ToBase64String(key), live,
                holdings.Select(x => new OwnerHoldingView(x.Holding.IdHex, x.Holding.Wh, x.Holding.CreatedBy, ApiEndpoints.Summary(x.Certificate.Certificate, x.Certificate.EntryIndex))).ToList()));
        })
        .Produces<OwnerView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .WithSummary("An owner's live holdings with their certificates");
    }

    private static ReadingView View(int index, byte[] cose)
    {
        var decoded = ReadingCodec.Decode(cose);
        if (!decoded.IsOk)
            return new ReadingView(index, null, 0, 0, 0, 0, 0, null, null, Convert.ToBase64String(cose), decoded.Error!.Code);
        var r = decoded.Value.Reading;
        return new ReadingView(index, r.MeterId, r.Sequence, r.Start, r.End, r.EnergyWh, r.RegisterWh, WireCodes.Of(r.Direction), WireCodes.Of(r.Quality), Convert.ToBase64String(cose), null);
    }
}
