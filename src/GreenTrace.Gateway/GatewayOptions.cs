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

    /// <summary>How many recent readings per meter are remembered to tell a duplicate from a replay.</summary>
    public int DuplicateWindow { get; set; } = 96;
}
