using System.Runtime.InteropServices;
using System.Security.Cryptography;
using GreenTrace.Core.Merkle;

namespace GreenTrace.Core.Tests.Merkle;

/// <summary>The Merkle code's direct-libcrypto SHA-256 must be indistinguishable from the platform's.</summary>
public class Sha256Tests
{
    [Fact]
    public void MatchesThePlatformForEveryLengthAcrossSeveralBlocks()
    {
        var data = new byte[1100];
        new Random(256).NextBytes(data);
        var actual = new byte[32];
        for (var length = 0; length <= data.Length; length++)
        {
            Sha256.Hash(data.AsSpan(0, length), actual);
            Assert.True(
                SHA256.HashData(data.AsSpan(0, length)).AsSpan().SequenceEqual(actual),
                $"SHA-256 of {length} bytes differs from SHA256.HashData");
        }
    }

    [Fact]
    public void WritesExactlyThirtyTwoBytesAndRejectsShortDestinations()
    {
        var destination = new byte[40];
        destination.AsSpan().Fill(0xAA);
        Sha256.Hash("abc"u8, destination);
        Assert.Equal(Convert.FromHexString("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), destination[..32]);
        Assert.All(destination[32..], b => Assert.Equal(0xAA, b));
        Assert.Throws<ArgumentException>(() => Sha256.Hash("abc"u8, new byte[31]));
    }

    [Fact]
    public async Task ThreadsDoNotShareDigestState()
    {
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            var input = new byte[65];
            var actual = new byte[32];
            for (var i = 0; i < 5_000; i++)
            {
                random.NextBytes(input);
                Sha256.Hash(input, actual);
                if (!SHA256.HashData(input).AsSpan().SequenceEqual(actual))
                {
                    return false;
                }
            }

            return true;
        }, TestContext.Current.CancellationToken));
        Assert.All(await Task.WhenAll(tasks), Assert.True);
    }

    [Fact]
    public void UsesLibcryptoDirectlyWhereOpenSsl3IsInstalled()
    {
        // A failed self-test or a missing export would silently fall back to the slow path; catch that on Linux CI.
        if (OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libcrypto.so.3", out var library))
        {
            NativeLibrary.Free(library);
            Assert.True(Sha256.IsDirect, "libcrypto.so.3 is present but Merkle hashing fell back to SHA256.HashData");
        }
    }
}
