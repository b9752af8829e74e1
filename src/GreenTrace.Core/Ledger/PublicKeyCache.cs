using System.Collections.Concurrent;
using System.Security.Cryptography;
using GreenTrace.Core.Devices;

namespace GreenTrace.Core.Ledger;

/// <summary>
/// Imported owner and device keys by their SubjectPublicKeyInfo bytes, shared by every thread of the process.
/// Importing a P-256 key (OpenSSL validates the point) costs about as much as verifying a signature with it, and
/// the ledger met every owner key two or three times per entry (kid check in decoding, signature, recipient or part
/// checks in the rules) while owners recur across many entries. Whether bytes are a valid key is a pure function of
/// the bytes, so caching the verdict, refusals included, cannot make two nodes judge differently.
/// </summary>
internal static class PublicKeyCache
{
    private const int Capacity = 65_536;
    private static readonly ConcurrentDictionary<byte[], ECDsa?> Keys = new(ByteArrayComparer.Instance);

    /// <summary>The imported key, or null if the bytes are not a P-256 SubjectPublicKeyInfo. Never dispose it: it is shared.</summary>
    public static ECDsa? Get(byte[] subjectPublicKeyInfo)
    {
        if (Keys.TryGetValue(subjectPublicKeyInfo, out var cached))
            return cached;
        DeviceKeys.TryImportPublicKey(subjectPublicKeyInfo, out var key);
        // Dropped keys are not disposed: another thread may be verifying with one; their finalizers free them.
        if (Keys.Count >= Capacity)
            Keys.Clear();
        // A copy: the caller's array is the key of a shared map and must never change under it.
        return Keys.GetOrAdd(subjectPublicKeyInfo.ToArray(), key);
    }

    public static bool IsValid(byte[] subjectPublicKeyInfo) => Get(subjectPublicKeyInfo) is not null;
}
