namespace GreenTrace.Core.Readings;

/// <summary>
/// Who may publish and subscribe where. The same rules hold in the embedded broker and in the
/// Mosquitto ACL that <c>MosquittoConfig</c> generates: a meter publishes only to its own readings
/// topic and subscribes nowhere (Mosquitto grants the subscription but delivers nothing on it); only
/// gateways read the readings topics.
/// </summary>
public static class TopicRules
{
    public const string ReadingsFilter = "meters/+/readings";
    public const string GatewayClientPrefix = "gateway";

    public static string ReadingsTopic(string meterId) => $"meters/{meterId}/readings";

    /// <summary>The meter id a readings topic names, or null if the topic is not a readings topic.</summary>
    public static string? MeterOfTopic(string? topic)
    {
        const string prefix = "meters/", suffix = "/readings";
        if (topic is null || topic.Length <= prefix.Length + suffix.Length
            || !topic.StartsWith(prefix, StringComparison.Ordinal) || !topic.EndsWith(suffix, StringComparison.Ordinal))
            return null;
        var id = topic[prefix.Length..^suffix.Length];
        return MeterId.IsValid(id) ? id : null;
    }

    public static bool IsGateway(string clientId) => clientId.StartsWith(GatewayClientPrefix, StringComparison.Ordinal);

    public static bool MayPublish(string clientId, string topic) =>
        !IsGateway(clientId) && MeterOfTopic(topic) == clientId;

    /// <summary>Gateways may take the readings filter, plain or as an MQTT 5 shared subscription.</summary>
    public static bool MaySubscribe(string clientId, string filter)
    {
        if (!IsGateway(clientId))
            return false;
        if (filter.StartsWith("$share/", StringComparison.Ordinal))
        {
            var rest = filter["$share/".Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0)
                return false;
            filter = rest[(slash + 1)..];
        }
        return filter == ReadingsFilter || MeterOfTopic(filter) is not null;
    }
}
