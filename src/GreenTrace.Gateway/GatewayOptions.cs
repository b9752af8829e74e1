namespace GreenTrace.Gateway;

public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    public string BrokerHost { get; set; } = "127.0.0.1";

    public int BrokerPort { get; set; } = 1883;

    /// <summary>Must start with "gateway": the broker's topic rules let only gateways read readings.</summary>
    public string ClientId { get; set; } = "gateway-1";

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>Connect over TLS (Mosquitto's listener with the project's test CA, or any real broker).</summary>
    public bool UseTls { get; set; }

    /// <summary>
    /// PEM file of the CA that must have issued the broker's certificate. Null trusts the system's roots;
    /// a private CA is never trusted by disabling validation.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>The name the broker's certificate must carry; defaults to <see cref="BrokerHost"/>.</summary>
    public string? TlsServerName { get; set; }

    /// <summary>
    /// MQTT 5 shared-subscription group: gateways in one group split the readings between them.
    /// Null subscribes plainly (a single gateway).
    /// </summary>
    public string? SharedSubscriptionGroup { get; set; }

    /// <summary>How long the broker keeps this gateway's session (and queues its QoS 1 messages) while it is away.</summary>
    public int SessionExpirySeconds { get; set; } = 3600;

    /// <summary>Anything larger is refused before it is parsed; a reading is a few hundred bytes.</summary>
    public int MaxReadingBytes { get; set; } = 4096;

    /// <summary>The interval lengths meters may use.</summary>
    public int[] AllowedIntervalSeconds { get; set; } = [900];

    /// <summary>How far a reading's end may lie ahead of the gateway's clock (meter clocks drift).</summary>
    public int MaxClockSkewSeconds { get; set; } = 300;

    /// <summary>Energy may exceed nameplate capacity by this factor before it counts as implausible (cold, bright days).</summary>
    public double CapacityHeadroom { get; set; } = 1.1;

    /// <summary>
    /// A reading accepted within this many sequence numbers of the meter's latest that arrives again is a
    /// duplicate (a QoS 1 redelivery, a meter resending after a lost PUBACK); an older one is a replay.
    /// </summary>
    public int DuplicateWindow { get; set; } = 96;

    /// <summary>SQLite file shared by every gateway of this host (the durable readings stream); null streams to the embedded log.</summary>
    public string? StorePath { get; set; }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BrokerHost) || BrokerPort is < 1 or > 65535)
            throw new ArgumentException($"broker address '{BrokerHost}:{BrokerPort}' is not usable");
        if (!ClientId.StartsWith(Core.Readings.TopicRules.GatewayClientPrefix, StringComparison.Ordinal))
            throw new ArgumentException($"gateway client id '{ClientId}' must start with '{Core.Readings.TopicRules.GatewayClientPrefix}'");
        if (MaxReadingBytes < 64 || DuplicateWindow < 1 || MaxClockSkewSeconds < 0 || CapacityHeadroom < 1 || AllowedIntervalSeconds.Length == 0)
            throw new ArgumentException("gateway limits are out of range (size ≥ 64 bytes, window ≥ 1, skew ≥ 0, headroom ≥ 1, at least one interval length)");
        if (CaFile is not null && !File.Exists(CaFile))
            throw new ArgumentException($"CA file '{CaFile}' does not exist");
    }
}
