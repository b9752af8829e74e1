using System.Security.Cryptography;
using System.Text;
using GreenTrace.Core.Checkpoints;
using static GreenTrace.Core.Tests.Checkpoints.PublishedVectors;

namespace GreenTrace.Core.Tests.Checkpoints;

// Interoperability with Go's golang.org/x/mod/sumdb/note, using the vectors in PublishedVectors.
public class GoInteropTests
{
    private static readonly NoteVerifier Peter = NoteVerifier.Parse(PeterVerifierKey);
    private static readonly NoteVerifier Enoch = NoteVerifier.Parse(EnochVerifierKey);

    [Fact]
    public void ParsesGoVerifierKey()
    {
        Assert.Equal("PeterNeumann", Peter.Name);
        Assert.Equal(PeterKeyId, Peter.KeyId);
        Assert.Equal(32, Peter.PublicKey.Length);
        Assert.Equal(PeterVerifierKey, Peter.VerifierKey);
        Assert.Equal(EnochKeyId, Enoch.KeyId);
    }

    [Fact]
    public void SignerFromGoKeyRoundTripsAndDerivesGoVerifierKey()
    {
        using var signer = NoteSigner.FromPrivateKeyString(PeterSignerKey);
        Assert.Equal("PeterNeumann", signer.Name);
        Assert.Equal(PeterKeyId, signer.KeyId);
        Assert.Equal(PeterSignerKey, signer.PrivateKeyString);
        Assert.Equal(PeterVerifierKey, signer.Verifier.VerifierKey);
    }

    [Fact]
    public void SigningWithGoKeyReproducesGoSignedNote()
    {
        using var signer = NoteSigner.FromPrivateKeyString(PeterSignerKey);
        Assert.Equal(NeumannText + "\n" + PeterSignatureLine, SignedNote.Sign(NeumannText, signer));
    }

    [Fact]
    public void CosigningReplacesExistingSignatureByTheSameKey()
    {
        // Go's TestSign: an existing (bad) signature by the signing key is replaced, not kept.
        using var signer = NoteSigner.FromPrivateKeyString(PeterSignerKey);
        var withEnoch = NeumannText + "\n" + PeterSignatureLine.Replace("x08go/", "x08go+", StringComparison.Ordinal) + EnochSignatureLine;

        var cosigned = SignedNote.AddSignatures(withEnoch, signer);

        Assert.Equal(NeumannText + "\n" + EnochSignatureLine + PeterSignatureLine, cosigned);
        var opened = SignedNote.Open(cosigned, [Peter, Enoch]);
        Assert.True(opened.Success, opened.ToString());
        Assert.Equal(["EnochRoot", "PeterNeumann"], opened.VerifiedBy);
    }

    [Fact]
    public void TransparencyDevKeyPairsMatch()
    {
        foreach (var (signerKey, verifierKey) in TransparencyDevKeyPairs)
        {
            using var signer = NoteSigner.FromPrivateKeyString(signerKey);
            Assert.Equal(verifierKey, signer.Verifier.VerifierKey);
            Assert.Equal(signerKey, signer.PrivateKeyString);
            Assert.Equal(NoteVerifier.Parse(verifierKey), signer.Verifier);
        }
    }

    [Fact]
    public void OpensGoNoteWithOneKnownAndOneUnknownSignature()
    {
        var result = SignedNote.Open(NeumannText + "\n" + PeterSignatureLine + EnochSignatureLine, [Peter]);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(NeumannText, result.Text);
        Assert.Equal(["PeterNeumann"], result.VerifiedBy);
        Assert.Equal([new NoteKeyId("PeterNeumann", PeterKeyId)], result.VerifiedKeys);
        Assert.Equal(1, result.UnknownSignatureCount);
    }

    [Fact]
    public void OpensGoDoublySignedNote()
    {
        var result = SignedNote.Open(NeumannText + "\n" + PeterSignatureLine + EnochSignatureLine, [Peter, Enoch]);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(["PeterNeumann", "EnochRoot"], result.VerifiedBy);
        Assert.Equal(0, result.UnknownSignatureCount);
    }

    [Fact]
    public void GoNoteWithNoKnownKeyIsRejected()
    {
        var result = SignedNote.Open(NeumannText + "\n" + PeterSignatureLine + EnochSignatureLine, []);

        Assert.False(result.Success);
        Assert.Equal(NoteOpenErrors.NoKnownSignature, result.Error);
        Assert.Null(result.Text);
        Assert.Equal(2, result.UnknownSignatureCount);
    }

