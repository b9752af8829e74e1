using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace GreenTrace.Api;

/// <summary>Meters for the explorer: the registration with its certificates, and the hourly figures its chart plots.</summary>
internal static class MeterEndpoints
{
    /// <summary>Most hours one hourly request covers: a month, so one answer stays small whatever the meter's age.</summary>
    public const int MaxHours = 31 * 24;

    private const long Hour = 3600;

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/meters");

        api.MapGet("/{meter}", (LedgerReadModel ledger, string meter) =>
        {
            if (!MeterId.IsValid(meter))
                return BadMeter(meter);
            if (ledger.Meter(meter) is not { } found)
                return Unknown(meter);
            var d = found.Device;
            return Results.Ok(new MeterView(
                d.Device.MeterId, WireCodes.Of(d.Device.Direction), d.Device.EnergySource, d.Device.Technology, d.Device.GridZone, d.Device.Country,
                d.Device.CapacityW, d.Device.LatitudeMicrodegrees, d.Device.LongitudeMicrodegrees, d.RegisteredBy, d.EntryIndex,
                Convert.ToBase64String(d.Device.PublicKey), d.Owner is null ? null : LedgerEntry.OwnerId(d.Owner),
                d.Owner is null ? null : Convert.ToBase64String(d.Owner), d.Keys.Count - 1, d.RevokedFrom, d.RevocationReason,
                found.Certificates.Select(c => ApiEndpoints.Summary(c.Certificate, c.EntryIndex)).ToList()));
        })
        .Produces<MeterView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .WithSummary("A registered meter: its registration (log index, attributes, owner) and its certificates");

        api.MapGet("/{meter}/hourly", (LedgerReadModel ledger, string meter, long? from, long? to) =>
        {
            if (!MeterId.IsValid(meter))
                return BadMeter(meter);
            if (ledger.Meter(meter) is not { } found)
                return Unknown(meter);
            var certificates = found.Certificates;
            var direction = found.Device.Device.Direction;
            // By default the span of what there is (certificates; a consumption meter's readings), its latest month when longer.
            var (first, last) = certificates.Count > 0
                ? (Floor(certificates.Min(c => c.Certificate.PeriodStart)), Ceil(certificates.Max(c => c.Certificate.PeriodEnd)))
                : ConsumptionSpan(ledger, meter, direction);
            var end = to is { } t ? Ceil(t) : last;
            if (to is null && from is { } f0)
                end = Math.Max(end, Floor(f0) + Hour);
            var start = from is { } f ? Floor(f) : Math.Min(end, Math.Max(first, end - (MaxHours * Hour)));
            if (start < 0 || end < start || (end - start) / Hour > MaxHours)
                return ApiHost.Problem(StatusCodes.Status400BadRequest, "range-invalid", $"need 0 <= from <= to, at most {MaxHours} hours apart (got from={start} to={end} after rounding to hours)");
            var readings = ledger.MeterHours(meter, direction, start, end);
            if (!readings.IsOk)
                return ApiHost.Problem(readings.Error!, StatusCodes.Status501NotImplemented);

            var count = (int)((end - start) / Hour);
            var readingWh = new ulong[count];
            var readingCount = new int[count];
            var certificateWh = new ulong[count];
            var certificateCount = new int[count];
            foreach (var (hour, (wh, n)) in readings.Value.Hours)
            {
                var i = (int)((hour - start) / Hour);
                readingWh[i] = wh;
                readingCount[i] = n;
            }
            foreach (var c in certificates.Select(c => c.Certificate).Where(c => c.PeriodStart >= start && c.PeriodStart < end))
            {
                var i = (int)((Floor(c.PeriodStart) - start) / Hour);
                certificateWh[i] += c.FaceValueWh;
                certificateCount[i]++;
            }
            var hours = Enumerable.Range(0, count)
                .Select(i => new MeterHourView(start + (i * Hour), readingWh[i], readingCount[i], certificateWh[i], certificateCount[i]))
                .ToList();
            return Results.Ok(new MeterHourlyView(meter, start, end, hours, Sum(readingWh), Sum(certificateWh), readings.Value.Undecodable));
        })
        .Produces<MeterHourlyView>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status501NotImplemented)
        .WithSummary($"Per UTC hour of [from, to) (unix seconds, rounded out to hours; at most {MaxHours} hours; default the span of the meter's certificates): Wh of its archived readings (certified generation, or consumption) and of the certificates issued for the hour");
    }

    private static (long First, long End) ConsumptionSpan(LedgerReadModel ledger, string meter, EnergyDirection direction)
    {
        if (direction != EnergyDirection.Consumption || ledger.MeterHours(meter, direction, 0, long.MaxValue) is not { IsOk: true } all || all.Value.Hours.Count == 0)
            return (0, 0);
        return (all.Value.Hours.Keys.Min(), all.Value.Hours.Keys.Max() + Hour);
    }

    private static long Floor(long t) => t - (((t % Hour) + Hour) % Hour);

    private static long Ceil(long t) => Floor(t) == t ? t : Floor(t) + Hour;

    private static ulong Sum(ulong[] values)
    {
        ulong total = 0;
        foreach (var v in values)
            total += v;
        return total;
    }

    private static IResult BadMeter(string meter) =>
        ApiHost.Problem(StatusCodes.Status400BadRequest, ReadingReasons.MeterIdInvalid, $"'{meter}' is not a meter id (1-64 of A-Za-z0-9._-)");

    private static IResult Unknown(string meter) =>
        ApiHost.Problem(StatusCodes.Status404NotFound, LedgerReasons.DeviceUnknown, $"meter '{meter}' is not registered on this ledger");
}
