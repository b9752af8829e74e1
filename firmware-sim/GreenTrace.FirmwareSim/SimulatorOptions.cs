namespace GreenTrace.FirmwareSim;

/// <summary>How the simulated meters reach the broker. Bindable from configuration (section <see cref="SectionName"/>).</summary>
public sealed class SimulatorOptions
{
    public const string SectionName = "Simulator";

    /// <summary>The placeholder replaced by the meter id in <see cref="TopicTemplate"/> and <see cref="Username"/>.</summary>
    public const string MeterIdPlaceholder = "{meterId}";

    public string Host { get; set; } = "localhost";

    public int Port { get; set; } = 1883;

    /// <summary>Optional; may contain {meterId} for brokers that authenticate each device by name.</summary>
    public string? Username { get; set; }

    public string? Password { get; set; }

    public bool UseTls { get; set; }

    /// <summary>Accept a self-signed broker certificate; for test brokers only.</summary>
    public bool AllowUntrustedCertificates { get; set; }

    /// <summary>DESIGN.md's topic; Azure IoT Hub-style devices would use "devices/{meterId}/messages/events/".</summary>
    public string TopicTemplate { get; set; } = "meters/{meterId}/readings";

    /// <summary>How many meters publish at the same time (each meter's own messages are always sequential).</summary>
    public int MaxConcurrentPublishes { get; set; } = 64;

    public int MaxConcurrentConnects { get; set; } = 16;

    /// <summary>MQTT 5 session expiry: the broker keeps the meter's session this long after a disconnect.</summary>
    public uint SessionExpirySeconds { get; set; } = 86_400;

    public int KeepAliveSeconds { get; set; } = 60;

    public int ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>How long to wait for a PUBACK before treating the connection as broken.</summary>
    public int PublishTimeoutSeconds { get; set; } = 30;

    /// <summary>Attempts per message per interval on connection failures; a refusal by the broker is never retried.</summary>
    public int MaxPublishAttempts { get; set; } = 3;

    public int RetryDelayMilliseconds { get; set; } = 250;

    /// <summary>Messages a meter keeps while it cannot reach the broker (10 000 ≈ 100 days of 15-minute readings); the oldest go first.</summary>
    public int MaxBufferedPerMeter { get; set; } = 10_000;

    public string Topic(string meterId) => TopicTemplate.Replace(MeterIdPlaceholder, meterId, StringComparison.Ordinal);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
            throw new ArgumentException("simulator broker host is empty");
        if (Port is < 1 or > 65535)
            throw new ArgumentException($"simulator broker port {Port} is not a TCP port");
        if (string.IsNullOrWhiteSpace(TopicTemplate) || !TopicTemplate.Contains(MeterIdPlaceholder, StringComparison.Ordinal)
            || TopicTemplate.Contains('+', StringComparison.Ordinal) || TopicTemplate.Contains('#', StringComparison.Ordinal))
            throw new ArgumentException($"topic template '{TopicTemplate}' must contain {MeterIdPlaceholder} and no wildcards");
        if (MaxConcurrentPublishes < 1 || MaxConcurrentConnects < 1)
            throw new ArgumentException("concurrency limits must be at least 1");
        if (KeepAliveSeconds < 0 || ConnectTimeoutSeconds < 1 || PublishTimeoutSeconds < 1)
            throw new ArgumentException("keep-alive must be non-negative and timeouts at least one second");
        if (MaxPublishAttempts < 1 || RetryDelayMilliseconds < 0 || MaxBufferedPerMeter < 1)
            throw new ArgumentException("publish attempts and buffer size must be at least 1, the retry delay non-negative");
    }
}