    [Fact]
    public void AmbiguousKnownKeyIsAnErrorOnlyWhenUsed()
    {
        // Go reports an ambiguous key when a signature needs it; here two different keys claim EnochRoot+af0cfe78.
        var impostor = NoteVerifier.CreateWithKeyId(Enoch.Name, Enoch.KeyId, RandomNumberGenerator.GetBytes(32));
        Assert.Equal(NoteOpenErrors.AmbiguousKey, SignedNote.Open(NeumannText + "\n" + EnochSignatureLine, [Enoch, Peter, impostor]).Error);
        Assert.True(SignedNote.Open(NeumannText + "\n" + PeterSignatureLine, [Enoch, Peter, impostor]).Success);

        // The same key listed twice is not ambiguous.
        Assert.True(SignedNote.Open(NeumannText + "\n" + EnochSignatureLine, [Enoch, Peter, Enoch]).Success);
    }

    [Fact]
    public void MoreThanOneHundredSignaturesIsMalformed()
    {
        var note = NeumannText + "\n" + string.Concat(Enumerable.Repeat(PeterSignatureLine, 101));
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note, [Peter]).Error);
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note, []).Error);

        var atLimit = NeumannText + "\n" + string.Concat(Enumerable.Repeat(PeterSignatureLine, 100));
        Assert.True(SignedNote.Open(atLimit, [Peter]).Success);
    }

    [Fact]
    public void InvalidSignatureFromKnownKeyRejectsNote()
    {
        // Go's TestOpen inserts "ABCD" at byte 60 of the line; the em dash is 3 bytes but 1 char, hence 58.
        var corrupted = PeterSignatureLine.Insert(58, "ABCD");
        var result = SignedNote.Open(NeumannText + "\n" + corrupted, [Peter]);

        Assert.Equal(NoteOpenErrors.InvalidSignature, result.Error);
        Assert.Contains("PeterNeumann+c74f20a3", result.ErrorDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateSignaturesCountOnceAndDistinctUnknownLinesAreCounted()
    {
        var enochAbcd = EnochSignatureLine.Insert(58, "ABCD");
        var note = NeumannText + "\n" + PeterSignatureLine + PeterSignatureLine + EnochSignatureLine + EnochSignatureLine + enochAbcd;

        var result = SignedNote.Open(note, [Peter]);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(["PeterNeumann"], result.VerifiedBy);
        Assert.Equal(2, result.UnknownSignatureCount);
    }

    [Theory]
    [InlineData(NeumannText)]
    [InlineData(NeumannText + "\n")]
    [InlineData(NeumannText + "\n" + "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=")]
    [InlineData("\u0001" + NeumannText + "\n" + PeterSignatureLine)]
    [InlineData(NeumannText + "\n" + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=")]
    [InlineData(NeumannText + "\n" + PeterSignatureLine + "Unexpected line.\n")]
    public void GoMalformedMessagesAreRejected(string note)
    {
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(note, [Peter]).Error);
    }

    [Fact]
    public void InvalidUtf8IsMalformed()
    {
        var bytes = new byte[] { 0xff }.Concat(Encoding.UTF8.GetBytes(NeumannText + "\n" + PeterSignatureLine)).ToArray();
        Assert.Equal(NoteOpenErrors.MalformedNote, SignedNote.Open(bytes, [Peter]).Error);

        var valid = Encoding.UTF8.GetBytes(NeumannText + "\n" + PeterSignatureLine);
        Assert.True(SignedNote.Open(valid, [Peter]).Success);
    }

    [Fact]
    public void EveryManglingOfGoVerifierKeyIsRejected()
    {
        // Go's TestNewVerifier: every proper substring and every single-character increment must fail.
        var key = PeterVerifierKey;
        for (var i = 0; i <= key.Length; i++)
        {
            for (var j = i + 1; j <= key.Length; j++)
            {
                if (i != 0 || j != key.Length)
                    Assert.False(NoteVerifier.TryParse(key[i..j], out _), key[i..j]);
            }
        }

        for (var i = 0; i < key.Length; i++)
        {
            var mangled = key[..i] + (char)(key[i] + 1) + key[(i + 1)..];
            Assert.False(NoteVerifier.TryParse(mangled, out _), mangled);
            Assert.Throws<FormatException>(() => NoteVerifier.Parse(mangled));
        }

        Assert.Throws<FormatException>(() => NoteVerifier.Parse(WrongLengthKeyWithAdjustedHash));
        Assert.Throws<FormatException>(() => NoteVerifier.Parse(UnknownAlgorithmWithAdjustedHash));
    }

    [Fact]
    public void EveryManglingOfGoSignerKeyIsRejected()
    {
        var key = PeterSignerKey;
        for (var i = 0; i <= key.Length; i++)
        {
            for (var j = i + 1; j <= key.Length; j++)
            {
                if (i != 0 || j != key.Length)
                    Assert.Throws<FormatException>(() => NoteSigner.FromPrivateKeyString(key[i..j]));
            }
        }

        for (var i = 0; i < key.Length; i++)
        {
            var mangled = key[..i] + (char)(key[i] + 1) + key[(i + 1)..];
            Assert.Throws<FormatException>(() => NoteSigner.FromPrivateKeyString(mangled));
        }
    }

    [Fact]
    public void SumDbCheckpointVerifies()
    {
        var sumDb = NoteVerifier.Parse(SumDbVerifierKey);
        Assert.Equal(0x033de0aeu, sumDb.KeyId);

        var opened = SignedNote.Open(SumDbCheckpoint, [sumDb]);
        Assert.True(opened.Success, opened.ToString());
        Assert.Equal(["sum.golang.org"], opened.VerifiedBy);

        Assert.True(Checkpoint.TryParse(opened.Text, out var checkpoint, out var error), error);
        Assert.Equal(SumDbOrigin, checkpoint.Origin);
        Assert.Equal(6476701, checkpoint.Size);
        Assert.Equal("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=", Convert.ToBase64String(checkpoint.RootHash));
        Assert.Empty(checkpoint.Extensions);

        var verified = CheckpointVerifier.Verify(SumDbCheckpoint, SumDbOrigin, [sumDb], 1);
        Assert.True(verified.Success, verified.ToString());
        Assert.Equal(checkpoint, verified.Checkpoint);

        Assert.Equal(CheckpointVerificationErrors.Origin, CheckpointVerifier.Verify(SumDbCheckpoint, "Go rocks but I might have the wrong ID", [sumDb], 1).Error);
        Assert.Equal(CheckpointVerificationErrors.Signature, CheckpointVerifier.Verify(SumDbCheckpoint.Replace("6476701", "6476702", StringComparison.Ordinal), SumDbOrigin, [sumDb], 1).Error);
    }

    [Fact]
    public void GoSumTreeTextParsesAndFormatsIdentically()
    {
        Assert.True(Checkpoint.TryParse(GoSumTreeText, out var checkpoint, out var error), error);
        Assert.Equal(SumDbOrigin, checkpoint.Origin);
        Assert.Equal(123456789012, checkpoint.Size);
        Assert.Equal(SHA256.HashData([0x00, .. "hello world"u8]), checkpoint.RootHash);
        Assert.Equal(GoSumTreeText, checkpoint.ToNoteText());

        Assert.False(Checkpoint.TryParse("go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n", out _, out _));
        Assert.False(Checkpoint.TryParse("go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n", out _, out _));
    }

    [Fact]
    public void C2spExampleNoteParsesButIsNotTrusted()
    {
        // The text contains its own blank line; only the last one separates the signatures.
        var result = SignedNote.Open(C2spExampleNote, [Peter]);
        Assert.Equal(NoteOpenErrors.NoKnownSignature, result.Error);
        Assert.Equal(1, result.UnknownSignatureCount);

        // A key with the same name but another key ID is still unknown, not an invalid signature.
        using var sameName = NoteSigner.Generate("quasimodo.example/salvatore");
        Assert.Equal(NoteOpenErrors.NoKnownSignature, SignedNote.Open(C2spExampleNote, [sameName.Verifier]).Error);
    }

    [Fact]
    public void C2spExampleCheckpointSharesKeyIdButNotNameWithSumDb()
    {
        // The spec says a signature sharing only the ID (not the name) with a known key is ignored.
        var result = SignedNote.Open(C2spExampleCheckpoint, [NoteVerifier.Parse(SumDbVerifierKey)]);
        Assert.Equal(NoteOpenErrors.NoKnownSignature, result.Error);
        Assert.Equal(1, result.UnknownSignatureCount);

        var text = C2spExampleCheckpoint[..(C2spExampleCheckpoint.LastIndexOf("\n\n", StringComparison.Ordinal) + 1)];
        Assert.True(Checkpoint.TryParse(text, out var checkpoint, out var error), error);
        Assert.Equal("example.com/behind-the-sofa", checkpoint.Origin);
        Assert.Equal(20852163, checkpoint.Size);
        Assert.Equal(text, checkpoint.ToNoteText());
    }
}
