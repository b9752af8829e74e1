using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GreenTrace.Api;

public sealed record MatchedHourView(long Hour, long ConsumptionWh, long ClaimedWh, long MatchedWh);

/// <param name="Score">Matched over consumed Wh (the 24/7 carbon-free score), null when nothing was consumed.</param>
public sealed record MatchingTotalsView(long ConsumptionWh, long ClaimedWh, long MatchedWh, double? Score);

public sealed record MatchingView(string Owner, long From, long To, IReadOnlyList<string> Meters, IReadOnlyList<MatchedHourView> Hours, MatchingTotalsView Totals, IReadOnlyList<MatchedClaim> Claims);

internal static class MatchingEndpoints
{
    public static void Map(RouteGroupBuilder api) =>
        api.MapGet("/matching", (LedgerReadModel ledger, string owner, long? from, long? to) =>
        {
            var r = ledger.Matching(owner, from, to);
            if (!r.IsOk)
            {
                var status = r.Error.Code switch
                {
                    "owner-unknown" => StatusCodes.Status404NotFound,
                    "archive-missing" => StatusCodes.Status501NotImplemented,
                    _ => StatusCodes.Status400BadRequest,
                };
                return ApiHost.Problem(r.Error, status);
            }
            var m = r.Value;
            var t = m.Report.Totals;
            return Results.Ok(new MatchingView(
                m.Owner, m.From, m.To, m.Meters,
                m.Report.Hours.Select(h => new MatchedHourView(h.Hour, h.ConsumptionWh, h.ClaimedWh, h.MatchedWh)).ToList(),
                new MatchingTotalsView(t.ConsumptionWh, t.ClaimedWh, t.MatchedWh, t.Score),
                m.Claims));
        })
        .Produces<MatchingView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status501NotImplemented)
        .WithSummary("Hourly (24/7) matching for a buyer: per hour, the consumption their registered consumption meters signed beside the Wh they claimed of that hour's production, and the share matched");
}
