namespace GreenTrace.Core.Readings;

/// <summary>Meter ids appear in MQTT topics, Kafka keys and file names, so the alphabet is deliberately narrow.</summary>
public static class MeterId
{
    public const int MaxLength = 64;

    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
            return false;
        foreach (var c in id)
        {
            var ok = c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-';
            if (!ok)
                return false;
        }
        return true;
    }
}
