using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace GreenTrace.Core.Merkle;

/// <summary>
/// SHA-256 for the Merkle hot paths, which hash millions of 33- and 65-byte inputs. On Linux, .NET hashes through
/// OpenSSL, but every <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/> call also clears the OpenSSL error
/// queue, allocates a fresh EVP_MD_CTX and (on OpenSSL 3) re-fetches the algorithm implicitly: about 440 ns for a
/// 65-byte input where the hash itself is about 120 ns (see docs/benchmarks.md). Here the SHA-256 EVP_MD is fetched
/// once and each thread keeps one EVP_MD_CTX, so a hash is three plain calls into the same OpenSSL 3 libcrypto that
/// .NET uses, through the provider and properties the system's OpenSSL configuration selects.
/// </summary>
/// <remarks>
/// Wherever that is unavailable (not Linux, no libcrypto.so.3, a failed self-test against
/// <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>) or when the AppContext switch
/// <c>GreenTrace.Core.Merkle.DisableDirectLibcrypto</c> is set, every call goes to <see cref="SHA256"/>: the same
/// digest, only slower.
/// </remarks>
internal static class Sha256
{
    public const string DisableSwitch = "GreenTrace.Core.Merkle.DisableDirectLibcrypto";

    private const string LibCrypto = "libcrypto.so.3";

    // The fetched EVP_MD for SHA-256, or 0 when hashing falls back to System.Security.Cryptography.SHA256.
    private static readonly nint Md = FetchAndSelfTest();

    [ThreadStatic]
    private static DigestContext? context;

    /// <summary>True when hashes go straight to libcrypto rather than through <see cref="SHA256"/>.</summary>
    public static bool IsDirect => Md != 0;

    /// <summary>SHA-256 of <paramref name="data"/> into the first 32 bytes of <paramref name="destination"/>.</summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (destination.Length < MerkleHash.Size)
        {
            throw new ArgumentException($"The destination must hold at least {MerkleHash.Size} bytes.", nameof(destination));
        }

        if (Md == 0)
        {
            SHA256.HashData(data, destination);
            return;
        }

        // The context lives as long as its thread; its SafeHandle frees it once the thread is gone.
        var ctx = (context ??= NewContext()).DangerousGetHandle();
        if (Native.EVP_DigestInit_ex(ctx, Md, 0) != 1
            || Native.EVP_DigestUpdate(ctx, ref MemoryMarshal.GetReference(data), (nuint)data.Length) != 1
            || Native.EVP_DigestFinal_ex(ctx, ref MemoryMarshal.GetReference(destination), 0) != 1)
        {
            throw new CryptographicException("OpenSSL failed to compute SHA-256.");
        }
    }

    private static DigestContext NewContext()
    {
        var created = Native.EVP_MD_CTX_new();
        if (created.IsInvalid)
        {
            created.Dispose();
            throw new CryptographicException("OpenSSL could not allocate a digest context.");
        }

        return created;
    }

    private static nint FetchAndSelfTest()
    {
        if (!OperatingSystem.IsLinux()
            || (AppContext.TryGetSwitch(DisableSwitch, out var disabled) && disabled))
        {
            return 0;
        }

        nint md = 0;
        try
        {
            md = Native.EVP_MD_fetch(0, "SHA256\0"u8.ToArray(), 0);
            if (md == 0 || Native.EVP_MD_get_size(md) != MerkleHash.Size)
            {
                return Release(md);
            }

            // Never trust a native path that disagrees with the platform: check sizes around the block boundaries.
            using var ctx = NewContext();
            var input = new byte[130];
            for (var i = 0; i < input.Length; i++)
            {
                input[i] = (byte)((i * 167) + 13);
            }

            Span<byte> expected = stackalloc byte[MerkleHash.Size];
            Span<byte> actual = stackalloc byte[MerkleHash.Size];
            foreach (var length in (ReadOnlySpan<int>)[0, 1, 33, 55, 56, 64, 65, 130])
            {
                var data = input.AsSpan(0, length);
                SHA256.HashData(data, expected);
                var handle = ctx.DangerousGetHandle();
                if (Native.EVP_DigestInit_ex(handle, md, 0) != 1
                    || Native.EVP_DigestUpdate(handle, ref MemoryMarshal.GetReference(data), (nuint)length) != 1
                    || Native.EVP_DigestFinal_ex(handle, ref MemoryMarshal.GetReference(actual), 0) != 1
                    || !actual.SequenceEqual(expected))
                {
                    return Release(md);
                }
            }

            return md;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException
                                      or CryptographicException)
        {
            return Release(md);
        }

        static nint Release(nint md)
        {
            if (md != 0)
            {
                Native.EVP_MD_free(md);
            }

            return 0;
        }
    }

    private sealed class DigestContext : SafeHandle
    {
        private DigestContext()
            : base(0, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            Native.EVP_MD_CTX_free(handle);
            return true;
        }
    }

    /// <summary>OpenSSL 3 EVP digest API (all non-deprecated). Byte arguments are blittable and pinned by the runtime.</summary>
    private static class Native
    {
        [DllImport(LibCrypto)]
        public static extern nint EVP_MD_fetch(nint libraryContext, byte[] algorithm, nint properties);

        [DllImport(LibCrypto)]
        public static extern int EVP_MD_get_size(nint md);

        [DllImport(LibCrypto)]
        public static extern void EVP_MD_free(nint md);

        [DllImport(LibCrypto)]
        public static extern DigestContext EVP_MD_CTX_new();

        [DllImport(LibCrypto)]
        public static extern void EVP_MD_CTX_free(nint ctx);

        [DllImport(LibCrypto)]
        public static extern int EVP_DigestInit_ex(nint ctx, nint md, nint engine);

        [DllImport(LibCrypto)]
        public static extern int EVP_DigestUpdate(nint ctx, ref byte data, nuint count);

        [DllImport(LibCrypto)]
        public static extern int EVP_DigestFinal_ex(nint ctx, ref byte digest, nint size);
    }
}
