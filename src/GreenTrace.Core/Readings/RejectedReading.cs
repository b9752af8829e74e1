using System.Text.Json;
using System.Text.Json.Serialization;

namespace GreenTrace.Core.Readings;

/// <summary>
/// A refused reading as it goes on the rejected-readings stream: the reason code, who refused it,
/// and the raw bytes exactly as received, so nothing refused is lost and any refusal can be
/// re-examined later.
/// </summary>
public sealed record RejectedReading(string Reason, string Message, string RejectedBy, string? SourceTopic, string? MeterId, long ReceivedAt, byte[] Payload)
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static RejectedReading FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<RejectedReading>(json, JsonOptions) ?? throw new FormatException("empty rejected-reading record");
}
