namespace GreenTrace.Broker.Mosquitto;

/// <summary>A username and password a client presents in CONNECT.</summary>
public sealed record MqttCredential(string Username, string Password)
{
    /// <summary>
    /// Mosquitto's password and ACL files are line- and colon-separated, and pattern ACLs treat
    /// '+', '#' and '/' as wildcards and levels, so a username with any of them could break out of
    /// its entry.
    /// </summary>
    public static bool IsValidUsername(string? username) =>
        !string.IsNullOrEmpty(username) && username.Length <= 256
        && !username.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is ':' or '+' or '#' or '/');

    public override string ToString() => $"{Username}:***";
}
