using System.Text.Json;
using System.Text.Json.Serialization;

namespace GreenTrace.Broker.Mosquitto;

/// <summary>
/// gateways.json: what a gateway instance needs to reach the broker (address, ports, the CA to
/// trust) and its credential. Readable by its owner only: it holds passwords.
/// </summary>
public sealed record GatewayCredentialsFile(string Host, int TlsPort, int? PlainPort, string CaCertificate, IReadOnlyList<MqttCredential> Gateways)
{
    public const string FileFormat = "greentrace-mosquitto-gateways";
    public const int FileVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
    };

    public static void Write(string path, GatewayCredentialsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var document = new Document
        {
            Format = FileFormat,
            Version = FileVersion,
            Host = file.Host,
            TlsPort = file.TlsPort,
            PlainPort = file.PlainPort,
            CaCertificate = file.CaCertificate,
            Gateways = [.. file.Gateways.Select(g => new Entry { Username = g.Username, Password = g.Password })],
        };
        PrivateFile.WriteAllText(path, JsonSerializer.Serialize(document, JsonOptions) + "\n");
    }

    /// <exception cref="FormatException">Not a gateways file of this version.</exception>
    public static GatewayCredentialsFile Read(string path)
    {
        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{path} is not valid: {e.Message}", e);
        }
        if (document is not { Format: FileFormat, Version: FileVersion, Host: { } host, CaCertificate: { } ca, Gateways: { } gateways }
            || gateways.Any(g => g?.Username is null || g.Password is null))
            throw new FormatException($"{path} is not a {FileFormat} file, version {FileVersion}");
        return new GatewayCredentialsFile(host, document.TlsPort, document.PlainPort, ca, [.. gateways.Select(g => new MqttCredential(g!.Username!, g.Password!))]);
    }

    public override string ToString() => $"{Gateways.Count} gateway(s) for {Host}:{TlsPort}";

    private sealed class Document
    {
        public string? Format { get; set; }

        public int Version { get; set; }

        public string? Host { get; set; }

        public int TlsPort { get; set; }

        public int? PlainPort { get; set; }

        public string? CaCertificate { get; set; }

        public List<Entry?>? Gateways { get; set; }
    }

    private sealed class Entry
    {
        public string? Username { get; set; }

        public string? Password { get; set; }
    }
}
