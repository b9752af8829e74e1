using System.Text;
using GreenTrace.Core.Checkpoints;

namespace GreenTrace.Core.Tests.Checkpoints;

public class NoteKeyTests
{
    [Fact]
    public void GeneratedKeyRoundTripsThroughStrings()
    {
        using var signer = NoteSigner.Generate("greentrace.example/node-1");
        using var restored = NoteSigner.FromPrivateKeyString(signer.PrivateKeyString);
        var verifier = NoteVerifier.Parse(signer.Verifier.VerifierKey);

        Assert.Equal(signer.KeyId, restored.KeyId);
        Assert.Equal(signer.Verifier, verifier);
        Assert.StartsWith("PRIVATE+KEY+greentrace.example/node-1+", signer.PrivateKeyString, StringComparison.Ordinal);

        var message = "hi"u8.ToArray();
        var signature = restored.Sign(message);
        Assert.Equal(64, signature.Length);
        Assert.True(verifier.Verify(message, signature));
        Assert.Equal(signature, signer.Sign(message));
    }

    [Fact]
    public void VerifyRejectsCorruptSignatureMessageAndLength()
    {
        // Mirrors Go's testSignerAndVerifier.
        using var signer = NoteSigner.Generate("EnochRoot");
        var message = "hi"u8.ToArray();
        var signature = signer.Sign(message);

        signature[0]++;
        Assert.False(signer.Verifier.Verify(message, signature));
        signature[0]--;
        message[0]++;
        Assert.False(signer.Verifier.Verify(message, signature));
        message[0]--;
        Assert.False(signer.Verifier.Verify(message, signature.AsSpan(0, 63)));
        Assert.True(signer.Verifier.Verify(message, signature));
    }

    [Fact]
    public void FromPublicKeyComputesKeyIdLikeGo()
    {
        var peter = NoteVerifier.Parse(PublishedVectors.PeterVerifierKey);
        var rebuilt = NoteVerifier.FromPublicKey("PeterNeumann", peter.PublicKey);
        Assert.Equal(PublishedVectors.PeterVerifierKey, rebuilt.VerifierKey);

        Assert.Throws<ArgumentException>(() => NoteVerifier.FromPublicKey("PeterNeumann", peter.PublicKey.AsSpan(0, 31)));
        Assert.Throws<ArgumentException>(() => NoteVerifier.FromPublicKey("Peter Neumann", peter.PublicKey));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("has+plus")]
    [InlineData("tab\there")]
    [InlineData("nbsp\u00a0here")]
    [InlineData("ideographic\u3000space")]
    [InlineData("control\u0001")]
    public void InvalidKeyNamesAreRejected(string name)
    {
        Assert.Throws<ArgumentException>(() => NoteSigner.Generate(name));
    }

    [Fact]
    public void KeyNameWithLoneSurrogateIsRejected()
    {
        // Not an InlineData case: attribute strings are stored as UTF-8, which turns a lone surrogate into U+FFFD.
        Assert.Throws<ArgumentException>(() => NoteSigner.Generate("lone\ud800surrogate"));
    }

    [Fact]
    public void UnicodeKeyNamesWork()
    {
        using var signer = NoteSigner.Generate("Señor-\U0001F331");
        Assert.Equal(signer.Verifier, NoteVerifier.Parse(signer.Verifier.VerifierKey));
        var note = SignedNote.Sign("text\n", signer);
        Assert.True(SignedNote.Open(note, [signer.Verifier]).Success);
    }

    [Fact]
    public void VerifierKeyParsingIsStrict()
    {
        using var signer = NoteSigner.Generate("node");
        var vkey = signer.Verifier.VerifierKey;
        var parts = vkey.Split('+', 3);

        Assert.True(NoteVerifier.TryParse(vkey, out _));

        // Go accepts upper-case hex in the key ID.
        Assert.True(NoteVerifier.TryParse($"{parts[0]}+{parts[1].ToUpperInvariant()}+{parts[2]}", out var upper));
        Assert.Equal(signer.Verifier, upper);

        Assert.False(NoteVerifier.TryParse(null, out _));
        Assert.False(NoteVerifier.TryParse($"{parts[0]}+{parts[1]}+ {parts[2]}", out _));
        Assert.False(NoteVerifier.TryParse($"{parts[0]}+{parts[1]}+{parts[2][..^1]}", out _));
        Assert.False(NoteVerifier.TryParse($"{parts[0]}+{parts[1]}+{parts[2]}\n", out _));
        Assert.False(NoteVerifier.TryParse($"{parts[0]}+0x{parts[1][2..]}+{parts[2]}", out _));
        Assert.False(NoteVerifier.TryParse($"{parts[0]}+{parts[1]}", out _));

        var wrongId = (signer.KeyId ^ 1).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        var ex = Assert.Throws<FormatException>(() => NoteVerifier.Parse($"{parts[0]}+{wrongId}+{parts[2]}"));
        Assert.Contains("key ID does not match", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SignerKeyErrorsAreClearAndDoNotEchoTheSecret()
    {
        using var signer = NoteSigner.Generate("node");
        var skey = signer.PrivateKeyString;
        // PRIVATE+KEY+name+keyid+base64: the base64 part may itself contain '+', so split from the left.
        var secret = skey.Split('+', 5)[4];
        Assert.True(secret.Length >= 40);

        var missingPrefix = Assert.Throws<FormatException>(() => NoteSigner.FromPrivateKeyString(skey["PRIVATE+".Length..]));
        Assert.Contains("PRIVATE+KEY+", missingPrefix.Message, StringComparison.Ordinal);

        var badId = Assert.Throws<FormatException>(() => NoteSigner.FromPrivateKeyString(skey.Replace("+node+", "+other+", StringComparison.Ordinal)));
        Assert.Contains("key ID does not match", badId.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, badId.Message, StringComparison.Ordinal);

        Assert.DoesNotContain(secret, signer.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void PublicKeyIsACopy()
    {
        using var signer = NoteSigner.Generate("node");
        signer.Verifier.PublicKey[0] ^= 0xff;
        var signature = signer.Sign("m"u8);
        Assert.True(signer.Verifier.Verify("m"u8, signature));
    }

    [Fact]
    public void DisposedSignerRefusesToSign()
    {
        var signer = NoteSigner.Generate("node");
        signer.Dispose();
        signer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => signer.Sign(Encoding.UTF8.GetBytes("x")));
        Assert.Throws<ObjectDisposedException>(() => signer.PrivateKeyString);
    }
}
