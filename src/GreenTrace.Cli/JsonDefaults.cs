using System.Text.Encodings.Web;
using System.Text.Json;
using GreenTrace.Core.Readings;

namespace GreenTrace.Cli;

internal static class JsonDefaults
{
    public static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary>A reading printed with the wire format's own key names, so the JSON reads like the CBOR it came from.</summary>
internal static class ReadingJson
{
    public static object From(Reading r) => new
    {
        v = Reading.FormatVersion,
        m = r.MeterId,
        seq = r.Sequence,
        start = r.Start,
        end = r.End,
        wh = r.EnergyWh,
        reg = r.RegisterWh,
        dir = WireCodes.Of(r.Direction),
        q = WireCodes.Of(r.Quality),
    };
}
