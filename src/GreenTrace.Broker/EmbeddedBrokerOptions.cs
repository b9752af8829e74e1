namespace GreenTrace.Broker;

public sealed class EmbeddedBrokerOptions
{
    public const string Section = "Broker";

    /// <summary>Loopback by default: the embedded broker is for one machine.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port at start (see <see cref="EmbeddedBroker.Port"/>).</summary>
    public int Port { get; set; }
}
