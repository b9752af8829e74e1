using System.Globalization;

namespace GreenTrace.Broker.Mosquitto;

/// <summary>The files of a broker directory written by <see cref="MosquittoConfig.Write"/>, by their fixed names.</summary>
public sealed class MosquittoDirectory
{
    public MosquittoDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Absolute: Mosquitto resolves relative paths against its working directory, not the config file.
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }

    public string ConfigFile => File("mosquitto.conf");

    public string PasswordFile => File("passwd");

    public string AclFile => File("acl");

    public string CaCertificate => File("ca.crt");

    public string ServerCertificate => File("server.crt");

    public string ServerKey => File("server.key");

    public string PersistenceDirectory => File("data");

    public string PidFile => File("mosquitto.pid");

    public string LogFile => File("mosquitto.log");

    /// <summary>The gateways' credentials and where to connect (see <see cref="GatewayCredentialsFile"/>).</summary>
    public string GatewaysFile => File("gateways.json");

    /// <summary>Opens a directory that must already hold a configuration.</summary>
    /// <exception cref="FileNotFoundException">There is no mosquitto.conf in it.</exception>
    public static MosquittoDirectory Open(string path)
    {
        var directory = new MosquittoDirectory(path);
        if (!System.IO.File.Exists(directory.ConfigFile))
            throw new FileNotFoundException($"{directory.ConfigFile} does not exist; generate it with `greentrace broker mosquitto-config`", directory.ConfigFile);
        return directory;
    }

    /// <summary>
    /// The listeners mosquitto.conf declares. A listener is TLS when its block names a
    /// certificate file; every listener must be on 127.0.0.1.
    /// </summary>
    /// <exception cref="FormatException">A listener is not bound to 127.0.0.1, or none is declared.</exception>
    public IReadOnlyList<MosquittoListener> ReadListeners()
    {
        var listeners = new List<MosquittoListener>();
        foreach (var raw in System.IO.File.ReadAllLines(ConfigFile))
        {
            var words = raw.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0 || words[0].StartsWith('#'))
                continue;
            switch (words[0])
            {
                case "listener":
                    if (words.Length != 3 || words[2] != MosquittoConfig.BindAddress
                        || !int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65_535)
                        throw new FormatException($"{ConfigFile}: '{raw.Trim()}' is not a listener on {MosquittoConfig.BindAddress}");
                    listeners.Add(new MosquittoListener(port, false));
                    break;
                case "certfile" when listeners.Count > 0:
                    listeners[^1] = listeners[^1] with { Tls = true };
                    break;
                case "port" or "bind_address" or "bind_interface":
                    throw new FormatException($"{ConfigFile}: '{words[0]}' opens Mosquitto's default listener; only explicit listeners on {MosquittoConfig.BindAddress} are allowed");
            }
        }
        if (listeners.Count == 0)
            throw new FormatException($"{ConfigFile} declares no listener");
        return listeners;
    }

    public GatewayCredentialsFile ReadGateways() => GatewayCredentialsFile.Read(GatewaysFile);

    private string File(string name) => System.IO.Path.Combine(Path, name);
}

/// <summary>One listener of the broker, on 127.0.0.1.</summary>
public sealed record MosquittoListener(int Port, bool Tls);
