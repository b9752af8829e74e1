namespace GreenTrace.FirmwareSim;

/// <summary>How the simulated meters reach the broker. Bindable from configuration (section <see cref="SectionName"/>).</summary>
public sealed class SimulatorOptions
{
    public const string SectionName = "Simulator";

    /// <summary>The placeholder replaced by the meter id in <see cref="TopicTemplate"/> and <see cref="Username"/>.</summary>
    public const string MeterIdPlaceholder = "{meterId}";

    /// <summary>Broker host; default localhost, or the hub's host name in IoT Hub mode.</summary>
    public string? Host { get; set; }

    /// <summary>Broker port; default 1883, or 8883 with TLS and in IoT Hub mode.</summary>
    public int? Port { get; set; }

    /// <summary>
    /// User name; may contain {meterId}. The default, the meter id, is what brokers that authenticate each device
    /// by name expect (a Mosquitto password file generated from the fleet). Empty sends no credentials.
    /// </summary>
    public string? Username { get; set; } = MeterIdPlaceholder;

    /// <summary>A shared password; null gives each meter its own, derived from its key (<see cref="VirtualMeter.MqttPassword"/>).</summary>
    public string? Password { get; set; }

    public bool UseTls { get; set; }

    /// <summary>
    /// PEM file with the certificate(s) of the CA that issued the broker's certificate: the broker's chain must end at
    /// one of them (and name <see cref="Host"/>), whatever the system trusts. Implies TLS.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>Accept any broker certificate; for throwaway test brokers only (prefer <see cref="CaFile"/>).</summary>
    public bool AllowUntrustedCertificates { get; set; }

    /// <summary>
    /// Speak Azure IoT Hub's MQTT conventions to this hub ("myhub" or a full host name): MQTT 3.1.1 over TLS, client
    /// id = device id, SAS-token password from the device key derived from the meter's key, topic
    /// devices/{id}/messages/events/. <see cref="TopicTemplate"/>, <see cref="Username"/> and <see cref="Password"/> are then ignored.
    /// </summary>
    public string? IotHub { get; set; }

    /// <summary>How long each SAS token is valid; a new one is made at every connect.</summary>
    public int SasTokenLifetimeMinutes { get; set; } = 60;

    /// <summary>DESIGN.md's topic.</summary>
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

    /// <summary>First wait before reconnecting a meter that lost the broker; it doubles (with jitter) on each failure.</summary>
    public int ReconnectBaseDelayMilliseconds { get; set; } = 1000;

    /// <summary>The longest wait between reconnect attempts.</summary>
    public int ReconnectMaxDelayMilliseconds { get; set; } = 60_000;

    /// <summary>Messages a meter keeps while it cannot reach the broker (10 000 ≈ 100 days of 15-minute readings); the oldest go first.</summary>
    public int MaxBufferedPerMeter { get; set; } = 10_000;

    /// <summary>Directory for the meters' store-and-forward logs, so a restarted simulator resends them; null keeps them in memory.</summary>
    public string? BufferDirectory { get; set; }

    /// <summary>fsync the buffer on every write, so it survives a power cut and not only a crash of the simulator.</summary>
    public bool SyncBufferWrites { get; set; }

    public bool IsIotHub => !string.IsNullOrWhiteSpace(IotHub);

    public bool IsTls => UseTls || CaFile is not null || IsIotHub;

    public string BrokerHost => !string.IsNullOrWhiteSpace(Host) ? Host : IsIotHub ? FirmwareSim.IotHub.HostName(IotHub!) : "localhost";

    public int BrokerPort => Port ?? (IsTls ? 8883 : 1883);

    public string Topic(string meterId) => IsIotHub
        ? FirmwareSim.IotHub.EventsTopic(meterId, FirmwareSim.IotHub.ContentTypeProperty(FleetPublisher.CoseContentType))
        : TopicTemplate.Replace(MeterIdPlaceholder, meterId, StringComparison.Ordinal);

    public void Validate()
    {
        if (Host is not null && string.IsNullOrWhiteSpace(Host))
            throw new ArgumentException("simulator broker host is empty");
        if (BrokerPort is < 1 or > 65535)
            throw new ArgumentException($"simulator broker port {BrokerPort} is not a TCP port");
        if (!IsIotHub && (string.IsNullOrWhiteSpace(TopicTemplate) || !TopicTemplate.Contains(MeterIdPlaceholder, StringComparison.Ordinal)
            || TopicTemplate.Contains('+', StringComparison.Ordinal) || TopicTemplate.Contains('#', StringComparison.Ordinal)))
            throw new ArgumentException($"topic template '{TopicTemplate}' must contain {MeterIdPlaceholder} and no wildcards");
        if (IotHub is not null && (string.IsNullOrWhiteSpace(IotHub) || IotHub.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))))
            throw new ArgumentException($"IoT hub '{IotHub}' must be a hub name or host name (letters, digits, '-' and '.')");
        if (SasTokenLifetimeMinutes < 1)
            throw new ArgumentException("the SAS token lifetime must be at least one minute");
        if (CaFile is not null && AllowUntrustedCertificates)
            throw new ArgumentException("a CA file and accepting untrusted certificates contradict each other; choose one");
        if (CaFile is not null && !File.Exists(CaFile))
            throw new ArgumentException($"CA file '{CaFile}' does not exist");
        if (MaxConcurrentPublishes < 1 || MaxConcurrentConnects < 1)
            throw new ArgumentException("concurrency limits must be at least 1");
        if (KeepAliveSeconds < 0 || ConnectTimeoutSeconds < 1 || PublishTimeoutSeconds < 1)
            throw new ArgumentException("keep-alive must be non-negative and timeouts at least one second");
        if (ReconnectBaseDelayMilliseconds < 0 || ReconnectMaxDelayMilliseconds < ReconnectBaseDelayMilliseconds)
            throw new ArgumentException("reconnect delays must be non-negative, the maximum at least the first");
        if (MaxBufferedPerMeter < 1)
            throw new ArgumentException("the buffer must hold at least one message per meter");
        if (BufferDirectory is not null && string.IsNullOrWhiteSpace(BufferDirectory))
            throw new ArgumentException("the buffer directory is empty");
    }
}
