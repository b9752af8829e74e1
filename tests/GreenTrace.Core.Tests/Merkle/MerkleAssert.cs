namespace GreenTrace.Core.Tests.Merkle;

internal static class MerkleAssert
{
    public static void SameHashes(IReadOnlyList<byte[]> expected, IReadOnlyList<byte[]> actual, string context = "")
    {
        Assert.True(
            SameHashesOrFalse(expected, actual),
            $"{context}: expected [{Describe(expected)}] but got [{Describe(actual)}]");
    }

    public static bool SameHashesOrFalse(IReadOnlyList<byte[]> a, IReadOnlyList<byte[]> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!a[i].AsSpan().SequenceEqual(b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(IReadOnlyList<byte[]> hashes) =>
        string.Join(", ", hashes.Select(h => Convert.ToHexStringLower(h)));
}
