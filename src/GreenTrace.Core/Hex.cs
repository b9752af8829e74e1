namespace GreenTrace.Core;

/// <summary>Lower-case hex, the form every id and hash takes in text (JSON, logs, CLI).</summary>
public static class Hex
{
    public static string Encode(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static byte[] Decode(string hex) => Convert.FromHexString(hex);

    public static bool TryDecode(string? hex, int expectedLength, out byte[] bytes)
    {
        bytes = [];
        if (hex is null || hex.Length != expectedLength * 2)
            return false;
        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
