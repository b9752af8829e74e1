using System.Globalization;
using GreenTrace.Core.Readings;

namespace GreenTrace.Broker.Mosquitto;

/// <summary>Builds a <see cref="MosquittoConfig"/>, in the manner of MQTTnet's options builders.</summary>
public sealed class MosquittoConfigBuilder
{
    /// <summary>MQTT's largest packet: the remaining-length field's limit and the fixed header.</summary>
    public const int MqttMaxPacketSize = 268_435_460;

    internal int TlsPortValue { get; private set; } = 8883;

    internal int? PlainPortValue { get; private set; }

    internal List<MqttCredential> MeterList { get; } = [];

    internal List<MqttCredential> GatewayList { get; } = [];

    internal int MaxQueuedMessagesValue { get; private set; }

    internal int MaxInflightMessagesValue { get; private set; } = 100;

    internal int MaxPacketSizeValue { get; private set; } = MosquittoConfig.DefaultMaxPacketSize;

    internal int AutosaveIntervalValue { get; private set; } = 60;

    internal string RunAsUserValue { get; private set; } = Environment.UserName;

    public MosquittoConfigBuilder WithTlsPort(int port)
    {
        TlsPortValue = CheckPort(port);
        return this;
    }

    /// <summary>Adds an unencrypted listener (passwords and ACL still apply); null removes it.</summary>
    public MosquittoConfigBuilder WithPlainPort(int? port)
    {
        PlainPortValue = port is { } p ? CheckPort(p) : null;
        return this;
    }

    /// <summary>A meter's credential: its id is its username, and its ACL lets it write its own readings topic.</summary>
    public MosquittoConfigBuilder WithMeter(string meterId, string password)
    {
        if (!MeterId.IsValid(meterId))
            throw new ArgumentException($"'{meterId}' is not a valid meter id", nameof(meterId));
        if (TopicRules.IsGateway(meterId))
            throw new ArgumentException($"meter id '{meterId}' starts with '{TopicRules.GatewayClientPrefix}', which names gateways", nameof(meterId));
        ArgumentException.ThrowIfNullOrEmpty(password);
        MeterList.Add(new MqttCredential(meterId, password));
        return this;
    }

    public MosquittoConfigBuilder WithMeters(IEnumerable<MqttCredential> meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        foreach (var meter in meters)
            WithMeter(meter.Username, meter.Password);
        return this;
    }

    /// <summary>A gateway with a given credential; its username must start with "gateway".</summary>
    public MosquittoConfigBuilder WithGateway(string username, string password)
    {
        if (!MqttCredential.IsValidUsername(username) || !TopicRules.IsGateway(username))
            throw new ArgumentException($"gateway username '{username}' must start with '{TopicRules.GatewayClientPrefix}' and have no whitespace, ':', '+', '#' or '/'", nameof(username));
        ArgumentException.ThrowIfNullOrEmpty(password);
        GatewayList.Add(new MqttCredential(username, password));
        return this;
    }

    /// <summary>Gateways gateway-1 … gateway-<paramref name="count"/>, each with a fresh random password.</summary>
    public MosquittoConfigBuilder WithGateways(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var first = GatewayList.Count + 1;
        for (var i = first; i < first + count; i++)
            WithGateway(string.Create(CultureInfo.InvariantCulture, $"{TopicRules.GatewayClientPrefix}-{i}"), MosquittoConfig.RandomPassword());
        return this;
    }

    /// <summary>0 (the default) queues without limit: memory, not a count, bounds what an absent gateway can miss.</summary>
    public MosquittoConfigBuilder WithMaxQueuedMessages(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        MaxQueuedMessagesValue = count;
        return this;
    }

    public MosquittoConfigBuilder WithMaxInflightMessages(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 65_535);
        MaxInflightMessagesValue = count;
        return this;
    }

    /// <summary>Mosquitto refuses anything below 20 bytes: it could not carry a CONNECT.</summary>
    public MosquittoConfigBuilder WithMaxPacketSize(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 20);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, MqttMaxPacketSize);
        MaxPacketSizeValue = bytes;
        return this;
    }

    public MosquittoConfigBuilder WithAutosaveInterval(int seconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seconds, 1);
        AutosaveIntervalValue = seconds;
        return this;
    }

    /// <summary>The user Mosquitto switches to when started as root (default: the current user).</summary>
    public MosquittoConfigBuilder WithRunAsUser(string user)
    {
        if (!MqttCredential.IsValidUsername(user))
            throw new ArgumentException($"'{user}' is not a user name", nameof(user));
        RunAsUserValue = user;
        return this;
    }

    public MosquittoConfig Build()
    {
        if (PlainPortValue == TlsPortValue)
            throw new InvalidOperationException($"the TLS and the plain listener both use port {TlsPortValue}");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var credential in MeterList.Concat(GatewayList))
        {
            if (!seen.Add(credential.Username))
                throw new InvalidOperationException($"username '{credential.Username}' is configured twice");
        }
        return new MosquittoConfig(this);
    }

    private static int CheckPort(int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65_535);
        return port;
    }
}
